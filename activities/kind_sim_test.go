package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

var ctx = context.Background()

// Demo organization accounts (internal/awssim/seeds/demo.hcl).
const (
	acctMgmt       = "100000000001"
	acctLogArchive = "100000000002"
	acctSecurity   = "100000000003"
	acctNetwork    = "100000000004"
	acctShared     = "100000000005"
	acctPayProd    = "100000000006"
	acctWebProd    = "100000000007"
	acctPayDev     = "100000000008"
	acctWebDev     = "100000000009"
	acctSandbox    = "100000000010"
	usEast1        = "us-east-1"
	euWest1        = "eu-west-1"
)

// sim is a simulator serving the demo organization plus the client factory
// orgguard's worker would build against it.
type sim struct {
	srv     *awssim.Server
	factory *awsclient.Factory
	// clock is the simulator's clock (Options.Now): it stands still until
	// a test lets time pass, so the eventual-consistency delay
	// (AWSSIM_CONSISTENCY_DELAY) passes exactly when a retry waits.
	clock *simClock
}

func newSim(t *testing.T, opts awssim.Options) *sim {
	t.Helper()
	clk := newSimClock()
	if opts.Now != nil {
		t.Fatal("newSim: the simulator's clock is sim.clock; do not set Options.Now")
	}
	opts.Now = clk.Now
	srv, err := awssim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ak, sk := srv.ManagementCredentials()
	proxy, _ := url.Parse(srv.URL())
	root := aws.Config{
		Region:       usEast1,
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(ak, sk, "")),
		BaseEndpoint: aws.String(srv.URL()),
		// S3 Control prefixes the host with the account id; the simulator
		// answers as an HTTP proxy for those names, as HTTP_PROXY would.
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.Proxy = http.ProxyURL(proxy)
		}),
		// Error codes reach the test on the first attempt.
		RetryMaxAttempts: 1,
	}
	f := awsclient.New(root, awsclient.Options{RoleName: "OrgguardExecutionRole", ExternalID: "orgguard-demo"})
	return &sim{srv: srv, factory: f, clock: clk}
}

// env is what the activity would hand a kind for account and region (or the
// organization, with region workflows.OrgRegion).
func (s *sim) env(t *testing.T, account, region string, g guardrails.Guardrail) Env {
	t.Helper()
	var (
		cfg   aws.Config
		where awsclient.Where
		err   error
	)
	if region == workflows.OrgRegion {
		cfg, where, err = s.factory.Management(ctx, "")
		account = s.srv.ManagementAccountID()
	} else {
		cfg, where, err = s.factory.Account(ctx, account, region, "test", "")
	}
	if err != nil {
		t.Fatal(err)
	}
	return Env{Config: cfg, Where: where, AccountID: account, Region: region, Partition: "aws", Guardrail: g}
}

// control builds a native-control guardrail.
func control(typ string, set map[string]any) guardrails.Guardrail {
	name := strings.ReplaceAll(typ, ".", "_")
	return guardrails.Guardrail{ID: "control." + name, Kind: guardrails.KindControl, Name: name,
		Control: &guardrails.Control{Type: typ, Settings: set}, Remediation: guardrails.Remediation{Mode: guardrails.ModeAuto}}
}

// readOnly reports whether an operation only reads.
func readOnly(op string) bool {
	for _, p := range []string{"Describe", "Get", "List", "Head", "Lookup", "Search", "Select", "GenerateCredentialReport", "AssumeRole"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// writes returns the successful write calls in the log.
func (s *sim) writes() []string {
	var out []string
	for _, c := range s.srv.CallsMatching(awssim.CallFilter{OnlySuccess: true}) {
		if !readOnly(c.Operation) {
			out = append(out, c.Service+":"+c.Operation)
		}
	}
	return out
}

// unimplemented reports errors of a simulator that does not speak an
// operation.
func unimplemented(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "UnknownService", "InvalidAction", "UnknownOperationException", "NotImplemented":
			return true
		}
	}
	// An unknown service is answered in the Query error shape, which JSON
	// and CBOR clients cannot decode.
	return err != nil && (strings.Contains(err.Error(), "does not implement service") ||
		strings.Contains(err.Error(), "StatusCode: 400, RequestID: , deserialization failed"))
}

// failCall fails the test with the error of a kind's call. An operation the
// simulator does not speak is named as such: it is work for internal/awssim,
// never a reason to skip, or the scenario would be green without proving
// anything.
func failCall(t *testing.T, what string, err error) {
	t.Helper()
	if unimplemented(err) {
		t.Fatalf("%s: the simulator does not implement an operation this kind calls (implement it in internal/awssim): %v", what, err)
	}
	t.Fatalf("%s: %v", what, err)
}

// scenario is the life of one guardrail in one drifted account: the check
// fails with evidence, apply fixes it, the check passes, and a second apply
// makes no write call.
type scenario struct {
	name      string
	account   string
	region    string
	guardrail guardrails.Guardrail
	opts      awssim.Options
	// evidence must appear in the evidence of a non-compliant finding.
	evidence string
	// reportOnly controls have no Change: the test stops after the check.
	reportOnly bool
	// wantWrites are operations ("service:Operation") the first apply must call.
	wantWrites []string
	// compliantAccount, when set, is an account where the check passes at once.
	compliantAccount string
	// prepare changes the simulator's state before the first check.
	prepare func(t *testing.T, s *sim)
}

