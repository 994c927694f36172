package scale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/cli"
	"github.com/orgguard/orgguard/workflows"
)

// TemporalResult is orgguard's run through Temporal (a).
type TemporalResult struct {
	// Wall is from the start of the rollout until its last run returned.
	Wall    time.Duration `json:"wall"`
	RunID   string        `json:"run_id"`
	Address string        `json:"address"`
	// Server is "dev" (the embedded dev server in a process of its own,
	// SQLite file) or "external".
	Server  string `json:"server"`
	Workers int    `json:"workers"`
	// Accounts and Failed count the rollout's baselines (the
	// organization wave as one).
	Accounts  int          `json:"accounts"`
	Failed    int          `json:"failed"`
	FirstFail string       `json:"first_failure,omitempty"`
	Histories HistoryStats `json:"histories"`
	// WorkerRSS are the worker processes' peak RSS in bytes; ServerRSS the
	// server processes' (the dev server, or SCALE_SERVER_PIDS), summed.
	WorkerRSS []int64 `json:"worker_rss"`
	ServerRSS int64   `json:"server_rss"`
}

// HistoryStats are the run's workflow histories, read through the client.
type HistoryStats struct {
	// RolloutRuns are the OrgRollout runs (continue-as-new makes several);
	// RolloutMax the events of the longest.
	RolloutRuns   int `json:"rollout_runs"`
	RolloutEvents int `json:"rollout_events"`
	RolloutMax    int `json:"rollout_max"`
	// Baselines are the AccountBaseline workflows.
	Baselines      int `json:"baselines"`
	BaselineEvents int `json:"baseline_events"`
	BaselineMax    int `json:"baseline_max"`
	// Other workflows of the run (remediations: none in check mode).
	Other       int `json:"other"`
	OtherEvents int `json:"other_events"`
	// Events and Bytes over every workflow of the run.
	Events int   `json:"events"`
	Bytes  int64 `json:"bytes"`
	// Activities counts scheduled activities by type.
	Activities map[string]int `json:"activities"`
	// The timeline, from the first rollout run's start: when the first
	// member account's baseline started, how long the organization wave's
	// baseline took, and the member baselines' mean and longest time.
	FirstMember  time.Duration `json:"first_member_start"`
	OrgWave      time.Duration `json:"org_wave"`
	BaselineMean time.Duration `json:"baseline_mean"`
	BaselineLong time.Duration `json:"baseline_longest"`
}

// temporalEnv is a Temporal server and orgguard-worker processes.
type temporalEnv struct {
	cfg     Config
	dir     string
	address string
	server  *proc
	workers []*proc
	client  client.Client
}

// startTemporal starts the dev server (unless cfg.Address names one) and
// cfg.Workers worker processes that reach AWS at sim, and waits until
// every worker polls the task queue.
func startTemporal(ctx context.Context, cfg Config, dir string, sim *awssim.Server) (*temporalEnv, error) {
	t := &temporalEnv{cfg: cfg, dir: dir, address: cfg.Address}
	if t.address == "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args := append(append([]string(nil), cfg.ServerCommand[1:]...), "--state-dir", filepath.Join(dir, "temporal"), "--port", strconv.Itoa(port))
		p, line, err := startProc("temporal dev server", filepath.Join(dir, "server.log"), os.Environ(), ServerReady, 3*time.Minute, cfg.ServerCommand[0], args...)
		if err != nil {
			return nil, err
		}
		t.server = p
		t.address = strings.TrimSpace(strings.TrimPrefix(line, ServerReady))
	}
	c, err := client.Dial(client.Options{HostPort: t.address, Namespace: cfg.namespace(), Logger: quiet()})
	if err != nil {
		t.stop()
		return nil, fmt.Errorf("connect to temporal at %s: %w", t.address, err)
	}
	t.client = c
	env := append(simEnv(sim, filepath.Join(dir, "none")), "PATH="+os.Getenv("PATH"), "HOME="+os.Getenv("HOME"))
	seed := sim.Seed()
	for i := range cfg.Workers {
		p, _, err := startProc(fmt.Sprintf("worker %d", i+1), filepath.Join(dir, fmt.Sprintf("worker-%d.log", i+1)), env, "", 0,
			cfg.WorkerBin,
			"--address", t.address, "--namespace", cfg.namespace(),
			"--role-name", seed.MemberRole.Name, "--external-id", seed.MemberRole.ExternalID,
			"--state-dir", filepath.Join(dir, fmt.Sprintf("worker-%d", i+1)),
			"--max-concurrent-activities", strconv.Itoa(cfg.Slots),
			"--log-format", "json", "--log-level", "warn")
		if err != nil {
			t.stop()
			return nil, err
		}
		t.workers = append(t.workers, p)
	}
	if err := t.waitPolling(ctx); err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
}

