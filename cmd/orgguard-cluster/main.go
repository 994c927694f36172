// Command orgguard-cluster runs Temporal for orgguard on this machine the
// way production does: the Temporal server (go.temporal.io/server, the same
// version the dev server embeds) on a private PostgreSQL 15, with
// orgguard's namespace and search attributes. Workers and the CLI join it
// with --address. See docs/cluster.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/orgguard/orgguard/internal/cluster"
	"github.com/orgguard/orgguard/internal/logging"
	"github.com/orgguard/orgguard/internal/temporalclient"
	"github.com/orgguard/orgguard/internal/version"
	"github.com/orgguard/orgguard/workflows"
)

func main() {
	if err := newCommand(os.Stdout).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "orgguard-cluster:", err)
		os.Exit(1)
	}
}

// serveFlags are those of start and run; start hands them to run.
type serveFlags struct {
	stateDir      string
	ip            string
	port          int
	pgPort        int
	uiPort        int
	namespace     string
	historyShards int32
	retention     time.Duration
	logFormat     string
	logLevel      string
}

func newCommand(out io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "orgguard-cluster",
		Short: "Temporal on PostgreSQL for orgguard, on this machine",
		Long: `orgguard-cluster runs the Temporal server on a private PostgreSQL 15 cluster under --state-dir
(installed with apt-get when its binaries are absent; run as the postgres user), with the databases
created and migrated by the Temporal server's own SQL schema tooling, and orgguard's namespace and
search attributes registered. Workers and the CLI join with --address.`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var sf serveFlags
	start := &cobra.Command{
		Use:   "start",
		Short: "Prepare PostgreSQL and the schema, run the cluster in the background, print its address",
		RunE:  func(cmd *cobra.Command, _ []string) error { return startCmd(cmd.Context(), sf, out) },
	}
	run := &cobra.Command{
		Use:   "run",
		Short: "Run the cluster in the foreground until SIGINT or SIGTERM (then stop Temporal and PostgreSQL)",
		RunE:  func(cmd *cobra.Command, _ []string) error { return runCmd(cmd.Context(), sf, out) },
	}
	for _, c := range []*cobra.Command{start, run} {
		fl := c.Flags()
		fl.StringVar(&sf.stateDir, "state-dir", cluster.DefaultStateDir, "directory of the PostgreSQL data (pg/), password, log and state")
		fl.StringVar(&sf.ip, "ip", cluster.DefaultIP, "address both servers listen on")
		fl.IntVar(&sf.port, "port", cluster.DefaultPort, "Temporal frontend (gRPC) port")
		fl.IntVar(&sf.pgPort, "pg-port", cluster.DefaultPostgresPort, "PostgreSQL port")
		fl.IntVar(&sf.uiPort, "ui-port", -1, "Temporal Web UI port (0 = any free port, -1 = no UI)")
		fl.StringVar(&sf.namespace, "namespace", temporalclient.DefaultNamespace, "namespace to create with orgguard's search attributes")
		fl.Int32Var(&sf.historyShards, "history-shards", cluster.DefaultHistoryShards, "history shards; fixed once the database exists")
		fl.DurationVar(&sf.retention, "retention", cluster.DefaultRetention, "how long a new namespace keeps closed workflows")
		fl.StringVar(&sf.logFormat, "log-format", logging.FormatJSON, "log format: json or console")
		fl.StringVar(&sf.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	}
	var stateDir string
	stop := &cobra.Command{
		Use:   "stop",
		Short: "Stop the cluster's Temporal server and PostgreSQL (nothing running is fine)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cluster.Stop(cmd.Context(), stateDir, 2*time.Minute, out); err != nil {
				return err
			}
			fmt.Fprintf(out, "cluster in %s stopped\n", stateDir)
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether the cluster runs, and where",
		RunE:  func(*cobra.Command, []string) error { return statusCmd(stateDir, out) },
	}
	for _, c := range []*cobra.Command{stop, status} {
		c.Flags().StringVar(&stateDir, "state-dir", cluster.DefaultStateDir, "the cluster's state directory")
	}
	root.AddCommand(start, run, stop, status)
	return root
}

func (sf serveFlags) options(out io.Writer, logger *zap.Logger) cluster.Options {
	return cluster.Options{
		StateDir: sf.stateDir, IP: sf.ip, Port: sf.port, PostgresPort: sf.pgPort, UIPort: sf.uiPort,
		Namespace: sf.namespace, SearchAttributes: workflows.SearchAttributes(),
		HistoryShards: sf.historyShards, Retention: sf.retention,
		Out: out, Logger: logger,
	}
}

