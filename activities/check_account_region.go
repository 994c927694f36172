package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/workflows"
)

// DefaultCheckParallelism is how many guardrails of one account and region
// CheckAccountRegion checks at once: enough that an account's critical
// path is a few guardrails long rather than a whole stage, few enough
// that one account stays inside its per-account API rate limits.
const DefaultCheckParallelism = 4

// maxProgressBytes bounds the results a heartbeat carries (Temporal refuses
// payloads past 2 MB): guardrails past it are checked again on a retry.
const maxProgressBytes = 512 << 10

// ErrChecksToRetry is the type of the retryable error CheckAccountRegion
// fails an attempt with when a guardrail's check failed retryably; the
// next attempt checks only the guardrails not finished yet.
const ErrChecksToRetry = "ChecksToRetry"

// CheckAccountRegion checks every guardrail it is given in one account and
// region: one activity per account × region and stage instead of one per
// guardrail × region. Each guardrail's outcome is its own result —
// findings, not checked, or the classified error its CheckGuardrail would
// have failed with (RegionNotEnabled included) — so one failing check does
// not fail the others. The guardrails share one set of credentials and the
// worker's read cache.
//
// It heartbeats the results finished so far. A guardrail that failed
// retryably fails the attempt (after the others finished); the next
// attempt resumes from the heartbeat and checks only what is left, reading
// afresh. On the last attempt of the retry policy, retryable errors are
// reported as those guardrails' results instead.
func (a *Activities) CheckAccountRegion(ctx context.Context, in workflows.CheckAccountRegionInput) (workflows.CheckAccountRegionOutput, error) {
	info := activity.GetInfo(ctx)
	p := &regionProgress{attempt: info.Attempt}
	if activity.HasHeartbeatDetails(ctx) {
		var prior workflows.CheckAccountRegionOutput
		if err := activity.GetHeartbeatDetails(ctx, &prior); err == nil {
			p.resume(prior.Results)
		}
	}
	defer a.keepAliveWith(ctx, func() []any { return []any{p.snapshot()} })()
	final := info.RetryPolicy != nil && info.RetryPolicy.MaximumAttempts > 0 && info.Attempt >= info.RetryPolicy.MaximumAttempts
	out, err := a.checkAccountRegion(ctx, in, p, regionRun{
		beat:  func() { activity.RecordHeartbeat(ctx, p.snapshot()) },
		final: final,
		fresh: info.Attempt > 1,
	})
	if err == nil {
		findings, failed := 0, 0
		for _, r := range out.Results {
			findings += len(r.Findings)
			if r.Error != nil {
				failed++
			}
		}
		activity.GetLogger(ctx).Info("checked account region", "account_id", in.AccountID, "region", in.Region,
			"guardrails", len(out.Results), "findings", findings, "failed", failed, "resumed", p.resumed)
	}
	return out, err
}

// regionRun is how one attempt runs.
type regionRun struct {
	beat func() // records progress
	// final: retryable errors are results (no attempt follows).
	final bool
	// fresh: reads go to AWS (and refresh the cache): an earlier attempt
	// failed, perhaps on what it read.
	fresh bool
}

