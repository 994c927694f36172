// Package cli is the operator CLI `orgguard`: validate guardrail packs, plan
// and apply them across the organization, follow rollouts, approve or reject
// remediations, query the audit trail and schedule drift detection.
// cmd/starter is its main; tests drive Run directly.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/internal/logging"
	"github.com/orgguard/orgguard/internal/temporalclient"
	"github.com/orgguard/orgguard/internal/version"
)

// Exit codes (documented in the README).
const (
	exitOK       = 0
	exitFindings = 1 // findings, failures, refused votes, invalid guardrails
	exitUsage    = 2
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func failf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// silentExit ends with a code after the command already printed why.
func silentExit(code int) error { return &exitError{code: code} }

type app struct {
	temporal temporalclient.Options
	as       string
	identity string
}

// Run executes the CLI with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "orgguard:", ee.err)
		}
		return ee.code
	}
	// Anything else cobra returns is a usage problem (unknown flag, wrong
	// number of arguments).
	fmt.Fprintln(stderr, "orgguard:", err)
	fmt.Fprintln(stderr, "Run 'orgguard --help' for usage.")
	return exitUsage
}

func newRoot() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:   "orgguard",
		Short: "Keep every account of an AWS Organization on a security baseline",
		Long: `orgguard applies guardrails written in HCL (SCPs, AWS Config rules, Security Hub standards and
native controls) to every account of an AWS Organization through durable Temporal workflows,
with approval-gated remediation and an audit trail.

Exit codes: 0 ok; 1 findings, failures or a refused request; 2 usage error.`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.temporal.Address, "address", "", "Temporal frontend host:port (env TEMPORAL_ADDRESS; default: the dev server in --state-dir, else "+temporalclient.DefaultAddress+")")
	pf.StringVar(&a.temporal.Namespace, "namespace", "", "Temporal namespace (env TEMPORAL_NAMESPACE)")
	pf.StringVar(&a.temporal.TLSCertPath, "tls-cert", "", "client certificate for mTLS (env TEMPORAL_TLS_CERT)")
	pf.StringVar(&a.temporal.TLSKeyPath, "tls-key", "", "client key for mTLS (env TEMPORAL_TLS_KEY)")
	pf.StringVar(&a.temporal.TLSCAPath, "tls-ca", "", "CA bundle (env TEMPORAL_TLS_CA)")
	pf.StringVar(&a.temporal.TLSServerName, "tls-server-name", "", "server name to verify (env TEMPORAL_TLS_SERVER_NAME)")
	pf.StringVar(&a.temporal.APIKey, "api-key", "", "Temporal Cloud API key (env TEMPORAL_API_KEY)")
	pf.StringVar(&a.temporal.StateDir, "state-dir", ".orgguard", "state directory of a local orgguard-worker --dev")
	pf.StringVar(&a.as, "as", os.Getenv("ORGGUARD_AS"), "act with the cached login of this person (see orgguard login; env ORGGUARD_AS)")
	pf.StringVar(&a.identity, "identity", os.Getenv("ORGGUARD_IDENTITY"), "client identity recorded in Temporal (env ORGGUARD_IDENTITY; default user@host)")

	root.AddCommand(
		versionCmd(),
		validateCmd(),
		rolloutCmd(a, "check"), rolloutCmd(a, "plan"), rolloutCmd(a, "apply"),
		rollbackCmd(a), statusCmd(a), controlCmd(a, "pause"), controlCmd(a, "resume"), controlCmd(a, "cancel"),
		approvalsCmd(a), voteCmd(a, true), voteCmd(a, false),
		auditCmd(a), scheduleCmd(a), demoCmd(a), doctorCmd(a),
		loginCmd(a), logoutCmd(a), whoamiCmd(a), packCmd(), reportCmd(a),
	)
	return root
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "orgguard", version.String())
			return nil
		},
	}
}

// who names the person acting, for display and the Temporal client
// identity: --as, else the current login, else the client identity. Nothing
// trusts it: workflows verify the tokens the CLI sends.
func (a *app) who() (string, error) {
	a.temporal.FromEnv()
	if a.as != "" {
		return a.as, nil
	}
	if s, err := a.session(); err == nil {
		return s.Name, nil
	}
	return a.clientIdentity(), nil
}

func (a *app) clientIdentity() string {
	if a.identity != "" {
		return a.identity
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return name
}

func (a *app) dial() (client.Client, error) {
	a.temporal.FromEnv()
	id, err := a.who()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	a.temporal.Identity = fmt.Sprintf("%s@%s", id, host)
	// The CLI's one logger: warnings and errors of the Temporal SDK, readable.
	if a.temporal.Logger == nil {
		if z, err := logging.New(logging.FormatConsole, "warn"); err == nil {
			a.temporal.Logger = logging.Temporal(z)
		}
	}
	c, err := a.temporal.Dial()
	if err != nil {
		return nil, failf(exitFindings, "%v\n  is a worker running? Start one with 'orgguard-worker --dev' (or 'make demo'), or pass --address", err)
	}
	return c, nil
}
