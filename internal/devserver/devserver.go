// Package devserver runs an embedded, single-process Temporal server that
// persists to a SQLite file, plus (optionally) the Temporal Web UI. It is what
// `orgguard-worker --dev` and the integration tests run; production uses any
// Temporal cluster or Temporal Cloud instead. With Options.Store the same
// server persists to an external SQL database (internal/cluster: PostgreSQL).
package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/types/known/durationpb"
)

// devClusterID is fixed so a restarted dev server finds its own cluster
// metadata in the database.
const devClusterID = "0b7e6a8e-4f0c-4d2b-9c1e-6f7267677561"

// DatabaseFileName is the SQLite file under the state directory.
const DatabaseFileName = "temporal.db"

// Options configure the embedded server.
type Options struct {
	// StateDir holds the SQLite database; created if missing. Empty means an
	// in-memory database (tests that do not need persistence).
	StateDir string
	// Namespace to create (idempotently).
	Namespace string
	// IP to bind; default 127.0.0.1.
	IP string
	// FrontendPort for gRPC; 0 picks a free port.
	FrontendPort int
	// UIPort serves the Web UI; 0 picks a free port; -1 disables the UI.
	UIPort int
	// SearchAttributes are registered on Namespace if missing.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's own logs (at warn level and above).
	Logger *zap.Logger

	// Store, when set, is an external SQL database (plugin and address in
	// it) used instead of SQLite; StateDir is then unused. Its schema must
	// be in place: internal/cluster applies it with the server's schema
	// tooling.
	Store *config.SQL
	// VisibilityStore is the SQL database of visibility, default Store.
	VisibilityStore *config.SQL
	// HistoryShards is fixed when a database is first used; default 1.
	HistoryShards int32
	// Retention of closed workflows in a namespace this server creates;
	// default 24h.
	Retention time.Duration
}

// Server is a running embedded Temporal server.
type Server struct {
	server       temporal.Server
	ui           *uiserver.Server
	frontendAddr string
	uiAddr       string
	dbFile       string
	store        string // where the server persists, for errors
	namespace    string
	logLevel     zap.AtomicLevel
}

// FrontendAddr is the host:port of the gRPC frontend.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIAddr is the http://host:port of the Web UI, empty when disabled.
func (s *Server) UIAddr() string { return s.uiAddr }

// DatabaseFile is the SQLite file, empty for in-memory.
func (s *Server) DatabaseFile() string { return s.dbFile }

// Start starts the server and returns once the frontend answers and the
// namespace and search attributes exist.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	var err error
	if o.FrontendPort == 0 {
		if o.FrontendPort, err = freePort(o.IP); err != nil {
			return nil, err
		}
	}
	s := &Server{
		frontendAddr: net.JoinHostPort(o.IP, strconv.Itoa(o.FrontendPort)),
		namespace:    o.Namespace,
	}

	sqlConf, err := s.sqlConfig(o)
	if err != nil {
		return nil, err
	}
	conf, err := serverConfig(o, sqlConf)
	if err != nil {
		return nil, err
	}
	// The server is chatty at info level; an operator of the dev server only
	// needs its warnings and errors.
	s.logLevel = zap.NewAtomicLevelAt(zapcore.WarnLevel)
	serverLogger := tlog.NewZapLogger(o.Logger.Named("temporal").WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		core, err := zapcore.NewIncreaseLevelCore(c, s.logLevel)
		if err != nil {
			return c
		}
		return core
	})))
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, serverLogger)
	if err != nil {
		return nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(o.IP, strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 200,
		// SQLite visibility cannot seek to a page token (an OR of ranges
		// over the sort order): each page walks the index from its top
		// again, so a listing of P pages costs about P²/2 first pages. Pages
		// of 10,000 rows instead of the default 1,000 keep `orgguard audit
		// --limit 0` over a month of remediations to a few pages
		// (docs/performance.md, "Audit at scale").
		dynamicconfig.FrontendVisibilityMaxPageSize.Key(): 10000,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():  8192,
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(serverLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server on %s (database %s): %w", s.frontendAddr, s.store, err)
	}
	s.server = srv

	if err := s.ensureSearchAttributes(ctx, o.SearchAttributes); err != nil {
		s.Stop()
		return nil, err
	}

	if o.UIPort >= 0 {
		if o.UIPort == 0 {
			if o.UIPort, err = freePort(o.IP); err != nil {
				s.Stop()
				return nil, err
			}
		}
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                o.IP,
			Port:                o.UIPort,
			TemporalGRPCAddress: s.frontendAddr,
			EnableUI:            true,
			DefaultNamespace:    o.Namespace,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			// No network but loopback here; the news feed would only time out.
			DisableNewsFetch: true,
		}))
		s.uiAddr = "http://" + net.JoinHostPort(o.IP, strconv.Itoa(o.UIPort))
		ui := s.ui
		go func() {
			if err := ui.Start(); err != nil && !errors.Is(err, context.Canceled) {
				o.Logger.Error("temporal web ui stopped", zap.Error(err))
			}
		}()
	}
	return s, nil
}

