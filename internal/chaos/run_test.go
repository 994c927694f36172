package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/workflows"
)

// action is one planned chaos event. It fires when the chaos run has made
// At successful AWS calls: the apply's progress, whatever stalls the run.
type action struct {
	At   int
	Kind string // "kill" or "restart-server"
	Down time.Duration
	// Votes: approvals voted on while the killed worker is down.
	Votes int
	// Worker is the slot of the worker a kill hits.
	Worker int
	// AfterBaselines, when set, fires the event once that many of the
	// apply's account baselines have closed instead of at At.
	AfterBaselines int
}

// due: the run has come to the event's point.
func (a action) due(ctx context.Context, e *env) bool {
	if a.AfterBaselines > 0 {
		n, err := e.countClosedBaselines(ctx)
		return err == nil && n >= int64(a.AfterBaselines)
	}
	return e.successes.Load() >= int64(a.At)
}

// newPlan draws the chaos events: five SIGKILLs and two server restarts at
// random points of the apply's work. work is the number of successful AWS
// calls the clean run's apply made; an event fires once the chaos run has
// made a drawn fraction of them (5% to 85% for kills, 10% to 80% for
// restarts), so the events spread over the work even when the run stalls.
// The second and fourth kill keep the worker down long enough to vote on
// approvals.
func newPlan(rng *rand.Rand, work int) []action {
	at := func(lo, hi float64) int { return int((lo + rng.Float64()*(hi-lo)) * float64(work)) }
	var kills []action
	for range 5 {
		kills = append(kills, action{At: at(0.05, 0.85), Kind: "kill", Down: time.Duration(2+rng.IntN(8)) * time.Second})
	}
	sort.Slice(kills, func(i, j int) bool { return kills[i].At < kills[j].At })
	for _, i := range []int{1, 3} {
		kills[i].Votes = 2
		kills[i].Down = time.Duration(20+rng.IntN(20)) * time.Second
	}
	plan := kills
	for range 2 {
		plan = append(plan, action{At: at(0.1, 0.8), Kind: "restart-server", Down: time.Duration(1+rng.IntN(5)) * time.Second})
	}
	sort.Slice(plan, func(i, j int) bool { return plan[i].At < plan[j].At })
	return plan
}

// runConfig is what differs between the clean and the chaos run.
type runConfig struct {
	name   string
	faults []awssim.Fault
	delay  time.Duration // eventual consistency; < 0 off
	plan   []action      // nil: no kills, no restarts
	// workers: worker processes at once (slots), default 1.
	workers int
}

// runResult is what one run measured.
type runResult struct {
	name  string
	runID string
	// wall: from the apply's start until the rollout and every remediation
	// it opened are closed.
	wall       time.Duration
	rollout    workflows.RolloutResult
	rolloutErr string
	// baselines and checks by unit: an account ID, or "organization".
	baselines    map[string]baselineOutcome
	remediations map[string]remOutcome
	votes        []voteRecord
	pendingSeen  map[string]bool
	checks       map[string]baselineOutcome
	calls        []awssim.Call
	timeline     []event
	workers      int
	workerDeaths []string // workers that exited although nobody killed them
	// workerRefused: workers that exited at start because the server was
	// down (a restart under way); the supervisor started them again.
	workerRefused []string
	// timedOut: the apply did not converge within settings.maxRun.
	timedOut bool
	// work: the successful AWS calls the apply made until it converged.
	work int
}

type baselineOutcome struct {
	res workflows.BaselineResult
	err string
}

type remOutcome struct {
	st  workflows.RemediationState
	err string
}

// settings shared by both runs.
type settings struct {
	seed        uint64
	accounts    int
	pack        string
	vars        []string
	concurrency int
	workerBin   string
	logDir      string
	maxRun      time.Duration
	// commit: the tree the test ran from, at its start.
	commit string
	// cluster: the frontend of an external Temporal cluster to run on;
	// empty: each run embeds its own server.
	cluster string
}

func (s settings) rolloutArgs(mode, runID string) []string {
	args := []string{mode, s.pack}
	for _, v := range s.vars {
		args = append(args, "--var", v)
	}
	return append(args, "--as", "ccoe-operator", "--run-id", runID, "--concurrency", fmt.Sprint(s.concurrency))
}

