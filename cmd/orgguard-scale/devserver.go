//go:build !race

package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/orgguard/orgguard/internal/devserver"
	"github.com/orgguard/orgguard/internal/scale"
	"github.com/orgguard/orgguard/workflows"
)

// serveDev runs the embedded dev server until SIGTERM, printing
// scale.ServerReady and its address once it accepts connections.
func serveDev(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("temporal-dev", flag.ContinueOnError)
	dir := fs.String("state-dir", "", "directory of the SQLite database")
	port := fs.Int("port", 0, "frontend port (0: any free one)")
	ns := fs.String("namespace", "default", "namespace to create")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		StateDir: *dir, FrontendPort: *port, UIPort: -1, Namespace: *ns,
		SearchAttributes: workflows.SearchAttributes(),
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Fprintln(stdout, scale.ServerReady+srv.FrontendAddr())
	<-ctx.Done()
	return nil
}