// waitPolling waits until every worker process polls for activities.
func (t *temporalEnv) waitPolling(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		polling := map[string]bool{}
		resp, err := t.client.DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err == nil {
			for _, p := range resp.Pollers {
				polling[p.Identity] = true
			}
		}
		missing := 0
		for _, w := range t.workers {
			if done, err := w.exited(); done {
				return fmt.Errorf("%s exited: %v (log %s)", w.name, err, w.log)
			}
			found := false
			for id := range polling {
				found = found || strings.HasSuffix(id, fmt.Sprintf(":%d", w.pid()))
			}
			if !found {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d workers not polling after 2 minutes (last error %v)", missing, len(t.workers), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// run starts the check rollout as an operator does (the CLI, detached) and
// waits for it to end, telling progress every half minute how far it got.
func (t *temporalEnv) run(ctx context.Context, runID string, progress func(format string, args ...any)) (TemporalResult, error) {
	r := TemporalResult{RunID: runID, Address: t.address, Workers: len(t.workers), Server: "external"}
	if t.server != nil {
		r.Server = "dev"
	}
	args := []string{"--address", t.address, "--namespace", t.cfg.namespace(), "--state-dir", t.dir,
		"check", t.cfg.Pack, "--run-id", runID, "--concurrency", strconv.Itoa(t.cfg.Window), "--detach"}
	for _, v := range t.cfg.Vars {
		args = append(args, "--var", v)
	}
	var out, errOut bytes.Buffer
	start := time.Now()
	if code := cli.Run(ctx, args, &out, &errOut); code != 0 {
		return r, fmt.Errorf("orgguard check exited %d: %s%s", code, out.String(), errOut.String())
	}
	var res workflows.RolloutResult
	err := t.wait(ctx, runID, &res, start, progress)
	r.Wall = time.Since(start)
	var app *temporal.ApplicationError
	if err != nil && !(errors.As(err, &app) && app.HasDetails() && app.Details(&res) == nil) {
		return r, fmt.Errorf("rollout %s: %w", runID, err)
	}
	for _, w := range res.Progress.Waves {
		r.Accounts += w.Total
		r.Failed += w.Failed
	}
	if len(res.Progress.Failed) > 0 {
		r.FirstFail = res.Progress.Failed[0].AccountID + ": " + res.Progress.Failed[0].Error
	}
	for _, w := range t.workers {
		rss, err := peakRSS(w.pid())
		if err != nil {
			return r, fmt.Errorf("%s: %w", w.name, err)
		}
		r.WorkerRSS = append(r.WorkerRSS, rss)
	}
	pids := t.cfg.ServerPIDs
	if t.server != nil {
		pids = []int{t.server.pid()}
	}
	for _, pid := range pids {
		rss, err := peakRSS(pid)
		if err != nil {
			return r, fmt.Errorf("temporal server: %w", err)
		}
		r.ServerRSS += rss
	}
	r.Histories, err = ReadHistories(ctx, t.client, runID, r.Accounts)
	return r, err
}

// wait waits for the rollout's result. A worker that exits meanwhile ends
// the wait: nobody restarts it here, and the run would hang.
func (t *temporalEnv) wait(ctx context.Context, runID string, res *workflows.RolloutResult, start time.Time, progress func(string, ...any)) error {
	done := make(chan error, 1)
	go func() { done <- t.client.GetWorkflow(ctx, workflows.RolloutID(runID), "").Get(ctx, res) }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			for _, w := range t.workers {
				if exited, err := w.exited(); exited {
					return fmt.Errorf("%s exited during the run: %v (log %s)", w.name, err, w.log)
				}
			}
			var p workflows.Progress
			if v, err := t.client.QueryWorkflow(ctx, workflows.RolloutID(runID), "", workflows.QueryProgress); err == nil && v.Get(&p) == nil {
				finished, total := 0, 0
				for _, w := range p.Waves {
					finished += w.Succeeded + w.Failed
					total += w.Total
				}
				progress("  +%s: %d of %d baselines finished", time.Since(start).Round(time.Second), finished, total)
			}
		}
	}
}

// ReadHistories reads every workflow history of a run through the client:
// the rollout's runs and the baselines (at least baselines of them), found
// by the run's search attribute.
func ReadHistories(ctx context.Context, c client.Client, runID string, baselines int) (HistoryStats, error) {
	q := fmt.Sprintf("%s = '%s'", workflows.SARunID.GetName(), runID)
	var execs []*workflowservice.ListWorkflowExecutionsResponse
	// Visibility lags the workflows a little: list until every baseline
	// is there and the list stops growing.
	deadline := time.Now().Add(2 * time.Minute)
	last := -1
	for {
		execs = execs[:0]
		n, err := 0, error(nil)
		var token []byte
		for {
			var resp *workflowservice.ListWorkflowExecutionsResponse
			resp, err = c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: 1000})
			if err != nil {
				break
			}
			execs = append(execs, resp)
			n += len(resp.Executions)
			if token = resp.NextPageToken; len(token) == 0 {
				break
			}
		}
		if err == nil && n > baselines && n == last {
			break
		}
		if time.Now().After(deadline) {
			if err != nil {
				return HistoryStats{}, fmt.Errorf("list the run's workflows: %w", err)
			}
			break
		}
		last = n
		time.Sleep(time.Second)
	}
	st := HistoryStats{Activities: map[string]int{}}
	st.timeline(execs)
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, resp := range execs {
		for _, x := range resp.Executions {
			typ, id, run := x.Type.GetName(), x.Execution.GetWorkflowId(), x.Execution.GetRunId()
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				events, bytes, acts, err := history(ctx, c, id, run)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					firstErr = cmpErr(firstErr, err)
					return
				}
				st.add(typ, events, bytes, acts)
			})
		}
	}
	wg.Wait()
	return st, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// timeline reads start and close times from the visibility records.
