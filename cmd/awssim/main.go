// Command awssim serves a simulated AWS organization on one local endpoint,
// for demos and for running orgguard without an AWS account.
//
//	go run ./cmd/awssim --seed internal/awssim/seeds/demo.hcl --listen 127.0.0.1:4566
//
// It prints the environment to export, then one line starting with
// "awssim ready" once it accepts requests, so scripts can wait for it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/orgguard/orgguard/internal/awssim"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "awssim:", err)
		os.Exit(1)
	}
}

type flags struct {
	seed      string
	listen    string
	generate  int
	pageSize  int
	awsQuotas bool
	// awsLatency adds awssim.AWSLatency: AWS-like latency per service.
	awsLatency bool
	logCalls   bool
	summary    bool
	region     string
	// consistency and faults fall back to AWSSIM_CONSISTENCY_DELAY and
	// AWSSIM_FAULTS, which awssim.New reads.
	consistency time.Duration
	faults      string
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	fs := flag.NewFlagSet("awssim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &flags{}
	fs.StringVar(&c.seed, "seed", "", "seed file (.hcl or .json); default: the embedded demo organization")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:4566", "address to listen on (port 0 picks a free port)")
	fs.IntVar(&c.generate, "generate", 0, "serve a generated organization with this many accounts instead of a seed file")
	fs.IntVar(&c.pageSize, "page-size", 0, "cap every list operation's page size (0: AWS defaults)")
	fs.BoolVar(&c.awsQuotas, "aws-quotas", false, "throttle with token buckets modelled on AWS request quotas")
	fs.BoolVar(&c.awsLatency, "aws-latency", false, "add AWS-like latency per service and operation (docs/performance.md lists the figures and their sources)")
	fs.BoolVar(&c.logCalls, "log-calls", false, "print every call to stderr")
	fs.BoolVar(&c.summary, "state-summary", false, "print the organization's accounts before the ready line")
	fs.StringVar(&c.region, "region", "us-east-1", "region to put in the printed environment")
	fs.DurationVar(&c.consistency, "consistency-delay", 0,
		"eventual consistency: IAM and KMS writes become usable by other services, and Config evaluations complete, this long after them (default $"+awssim.EnvConsistencyDelay+", else off)")
	fs.StringVar(&c.faults, "faults", "",
		"fault profile, e.g. 'throttle=20% 5xx=5%; iam:PutRolePolicy 5xx=100% times=2' (added to $"+awssim.EnvFaults+", --aws-quotas and --aws-latency)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.seed != "" && c.generate > 0 {
		return nil, errors.New("--seed and --generate are exclusive")
	}
	return c, nil
}

// options turns the flags into the server's options, except the call
// printer.
func options(c *flags) (awssim.Options, error) {
	// A long demo run must not grow the call log without bound.
	opts := awssim.Options{Addr: c.listen, PageSize: c.pageSize, CallLogLimit: 100_000, ConsistencyDelay: c.consistency}
	var err error
	switch {
	case c.generate > 0:
		opts.Seed = awssim.GenerateSeed(awssim.GenerateOptions{Accounts: c.generate})
	case c.seed != "":
		if opts.Seed, err = awssim.LoadSeedFile(c.seed); err != nil {
			return opts, err
		}
	}
	if c.awsQuotas {
		opts.Faults = awssim.AWSQuotas()
	}
	if c.awsLatency {
		opts.Faults = append(opts.Faults, awssim.AWSLatency()...)
	}
	if c.faults != "" {
		faults, err := awssim.ParseFaults(c.faults)
		if err != nil {
			return opts, fmt.Errorf("--faults: %w", err)
		}
		opts.Faults = append(opts.Faults, faults...)
	}
	return opts, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	opts, err := options(c)
	if err != nil {
		return err
	}
	if c.logCalls {
		opts.OnCall = func(call awssim.Call) {
			result := "ok"
			if call.ErrorCode != "" {
				result = call.ErrorCode
			}
			fmt.Fprintf(stderr, "%s %s:%s account=%s region=%s principal=%s source_identity=%q -> %s\n",
				call.Time.Format("15:04:05.000"), call.Service, call.Operation, call.AccountID, call.Region,
				call.Principal, call.SourceIdentity, result)
		}
	}
	srv, err := awssim.New(opts)
	if err != nil {
		return err
	}
	defer srv.Close()

	ak, sk := srv.ManagementCredentials()
	sum := srv.Summary()
	if c.summary {
		printSummary(stdout, srv)
	}
	fmt.Fprintf(stdout, "# orgguard AWS simulator: organization %s, management account %s\n", sum.OrganizationID, sum.ManagementAccountID)
	if d := srv.ConsistencyDelay(); d > 0 {
		fmt.Fprintf(stdout, "# eventual consistency: IAM and KMS writes usable by other services after %s\n", d)
	}
	fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL=%s\n", srv.URL())
	fmt.Fprintf(stdout, "export AWS_ACCESS_KEY_ID=%s\n", ak)
	fmt.Fprintf(stdout, "export AWS_SECRET_ACCESS_KEY=%s\n", sk)
	fmt.Fprintf(stdout, "export AWS_REGION=%s\n", c.region)
	// S3 Control sends requests to "<account-id>.<endpoint host>", which does
	// not resolve for a local endpoint; as an HTTP proxy the simulator
	// receives them anyway. Only plain-http, non-loopback traffic is affected.
	fmt.Fprintf(stdout, "export HTTP_PROXY=%s\n", srv.URL())
	fmt.Fprintf(stdout, "awssim ready url=%s accounts=%d active=%d suspended=%d ous=%d regions=%s\n",
		srv.URL(), sum.Accounts, sum.ActiveAccounts, sum.SuspendedAccounts, sum.OUs, strings.Join(sum.Regions, ","))

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

func printSummary(w io.Writer, srv *awssim.Server) {
	seed := srv.Seed()
	var walk func(indent string, accts []awssim.SeedAccount, ous []awssim.SeedOU)
	walk = func(indent string, accts []awssim.SeedAccount, ous []awssim.SeedOU) {
		for _, a := range accts {
			status := a.Status
			if status == "" {
				status = "ACTIVE"
			}
			fmt.Fprintf(w, "# %s%s %s (%s)\n", indent, a.ID, a.Name, status)
		}
		for _, ou := range ous {
			fmt.Fprintf(w, "# %s%s/\n", indent, ou.Name)
			walk(indent+"  ", ou.Accounts, ou.OUs)
		}
	}
	fmt.Fprintln(w, "# Root/")
	walk("  ", seed.Accounts, seed.OUs)
}