func run(t *testing.T, id *identityEnv, s settings, cfg runConfig) *runResult {
	seed := awssim.GenerateSeed(awssim.GenerateOptions{Accounts: s.accounts, RandSeed: s.seed})
	e := newEnv(t, cfg.name, id, seed, awssim.Options{RandSeed: s.seed, Faults: cfg.faults, ConsistencyDelay: cfg.delay}, s.workerBin, s.logDir, s.cluster, cfg.workers)
	e.login("ccoe-operator", "alice", "bob")
	for slot := range e.workers {
		e.startWorker(slot)
	}

	ctx, cancel := context.WithTimeout(context.Background(), s.maxRun)
	defer cancel()
	r := &runResult{name: cfg.name, runID: fmt.Sprintf("%s-%d", cfg.name, s.seed)}
	e.runID = r.runID
	reserve := 0
	for _, a := range cfg.plan {
		reserve += a.Votes
	}
	v := newVoter(e, cfg.name, reserve)

	e.start = time.Now()
	code, out, errOut := e.cli(ctx, append(s.rolloutArgs("apply", r.runID), "--reason", "chaos test "+cfg.name, "--detach")...)
	require.Equal(t, 0, code, out+errOut)
	e.record("apply started", "run "+r.runID)

	vctx, stopVoting := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { v.loop(vctx) })
	wg.Go(func() { e.supervise(vctx) })
	wg.Go(func() { monitor(vctx, e, v) })
	driverDone := make(chan struct{})
	go func() {
		defer close(driverDone)
		drive(ctx, e, v, cfg.plan)
	}()

	waitApply(ctx, t, e, r)
	r.wall = time.Since(e.start)
	r.work = int(e.successes.Load())
	if ctx.Err() != nil {
		r.timedOut = true
		e.record("apply gave up", fmt.Sprintf("not converged after %s", s.maxRun))
	} else {
		e.record("apply converged", fmt.Sprintf("rollout and %d remediations closed", len(r.remediations)))
	}
	<-driverDone
	stopVoting()
	wg.Wait()

	// Reads and the final check get time of their own, also after a
	// timeout: what is measured is reported.
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer rcancel()
	votes, seen := v.result()
	for _, vr := range votes {
		seen[vr.ID] = true
	}
	for id := range seen {
		if _, ok := r.remediations[id]; !ok {
			r.remediations[id] = remOutcome{}
		}
	}
	// Remediations a late event could still touch are read again.
	for id := range r.remediations {
		r.remediations[id] = readRemediation(rctx, e, id, !r.timedOut)
	}

	// The final check: same pack, no kills.
	checkID := "check-" + r.runID
	code, out, errOut = e.cli(rctx, append(s.rolloutArgs("check", checkID), "--json")...)
	if code != 0 && code != 1 {
		t.Errorf("%s: final check exited %d: %s", cfg.name, code, out+errOut)
	}
	r.checks = loadBaselines(rctx, e, checkID, len(r.baselines))
	e.record("final check done", checkID)

	r.votes, r.pendingSeen = votes, seen
	r.calls = e.sim.Calls()
	r.timeline = e.events()
	r.workers = e.workerN
	r.workerDeaths = e.deaths()
	r.workerRefused = e.refusedStarts()
	e.close()
	return r
}

// monitor logs where the run stands every 30 s.
func monitor(ctx context.Context, e *env, v *voter) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(30 * time.Second):
		}
		calls := e.sim.Calls()
		errs := map[string]int{}
		for _, c := range calls {
			if c.ErrorCode != "" {
				errs[c.ErrorCode]++
			}
		}
		v.mu.Lock()
		seen, accepted := len(v.seen), len(v.accepted)
		v.mu.Unlock()
		e.t.Logf("%s +%s: %d AWS calls (errors %v), closed baselines %s, approvals seen %d, voted %d",
			e.name, e.offset().Round(time.Second), len(calls), errs, e.closedBaselines(ctx), seen, accepted)
	}
}