// Stop stops the UI and the server. The SQLite file keeps all state.
func (s *Server) Stop() {
	// While stopping, the server's services lose each other and warn about
	// it; that is expected and only noise.
	s.logLevel.SetLevel(zapcore.FatalLevel)
	if s.ui != nil {
		s.ui.Stop()
		s.ui = nil
	}
	if s.server != nil {
		_ = s.server.Stop()
		s.server = nil
	}
}

func (s *Server) sqlConfig(o Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if o.Store != nil {
		conf = o.Store
		s.store = fmt.Sprintf("%s %s on %s", conf.PluginName, conf.DatabaseName, conf.ConnectAddr)
	} else if o.StateDir == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = fmt.Sprintf("orgguard-%d", time.Now().UnixNano())
	} else {
		if err := os.MkdirAll(o.StateDir, 0o750); err != nil {
			return nil, fmt.Errorf("create state directory %s: %w", o.StateDir, err)
		}
		s.dbFile = filepath.Join(o.StateDir, DatabaseFileName)
		conf.DatabaseName = s.dbFile
		conf.ConnectAttributes = map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "2", // FULL: an interrupted dev server must not lose an acknowledged approval
			"busy_timeout": "10000",
		}
		if _, err := os.Stat(s.dbFile); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("create temporal schema in %s: %w", s.dbFile, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("stat %s: %w", s.dbFile, err)
		}
		s.store = s.dbFile
	}
	// Search attributes registered with the namespace itself exist from the
	// first request; ones added later through the operator API only show up
	// when the frontend's namespace cache refreshes.
	ns, err := sqliteschema.NewNamespaceConfig("active", o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	if o.Retention > 0 {
		ns.Detail.Config.Retention = durationpb.New(o.Retention)
	}
	// A no-op when the namespace exists, which is what makes restarts on the
	// same state directory work.
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s in %s: %w", o.Namespace, s.store, err)
	}
	return conf, nil
}

func serverConfig(o Options, sqlConf *config.SQL) (*config.Config, error) {
	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.IP
	conf.Persistence.DefaultStore = "default"
	conf.Persistence.VisibilityStore = "default"
	conf.Persistence.NumHistoryShards = max(o.HistoryShards, 1)
	conf.Persistence.DataStores = map[string]config.DataStore{"default": {SQL: sqlConf}}
	if o.VisibilityStore != nil {
		conf.Persistence.VisibilityStore = "visibility"
		conf.Persistence.DataStores["visibility"] = config.DataStore{SQL: o.VisibilityStore}
	}
	httpPort, err := freePort(o.IP)
	if err != nil {
		return nil, err
	}
	frontend := net.JoinHostPort(o.IP, strconv.Itoa(o.FrontendPort))
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{
			"active": {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
				HTTPAddress:            net.JoinHostPort(o.IP, strconv.Itoa(httpPort)),
				ClusterID:              devClusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = o.IP
		if name == "frontend" {
			svc.RPC.GRPCPort = o.FrontendPort
			svc.RPC.HTTPPort = httpPort
		} else if svc.RPC.GRPCPort, err = freePort(o.IP); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return conf, nil
}

// ensureSearchAttributes adds the missing custom search attributes. It waits
// for the frontend to answer first: Start returns before every service is up.
func (s *Server) ensureSearchAttributes(ctx context.Context, want map[string]enumspb.IndexedValueType) error {
	c, err := client.Dial(client.Options{HostPort: s.frontendAddr, Namespace: s.namespace, Logger: nopLogger{}})
	if err != nil {
		return fmt.Errorf("connect to embedded temporal at %s: %w", s.frontendAddr, err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("embedded temporal at %s did not become ready: %w", s.frontendAddr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if len(want) == 0 {
		return nil
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	names := make([]string, 0, len(want))
	for name, typ := range want {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
			names = append(names, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(names)
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: s.namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes %v: %w", names, err)
	}
	return nil
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