// args are the flags that make `run` serve what `start` prepared.
func (sf serveFlags) args() []string {
	return []string{"run",
		"--state-dir", sf.stateDir, "--ip", sf.ip, "--port", strconv.Itoa(sf.port), "--pg-port", strconv.Itoa(sf.pgPort),
		"--ui-port", strconv.Itoa(sf.uiPort), "--namespace", sf.namespace,
		"--history-shards", strconv.Itoa(int(sf.historyShards)), "--retention", sf.retention.String(),
		"--log-format", sf.logFormat, "--log-level", sf.logLevel,
	}
}

// startCmd prepares PostgreSQL in the foreground (an install or a schema
// migration shows here), then serves in the background.
func startCmd(ctx context.Context, sf serveFlags, out io.Writer) error {
	abs, err := filepath.Abs(sf.stateDir)
	if err != nil {
		return err
	}
	sf.stateDir = abs
	if cluster.Locked(sf.stateDir) {
		st, err := cluster.ReadState(sf.stateDir)
		if err != nil {
			return fmt.Errorf("the cluster in %s is starting or stopping (pid %d); try again, or `orgguard-cluster stop --state-dir %s`", sf.stateDir, cluster.LockHolder(sf.stateDir), sf.stateDir)
		}
		fmt.Fprintf(out, "already running (pid %d)\n", st.PID)
		printState(out, sf.stateDir, st)
		return nil
	}
	logger, err := logging.New(sf.logFormat, "warn")
	if err != nil {
		return err
	}
	unlock, err := cluster.Lock(sf.stateDir)
	if err != nil {
		return err
	}
	_, err = cluster.Prepare(ctx, sf.options(out, logger))
	unlock()
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Temporal: starting the server in the background (log %s)\n", filepath.Join(sf.stateDir, cluster.LogFileName))
	st, err := cluster.StartBackground(ctx, sf.stateDir, exe, sf.args(), 5*time.Minute)
	if err != nil {
		return err
	}
	printState(out, sf.stateDir, st)
	return nil
}

func runCmd(parent context.Context, sf serveFlags, out io.Writer) error {
	logger, err := logging.New(sf.logFormat, sf.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	unlock, err := cluster.Lock(sf.stateDir)
	if err != nil {
		return err
	}
	defer unlock()
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cluster.Start(ctx, sf.options(out, logger))
	if err != nil {
		// What Prepare started before the failure is stopped with it.
		if serr := cluster.StopPostgres(context.Background(), sf.stateDir, io.Discard); serr != nil {
			logger.Warn("stop PostgreSQL after the failed start", zap.Error(serr))
		}
		return err
	}
	st := cluster.State{
		PID: os.Getpid(), Address: c.FrontendAddr(), Namespace: sf.namespace, UI: c.UIAddr(),
		Postgres: c.PG.Addr(), DataDir: c.PG.Dir, Started: time.Now().UTC(),
	}
	if err := cluster.WriteState(sf.stateDir, st); err != nil {
		_ = c.Stop(context.Background())
		return err
	}
	logger.Info("cluster serving", zap.String("address", st.Address), zap.String("namespace", st.Namespace),
		zap.String("postgres", st.Postgres), zap.String("data_dir", st.DataDir), zap.String("version", version.String()))
	fmt.Fprintf(out, "serving on %s (namespace %s); SIGINT or SIGTERM stops Temporal and PostgreSQL\n", st.Address, st.Namespace)
	<-ctx.Done()
	cluster.RemoveState(sf.stateDir)
	logger.Info("stopping the cluster")
	if err := c.Stop(context.Background()); err != nil {
		return err
	}
	logger.Info("cluster stopped")
	return nil
}

func statusCmd(dir string, out io.Writer) error {
	if !cluster.Locked(dir) {
		return fmt.Errorf("no cluster runs in %s", dir)
	}
	st, err := cluster.ReadState(dir)
	if err != nil {
		return fmt.Errorf("the cluster in %s is starting or stopping (pid %d)", dir, cluster.LockHolder(dir))
	}
	printState(out, dir, st)
	return nil
}

func printState(out io.Writer, dir string, st cluster.State) {
	fmt.Fprintf(out, `Temporal on PostgreSQL is serving (pid %d, since %s)
  namespace  %s
  postgres   %s, data in %s
  log        %s
  workers    bin/orgguard-worker --address %s --trust-config ...
  CLI        bin/orgguard --address %s ...   (or export TEMPORAL_ADDRESS=%s)
  stop       make cluster-stop   (bin/orgguard-cluster stop --state-dir %s)
`, st.PID, st.Started.Format(time.RFC3339), st.Namespace, st.Postgres, st.DataDir, filepath.Join(dir, cluster.LogFileName),
		st.Address, st.Address, st.Address, dir)
	if st.UI != "" {
		fmt.Fprintf(out, "  web UI     %s\n", st.UI)
	}
	fmt.Fprintf(out, "address: %s\n", st.Address)
}
