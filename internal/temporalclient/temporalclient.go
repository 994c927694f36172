// Package temporalclient turns flags and environment into a Temporal client,
// the same way for the worker and the CLI.
package temporalclient

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
)

// Defaults.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
	// DevStateFile, under the dev state directory, records where the
	// `orgguard-worker --dev` server listens so the CLI finds it.
	DevStateFile = "dev.json"
)

// Options are the connection settings. Empty fields fall back to the
// TEMPORAL_* environment variables the Temporal CLI uses, then to the dev
// server's state file, then to the defaults.
type Options struct {
	Address       string
	Namespace     string
	TLSCertPath   string
	TLSKeyPath    string
	TLSCAPath     string
	TLSServerName string
	APIKey        string
	// StateDir is where `orgguard-worker --dev` keeps dev.json.
	StateDir string
	Identity string
	Logger   log.Logger
}

// DevState is what a dev server writes for clients.
type DevState struct {
	Address   string `json:"address"`
	Namespace string `json:"namespace"`
	UI        string `json:"ui,omitempty"`
	PID       int    `json:"pid"`
	// Issuer is the URL of the dev worker's built-in OIDC issuer, where
	// `orgguard login --as NAME` gets tokens.
	Issuer string `json:"issuer,omitempty"`
	// Console is the URL of the worker's web console.
	Console string `json:"console,omitempty"`
}

// WriteDevState records a running dev server.
func WriteDevState(stateDir string, st DevState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(stateDir, DevStateFile), b, 0o640)
}

// ReadDevState reads what a dev server wrote; os.ErrNotExist when none ran.
func ReadDevState(stateDir string) (DevState, error) {
	var st DevState
	b, err := os.ReadFile(filepath.Join(stateDir, DevStateFile))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", filepath.Join(stateDir, DevStateFile), err)
	}
	return st, nil
}

// FromEnv fills empty fields from the environment.
func (o *Options) FromEnv() {
	set := func(dst *string, env string) {
		if *dst == "" {
			*dst = os.Getenv(env)
		}
	}
	set(&o.Address, "TEMPORAL_ADDRESS")
	set(&o.Namespace, "TEMPORAL_NAMESPACE")
	set(&o.TLSCertPath, "TEMPORAL_TLS_CERT")
	set(&o.TLSKeyPath, "TEMPORAL_TLS_KEY")
	set(&o.TLSCAPath, "TEMPORAL_TLS_CA")
	set(&o.TLSServerName, "TEMPORAL_TLS_SERVER_NAME")
	set(&o.APIKey, "TEMPORAL_API_KEY")
	if o.Address == "" && o.StateDir != "" {
		if st, err := ReadDevState(o.StateDir); err == nil {
			o.Address = st.Address
			if o.Namespace == "" {
				o.Namespace = st.Namespace
			}
		}
	}
	if o.Address == "" {
		o.Address = DefaultAddress
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
}

// ClientOptions builds the SDK options (TLS, API key).
func (o Options) ClientOptions() (client.Options, error) {
	co := client.Options{HostPort: o.Address, Namespace: o.Namespace, Identity: o.Identity, Logger: o.Logger}
	if o.APIKey != "" {
		co.Credentials = client.NewAPIKeyStaticCredentials(o.APIKey)
	}
	tlsConf, err := o.tlsConfig()
	if err != nil {
		return co, err
	}
	co.ConnectionOptions.TLS = tlsConf
	return co, nil
}

func (o Options) tlsConfig() (*tls.Config, error) {
	if o.TLSCertPath == "" && o.TLSKeyPath == "" && o.TLSCAPath == "" && o.APIKey == "" && o.TLSServerName == "" {
		return nil, nil
	}
	// An API key implies TLS (Temporal Cloud refuses plaintext).
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.TLSServerName}
	if (o.TLSCertPath == "") != (o.TLSKeyPath == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if o.TLSCertPath != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCertPath, o.TLSKeyPath)
		if err != nil {
			return nil, fmt.Errorf("load TLS client certificate %s / key %s: %w", o.TLSCertPath, o.TLSKeyPath, err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	if o.TLSCAPath != "" {
		pem, err := os.ReadFile(o.TLSCAPath)
		if err != nil {
			return nil, fmt.Errorf("read TLS CA %s: %w", o.TLSCAPath, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA %s: no PEM certificates found", o.TLSCAPath)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// Dial connects.
func (o Options) Dial() (client.Client, error) {
	co, err := o.ClientOptions()
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(co)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s (namespace %s): %w", o.Address, o.Namespace, err)
	}
	return c, nil
}
