package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	pgschema "go.temporal.io/server/schema/postgresql/v12"
)

// TestClusterStartsTwiceOnOneDatabase starts PostgreSQL and the Temporal
// server on a new state directory (initdb as postgres, both databases
// created by the schema tooling), stops both, and starts them again on the
// same database, which is then only validated, with one more search
// attribute. It needs PostgreSQL (or root to install it) and runs in `make
// test-cluster`.
func TestClusterStartsTwiceOnOneDatabase(t *testing.T) {
	if os.Getenv("ORGGUARD_CLUSTER") != "1" {
		t.Skip("starts PostgreSQL and a Temporal server: run it with `make test-cluster` (sets ORGGUARD_CLUSTER=1)")
	}
	ctx := context.Background()
	var out strings.Builder
	o := Options{
		StateDir: filepath.Join(t.TempDir(), "cluster"), Port: freePort(t), PostgresPort: freePort(t), UIPort: -1,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			"OrgguardRunId":     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			"OrgguardGuardrail": enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		},
		Out: &out,
	}
	c, err := Start(ctx, o)
	require.NoError(t, err, out.String())
	t.Cleanup(func() { _ = StopPostgres(context.Background(), o.StateDir, &out) })
	for _, db := range Databases {
		assert.Contains(t, out.String(), fmt.Sprintf("%s: schema %s created at version %s", db.Name, db.Schema, db.Version))
	}
	assert.Equal(t, pgschema.Version, Databases[0].Version)
	if os.Geteuid() == 0 {
		st, err := os.Stat(c.PG.Dir)
		require.NoError(t, err)
		pg, err := user.Lookup(osPostgresUser)
		require.NoError(t, err)
		assert.Equal(t, pg.Uid, strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)), "the data directory belongs to postgres")
	}
	checkSearchAttributes(t, c.FrontendAddr(), o.SearchAttributes)
	require.NoError(t, c.Stop(ctx))
	running, err := c.PG.Running(ctx)
	require.NoError(t, err)
	assert.False(t, running, "Stop stops PostgreSQL")

	out.Reset()
	o.SearchAttributes["OrgguardOutcome"] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	c, err = Start(ctx, o)
	require.NoError(t, err, out.String())
	for _, db := range Databases {
		assert.Contains(t, out.String(), fmt.Sprintf("%s: schema %s at version %s, validated", db.Name, db.Schema, db.Version))
	}
	assert.NotContains(t, out.String(), "initdb")
	checkSearchAttributes(t, c.FrontendAddr(), o.SearchAttributes)
	require.NoError(t, c.Stop(ctx))
}

// checkSearchAttributes: the namespace has them, and visibility (SQL on
// PostgreSQL) answers a query on each. One added to an existing namespace
// is known to queries once the frontend's namespace cache has refreshed
// (every 10 s), so a query is tried until then.
func checkSearchAttributes(t *testing.T, addr string, want map[string]enumspb.IndexedValueType) {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	require.NoError(t, err)
	for name, typ := range want {
		assert.Equal(t, typ, have.GetCustomAttributes()[name], name)
		q := fmt.Sprintf("%s = 'x'", name)
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
			_, err = c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: q})
			if err == nil || time.Now().After(deadline) {
				break
			}
		}
		assert.NoError(t, err, q)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
