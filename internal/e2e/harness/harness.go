// Package harness starts what an orgguard user runs — the AWS organization
// simulator, an embedded Temporal server, the real worker — with the AWS
// SDK's standard environment pointed at the simulator, and drives the CLI.
// The end-to-end tests share it.
package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/orgguard/orgguard/activities"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/cli"
	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/devserver"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/notify"
	"github.com/orgguard/orgguard/internal/temporalclient"
	"github.com/orgguard/orgguard/internal/workerapp"
	"github.com/orgguard/orgguard/workflows"
)

// Options tune the environment.
type Options struct {
	// PageSize caps the simulator's list pages, so tests exercise paging.
	PageSize int
	// HTTPProxy routes S3 Control's account-prefixed host names through the
	// simulator. Go reads the proxy environment once per process, so only a
	// test binary with a single simulator may set it.
	HTTPProxy bool
	// TrustConfig, when set, returns the worker's trust config for the dev
	// issuer at issuerURL; default: the dev worker's (devidp.TrustConfig).
	TrustConfig func(issuerURL string) string
	// Notify is the worker's notification config (--notify-config).
	Notify *notify.Config
}

// Env is a running simulator, Temporal server and worker.
type Env struct {
	T        testing.TB
	Seed     *awssim.Seed
	Sim      *awssim.Server
	Server   *devserver.Server
	Client   client.Client
	StateDir string
	Worker   worker.Worker
	// Issuer is the built-in dev OIDC issuer the worker trusts.
	Issuer *devidp.Issuer
	Trust  *identity.Provider
	// Evidence is the worker's evidence store (<StateDir>/evidence, where
	// the CLI's report looks by default).
	Evidence *evidence.Store
	// Notify is the worker's notification config.
	Notify *notify.Config
}

// New starts everything; t.Cleanup stops it.
func New(t testing.TB, seed *awssim.Seed, o Options) *Env {
	ctx := context.Background()
	sim, err := awssim.New(awssim.Options{Seed: seed, PageSize: o.PageSize})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	key, secret := sim.ManagementCredentials()
	env := map[string]string{
		"AWS_ENDPOINT_URL": sim.URL(), "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": t.TempDir() + "/none", "AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none",
		"TEMPORAL_ADDRESS": "", "ORGGUARD_TOKEN_CACHE": t.TempDir() + "/tokens", "ORGGUARD_AS": "",
	}
	if o.HTTPProxy {
		env["HTTP_PROXY"] = sim.URL()
	}
	for k, v := range env {
		t.Setenv(k, v)
	}

	srv, err := devserver.Start(ctx, devserver.Options{UIPort: -1, SearchAttributes: workflows.SearchAttributes()})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddr()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	// The CLI finds the dev server through its state directory, which is
	// also what lets --as pick who acts.
	dir := t.TempDir()
	idp, err := devidp.Start(devidp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = idp.Close() })
	trustHCL := idp.TrustConfig()
	if o.TrustConfig != nil {
		trustHCL = o.TrustConfig(idp.URL())
	}
	trustPath := filepath.Join(dir, "trust.hcl")
	require.NoError(t, os.WriteFile(trustPath, []byte(trustHCL), 0o600))
	cfg, diags := identity.LoadConfig(trustPath)
	require.False(t, diags.HasErrors(), diags.Error())
	require.NoError(t, temporalclient.WriteDevState(dir, temporalclient.DevState{Address: srv.FrontendAddr(), Namespace: "default", Issuer: idp.URL()}))
	e := &Env{T: t, Seed: seed, Sim: sim, Server: srv, Client: c, StateDir: dir, Issuer: idp, Trust: identity.NewProvider(cfg, nil, nil), Notify: o.Notify}
	e.StartWorker()
	return e
}

// StartWorker starts a (new) worker, as after a crash or a deploy.
func (e *Env) StartWorker() {
	f, err := awsclient.Load(context.Background(), awsclient.Options{RoleName: e.Seed.MemberRole.Name, ExternalID: e.Seed.MemberRole.ExternalID})
	require.NoError(e.T, err)
	acts := activities.New(f)
	acts.Identity = "e2e-worker"
	acts.Trust = e.Trust
	acts.Temporal = e.Client
	// Where the CLI's `report` looks by default: <state-dir>/evidence.
	e.Evidence = &evidence.Store{B: evidence.Dir{Root: filepath.Join(e.StateDir, "evidence")}}
	acts.Evidence = e.Evidence
	acts.Notify = e.Notify
	e.Worker = workerapp.New(e.Client, acts, workerapp.Options{})
	require.NoError(e.T, e.Worker.Start())
	w := e.Worker
	e.T.Cleanup(w.Stop)
}

// CLI runs the orgguard CLI and returns its exit code and output.
func (e *Env) CLI(args ...string) (int, string) {
	var out bytes.Buffer
	code := cli.Run(context.Background(), append([]string{"--state-dir", e.StateDir}, args...), &out, &out)
	return code, out.String()
}

// Login logs people in at the dev issuer, as `orgguard login --as NAME`.
func (e *Env) Login(names ...string) {
	for _, n := range names {
		code, out := e.CLI("login", "--as", n)
		require.Equal(e.T, 0, code, out)
	}
}

// Writes are the simulator's successful calls that change something.
// Asking AWS to produce a report or to detect drift changes no resource.
func (e *Env) Writes() []awssim.Call {
	var out []awssim.Call
	for _, c := range e.Sim.Calls() {
		op := c.Operation
		if c.ErrorCode != "" || strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Get") {
			continue
		}
		switch op {
		case "AssumeRole", "GenerateCredentialReport", "DetectStackDrift", "HeadBucket":
			continue
		}
		out = append(out, c)
	}
	return out
}
