// Command orgguard-worker is the orgguard daemon: a Temporal worker that runs
// the rollout, baseline and remediation workflows and their activities.
// With --dev it also runs an embedded Temporal server (SQLite under the state
// directory) and the Temporal Web UI.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/orgguard/orgguard/activities"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/devserver"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/logging"
	"github.com/orgguard/orgguard/internal/notify"
	"github.com/orgguard/orgguard/internal/temporalclient"
	"github.com/orgguard/orgguard/internal/version"
	"github.com/orgguard/orgguard/internal/workerapp"
	"github.com/orgguard/orgguard/workflows"
)

type flags struct {
	temporal      temporalclient.Options
	logFormat     string
	logLevel      string
	dev           bool
	devPort       int
	uiPort        int
	roleName      string
	externalID    string
	mgmtRoleARN   string
	maxActivities int
	trustConfig   string
	evidence      evidenceFlags
	devRetention  time.Duration
	pollers       int
	notifyConfig  string
	web           webFlags
}

// webFlags configure the web console (--web).
type webFlags struct {
	addr, publicURL, tlsCert, tlsKey, temporalUI string
}

func main() {
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "orgguard-worker:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	var f flags
	cmd := &cobra.Command{
		Use:   "orgguard-worker",
		Short: "Run the orgguard Temporal worker",
		Long: `orgguard-worker polls the "` + workflows.TaskQueue + `" task queue and runs orgguard's workflows and activities.

Temporal connection: --address/--namespace or TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE; mTLS with --tls-cert,
--tls-key, --tls-ca; Temporal Cloud with --api-key or TEMPORAL_API_KEY.
AWS: the SDK's standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, instance roles, AWS_ENDPOINT_URL ...);
in each member account the worker assumes --role-name (with --external-id when the role requires one).

--dev also starts an embedded Temporal server persisting to <state-dir>/temporal.db and the Web UI;
stopping and restarting it resumes in-flight workflows.

--web ADDR serves the web console for approvers (pending approvals, approve/reject, run progress,
audit search; docs/console.md); it is on by default with --dev (` + workerapp.DevConsoleAddr + `, --web off disables it).`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.temporal.Address, "address", "", "Temporal frontend host:port (env TEMPORAL_ADDRESS; default "+temporalclient.DefaultAddress+")")
	fl.StringVar(&f.temporal.Namespace, "namespace", "", "Temporal namespace (env TEMPORAL_NAMESPACE; default "+temporalclient.DefaultNamespace+")")
	fl.StringVar(&f.temporal.TLSCertPath, "tls-cert", "", "client certificate for mTLS (env TEMPORAL_TLS_CERT)")
	fl.StringVar(&f.temporal.TLSKeyPath, "tls-key", "", "client key for mTLS (env TEMPORAL_TLS_KEY)")
	fl.StringVar(&f.temporal.TLSCAPath, "tls-ca", "", "CA bundle to verify the server (env TEMPORAL_TLS_CA)")
	fl.StringVar(&f.temporal.TLSServerName, "tls-server-name", "", "server name to verify (env TEMPORAL_TLS_SERVER_NAME)")
	fl.StringVar(&f.temporal.APIKey, "api-key", "", "Temporal Cloud API key (env TEMPORAL_API_KEY)")
	fl.StringVar(&f.temporal.StateDir, "state-dir", ".orgguard", "directory for the dev server's database and state")
	fl.StringVar(&f.logFormat, "log-format", logging.FormatJSON, "log format: json or console")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.BoolVar(&f.dev, "dev", false, "also run an embedded Temporal server and Web UI (development and demos)")
	fl.IntVar(&f.devPort, "dev-port", 7233, "with --dev: gRPC port of the embedded server")
	fl.DurationVar(&f.devRetention, "dev-retention", 30*24*time.Hour, "with --dev: how long closed workflows (their history) are kept; evidence outlives it in the evidence store")
	fl.IntVar(&f.uiPort, "ui-port", 8233, "with --dev: Web UI port (0 = any free port, -1 = no UI)")
	fl.StringVar(&f.roleName, "role-name", envOr("ORGGUARD_ROLE_NAME", awsclient.DefaultRoleName), "role assumed in each member account (env ORGGUARD_ROLE_NAME)")
	fl.StringVar(&f.externalID, "external-id", os.Getenv("ORGGUARD_EXTERNAL_ID"), "external ID the member roles require (env ORGGUARD_EXTERNAL_ID)")
	fl.StringVar(&f.mgmtRoleARN, "management-role-arn", os.Getenv("ORGGUARD_MANAGEMENT_ROLE_ARN"), "role to assume for Organizations calls (default: the worker's own credentials)")
	fl.IntVar(&f.maxActivities, "max-concurrent-activities", 50, "activities (AWS work) in flight at once")
	fl.IntVar(&f.pollers, "pollers", 0, "task pollers of each kind (0: scaled by the SDK on the server's feedback)")
	f.evidence.register(fl)
	fl.StringVar(&f.web.addr, "web", os.Getenv("ORGGUARD_WEB"), "serve the web console on ADDR (host:port; env ORGGUARD_WEB; --dev default "+workerapp.DevConsoleAddr+", \"off\" disables it)")
	fl.StringVar(&f.web.publicURL, "web-public-url", os.Getenv("ORGGUARD_WEB_PUBLIC_URL"), "the console's URL as browsers reach it, behind a TLS-terminating proxy (https://...; the OIDC redirect URI is this + /auth/callback)")
	fl.StringVar(&f.web.tlsCert, "web-tls-cert", "", "serve the console over https with this certificate (PEM)")
	fl.StringVar(&f.web.tlsKey, "web-tls-key", "", "the key of --web-tls-cert (PEM)")
	fl.StringVar(&f.web.temporalUI, "web-temporal-ui", os.Getenv("ORGGUARD_TEMPORAL_UI"), "the Temporal Web UI's URL, linked from the console (--dev: the embedded one)")
	fl.StringVar(&f.trustConfig, "trust-config", os.Getenv("ORGGUARD_TRUST_CONFIG"), "trust config (HCL): trusted OIDC issuers and the governance floor; see docs/security.md (env ORGGUARD_TRUST_CONFIG; --dev: the built-in dev issuer)")
	fl.StringVar(&f.notifyConfig, "notify-config", os.Getenv("ORGGUARD_NOTIFY_CONFIG"), "notification config (HCL): destinations (json webhook, Slack, Teams, SNS), the events each receives, HMAC secrets by environment variable or file; see docs/notifications.md (env ORGGUARD_NOTIFY_CONFIG)")
	return cmd
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(parent context.Context, f flags) error {
	logger, err := logging.New(f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Refuse a console nobody could log in to before anything starts.
	if f.web.addr != "" && f.web.addr != "off" && f.trustConfig == "" && !f.dev {
		return errors.New("--web needs a trust config (--trust-config): the console logs people in at its issuers; see docs/console.md")
	}
	if (f.web.tlsCert == "") != (f.web.tlsKey == "") {
		return errors.New("--web-tls-cert and --web-tls-key go together")
	}
	var trustCfg *identity.Config
	if f.trustConfig != "" {
		cfg, diags := identity.LoadConfig(f.trustConfig)
		if diags.HasErrors() {
			return fmt.Errorf("trust config:\n%s", identity.DiagnosticsText(diags))
		}
		trustCfg = cfg
	}
	var notifyCfg *notify.Config
	if f.notifyConfig != "" {
		cfg, diags := notify.LoadConfig(f.notifyConfig, os.Getenv)
		if diags.HasErrors() {
			return fmt.Errorf("notification config:\n%s", notify.DiagnosticsText(diags))
		}
		notifyCfg = cfg
		for _, d := range cfg.Destinations {
			// Labels name the host only: webhook paths are credentials.
			logger.Info("notification destination", zap.String("destination", d.Label()), zap.String("format", string(d.Format)),
				zap.Bool("signed", len(d.Secret) > 0), zap.Any("events", d.Events))
		}
	}
	if f.dev {
		srv, idp, unlock, err := startDev(ctx, f, logger, trustCfg == nil)
		if err != nil {
			return err
		}
		defer unlock()
		defer srv.Stop()
		f.temporal.Address = srv.FrontendAddr()
		if f.web.temporalUI == "" {
			f.web.temporalUI = srv.UIAddr()
		}
		if idp != nil {
			defer idp.Close()
			cfg, err := idp.WriteTrustConfig(filepath.Join(f.temporal.StateDir, "trust-dev.hcl"))
			if err != nil {
				return err
			}
			trustCfg = cfg
		}
	}
	trust := identity.NewProvider(trustCfg, nil, logger.Named("trust"))
	if trustCfg == nil {
		logger.Warn("no --trust-config: no requester or approver can be verified, so apply rollouts and approvals are refused; see docs/security.md")
	} else {
		if _, err := trust.Snapshot(ctx, false); err != nil {
			// The worker still starts: workflows retry LoadTrust until the
			// IdP answers.
			logger.Error("trust config: issuer keys not loaded yet", zap.Error(err))
		}
		go trust.Run(ctx)
		logger.Info("trust config loaded", zap.String("file", trustCfg.Path), zap.String("digest", trustCfg.Digest), zap.Int("issuers", len(trustCfg.Issuers)))
	}
	f.temporal.FromEnv()
	host, _ := os.Hostname()
	f.temporal.Identity = fmt.Sprintf("orgguard-worker@%s:%d", host, os.Getpid())
	f.temporal.Logger = logging.Temporal(logger.Named("temporal-sdk"))
	c, err := f.temporal.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	if f.dev {
		if err := setRetention(ctx, c, f.temporal.Namespace, f.devRetention); err != nil {
			if ctx.Err() != nil {
				return nil // stopped while starting
			}
			return err
		}
	}

	factory, err := awsclient.Load(ctx, awsclient.Options{RoleName: f.roleName, ExternalID: f.externalID, ManagementRoleARN: f.mgmtRoleARN})
	if err != nil {
		return err
	}
	acts := activities.New(factory)
	acts.Identity = f.temporal.Identity
	acts.Trust = trust
	acts.Temporal = c
	store, err := f.evidence.open(ctx, factory, f.temporal.StateDir)
	if err != nil {
		return err
	}
	acts.Evidence = store
	logger.Info("evidence store", zap.String("where", store.B.Where()))
	web, err := startConsole(c, trust, store, f, logger)
	if err != nil {
		return err
	}
	if web != nil {
		defer web.Close()
	}
	acts.Notify = notifyCfg
	w := workerapp.New(c, acts, workerapp.Options{MaxConcurrentActivities: f.maxActivities, Pollers: f.pollers})
	logger.Info("worker starting", zap.String("address", f.temporal.Address), zap.String("namespace", f.temporal.Namespace),
		zap.String("task_queue", workflows.TaskQueue), zap.String("role_name", f.roleName), zap.String("version", version.String()))
	// Run returns when ctx's signal arrives; Stop inside lets running
	// activities finish within WorkerStopTimeout.
	interrupt := make(chan any)
	go func() { <-ctx.Done(); close(interrupt) }()
	if err := w.Run(interrupt); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	logger.Info("worker stopped")
	return nil
}

func startDev(ctx context.Context, f flags, logger *zap.Logger, withIssuer bool) (*devserver.Server, *devidp.Issuer, func(), error) {
	dir := f.temporal.StateDir
	unlock, err := lockStateDir(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	var idp *devidp.Issuer
	if withIssuer {
		idp, err = devidp.Start(devidp.Options{StateDir: dir})
		if err != nil {
			unlock()
			return nil, nil, nil, err
		}
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		StateDir:         dir,
		Namespace:        envOr("TEMPORAL_NAMESPACE", temporalclient.DefaultNamespace),
		FrontendPort:     f.devPort,
		UIPort:           f.uiPort,
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           logger,
		Retention:        f.devRetention,
	})
	if err != nil {
		if idp != nil {
			_ = idp.Close()
		}
		unlock()
		return nil, nil, nil, err
	}
	st := temporalclient.DevState{Address: srv.FrontendAddr(), Namespace: envOr("TEMPORAL_NAMESPACE", temporalclient.DefaultNamespace), UI: srv.UIAddr(), PID: os.Getpid()}
	if idp != nil {
		st.Issuer = idp.URL()
	}
	if err := temporalclient.WriteDevState(dir, st); err != nil {
		srv.Stop()
		if idp != nil {
			_ = idp.Close()
		}
		unlock()
		return nil, nil, nil, err
	}
	logger.Info("embedded Temporal server started", zap.String("address", st.Address), zap.String("database", srv.DatabaseFile()), zap.String("web_ui", st.UI))
	fmt.Fprintf(os.Stderr, "\n  Temporal (dev) at %s, database %s\n  Web UI: %s\n  Dev OIDC issuer: %s (orgguard login --as alice)\n\n", st.Address, srv.DatabaseFile(), orNone(st.UI), orNone(st.Issuer))
	return srv, idp, func() {
		_ = os.Remove(filepath.Join(dir, temporalclient.DevStateFile))
		unlock()
	}, nil
}

// startConsole serves the web console when --web asks for it, or by default
// in dev mode; nil when it is off.
func startConsole(c client.Client, trust *identity.Provider, store *evidence.Store, f flags, logger *zap.Logger) (*workerapp.Console, error) {
	addr, fallback := f.web.addr, false
	switch {
	case addr == "off":
		return nil, nil
	case addr == "" && !f.dev:
		return nil, nil
	case addr == "":
		addr, fallback = workerapp.DevConsoleAddr, true
	}
	if trust.Config() == nil {
		if f.web.addr == "" {
			logger.Warn("web console not started: without a trust config nobody can log in (see docs/console.md)")
			return nil, nil
		}
		return nil, errors.New("--web needs a trust config (--trust-config): the console logs people in at its issuers; see docs/console.md")
	}
	web, err := workerapp.StartConsole(c, trust, workerapp.ConsoleOptions{
		Addr: addr, FallbackToFreePort: fallback, PublicURL: f.web.publicURL, TLSCert: f.web.tlsCert, TLSKey: f.web.tlsKey,
		TemporalUI: f.web.temporalUI, Namespace: f.temporal.Namespace, Logger: logger.Named("console"), Evidence: store,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("web console started", zap.String("url", web.URL), zap.String("temporal_ui", f.web.temporalUI))
	fmt.Fprintf(os.Stderr, "\n  orgguard console: %s\n\n", web.URL)
	if f.dev {
		if st, err := temporalclient.ReadDevState(f.temporal.StateDir); err == nil {
			st.Console = web.URL
			_ = temporalclient.WriteDevState(f.temporal.StateDir, st)
		}
	}
	return web, nil
}

func orNone(s string) string {
	if s == "" {
		return "(disabled)"
	}
	return s
}

// lockStateDir makes sure only one dev server uses a state directory: two
// SQLite writers on one file would corrupt each other's view.
func lockStateDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, "worker.lock")
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fh.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state directory %s is in use by another orgguard-worker --dev (lock %s); stop it or use --state-dir", dir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(fh.Fd()), syscall.LOCK_UN); fh.Close() }, nil
}