var (
	callsMu  sync.Mutex
	allCalls []awssim.Call
)

// flush empties the call log between the phases of a test, first adding
// what was called to the log the policy coverage test reads (unless the
// calls were the test's own set-up).
func (s *sim) flush(record bool) {
	if record {
		callsMu.Lock()
		allCalls = append(allCalls, s.srv.Calls()...)
		callsMu.Unlock()
	}
	s.srv.ResetCalls()
}

func runScenario(t *testing.T, k Kind, sc scenario) {
	s := newSim(t, sc.opts)
	defer s.flush(true)
	if sc.prepare != nil {
		sc.prepare(t, s)
		s.flush(false)
		s.settle()
	}
	env := s.env(t, sc.account, sc.region, sc.guardrail)

	before, err := s.check(k, env, "")
	if err != nil {
		failCall(t, "check", err)
	}
	var drifted []workflows.Finding
	sawEvidence := false
	for _, f := range before {
		if f.Status == workflows.StatusNonCompliant {
			drifted = append(drifted, f)
			if strings.Contains(f.Evidence, sc.evidence) {
				sawEvidence = true
			}
			if sc.reportOnly && f.Change != nil {
				t.Errorf("report-only control planned a change: %+v", f.Change)
			}

			if f.Change != nil && (f.Change.Summary == "" || f.Change.Diff == "" || len(f.Change.Actions) == 0) {
				t.Errorf("change of %s is incomplete: %+v", f.Resource, f.Change)
			}
		}
	}
	if !sc.reportOnly && !slices.ContainsFunc(drifted, func(f workflows.Finding) bool { return f.Change != nil }) {
		t.Errorf("no non-compliant finding has a change: %s", describe(before))
	}
	if len(drifted) == 0 {
		t.Fatalf("check found nothing non-compliant in %s %s: %s", sc.account, sc.region, describe(before))
	}
	if !sawEvidence {
		t.Errorf("no non-compliant finding has evidence %q: %s", sc.evidence, describe(before))
	}
	if sc.compliantAccount != "" {
		other, err := s.check(k, s.env(t, sc.compliantAccount, sc.region, sc.guardrail), "")
		if err != nil {
			failCall(t, "check "+sc.compliantAccount, err)
		}
		for _, f := range other {
			if f.Status == workflows.StatusNonCompliant {
				t.Errorf("%s should be compliant: %s", sc.compliantAccount, describe(other))
			}
		}
	}
	if sc.reportOnly {
		return
	}

	s.flush(true)
	for _, f := range drifted {
		if f.Change == nil {
			continue
		}
		out, err := s.apply(k, env, f)
		if err != nil {
			failCall(t, "apply "+f.Resource, err)
		}
		if !out.Changed || len(out.Calls) == 0 {
			t.Errorf("apply %s: changed=%v calls=%v, want a change", f.Resource, out.Changed, out.Calls)
		}
	}
	w := s.writes()
	for _, op := range sc.wantWrites {
		if !slices.Contains(w, op) {
			t.Errorf("apply made writes %v, want %s among them", w, op)
		}
	}

	// Verification checks one resource at a time, right after the apply
	// (as the workflow does); then a full check, as the next run's.
	for _, f := range drifted {
		if f.Change == nil {
			continue
		}
		one, err := s.check(k, env, f.Resource)
		if err != nil {
			failCall(t, "check "+f.Resource, err)
		}
		if len(one) != 1 || one[0].Status != workflows.StatusCompliant {
			t.Errorf("verification of %s: %s", f.Resource, describe(one))
		}
	}
	after, err := s.check(k, env, "")
	if err != nil {
		failCall(t, "check after apply", err)
	}
	fixed := map[string]bool{}
	for _, f := range drifted {
		fixed[f.Resource] = f.Change != nil
	}
	for _, f := range after {
		// Every finding that was applied is compliant now. Report-only
		// findings stay as they were, and resources that only became
		// visible through the apply (a new Config rule's evaluations) are
		// the next check's business.
		if f.Status == workflows.StatusNonCompliant && fixed[f.Resource] {
			t.Errorf("still non-compliant after apply: %s: %s", f.Resource, f.Evidence)
		}
	}

	s.flush(true)
	for _, f := range drifted {
		if f.Change == nil {
			continue
		}
		out, err := s.apply(k, env, f)
		if err != nil {
			failCall(t, "second apply "+f.Resource, err)
		}
		if out.Changed || len(out.Calls) > 0 {
			t.Errorf("second apply of %s changed something: %v", f.Resource, out.Calls)
		}
	}
	if w := s.writes(); len(w) > 0 {
		t.Errorf("second apply made write calls %v", w)
	}
}

// applyEnv carries an idempotency key per finding, as the workflow mints one
// per remediation.
func applyEnv(env Env, f workflows.Finding) Env {
	h := sha256.Sum256([]byte(f.Resource))
	env.IdempotencyKey = "test-" + hex.EncodeToString(h[:8])
	return env
}

func describe(fs []workflows.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "\n  %s %s: %s", f.Status, f.Resource, f.Evidence)
	}
	return b.String()
}