func (st *HistoryStats) timeline(pages []*workflowservice.ListWorkflowExecutionsResponse) {
	var start, firstMember time.Time
	var total time.Duration
	n := 0
	for _, p := range pages {
		for _, x := range p.Executions {
			began, closed := x.GetStartTime().AsTime(), x.GetCloseTime().AsTime()
			switch {
			case x.Type.GetName() == workflows.WorkflowOrgRollout:
				if start.IsZero() || began.Before(start) {
					start = began
				}
			case x.Type.GetName() != workflows.WorkflowAccountBaseline:
			case strings.HasSuffix(x.Execution.GetWorkflowId(), "-organization"):
				st.OrgWave = closed.Sub(began)
			default:
				if firstMember.IsZero() || began.Before(firstMember) {
					firstMember = began
				}
				total += closed.Sub(began)
				st.BaselineLong = max(st.BaselineLong, closed.Sub(began))
				n++
			}
		}
	}
	if n > 0 {
		st.BaselineMean = total / time.Duration(n)
		st.FirstMember = firstMember.Sub(start)
	}
}

func (st *HistoryStats) add(typ string, events int, bytes int64, acts map[string]int) {
	st.Events += events
	st.Bytes += bytes
	for a, n := range acts {
		st.Activities[a] += n
	}
	switch typ {
	case workflows.WorkflowOrgRollout:
		st.RolloutRuns++
		st.RolloutEvents += events
		st.RolloutMax = max(st.RolloutMax, events)
	case workflows.WorkflowAccountBaseline:
		st.Baselines++
		st.BaselineEvents += events
		st.BaselineMax = max(st.BaselineMax, events)
	default:
		st.Other++
		st.OtherEvents += events
	}
}

// history counts one workflow run's events, their encoded size, and its
// scheduled activities by type.
func history(ctx context.Context, c client.Client, id, runID string) (int, int64, map[string]int, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events, bytes, acts := 0, int64(0), map[string]int{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return 0, 0, nil, fmt.Errorf("history of %s: %w", id, err)
		}
		events++
		bytes += int64(proto.Size(e))
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			acts[a.GetActivityType().GetName()]++
		}
	}
	return events, bytes, acts, nil
}

// stop ends the workers, then the server, then the client.
func (t *temporalEnv) stop() {
	var wg sync.WaitGroup
	for _, w := range t.workers {
		wg.Go(func() { w.stop(30 * time.Second) })
	}
	wg.Wait()
	if t.client != nil {
		t.client.Close()
	}
	if t.server != nil {
		t.server.stop(30 * time.Second)
	}
}

// freePort picks a free port below Linux's ephemeral range, so no outgoing
// connection takes it between the pick and the server's listen.
func freePort() (int, error) {
	for port := 21000 + os.Getpid()%5000; port < 30000; port += 7 {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			_ = ln.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port between 21000 and 30000")
}
