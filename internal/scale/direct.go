package scale

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/orgguard/orgguard/activities"
	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/workflows"
)

// DirectResult is the bare fan-out's run (b).
type DirectResult struct {
	Wall time.Duration `json:"wall"`
	// Baselines counts the accounts checked, the organization's SCPs as
	// one; Units the checks (one unit each, see unit).
	Baselines int `json:"baselines"`
	Units     int `json:"units"`
	// Unit is the granularity of the checks (the check activity's).
	Unit Unit `json:"unit"`
	// Retries are attempts after a retryable failure, as the activities'
	// retry policy would make; Failed are checks that failed for good.
	Retries int `json:"retries"`
	// Discovery is how long the discovery took; AccountMean and
	// AccountLong how long an account took, preflight to last check.
	Discovery   time.Duration `json:"discovery"`
	AccountMean time.Duration `json:"account_mean"`
	AccountLong time.Duration `json:"account_longest"`
	Failed      int           `json:"failed"`
	FirstError  string        `json:"first_error,omitempty"`
}

// Unit is what the bare fan-out gives one goroutine: the work of one
// check activity in orgguard.
type Unit string

const (
	// UnitGuardrail is CheckGuardrail's: one guardrail in one account and
	// region, run by CheckDirect.
	UnitGuardrail Unit = "guardrail"
	// UnitAccountRegion is CheckAccountRegion's: every guardrail of an
	// account in one region, run by CheckAccountRegionDirect, which checks
	// up to activities.DefaultCheckParallelism of them at once.
	UnitAccountRegion Unit = "account-region"
)

// unit is one piece of the fan-out's work.
type unit struct {
	key        string // the account, or "organization" for the SCP wave
	account    string
	region     string
	guardrails []guardrails.Guardrail
}

// unitsOf splits an account's guardrails into units, skipping regions the
// account has not enabled (orgguard schedules no activity there either).
// In check mode a baseline has one stage, so an account × region unit holds
// every guardrail of the region.
func unitsOf(kind Unit, key, account string, gs []guardrails.Guardrail, notEnabled map[string]bool) []unit {
	var out []unit
	byRegion := map[string]int{}
	for _, g := range gs {
		for _, r := range g.Regions {
			switch i, ok := byRegion[r]; {
			case notEnabled[r]:
			case kind == UnitAccountRegion && ok:
				out[i].guardrails = append(out[i].guardrails, g)
			default:
				byRegion[r] = len(out)
				out = append(out, unit{key: key, account: account, region: r, guardrails: []guardrails.Guardrail{g}})
			}
		}
	}
	return out
}

// chain names the unit's calls for the lower bound: "/<guardrail>" ends
// the chain of a one-guardrail unit, whose calls follow one another; a
// unit of several runs them up to the activity's parallelism at once.
func (u unit) chain(kind Unit) string {
	id := "unit/" + u.key + "/" + u.region
	if kind == UnitGuardrail {
		id += "/" + u.guardrails[0].ID
	}
	return id
}

// run checks the unit's guardrails with the check activity's code. It
// returns the guardrails that failed retryably, to be tried again (with
// the error), and reports the others' permanent errors to fail.
func (u unit) run(ctx context.Context, kind Unit, acts *activities.Activities, runID string, fail func(error)) ([]guardrails.Guardrail, error) {
	if kind == UnitGuardrail {
		g := u.guardrails[0]
		_, err := acts.CheckDirect(ctx, workflows.CheckInput{RunID: runID, AccountID: u.account, Region: u.region, Guardrail: g})
		var app *temporal.ApplicationError
		if err != nil && errors.As(err, &app) && app.NonRetryable() {
			fail(fmt.Errorf("%s in %s: %w", g.ID, u.region, err))
			return nil, nil
		}
		if err != nil {
			return u.guardrails, fmt.Errorf("%s in %s: %w", g.ID, u.region, err)
		}
		return nil, nil
	}
	out, err := acts.CheckAccountRegionDirect(ctx, workflows.CheckAccountRegionInput{RunID: runID, AccountID: u.account, Region: u.region, Guardrails: u.guardrails})
	if err != nil {
		return u.guardrails, fmt.Errorf("%d guardrails in %s: %w", len(u.guardrails), u.region, err)
	}
	byID := map[string]guardrails.Guardrail{}
	for _, g := range u.guardrails {
		byID[g.ID] = g
	}
	var left []guardrails.Guardrail
	var first error
	for _, r := range out.Results {
		switch {
		case r.Error == nil:
		case r.Error.NonRetryable:
			fail(fmt.Errorf("%s in %s: %s", r.GuardrailID, u.region, r.Error.Message))
		default:
			left = append(left, byID[r.GuardrailID])
			first = cmpErr(first, fmt.Errorf("%s in %s: %s", r.GuardrailID, u.region, r.Error.Message))
		}
	}
	return left, first
}

// fanOut is one bare fan-out run: accounts in a sliding window of the
// rollout's size, every activity-sized piece of work (preflight, unit)
// holding one of slots, like an activity holds a worker's slot.
type fanOut struct {
	kind  Unit
	acts  *activities.Activities
	set   *guardrails.Set
	runID string
	slots chan struct{}

	mu       sync.Mutex
	res      DirectResult
	accounts time.Duration // summed
}

