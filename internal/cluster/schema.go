package cluster

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/server/common/config"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	pgschema "go.temporal.io/server/schema/postgresql/v12"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// Database is one of the server's databases and the schema it holds.
type Database struct {
	Name string
	// Schema names the server module's embedded schema
	// (go.temporal.io/server/schema/<Schema>/versioned).
	Schema string
	// Version is the schema version this server needs.
	Version string
}

// Databases: the default store and visibility, on the server's
// PostgreSQL 12+ schemas (plugin postgres12). Visibility on SQL keeps
// custom search attributes in typed columns (Keyword01, KeywordList01,
// ...), so orgguard's search attributes need no Elasticsearch.
var Databases = []Database{
	{Name: "temporal", Schema: "postgresql/v12/temporal", Version: pgschema.Version},
	{Name: "temporal_visibility", Schema: "postgresql/v12/visibility", Version: pgschema.VisibilityVersion},
}

// SQL is the server's connection to one database of p.
func (p *Postgres) SQL(database string) *config.SQL {
	return &config.SQL{
		PluginName:      postgresql.PluginName,
		DatabaseName:    database,
		ConnectAddr:     p.Addr(),
		ConnectProtocol: "tcp",
		User:            p.User,
		Password:        p.Password,
		// Each of the four services keeps a pool per store: 4 × (20 + 20)
		// stays below the server's max_connections of 200.
		MaxConns:        20,
		MaxIdleConns:    20,
		MaxConnLifetime: time.Hour,
	}
}

// applySchema does, through the server module's schema tooling
// (go.temporal.io/server/tools/sql and tools/common/schema, what
// temporal-sql-tool runs), the three steps of a PostgreSQL install:
// create-database, setup-schema -v 0.0 (the version tables) and
// update-schema over the embedded versioned directory. Each is a no-op
// where done before, so a database that is current is only validated and
// one of an older server is updated. It returns what it found and did.
func applySchema(conf *config.SQL, db Database, logger tlog.Logger) (string, error) {
	where := fmt.Sprintf("database %s on %s", db.Name, conf.ConnectAddr)
	create := *conf
	create.DatabaseName = db.Name
	// DoCreateDatabase connects to the maintenance database "postgres" and
	// treats an existing database as created.
	if err := sqltool.DoCreateDatabase(&create, "postgres", logger); err != nil {
		return "", fmt.Errorf("create %s: %w", where, err)
	}
	c := *conf
	c.DatabaseName = db.Name
	conn, err := sqltool.NewConnection(&c, logger)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", where, err)
	}
	defer conn.Close()
	before, err := conn.ReadSchemaVersion()
	if err != nil {
		before = ""
	}
	if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return "", fmt.Errorf("set up the schema version tables of %s: %w", where, err)
	}
	if err := schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: db.Name, SchemaName: db.Schema}, logger).Run(); err != nil {
		return "", fmt.Errorf("update the schema of %s from %s: %w", where, db.Schema, err)
	}
	after, err := conn.ReadSchemaVersion()
	if err != nil {
		return "", fmt.Errorf("read the schema version of %s: %w", where, err)
	}
	if !sameVersion(after, db.Version) {
		return "", fmt.Errorf("%s has schema version %s, this server (go.temporal.io/server, schema %s) needs %s", where, after, db.Schema, db.Version)
	}
	switch {
	case before == "" || sameVersion(before, "0.0"):
		return fmt.Sprintf("%s: schema %s created at version %s", db.Name, db.Schema, after), nil
	case sameVersion(before, after):
		return fmt.Sprintf("%s: schema %s at version %s, validated", db.Name, db.Schema, after), nil
	default:
		return fmt.Sprintf("%s: schema %s updated from version %s to %s", db.Name, db.Schema, before, after), nil
	}
}

// sameVersion compares "1.19", "v1.19" and "1.19.0" as equal.
func sameVersion(a, b string) bool {
	norm := func(v string) string {
		v = strings.TrimPrefix(strings.TrimSpace(v), "v")
		for strings.Count(v, ".") < 2 {
			v += ".0"
		}
		return v
	}
	return norm(a) == norm(b)
}