// checkAccountRegion is CheckAccountRegion without the activity around it
// (heartbeats, attempts): CheckAccountRegionDirect runs it too.
func (a *Activities) checkAccountRegion(ctx context.Context, in workflows.CheckAccountRegionInput, p *regionProgress, run regionRun) (workflows.CheckAccountRegionOutput, error) {
	gs, missing, err := a.regionGuardrails(ctx, in)
	if err != nil {
		return workflows.CheckAccountRegionOutput{}, p.failed(err)
	}
	for _, r := range missing {
		p.add(r)
	}
	var todo []guardrails.Guardrail
	for _, g := range gs {
		if !p.finished(g.ID) {
			todo = append(todo, g)
		}
	}
	if len(todo) > 0 {
		// One configuration (one cached session) for every guardrail here.
		base, err := a.env(ctx, in.AccountID, in.Region, in.RunID, "", guardrails.Guardrail{})
		if err != nil {
			return workflows.CheckAccountRegionOutput{}, p.failed(err)
		}
		par := a.CheckParallelism
		if par <= 0 {
			par = DefaultCheckParallelism
		}
		sem := make(chan struct{}, par)
		var wg sync.WaitGroup
	loop:
		for _, g := range todo {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				p.add(a.checkOne(ctx, base, g, in, run.fresh))
				run.beat()
			}()
		}
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		// Cancelled or timed out: what finished is in the heartbeat.
		return workflows.CheckAccountRegionOutput{}, err
	}
	ids := in.GuardrailIDs
	if len(in.Guardrails) > 0 {
		ids = nil
		for _, g := range in.Guardrails {
			ids = append(ids, g.ID)
		}
	}
	var out workflows.CheckAccountRegionOutput
	var retry []workflows.GuardrailResult
	for _, id := range ids {
		r, done := p.result(id)
		if !done && !run.final {
			retry = append(retry, r)
			continue
		}
		out.Results = append(out.Results, r)
	}
	if len(retry) > 0 {
		return workflows.CheckAccountRegionOutput{}, p.retry(in, retry)
	}
	return out, nil
}

// regionGuardrails returns the definitions of the guardrails asked for,
// and a result for each ID the set does not have.
func (a *Activities) regionGuardrails(ctx context.Context, in workflows.CheckAccountRegionInput) ([]guardrails.Guardrail, []workflows.GuardrailResult, error) {
	if len(in.Guardrails) > 0 {
		return in.Guardrails, nil, nil
	}
	set, err := a.guardrailSet(ctx, in.RunID, in.Digest)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]guardrails.Guardrail, len(set.Guardrails))
	for _, g := range set.Guardrails {
		byID[g.ID] = g
	}
	var gs []guardrails.Guardrail
	var missing []workflows.GuardrailResult
	for _, id := range in.GuardrailIDs {
		g, ok := byID[id]
		if !ok {
			missing = append(missing, workflows.GuardrailResult{GuardrailID: id, Error: &workflows.CheckError{
				Message: fmt.Sprintf("guardrail %s is not in guardrail set %s", id, guardrails.ShortDigest(in.Digest)), Type: ErrSetUnavailable, NonRetryable: true,
			}})
			continue
		}
		gs = append(gs, g)
	}
	return gs, missing, nil
}

// checkOne checks one guardrail as CheckGuardrail would, through the read
// cache, and returns its outcome whatever it is.
func (a *Activities) checkOne(ctx context.Context, base Env, g guardrails.Guardrail, in workflows.CheckAccountRegionInput, fresh bool) (r workflows.GuardrailResult) {
	r.GuardrailID = g.ID
	defer func() {
		// A kind that panics fails its own check, not the worker.
		if p := recover(); p != nil {
			r.Findings, r.Error = nil, &workflows.CheckError{Message: fmt.Sprintf("guardrail %s in account %s region %s: panic: %v", g.ID, in.AccountID, in.Region, p), Type: "Panic"}
		}
	}()
	k, notChecked, _ := a.kindFor(g)
	if notChecked != "" {
		r.NotChecked = notChecked
		return r
	}
	env := base
	env.Guardrail = g
	a.reads.attach(&env.Config, readScope{run: in.RunID, account: in.AccountID, role: base.Where.Role, region: in.Region, epoch: in.Epoch, mode: readsCached, fresh: fresh})
	findings, err := k.Check(ctx, env, "")
	if err != nil {
		r.Error = checkError(awsclient.Classify(err, env.Where))
		return r
	}
	for i := range findings {
		f := &findings[i]
		f.GuardrailID, f.AccountID, f.Region = g.ID, in.AccountID, in.Region
		f.Controls, f.CSF, f.Severity = g.Controls, g.CSF, g.Severity
	}
	r.Findings = findings
	return r
}