// drive carries out the plan, one event after the other.
func drive(ctx context.Context, e *env, v *voter, plan []action) {
	defer v.release()
	for i, a := range plan {
		poll := 100 * time.Millisecond
		if a.AfterBaselines > 0 {
			poll = time.Second // a visibility query, not a counter
		}
		for !a.due(ctx, e) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(poll):
			}
		}
		switch a.Kind {
		case "restart-server":
			e.record("server restart", fmt.Sprintf("event %d of %d at %d successful AWS calls: %s down", i+1, len(plan), e.successes.Load(), a.Down))
			e.restartServer(a.Down)
		case "kill":
			var ids []string
			if a.Votes > 0 {
				// Wait until the voter holds back approvals to vote on now.
				deadline := time.Now().Add(5 * time.Minute)
				for ids = v.take(a.Votes); len(ids) == 0 && time.Now().Before(deadline) && ctx.Err() == nil; ids = v.take(a.Votes) {
					time.Sleep(time.Second)
				}
			}
			pid := e.killWorker(a.Worker)
			e.record("worker killed (SIGKILL)", fmt.Sprintf("event %d of %d at %d successful AWS calls: pid %d, %s down, closed baselines %s",
				i+1, len(plan), e.successes.Load(), pid, a.Down, e.closedBaselines(ctx)))
			// The first with the CLI, the next ones with the update the CLI
			// sends, straight through the Temporal API: the CLI reads the
			// remediation (a query, which needs a worker) before it votes.
			var votes sync.WaitGroup
			for j, id := range ids {
				if j == 0 {
					votes.Go(func() { v.vote(ctx, id, true) })
				} else {
					votes.Go(func() { v.apiVote(ctx, id) })
				}
			}
			if a.Votes > 0 && len(ids) == 0 {
				e.record("no approval to vote on", "none was pending while the worker was down")
			}
			time.Sleep(a.Down)
			e.startWorker(a.Worker)
			ready := e.waitPolling(ctx, e.workerPID(a.Worker))
			e.record("worker started", fmt.Sprintf("worker #%d, polling after %s", e.workerN, ready.Round(100*time.Millisecond)))
			votes.Wait()
		}
	}
}

// closedBaselines counts the apply's closed account baselines, for the
// timeline.
func (e *env) closedBaselines(ctx context.Context) string {
	n, err := e.countClosedBaselines(ctx)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprint(n)
}

// countClosedBaselines asks visibility (which answers without a worker)
// how many of the apply's baselines have closed; by run ID, because a
// cluster's database also holds other runs'.
func (e *env) countClosedBaselines(ctx context.Context) (int64, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := e.client.CountWorkflow(cctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("%s = '%s' AND %s = '%s' AND ExecutionStatus != 'Running'",
			workflows.SARunID.GetName(), e.runID, workflows.SAKind.GetName(), workflows.KindBaseline),
	})
	if err != nil {
		return 0, err
	}
	return resp.GetCount(), nil
}

// waitApply waits for the rollout, then for every remediation it opened.
func waitApply(ctx context.Context, t *testing.T, e *env, r *runResult) {
	err := retry(ctx, func(ctx context.Context) error {
		return e.client.GetWorkflow(ctx, workflows.RolloutID(r.runID), "").Get(ctx, &r.rollout)
	})
	if err != nil {
		r.rolloutErr = err.Error()
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.HasDetails() {
			_ = app.Details(&r.rollout)
		}
	}
	e.record("rollout closed", fmt.Sprintf("state %s, %d failed accounts", r.rollout.Progress.State, len(r.rollout.Progress.Failed)))
	units := 0
	for _, w := range r.rollout.Progress.Waves {
		units += w.Succeeded + w.Failed
	}
	r.baselines = loadBaselines(ctx, e, r.runID, units)
	r.remediations = map[string]remOutcome{}
	for _, b := range r.baselines {
		for _, it := range b.res.Items {
			if it.RemediationID != "" {
				r.remediations[it.RemediationID] = remOutcome{}
			}
		}
	}
	ids := make([]string, 0, len(r.remediations))
	for id := range r.remediations {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var mu sync.Mutex
	parallel(16, ids, func(id string) {
		o := readRemediation(ctx, e, id, true)
		mu.Lock()
		r.remediations[id] = o
		mu.Unlock()
	})
}

// parallel calls f for each item, n at a time, and returns when all are done.
func parallel(n int, items []string, f func(string)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			f(it)
		})
	}
	wg.Wait()
}

