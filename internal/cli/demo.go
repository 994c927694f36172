package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/orgguard/orgguard/internal/approvals"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/temporalclient"
	"github.com/orgguard/orgguard/workflows"
)

type demoFlags struct {
	pack        string
	worker      string
	interactive bool
	keep        bool
	operator    string
	approver    string
	wait        time.Duration
}

func demoCmd(a *app) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole story on a simulated organization: check → plan → apply with an approval → audit",
		Long: `demo starts the local AWS organization simulator (12 accounts, drifted) in this process and
orgguard-worker --dev (embedded Temporal server and Web UI) as a child process under
<state-dir>/demo, then runs the baseline pack: check, plan, apply. Apply stops at the approval step
and prints the exact commands to approve. Without --interactive the demo then shows a refused
self-approval and a refused outsider, approves as the policy's approver, waits for the change to be
applied and verified, queries the audit trail and checks again.

Every wait is bounded and says what it waits for.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.pack, "pack", "guardrails/packs/baseline", "guardrail pack to run")
	fl.StringVar(&f.worker, "worker", "", "orgguard-worker binary (default: next to this binary)")
	fl.BoolVar(&f.interactive, "interactive", false, "stop at the approval step and wait for you to approve from another terminal")
	fl.BoolVar(&f.keep, "keep", false, "keep the simulator, worker and Web UI running at the end until Ctrl-C")
	fl.StringVar(&f.operator, "operator", "bob", "who runs apply in the demo (the requester; an approver too, to show separation of duties)")
	fl.StringVar(&f.approver, "approver", "alice", "who approves in the demo (an approver of the pack's policy)")
	fl.DurationVar(&f.wait, "wait", 5*time.Minute, "longest wait for any one step")
	return cmd
}

type stepper struct {
	out io.Writer
	n   int
}

func (s *stepper) step(format string, args ...any) {
	s.n++
	fmt.Fprintf(s.out, "\n━━ %d. %s\n", s.n, fmt.Sprintf(format, args...))
}

func (a *app) demo(ctx context.Context, out io.Writer, f demoFlags) error {
	st := &stepper{out: out}
	dir := filepath.Join(a.temporal.StateDir, "demo")
	// A demo starts from a clean organization and history every time.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	self, _ := os.Executable()
	cli := self
	if rel, err := filepath.Rel(mustGetwd(), self); err == nil && !strings.HasPrefix(rel, "..") {
		cli = "./" + rel
	}
	cliPrefix := fmt.Sprintf("%s --state-dir %s", cli, dir)
	if f.worker == "" {
		f.worker = filepath.Join(filepath.Dir(self), "orgguard-worker")
	}

	st.step("Start the local AWS organization simulator")
	seed, err := awssim.DemoSeed()
	if err != nil {
		return err
	}
	sim, err := awssim.New(awssim.Options{Seed: seed})
	if err != nil {
		return err
	}
	defer sim.Close()
	key, secret := sim.ManagementCredentials()
	fmt.Fprintf(out, "   %s serves organization %s (%d accounts) with the standard AWS wire protocols\n", sim.URL(), seed.OrganizationID, countSeedAccounts(seed.Accounts, seed.OUs))

	st.step("Start orgguard-worker --dev (embedded Temporal server + Web UI)")
	env := append(os.Environ(),
		"AWS_ENDPOINT_URL="+sim.URL(), "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN=",
		// The S3 Control client always puts the account ID in front of the
		// endpoint's host name ("<account>.127.0.0.1"), which does not resolve
		// locally; the simulator also serves as the HTTP proxy for such names.
		// Loopback addresses are never proxied, so nothing else changes.
		"HTTP_PROXY="+sim.URL(), "http_proxy="+sim.URL(),
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws-credentials"),
	)
	if seed.MemberRole != nil {
		env = append(env, "ORGGUARD_EXTERNAL_ID="+seed.MemberRole.ExternalID, "ORGGUARD_ROLE_NAME="+seed.MemberRole.Name)
	}
	logPath := filepath.Join(dir, "worker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	worker := exec.Command(f.worker, "--dev", "--state-dir", dir, "--dev-port", "0", "--ui-port", "0", "--log-format", "console")
	worker.Env, worker.Stdout, worker.Stderr = env, logFile, logFile
	if err := worker.Start(); err != nil {
		return failf(exitFindings, "start %s: %v (build it with 'make build')", f.worker, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- worker.Wait() }()
	defer func() {
		_ = worker.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(45 * time.Second):
			_ = worker.Process.Kill()
		}
	}()
	fmt.Fprintf(out, "   logs: %s\n   waiting for the embedded Temporal server (the first start creates its SQLite database)...\n", logPath)
	dev, err := waitDevState(ctx, dir, exited, logPath, f.wait)
	if err != nil {
		return err
	}
	a.temporal.Address, a.temporal.Namespace, a.temporal.StateDir = dev.Address, dev.Namespace, dir
	// The demo's logins live with its state, not in your own token cache.
	if os.Getenv("ORGGUARD_TOKEN_CACHE") == "" {
		_ = os.Setenv("ORGGUARD_TOKEN_CACHE", filepath.Join(dir, "tokens"))
	}
	a.as = f.operator
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	pong, err := healthcheck(ctx, c, f.wait)
	if err != nil {
		return failf(exitFindings, "worker did not answer: %v (see %s)", err, logPath)
	}
	fmt.Fprintf(out, "   Temporal at %s, Web UI at %s\n   %s\n", dev.Address, dev.UI, pong)

	st.step("Log in at the dev worker's built-in OIDC issuer (%s)", dev.Issuer)
	for _, who := range []string{f.operator, f.approver, "mallory"} {
		demoEcho(out, cliPrefix, "login", "--as", who)
		if code := Run(ctx, []string{"--state-dir", dir, "login", "--as", who}, io.Discard, out); code != 0 {
			return silentExit(code)
		}
	}
	fmt.Fprintf(out, "   every start and every vote below carries a fresh signed token bound to exactly that action\n")

	st.step("Validate the pack: %s", f.pack)
	if code := Run(ctx, []string{"--state-dir", dir, "validate", f.pack}, out, out); code != 0 {
		return silentExit(code)
	}

	for _, mode := range []string{"check", "plan"} {
		if mode == "check" {
			st.step("Check: what is out of compliance (read only)")
		} else {
			st.step("Plan: what apply would change (read only)")
		}
		res, err := a.demoRollout(ctx, c, workflows.Mode(mode), f, out)
		if err != nil {
			return err
		}
		printGuardrailTable(ctx, c, res, out)
	}

	st.step("Apply as %s: auto remediations run, approval-gated ones wait", f.operator)
	res, err := a.demoRollout(ctx, c, workflows.ModeApply, f, out)
	if err != nil {
		return err
	}
	printSummary(out, res.Progress)
	pending, err := waitPending(ctx, c, res.Progress.Totals.PendingApproval, f.wait)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintln(out, "   no remediation needs approval in this pack")
	} else {
		first := pending[0]
		st.step("Approval: %d remediation(s) wait for %s", len(pending), strings.Join(first.Approvers, " or "))
		_ = Run(ctx, []string{"--state-dir", dir, "approvals", "show", first.ID}, out, out)
		fmt.Fprintf(out, "\n   To approve, log in and run (as an approver of policy %q):\n", first.Policy)
		fmt.Fprintf(out, "     %s login --as %s\n", cliPrefix, f.approver)
		for i, p := range pending {
			if i == 3 {
				fmt.Fprintf(out, "     … and %d more: %s approvals list\n", len(pending)-i, cliPrefix)
				break
			}
			fmt.Fprintf(out, "     %s approve %s --as %s --reason \"reviewed the diff\"\n", cliPrefix, p.ID, f.approver)
		}
		fmt.Fprintf(out, "   or reject with: %s reject ID --as %s --reason \"...\"\n", cliPrefix, f.approver)
		if f.interactive {
			fmt.Fprintf(out, "\n   Waiting for you (up to %s). Ctrl-C stops the demo.\n", f.wait)
			if err := waitNoPending(ctx, c, f.wait, out); err != nil {
				return err
			}
		} else {
			if pending, err = a.demoReapply(ctx, c, pending, f, st, out); err != nil {
				return err
			}
			first = pending[0]
			a.demoRefusals(ctx, c, pending, f, dir, cliPrefix, out)
			fmt.Fprintf(out, "\n   %s approves all %d:\n", f.approver, len(pending))
			for i, p := range pending {
				w := io.Discard
				if i == 0 {
					w = out
					demoEcho(out, cliPrefix, "approve", p.ID, "--as", f.approver, "--reason", "reviewed the diff")
				}
				if code := Run(ctx, []string{"--state-dir", dir, "approve", p.ID, "--as", f.approver, "--reason", "reviewed the diff"}, w, out); code != 0 {
					return silentExit(code)
				}
			}
		}
		st.step("Apply the approved changes (SourceIdentity = approver), re-check, record")
		done, err := waitRemediations(ctx, c, pending, f.wait)
		if err != nil {
			return err
		}
		counts := map[string]int{}
		for _, s := range done {
			counts[s.Status]++
		}
		fmt.Fprintf(out, "   outcomes: %v\n", counts)
		calls := sim.CallsMatching(awssim.CallFilter{Service: "ec2", Operation: "RevokeSecurityGroupIngress", OnlySuccess: true})
		if len(calls) > 0 {
			fmt.Fprintf(out, "   the simulator's call log shows %d RevokeSecurityGroupIngress call(s), e.g. account %s as %s with SourceIdentity %q\n",
				len(calls), calls[0].AccountID, calls[0].Principal, calls[0].SourceIdentity)
		}

		st.step("Audit: what happened, who approved, under which controls")
		demoEcho(out, cliPrefix, "audit", "--kind", "remediation", "--control", "CIS v3.0.0 5.4", "--run", res.Progress.RunID)
		_ = Run(ctx, []string{"--state-dir", dir, "audit", "--kind", "remediation", "--control", "CIS v3.0.0 5.4", "--run", res.Progress.RunID}, out, out)
		demoEcho(out, cliPrefix, "audit", "history", first.ID)
		_ = Run(ctx, []string{"--state-dir", dir, "audit", "history", first.ID}, out, out)

		st.step("Rollback plan: what undoing %s in account %s would change (read only)", first.GuardrailID, first.AccountID)
		args := []string{"rollback", res.Progress.RunID, "--account", first.AccountID, "--guardrail", first.GuardrailID, "--as", f.operator}
		demoEcho(out, cliPrefix, args...)
		_ = Run(ctx, append([]string{"--state-dir", dir}, args...), out, out)
		fmt.Fprintf(out, "   (add --apply to restore it: the reverse change goes through the same approval policy)\n")
	}

	st.step("Check again")
	again, err := a.demoRollout(ctx, c, workflows.ModeCheck, f, out)
	if err != nil {
		return err
	}
	printGuardrailTable(ctx, c, again, out)

	st.step("Report: the apply run's evidence for auditors, from the evidence store (%s)", filepath.Join(dir, "evidence"))
	reportPath := filepath.Join(dir, "report-"+res.Progress.RunID+".html")
	demoEcho(out, cliPrefix, "report", res.Progress.RunID, "-o", reportPath)
	if code := Run(ctx, []string{"--state-dir", dir, "report", res.Progress.RunID, "-o", reportPath}, out, out); code != 0 {
		return silentExit(code)
	}
	csvPath := filepath.Join(dir, "report-"+res.Progress.RunID+".csv")
	demoEcho(out, cliPrefix, "report", res.Progress.RunID, "--format", "csv", "--framework", "cis", "-o", csvPath)
	if code := Run(ctx, []string{"--state-dir", dir, "report", res.Progress.RunID, "--format", "csv", "--framework", "cis", "-o", csvPath}, out, out); code != 0 {
		return silentExit(code)
	}

	fmt.Fprintf(out, "\nDemo complete. Temporal Web UI: %s (histories of every run above).\n", dev.UI)
	if abs, err := filepath.Abs(reportPath); err == nil {
		fmt.Fprintf(out, "HTML report: %s\n", abs)
	}
	if now, err := temporalclient.ReadDevState(dir); err == nil && now.Console != "" {
		fmt.Fprintf(out, "Approvals console: %s (log in at the dev issuer as alice; docs/console.md).\n", now.Console)
	}
	if f.keep {
		fmt.Fprintf(out, "The simulator, worker and Web UI keep running; try:\n  %s approvals list\n  %s audit\nCtrl-C to stop.\n", cliPrefix, cliPrefix)
		<-ctx.Done()
	}
	return nil
}

// demoReapply runs apply again while approvals are pending: a finding
// whose plan is unchanged attaches to its pending request; one whose plan
// changed since gets a new request and the old one is closed as
// superseded. Either way each finding has exactly one open request.
func (a *app) demoReapply(ctx context.Context, c client.Client, pending []workflows.RemediationState, f demoFlags, st *stepper, out io.Writer) ([]workflows.RemediationState, error) {
	st.step("Apply again while %d approval(s) are pending: one open request per finding", len(pending))
	again, err := a.demoRollout(ctx, c, workflows.ModeApply, f, out)
	if err != nil {
		return nil, err
	}
	key := func(r workflows.RemediationState) string {
		return r.AccountID + " " + r.Region + " " + r.GuardrailID + " " + r.Resource
	}
	before := map[string]workflows.RemediationState{}
	for _, p := range pending {
		before[key(p)] = p
	}
	// Superseded requests close and their replacements open; wait until
	// the open requests settle to one per finding.
	var now []workflows.RemediationState
	deadline := time.Now().Add(f.wait)
	for {
		if now, err = pendingApprovals(ctx, c); err != nil {
			return nil, err
		}
		perFinding := map[string]int{}
		for _, p := range now {
			perFinding[key(p)]++
		}
		settled := len(perFinding) == len(now) && len(now) == len(pending)
		if settled || time.Now().After(deadline) {
			if !settled {
				return nil, failf(exitFindings, "after a second apply %d request(s) are open for %d finding(s) (%d before): a finding has more than one open request",
					len(now), len(perFinding), len(pending))
			}
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	sort.Slice(now, func(i, j int) bool { return now[i].ID < now[j].ID })
	attached, superseded := 0, 0
	var example *workflows.RemediationState
	for i, p := range now {
		old, ok := before[key(p)]
		switch {
		case !ok:
			return nil, failf(exitFindings, "a second apply opened a request for a finding that had none: %s", p.ID)
		case old.ID == p.ID:
			attached++
		default:
			superseded++
			if example == nil {
				example = &now[i]
			}
		}
	}
	fmt.Fprintf(out, "   run %s: %d finding(s) await approval, each with one open request: %d attached to the pending request, %d with a changed plan (the old request closed as superseded)\n",
		again.Progress.RunID, len(now), attached, superseded)
	if example != nil {
		old := before[key(*example)]
		fmt.Fprintf(out, "   e.g. %s in %s %s: the first plan's actions %v, now %v (the first apply created what it needed meanwhile)\n",
			example.GuardrailID, example.AccountID, example.Region, changeActions(old.Change), changeActions(example.Change))
	}
	return now, nil
}

func changeActions(c *workflows.Change) []string {
	if c == nil {
		return nil
	}
	return c.Actions
}

func countSeedAccounts(accounts []awssim.SeedAccount, ous []awssim.SeedOU) int {
	n := len(accounts)
	for _, ou := range ous {
		n += countSeedAccounts(ou.Accounts, ou.OUs)
	}
	return n
}

func demoEcho(out io.Writer, prefix string, args ...string) {
	for i, a := range args {
		if strings.ContainsAny(a, " \"") {
			args[i] = fmt.Sprintf("%q", a)
		}
	}
	fmt.Fprintf(out, "   $ %s %s\n", prefix, strings.Join(args, " "))
}

func mustGetwd() string {
	wd, _ := os.Getwd()
	return wd
}

func (a *app) demoRollout(ctx context.Context, c client.Client, mode workflows.Mode, f demoFlags, out io.Writer) (*workflows.RolloutResult, error) {
	var p packFlags
	set, err := p.loadPack(f.pack, out)
	if err != nil {
		return nil, err
	}
	runID := newRunID(time.Now())
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	tok, err := a.boundToken(ctx, s, identity.StartNonce(runID, string(mode), set.Digest), out)
	if err != nil {
		return nil, err
	}
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.RolloutID(runID), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowOrgRollout, workflows.RolloutInput{RunID: runID, Set: *set, Mode: mode, RequestedBy: s.Name, RequesterToken: tok, Reason: "orgguard demo"})
	if err != nil {
		return nil, failf(exitFindings, "start %s: %v", mode, err)
	}
	fmt.Fprintf(out, "   $ orgguard %s %s   (run %s)\n", mode, f.pack, runID)
	fctx, cancel := context.WithTimeout(ctx, f.wait)
	defer cancel()
	res, err := follow(fctx, c, runID, out)
	if res == nil {
		if fctx.Err() != nil && ctx.Err() == nil {
			return nil, failf(exitFindings, "%s run %s did not finish within %s; see 'orgguard status %s'", mode, runID, f.wait, runID)
		}
		return nil, err
	}
	return res, nil
}

// printGuardrailTable shows, per guardrail, how many accounts were compliant,
// non-compliant, changed or waiting.
func printGuardrailTable(ctx context.Context, c client.Client, res *workflows.RolloutResult, out io.Writer) {
	type row struct{ ok, bad, planned, fixed, pending, exempt, notChecked int }
	rows := map[string]*row{}
	ids, _ := runBaselines(ctx, c, res.Progress.RunID, false)
	for _, id := range ids {
		br := baselineResult(ctx, c, id)
		for _, it := range br.Items {
			r := rows[it.Finding.GuardrailID]
			if r == nil {
				r = &row{}
				rows[it.Finding.GuardrailID] = r
			}
			switch it.Status {
			case workflows.ItemCompliant:
				r.ok++
			case workflows.ItemPlanned:
				r.planned++
			case workflows.ItemRemediated:
				r.fixed++
			case workflows.ItemPendingApproval:
				r.pending++
			case workflows.ItemExempted:
				r.exempt++
			case workflows.ItemNotChecked:
				r.notChecked++
			default:
				r.bad++
			}
		}
	}
	guardrailIDs := make([]string, 0, len(rows))
	for id := range rows {
		guardrailIDs = append(guardrailIDs, id)
	}
	sort.Strings(guardrailIDs)
	fmt.Fprintf(out, "\n   %-44s %9s %9s %8s %10s %8s %8s %11s\n", "GUARDRAIL", "COMPLIANT", "NONCOMPL", "PLANNED", "REMEDIATED", "PENDING", "EXEMPT", "NOT CHECKED")
	for _, id := range guardrailIDs {
		r := rows[id]
		fmt.Fprintf(out, "   %-44s %9d %9d %8d %10d %8d %8d %11d\n", id, r.ok, r.bad, r.planned, r.fixed, r.pending, r.exempt, r.notChecked)
	}
	printSummary(out, res.Progress)
}

func waitDevState(ctx context.Context, dir string, exited <-chan error, logPath string, limit time.Duration) (temporalclient.DevState, error) {
	deadline := time.After(limit)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return temporalclient.DevState{}, failf(exitFindings, "orgguard-worker exited early (%v); last lines of %s:\n%s", err, logPath, tail(logPath, 20))
		case <-deadline:
			return temporalclient.DevState{}, failf(exitFindings, "orgguard-worker did not start its dev server within %s; see %s", limit, logPath)
		case <-ctx.Done():
			return temporalclient.DevState{}, ctx.Err()
		case <-tick.C:
			if st, err := temporalclient.ReadDevState(dir); err == nil {
				return st, nil
			}
		}
	}
}

func tail(path string, n int) string {
	fh, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// waitPending waits until visibility lists the expected pending approvals.
func waitPending(ctx context.Context, c client.Client, want int, limit time.Duration) ([]workflows.RemediationState, error) {
	deadline := time.Now().Add(limit)
	for {
		states, err := pendingApprovals(ctx, c)
		if err != nil {
			return nil, err
		}
		if len(states) >= want || time.Now().After(deadline) {
			sort.Slice(states, func(i, j int) bool { return states[i].ID < states[j].ID })
			return states, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func waitNoPending(ctx context.Context, c client.Client, limit time.Duration, out io.Writer) error {
	deadline := time.Now().Add(limit)
	remind := time.Now().Add(30 * time.Second)
	for {
		states, err := pendingApprovals(ctx, c)
		if err != nil {
			return err
		}
		if len(states) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return failf(exitFindings, "%d approval(s) still pending after %s; the demo stops here (approvals survive in %s)", len(states), limit, "the dev server's database")
		}
		if time.Now().After(remind) {
			fmt.Fprintf(out, "   still waiting for %d approval(s), e.g. %s\n", len(states), states[0].ID)
			remind = time.Now().Add(30 * time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func waitRemediations(ctx context.Context, c client.Client, pending []workflows.RemediationState, limit time.Duration) ([]workflows.RemediationState, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var out []workflows.RemediationState
	for _, p := range pending {
		var s workflows.RemediationState
		if err := c.GetWorkflow(ctx, p.ID, "").Get(ctx, &s); err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, failf(exitFindings, "remediation %s did not finish within %s", p.ID, limit)
			}
			return nil, failf(exitFindings, "remediation %s: %v", p.ID, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// demoRefusals shows what verified identities stop: a forged vote sent
// straight through the Temporal API, a real token replayed on another
// remediation, the requester approving under a second login, and someone
// outside the policy.
func (a *app) demoRefusals(ctx context.Context, c client.Client, pending []workflows.RemediationState, f demoFlags, dir, cliPrefix string, out io.Writer) {
	first := pending[0]
	refused := func(err error) {
		if err == nil {
			fmt.Fprintf(out, "     ACCEPTED (this is a bug)\n")
			return
		}
		fmt.Fprintf(out, "     refused: %v\n", err)
	}
	fmt.Fprintf(out, "\n   1. A forged approval: the raw 'approve' Update through the Temporal SDK, naming %s, no token:\n", f.approver)
	_, err := approvals.Send(ctx, c, first.ID, workflows.UpdateApprove, workflows.VoteRequest{Approver: f.approver, Reason: "forged"})
	refused(err)

	if len(pending) > 1 {
		second := pending[1]
		fmt.Fprintf(out, "\n   2. A replayed approval: %s's real token for %s, sent for %s:\n", f.approver, second.ID, first.ID)
		as := a.as
		a.as = f.approver
		s, serr := a.session()
		a.as = as
		if serr == nil {
			tok, terr := a.boundToken(ctx, s, identity.VoteNonce(second.ID, identity.DecisionApprove, second.ChangeDigest), out)
			if terr == nil {
				_, err = approvals.Send(ctx, c, first.ID, workflows.UpdateApprove, workflows.VoteRequest{Token: tok, Reason: "replayed"})
				refused(err)
			}
		}
	}

	fmt.Fprintf(out, "\n   3. The requester, %s, logs in a second time and approves their own change:\n", f.operator)
	demoEcho(out, cliPrefix, "login", "--as", f.operator)
	_ = Run(ctx, []string{"--state-dir", dir, "login", "--as", f.operator}, io.Discard, out)
	demoEcho(out, cliPrefix, "approve", first.ID, "--as", f.operator, "--reason", "looks fine to me")
	_ = Run(ctx, []string{"--state-dir", dir, "approve", first.ID, "--as", f.operator, "--reason", "looks fine to me"}, out, out)

	fmt.Fprintf(out, "\n   4. Someone outside the policy:\n")
	demoEcho(out, cliPrefix, "approve", first.ID, "--as", "mallory", "--reason", "trust me")
	_ = Run(ctx, []string{"--state-dir", dir, "approve", first.ID, "--as", "mallory", "--reason", "trust me"}, out, out)
}