// checkError is what the workflow would have seen of the error had the
// check failed its own activity.
func checkError(err error) *workflows.CheckError {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return &workflows.CheckError{Message: app.Message(), Type: app.Type(), NonRetryable: app.NonRetryable()}
	}
	return &workflows.CheckError{Message: err.Error()}
}

// regionProgress holds the results of one activity: those of earlier
// attempts (from the heartbeat) and this attempt's.
type regionProgress struct {
	mu sync.Mutex
	// attempt is the activity's attempt (0 outside Temporal): it spaces
	// the retries after a propagation error (awsclient.PropagationDelay).
	attempt int32
	// finals are results no retry changes: findings, not checked, and
	// non-retryable errors. retryable are this attempt's other errors.
	finals    map[string]workflows.GuardrailResult
	retryable map[string]workflows.GuardrailResult
	// kept is what the heartbeat carries (at most maxProgressBytes).
	kept      []workflows.GuardrailResult
	keptBytes int
	resumed   int
}

func (p *regionProgress) resume(prior []workflows.GuardrailResult) {
	for _, r := range prior {
		p.add(r)
	}
	p.resumed = len(prior)
}

func (p *regionProgress) add(r workflows.GuardrailResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finals == nil {
		p.finals, p.retryable = map[string]workflows.GuardrailResult{}, map[string]workflows.GuardrailResult{}
	}
	if r.Error != nil && !r.Error.NonRetryable {
		p.retryable[r.GuardrailID] = r
		return
	}
	p.finals[r.GuardrailID] = r
	if b, err := json.Marshal(r); err == nil && p.keptBytes+len(b) <= maxProgressBytes {
		p.kept = append(p.kept, r)
		p.keptBytes += len(b)
	}
}

func (p *regionProgress) finished(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.finals[id]
	return ok
}

// result is the guardrail's outcome; done is false for a retryable error.
func (p *regionProgress) result(id string) (r workflows.GuardrailResult, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.finals[id]; ok {
		return r, true
	}
	if r, ok := p.retryable[id]; ok {
		return r, false
	}
	return workflows.GuardrailResult{GuardrailID: id, Error: &workflows.CheckError{Message: "not checked: the attempt ended first"}}, false
}

// snapshot is the heartbeat's details.
func (p *regionProgress) snapshot() workflows.CheckAccountRegionOutput {
	p.mu.Lock()
	defer p.mu.Unlock()
	return workflows.CheckAccountRegionOutput{Results: append([]workflows.GuardrailResult(nil), p.kept...)}
}

// retry is the retryable error of an attempt that leaves guardrails to
// check again; its details carry the finished results, so the workflow
// has them even if no attempt follows (a retry policy the activity did
// not see).
func (p *regionProgress) retry(in workflows.CheckAccountRegionInput, left []workflows.GuardrailResult) error {
	var msgs []string
	typ := ErrChecksToRetry
	var delay time.Duration
	for _, r := range left {
		msgs = append(msgs, r.GuardrailID+": "+r.Error.Message)
		if r.Error.Type == awsclient.ErrPropagation {
			typ, delay = awsclient.ErrPropagation, awsclient.PropagationDelay(p.attempt)
		}
	}
	msg := fmt.Sprintf("account %s region %s: %d check(s) to retry: %s", in.AccountID, in.Region, len(left), strings.Join(msgs, "; "))
	return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{
		NextRetryDelay: delay, Details: []any{p.snapshot()},
	})
}

// failed is err (the whole attempt failed) with the finished results.
func (p *regionProgress) failed(err error) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return temporal.NewApplicationErrorWithOptions(err.Error(), "", temporal.ApplicationErrorOptions{Cause: err, Details: []any{p.snapshot()}})
	}
	return temporal.NewApplicationErrorWithOptions(app.Message(), app.Type(), temporal.ApplicationErrorOptions{
		NonRetryable: app.NonRetryable(), NextRetryDelay: app.NextRetryDelay(), Details: []any{p.snapshot()},
	})
}