// readRemediation reads a remediation's final state, waiting for it to
// close when wait is set; otherwise one that still runs is reported so.
func readRemediation(ctx context.Context, e *env, id string, wait bool) remOutcome {
	var o remOutcome
	if !wait && stillRunning(ctx, e, id) {
		o.err = "still running"
		return o
	}
	if err := retry(ctx, func(ctx context.Context) error { return e.client.GetWorkflow(ctx, id, "").Get(ctx, &o.st) }); err != nil {
		o.err = err.Error()
	}
	return o
}

func stillRunning(ctx context.Context, e *env, id string) bool {
	var running bool
	_ = retry(ctx, func(ctx context.Context) error {
		d, err := e.client.DescribeWorkflowExecution(ctx, id, "")
		if err == nil {
			running = d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		}
		return err
	})
	return running
}

// loadBaselines reads the results of a run's account baselines (and the
// organization's), keyed by account ID or "organization". It waits until
// visibility lists want of them closed.
func loadBaselines(ctx context.Context, e *env, runID string, want int) map[string]baselineOutcome {
	q := fmt.Sprintf("%s = '%s' AND %s = '%s'", workflows.SARunID.GetName(), runID, workflows.SAKind.GetName(), workflows.KindBaseline)
	var ids []string
	err := retry(ctx, func(ctx context.Context) error {
		ids = nil
		var token []byte
		for {
			resp, err := e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: 1000})
			if err != nil {
				return err
			}
			for _, x := range resp.Executions {
				ids = append(ids, x.Execution.WorkflowId)
			}
			if token = resp.NextPageToken; len(token) == 0 {
				break
			}
		}
		if len(ids) < want {
			return fmt.Errorf("%w: %d of %d baselines listed", errNotDone, len(ids), want)
		}
		return nil
	})
	if err != nil {
		e.record("baselines not all listed", fmt.Sprintf("run %s: %v", runID, err))
	}
	out := map[string]baselineOutcome{}
	prefix := workflows.AccountBaselineID(runID, "")
	for _, id := range ids {
		var o baselineOutcome
		err := retry(ctx, func(ctx context.Context) error { return e.client.GetWorkflow(ctx, id, "").Get(ctx, &o.res) })
		if err != nil {
			o.err = err.Error()
			var app *temporal.ApplicationError
			if errors.As(err, &app) && app.HasDetails() {
				_ = app.Details(&o.res)
			}
		}
		out[strings.TrimPrefix(id, prefix)] = o
	}
	return out
}

// voteRecord is one `orgguard approve` as the CLI reported it.
type voteRecord struct {
	ID, Approver, Reason string
	Code                 int
	Output               string
	Start, End           time.Duration
	WorkerDown           bool
	Accepted             bool
	// API: sent as the approve update through the Temporal API, with a
	// token the dev issuer bound to it, instead of the CLI.
	API bool
}

// voter lists pending approvals with the CLI and approves each, as alice
// or bob (the requester is ccoe-operator). With a reserve it first holds
// back that many approvals for the chaos driver to vote on while the
// worker is down.
type voter struct {
	e     *env
	phase string

	mu       sync.Mutex
	n        int
	accepted map[string]bool
	inflight map[string]bool
	seen     map[string]bool
	states   map[string]workflows.RemediationState
	want     int // approvals still to hold back
	held     []string
	holding  bool
	records  []voteRecord
}

func newVoter(e *env, phase string, reserve int) *voter {
	return &voter{e: e, phase: phase, accepted: map[string]bool{}, inflight: map[string]bool{}, seen: map[string]bool{},
		states: map[string]workflows.RemediationState{}, want: reserve, holding: reserve > 0}
}

