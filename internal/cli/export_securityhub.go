package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/secexport"
)

// exportSecurityHub sends the findings of a run to AWS Security Hub
// (`orgguard report RUN --export securityhub`). Each account's findings go
// to its own Security Hub through the member role, as the worker assumes
// it: the same environment (ORGGUARD_ROLE_NAME, ORGGUARD_EXTERNAL_ID, the
// SDK's credential chain and AWS_ENDPOINT_URL[_SECURITYHUB]).
// Organization-wide findings (SCPs) go to the credentials' region
// (AWS_REGION). It prints a line per account and a summary; an export
// with failures exits 1 after listing them.
func exportSecurityHub(ctx context.Context, a *app, store evidence.Store, runID string, out io.Writer) error {
	factory, err := awsclient.Load(ctx, awsclient.Options{
		RoleName:   envOr("ORGGUARD_ROLE_NAME", awsclient.DefaultRoleName),
		ExternalID: os.Getenv("ORGGUARD_EXTERNAL_ID"),
	})
	if err != nil {
		return failf(exitFindings, "%v", err)
	}
	return exportSecurityHubWith(ctx, store, runID, secexport.FactoryConfigs(factory, runID),
		secexport.Options{HomeRegion: factory.Region()}, out)
}

// exportSecurityHubWith is exportSecurityHub with the account
// configurations and options given.
func exportSecurityHubWith(ctx context.Context, store evidence.Store, runID string, configs secexport.ConfigFunc, opts secexport.Options, out io.Writer) error {
	fmt.Fprintf(out, "Exporting run %s from %s to Security Hub\n", runID, store.B.Where())
	opts.Progress = func(r secexport.AccountResult) {
		fmt.Fprintf(out, "  account %s (%s): %d imported, %d updated, %d resolved, %d archived, %d failed\n",
			r.Account, strings.Join(r.Regions, ", "), r.Imported, r.Updated, r.Resolved, r.Archived, r.Failed)
	}
	sum, err := secexport.Export(ctx, store, runID, configs, opts)
	fmt.Fprintf(out, "Security Hub export of run %s: %d accounts, %d imported, %d updated, %d resolved (%d archived), %d failed\n",
		runID, sum.Accounts, sum.Imported, sum.Updated, sum.Resolved, sum.Archived, sum.Failed)
	if sum.Skipped > 0 {
		fmt.Fprintf(out, "  %d findings left as they are: Security Hub holds them from a later run\n", sum.Skipped)
	}
	if err != nil {
		return failf(exitFindings, "security hub export of run %s: %v", runID, err)
	}
	if len(sum.Failures) > 0 {
		for _, f := range sum.Failures {
			fmt.Fprintln(out, "  failed:", f)
		}
		return failf(exitFindings, "security hub export of run %s: %d findings failed", runID, sum.Failed)
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