// runDirect is (b): discovery, then every account's preflight and checks.
func runDirect(ctx context.Context, kind Unit, factory *awsclient.Factory, set *guardrails.Set, runID string, window, slots int) (DirectResult, error) {
	f := &fanOut{kind: kind, acts: activities.New(factory), set: set, runID: runID, slots: make(chan struct{}, slots)}
	start := time.Now()
	withTags := false
	for _, t := range set.Targets {
		withTags = withTags || len(t.AccountTags) > 0
	}
	var org workflows.DiscoverOutput
	err := f.retried(ctx, 10, 2*time.Second, func() error {
		var err error
		org, err = activityDirect[workflows.DiscoverOutput](withChain(ctx, "discover"), f.acts.DiscoverAccounts,
			workflows.DiscoverInput{RunID: runID, WithTags: withTags})
		return err
	})
	if err != nil {
		return f.res, fmt.Errorf("discover accounts: %w", err)
	}
	f.res.Discovery = time.Since(start)
	waves, _ := workflows.Plan(set, org.ManagementAccountID, org.Accounts, nil)
	inFlight := make(chan struct{}, window)
	var wg sync.WaitGroup
	for _, w := range waves {
		for _, a := range w.Accounts {
			inFlight <- struct{}{}
			wg.Go(func() {
				defer func() { <-inFlight }()
				f.account(ctx, a, w.Org)
			})
		}
	}
	wg.Wait()
	f.res.Wall = time.Since(start)
	f.res.Unit = kind
	if f.res.Baselines > 0 {
		f.res.AccountMean = f.accounts / time.Duration(f.res.Baselines)
	}
	return f.res, ctx.Err()
}

// account is one AccountBaseline's work: preflight, then every unit at
// once (bounded by the slots), then ReleaseRun, as the workflow ends.
func (f *fanOut) account(ctx context.Context, a workflows.Account, org bool) {
	began := time.Now()
	defer func() {
		took := time.Since(began)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.accounts += took
		f.res.AccountLong = max(f.res.AccountLong, took)
	}()
	key, gs := a.ID, workflows.AccountGuardrails(f.set, a)
	if org {
		key, gs = "organization", workflows.OrgGuardrails(f.set)
	}
	f.mu.Lock()
	f.res.Baselines++
	f.mu.Unlock()
	notEnabled, err := f.preflight(ctx, key, a.ID, gs)
	if err != nil {
		f.fail(fmt.Errorf("account %s: preflight: %w", a.ID, err))
		return
	}
	var wg sync.WaitGroup
	for _, u := range unitsOf(f.kind, key, a.ID, gs, notEnabled) {
		wg.Go(func() {
			f.slots <- struct{}{}
			defer func() { <-f.slots }()
			ctx := withChain(ctx, u.chain(f.kind))
			fail := func(err error) { f.fail(fmt.Errorf("account %s: %w", a.ID, err)) }
			err := f.retried(ctx, 8, time.Second, func() error {
				var err error
				u.guardrails, err = u.run(ctx, f.kind, f.acts, f.runID, fail)
				return err
			})
			if err != nil {
				fail(err)
			}
			f.mu.Lock()
			f.res.Units++
			f.mu.Unlock()
		})
	}
	wg.Wait()
	_ = f.acts.ReleaseRun(ctx, workflows.ReleaseRunInput{RunID: f.runID, AccountID: a.ID})
}

// preflight runs the PreflightAccount activity's code for the regions the
// account's guardrails name; the organization wave has none and skips it.
func (f *fanOut) preflight(ctx context.Context, key, account string, gs []guardrails.Guardrail) (map[string]bool, error) {
	seen := map[string]bool{}
	var regions []string
	for _, g := range gs {
		for _, r := range g.Regions {
			if r != workflows.OrgRegion && !seen[r] {
				seen[r] = true
				regions = append(regions, r)
			}
		}
	}
	if len(regions) == 0 {
		return nil, nil
	}
	f.slots <- struct{}{}
	defer func() { <-f.slots }()
	ctx = withChain(ctx, "preflight/"+key)
	var out workflows.PreflightOutput
	err := f.retried(ctx, 6, 2*time.Second, func() error {
		var err error
		out, err = activityDirect[workflows.PreflightOutput](ctx, f.acts.PreflightAccount,
			workflows.PreflightInput{RunID: f.runID, AccountID: account, Regions: regions})
		return err
	})
	notEnabled := map[string]bool{}
	for _, r := range out.NotEnabled {
		notEnabled[r] = true
	}
	return notEnabled, err
}

func (f *fanOut) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.res.Failed++
	if f.res.FirstError == "" {
		f.res.FirstError = err.Error()
	}
}

// retried calls fn until it succeeds, fails non-retryably or has been
// tried attempts times, waiting first, then twice as long each time (at
// most a minute): the activities' retry policies.
func (f *fanOut) retried(ctx context.Context, attempts int, first time.Duration, fn func() error) error {
	wait := first
	for i := 1; ; i++ {
		err := fn()
		var app *temporal.ApplicationError
		if err == nil || i == attempts || (errors.As(err, &app) && app.NonRetryable()) {
			return err
		}
		f.mu.Lock()
		f.res.Retries++
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// activityDirect runs an activity function that needs an activity
// context (heartbeats, the activity logger: DiscoverAccounts,
// PreflightAccount) in the SDK's in-process test environment: the
// activity's own code, no server, no task queue; ctx's values (the chain)
// reach its AWS calls.
//
// TODO: call direct entries instead once activities has them (like
// CheckDirect), so that nothing of the SDK's test environment is in (b).
func activityDirect[T any](ctx context.Context, fn, in any) (T, error) {
	var out T
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quiet())
	env := suite.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{BackgroundActivityContext: ctx})
	env.RegisterActivity(fn)
	v, err := env.ExecuteActivity(fn, in)
	if err != nil {
		return out, err
	}
	return out, v.Get(&out)
}

// quiet drops the Temporal SDK's logs.
func quiet() log.Logger { return log.NewStructuredLogger(slog.New(slog.DiscardHandler)) }
