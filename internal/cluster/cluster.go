// Package cluster runs Temporal for production on one machine: the
// go.temporal.io/server module's services in one process (internal/devserver's
// configuration, with PostgreSQL instead of SQLite) on a private
// PostgreSQL 15 cluster under the state directory, both databases (default
// store and visibility, plugin postgres12) created and migrated by the
// server module's own SQL schema tooling. cmd/orgguard-cluster runs it
// (`make cluster`); docs/cluster.md says how to operate it.
package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	tlog "go.temporal.io/server/common/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/orgguard/orgguard/internal/devserver"
)

// Defaults of Options and of cmd/orgguard-cluster's flags.
const (
	DefaultStateDir     = ".orgguard/cluster"
	DefaultIP           = "127.0.0.1"
	DefaultPort         = 7433
	DefaultPostgresPort = 7432
	// DefaultHistoryShards: a history shard is the unit of the history
	// service's concurrency and is fixed when the database is created; 4
	// lets four rollouts' workflows persist at once on a small machine
	// (Temporal's own default, 4096, is for clusters of many hosts).
	DefaultHistoryShards = 4
	// DefaultRetention keeps closed workflows, the audit trail, 30 days
	// (the dev server keeps them a day).
	DefaultRetention = 30 * 24 * time.Hour
)

// Options configure the cluster.
type Options struct {
	// StateDir holds the PostgreSQL data directory (pg/), the database
	// password, the log and the running cluster's state.
	StateDir string
	// IP both servers listen on.
	IP string
	// Port of the Temporal frontend (gRPC), where workers and the CLI
	// connect.
	Port int
	// PostgresPort of the private PostgreSQL.
	PostgresPort int
	// UIPort serves the Temporal Web UI; -1 (the default of the command)
	// none, 0 any free port.
	UIPort int
	// Namespace is created on first start, with SearchAttributes, which
	// are also added to an existing namespace that lacks them.
	Namespace        string
	SearchAttributes map[string]enumspb.IndexedValueType
	HistoryShards    int32
	Retention        time.Duration
	// Out receives progress for people; Logger the servers' own logs.
	Out    io.Writer
	Logger *zap.Logger
}

func (o *Options) defaults() {
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if o.IP == "" {
		o.IP = DefaultIP
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.PostgresPort == 0 {
		o.PostgresPort = DefaultPostgresPort
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.HistoryShards == 0 {
		o.HistoryShards = DefaultHistoryShards
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Prepare makes PostgreSQL ready for the server: installed (apt-get when
// its binaries are absent), initialised, running, and both databases at the
// schema version of this server. Every step is skipped where done, so it
// is what a second start runs too.
func Prepare(ctx context.Context, o Options) (*Postgres, error) {
	o.defaults()
	// Others may search the state directory, not list it: the postgres user
	// must reach pg/ inside; the password file is the owner's alone.
	if err := os.MkdirAll(o.StateDir, 0o711); err != nil {
		return nil, fmt.Errorf("create the state directory %s: %w", o.StateDir, err)
	}
	pg, err := newPostgres(ctx, o.StateDir, o.IP, o.PostgresPort, o.Out)
	if err != nil {
		return nil, err
	}
	if err := pg.Start(ctx); err != nil {
		return nil, err
	}
	// The tooling logs every step at info; its warnings (a statement of a
	// partly applied update ignored) are worth keeping.
	logger := tlog.NewZapLogger(o.Logger.Named("schema").WithOptions(zap.IncreaseLevel(zapcore.WarnLevel)))
	for _, db := range Databases {
		msg, err := applySchema(pg.SQL(db.Name), db, logger)
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(o.Out, "Temporal database "+msg)
	}
	return pg, nil
}

// Cluster is a running PostgreSQL and Temporal server.
type Cluster struct {
	PG  *Postgres
	srv *devserver.Server
}

// Start prepares PostgreSQL and starts the Temporal server on it; it
// returns once the frontend answers and the namespace has the search
// attributes.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	o.defaults()
	pg, err := Prepare(ctx, o)
	if err != nil {
		return nil, err
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		Store:            pg.SQL(Databases[0].Name),
		VisibilityStore:  pg.SQL(Databases[1].Name),
		HistoryShards:    o.HistoryShards,
		Retention:        o.Retention,
		Namespace:        o.Namespace,
		IP:               o.IP,
		FrontendPort:     o.Port,
		UIPort:           o.UIPort,
		SearchAttributes: o.SearchAttributes,
		Logger:           o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("temporal server on PostgreSQL %s: %w", pg.Addr(), err)
	}
	return &Cluster{PG: pg, srv: srv}, nil
}

// FrontendAddr is the host:port workers and the CLI connect to.
func (c *Cluster) FrontendAddr() string { return c.srv.FrontendAddr() }

// UIAddr is the Web UI's URL, empty without one.
func (c *Cluster) UIAddr() string { return c.srv.UIAddr() }

// Stop stops the Temporal server, then PostgreSQL.
func (c *Cluster) Stop(ctx context.Context) error {
	c.srv.Stop()
	if err := c.PG.Stop(ctx); err != nil {
		return fmt.Errorf("stop PostgreSQL: %w", err)
	}
	return nil
}