func (v *voter) loop(ctx context.Context) {
	for ctx.Err() == nil {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		_, out, _ := v.e.cli(lctx, "approvals", "list", "--json")
		cancel()
		// With some remediations unreadable (no worker) the list still
		// prints those it read; exit 1 then.
		var pending []workflows.RemediationState
		_ = json.Unmarshal([]byte(out), &pending)
		var todo []string
		v.mu.Lock()
		for _, p := range pending {
			v.seen[p.ID] = true
			v.states[p.ID] = p
			if v.accepted[p.ID] || v.inflight[p.ID] || contains(v.held, p.ID) {
				continue
			}
			if v.holding && v.want > 0 {
				v.held = append(v.held, p.ID)
				v.want--
				continue
			}
			v.inflight[p.ID] = true
			todo = append(todo, p.ID)
		}
		v.mu.Unlock()
		parallel(4, todo, func(id string) { v.vote(ctx, id, false) })
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// take hands up to n held-back approvals to the driver.
func (v *voter) take(n int) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	n = min(n, len(v.held))
	ids := append([]string(nil), v.held[:n]...)
	v.held = v.held[n:]
	for _, id := range ids {
		v.inflight[id] = true
	}
	return ids
}

// release ends the holding back: what is left is voted on as usual.
func (v *voter) release() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.holding, v.held, v.want = false, nil, 0
}

// begin numbers a vote, picks its approver (alice and bob in turn) and
// marks the request in flight.
func (v *voter) begin(id, suffix string) (voteRecord, workflows.RemediationState) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.n++
	v.inflight[id] = true
	rec := voteRecord{ID: id, Approver: []string{"alice", "bob"}[v.n%2], Reason: fmt.Sprintf("chaos %s vote %d%s", v.phase, v.n, suffix), Start: v.e.offset()}
	return rec, v.states[id]
}

func (v *voter) finish(rec voteRecord) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.inflight, rec.ID)
	if rec.Accepted {
		v.accepted[rec.ID] = true
	}
	v.records = append(v.records, rec)
}

// vote approves with the CLI, as a person types it.
func (v *voter) vote(ctx context.Context, id string, workerDown bool) {
	rec, _ := v.begin(id, "")
	rec.WorkerDown = workerDown
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	code, out, errOut := v.e.cli(cctx, "approve", id, "--as", rec.Approver, "--reason", rec.Reason)
	cancel()
	rec.Code, rec.Output, rec.End = code, strings.TrimSpace(out+errOut), v.e.offset()
	rec.Accepted = code == 0 && strings.Contains(out, "approve recorded")
	if workerDown {
		v.e.record("vote while worker down (CLI)", fmt.Sprintf("%s by %s: exit %d after %s: %s", id, rec.Approver, code, (rec.End-rec.Start).Round(100*time.Millisecond), firstLine(rec.Output)))
	}
	v.finish(rec)
}

// apiVote approves as the CLI does, without the CLI's read of the
// remediation first: a token bound to the remediation, the decision and the
// plan digest, sent as the approve update, waiting until it completes.
func (v *voter) apiVote(ctx context.Context, id string) {
	rec, st := v.begin(id, " (api)")
	rec.WorkerDown, rec.API = true, true
	var user devidp.User
	for _, u := range devidp.Users {
		if u.Name == rec.Approver {
			user = u
		}
	}
	tok, err := v.e.id.idp.Mint(user, identity.VoteNonce(id, identity.DecisionApprove, st.ChangeDigest), time.Now())
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		var h client.WorkflowUpdateHandle
		h, err = v.e.client.UpdateWorkflow(cctx, client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateName: workflows.UpdateApprove, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{workflows.VoteRequest{Token: tok, RemediationID: id, ChangeDigest: st.ChangeDigest, Reason: rec.Reason}},
		})
		if err == nil {
			var res workflows.RemediationState
			err = h.Get(cctx, &res)
		}
		cancel()
	}
	rec.End, rec.Accepted, rec.Output = v.e.offset(), err == nil, "recorded"
	if err != nil {
		rec.Code, rec.Output = 1, err.Error()
	}
	v.e.record("vote while worker down (Temporal API)", fmt.Sprintf("%s by %s: %s after %s", id, rec.Approver, firstLine(rec.Output), (rec.End-rec.Start).Round(100*time.Millisecond)))
	v.finish(rec)
}

func (v *voter) result() ([]voteRecord, map[string]bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	seen := map[string]bool{}
	for k := range v.seen {
		seen[k] = true
	}
	return append([]voteRecord(nil), v.records...), seen
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
