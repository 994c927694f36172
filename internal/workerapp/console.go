package workerapp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/orgguard/orgguard/internal/console"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/identity"
)

// DevConsoleAddr is where `orgguard-worker --dev` serves the console unless
// --web says otherwise (any free port when it is taken).
const DevConsoleAddr = "127.0.0.1:8234"

// ConsoleOptions say where and how the worker serves the web console.
type ConsoleOptions struct {
	// Addr is the listen address (host:port; port 0 picks one).
	Addr string
	// FallbackToFreePort listens on any free port of Addr's host when
	// Addr's port is taken (the dev default).
	FallbackToFreePort bool
	// PublicURL is the URL browsers use, when it is not the listener's
	// (a TLS-terminating proxy); default scheme://Addr.
	PublicURL string
	// TLSCert and TLSKey serve https (and make cookies Secure).
	TLSCert, TLSKey string
	// TemporalUI is the Temporal Web UI's URL, linked from the pages.
	TemporalUI string
	Namespace  string
	Logger     *zap.Logger
	// Evidence is the store the runs' reports are read from (nil: no
	// reports).
	Evidence *evidence.Store
}

// Console is a running console.
type Console struct {
	URL string
	srv *http.Server
}

// Close stops serving (sessions are in memory and end with it).
func (c *Console) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.srv.Shutdown(ctx)
}

// StartConsole serves the web console for the worker's Temporal client and
// trust config until Close.
func StartConsole(c client.Client, trust *identity.Provider, o ConsoleOptions) (*Console, error) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("console: --web-tls-cert and --web-tls-key go together")
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil && o.FallbackToFreePort {
		host, _, _ := net.SplitHostPort(o.Addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("console: listen on %s: %w", o.Addr, err)
	}
	scheme := "http"
	var tlsConf *tls.Config
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("console: TLS key pair: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	public := o.PublicURL
	if public == "" {
		addr := ln.Addr().(*net.TCPAddr)
		host := addr.IP.String()
		if addr.IP.IsUnspecified() {
			// Listening on every interface: browsers need a name.
			if host, err = os.Hostname(); err != nil {
				host = "localhost"
			}
		}
		public = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
	}
	srv, err := console.New(console.Options{
		Backend: console.Temporal(c), Trust: trust, PublicURL: public,
		TemporalUI: o.TemporalUI, Namespace: o.Namespace, Logger: o.Logger, Evidence: o.Evidence,
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, TLSConfig: tlsConf,
		ErrorLog: zap.NewStdLog(o.Logger.Named("http"))}
	go func() {
		var err error
		if tlsConf != nil {
			err = hs.ServeTLS(ln, "", "")
		} else {
			err = hs.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Logger.Error("console stopped", zap.Error(err))
		}
	}()
	return &Console{URL: srv.URL(), srv: hs}, nil
}
