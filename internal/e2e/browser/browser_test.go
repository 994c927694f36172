// Package browser drives the web console in a real headless Chromium
// (Debian's, installed by the test when missing and running as root)
// against the whole stack: the AWS organization simulator, an embedded
// Temporal server, the real worker and its dev OIDC issuer. Run it with
// `make test-browser`; screenshots of every page go to $ORGGUARD_ARTIFACTS
// (default: a temporary directory named in the log).
package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/approvals"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/e2e/harness"
	"github.com/orgguard/orgguard/internal/workerapp"
	"github.com/orgguard/orgguard/workflows"
)

const pack = "../testdata/sgpack"

// artifacts is where screenshots go: $ORGGUARD_ARTIFACTS, or a new
// temporary directory that outlives the test.
func artifacts(t *testing.T) string {
	dir := os.Getenv("ORGGUARD_ARTIFACTS")
	if dir == "" {
		var err error
		dir, err = os.MkdirTemp("", "orgguard-browser-")
		require.NoError(t, err)
	}
	dir = filepath.Join(dir, t.Name())
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Logf("screenshots in %s", dir)
	return dir
}

// page is one person's browser: a browser context of its own (its own
// cookies, so its own console and IdP sessions) in the shared Chromium.
type page struct {
	t    *testing.T
	name string
	ctx  context.Context
	dir  string
	shot int
}

func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %s: %v\n%s", p.name, what, err, p.where())
	}
}

// where says what the browser shows, for a failure.
func (p *page) where() string {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(p.dir, "failure-"+p.name+".png"), png, 0o644)
	}
	return fmt.Sprintf("the browser shows %s:\n%s", loc, body)
}

// get runs one action that reads something.
func get[T any](p *page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(p.t, err, "%s: %s", p.name, what)
	return v
}

// screenshot saves the whole page as NN-name-what.png.
func (p *page) screenshot(what string) {
	p.t.Helper()
	png := get(p, "screenshot "+what, chromedp.FullScreenshot(100))
	p.shot++
	path := filepath.Join(p.dir, fmt.Sprintf("%02d-%s-%s.png", p.shot, p.name, what))
	require.NoError(p.t, os.WriteFile(path, png, 0o644))
}

func (p *page) text(sel string) string {
	p.t.Helper()
	p.run("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	return strings.TrimSpace(get(p, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// login signs in at the console through the dev issuer's login page.
func (p *page) login(consoleURL string) {
	p.t.Helper()
	p.run("open the console", chromedp.Navigate(consoleURL), chromedp.WaitVisible(chromedp.CSS(`#login-orgguard-dev`)))
	p.screenshot("console-login")
	p.run("go to the dev issuer", chromedp.Click(chromedp.CSS(`#login-orgguard-dev`)), chromedp.WaitVisible(chromedp.CSS(`#dev-warning`)))
	require.Contains(p.t, p.text(`#dev-warning`), "Development issuer — not a real login")
	p.screenshot("dev-issuer-login")
	p.run("name who I am", chromedp.Click(chromedp.CSS(`input[name="username"][value="`+p.name+`"]`)),
		chromedp.Click(chromedp.CSS(`#sign-in`)), chromedp.WaitVisible(chromedp.CSS(`#me`)))
	require.Equal(p.t, p.name, p.text(`#me`))
}

// vote opens the remediation from the pending list and submits a decision
// with a reason; it returns the message the console shows afterwards.
func (p *page) vote(consoleURL, id, button, reason string) string {
	p.t.Helper()
	p.run("open the pending approvals", chromedp.Navigate(consoleURL+"/approvals"), chromedp.WaitVisible(chromedp.CSS(`section[id="pending-`+id+`"]`)))
	p.run("open the remediation", chromedp.Click(chromedp.CSS(`section[id="pending-`+id+`"] a.button`)), chromedp.WaitVisible(chromedp.CSS(`#reason`)))
	p.run("write the reason", chromedp.SendKeys(chromedp.CSS(`#reason`), reason))
	p.screenshot("remediation-before-" + button)
	p.run("vote", chromedp.Click(chromedp.CSS(`#`+button)), chromedp.WaitVisible(chromedp.CSS(`#flash`)))
	return p.text(`#flash`)
}

// The scenario: an apply leaves an approval-gated remediation
// pending; mallory (not in the policy) and bob (the requester) are refused
// with the workflow's reasons; alice approves with a reason and watches the
// outcome turn remediated. Every page is photographed.
func TestConsoleApproveInABrowser(t *testing.T) {
	exe := chromium(t)
	dir := artifacts(t)
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	e := harness.New(t, seed, harness.Options{PageSize: 5})

	// bob, an approver himself, requests the change from the CLI.
	e.Login("bob")
	code, out := e.CLI("apply", pack, "--as", "bob", "--reason", "browser e2e")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "wait for approval")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var pending []workflows.RemediationState
	require.Eventually(t, func() bool {
		pending, err = approvals.Pending(ctx, e.Client)
		return err == nil && len(pending) > 0
	}, time.Minute, 200*time.Millisecond, "pending approvals: %v", err)
	sort.Slice(pending, func(i, j int) bool { return pending[i].ID < pending[j].ID })
	rem := pending[0]
	require.Empty(t, e.Writes(), "nothing is applied before approval")

	web, err := workerapp.StartConsole(e.Client, e.Trust, workerapp.ConsoleOptions{Addr: "127.0.0.1:0", Namespace: "default", Evidence: e.Evidence})
	require.NoError(t, err)
	t.Cleanup(func() { _ = web.Close() })
	t.Logf("console at %s, remediation %s", web.URL, rem.ID)

	var chromeLog bytes.Buffer
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.CombinedOutput(&chromeLog))...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chromium output:\n%s", chromeLog.String())
		}
	})
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(browser), "start chromium %s", exe)
	person := func(name string) *page {
		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		// The first run opens the tab, which lives as long as the context
		// of that run: never one with a timeout.
		require.NoError(t, chromedp.Do(ctx), "open a tab for %s", name)
		return &page{t: t, name: name, ctx: ctx, dir: dir}
	}

	// mallory is not in the policy: the workflow refuses, and says why.
	mallory := person("mallory")
	mallory.login(web.URL)
	msg := mallory.vote(web.URL, rem.ID, "approve", "trust me")
	require.Contains(t, msg, "was refused")
	require.Contains(t, msg, `"mallory" (verified: mallory (sub dev|mallory`)
	require.Contains(t, msg, "is not an approver")
	mallory.screenshot("refused-not-in-policy")

	// bob requested the change: separation of duties.
	bob := person("bob")
	bob.login(web.URL)
	msg = bob.vote(web.URL, rem.ID, "approve", "mine, looks fine")
	require.Contains(t, msg, "was refused")
	require.Contains(t, msg, "separation of duties")
	bob.screenshot("refused-separation-of-duties")
	require.Empty(t, e.Writes(), "refused votes change nothing")

	// alice approves and watches the change being applied.
	alice := person("alice")
	alice.login(web.URL)
	alice.run("pending approvals", chromedp.Navigate(web.URL+"/approvals"), chromedp.WaitVisible(chromedp.CSS(`section[id="pending-`+rem.ID+`"]`)))
	card := strings.Join(strings.Fields(alice.text(`section[id="pending-`+rem.ID+`"]`)), " ")
	require.Contains(t, card, strings.Join(strings.Fields(rem.Evidence), " "), "the evidence")
	require.Contains(t, card, strings.Join(strings.Fields(rem.Change.Summary), " "), "the planned change")
	alice.screenshot("approvals")
	msg = alice.vote(web.URL, rem.ID, "approve", "reviewed the diff")
	require.Contains(t, msg, "Your approval is recorded: alice")
	alice.screenshot("approved")
	// The page refreshes itself while the change is applied and verified.
	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	status := ""
	for status != workflows.RemRemediated {
		require.True(t, time.Now().Before(deadline), "the console still shows %q", status)
		<-tick.C
		sctx, scancel := context.WithTimeout(alice.ctx, 10*time.Second)
		if a, err := chromedp.Run(sctx, chromedp.AttributeValue(chromedp.CSS(`#status`), "data-status")); err == nil {
			status = a.Value
		}
		scancel()
		require.NotContains(t, []string{workflows.RemFailed, workflows.RemNotVerified, workflows.RemRejected}, status)
	}
	require.Contains(t, alice.text(`#votes`), "alice approved")
	require.Contains(t, alice.text(`#trail`), "reason: reviewed the diff")
	alice.screenshot("remediated")

	// The workflow's own record agrees, and the change ran as alice.
	var final workflows.RemediationState
	require.NoError(t, e.Client.GetWorkflow(ctx, rem.ID, "").Get(ctx, &final))
	require.Equal(t, workflows.RemRemediated, final.Status, final.Error)
	require.Len(t, final.Votes, 1)
	require.Equal(t, "alice", final.Votes[0].Approver)
	require.Equal(t, "reviewed the diff", final.Votes[0].Reason)
	require.Equal(t, "dev|alice", final.Votes[0].Subject)
	writes := e.Writes()
	require.NotEmpty(t, writes)
	for _, c := range writes {
		require.Equal(t, rem.AccountID, c.AccountID)
		require.Equal(t, "alice", c.SourceIdentity)
	}

	// The other pages: runs, one run's progress per wave, the run's report
	// (heatmap and the remediated finding with alice's vote) and audit
	// search.
	alice.run("runs", chromedp.Navigate(web.URL+"/runs"), chromedp.WaitVisible(chromedp.CSS(`#runs`)))
	require.Contains(t, alice.text(`#runs`), rem.RunID)
	alice.screenshot("runs")
	alice.run("run progress", chromedp.Navigate(web.URL+"/runs/"+rem.RunID), chromedp.WaitVisible(chromedp.CSS(`#waves`)))
	require.Contains(t, alice.text(`#run-state`), "completed")
	alice.screenshot("run-progress")
	alice.run("report", chromedp.Navigate(web.URL+"/runs/"+rem.RunID+"/report"), chromedp.WaitVisible(chromedp.CSS(`table.hm`)))
	require.Contains(t, alice.text(`body`), "Compliance heatmap")
	require.Contains(t, alice.text(`body`), "CIS AWS Foundations Benchmark")
	alice.screenshot("report")
	require.Eventually(t, func() bool {
		sctx, scancel := context.WithTimeout(alice.ctx, 20*time.Second)
		defer scancel()
		if chromedp.Do(sctx, chromedp.Navigate(web.URL+"/audit?approver=alice&control=CIS+5.4"), chromedp.WaitVisible(chromedp.CSS(`#search`))) != nil {
			return false
		}
		html, err := chromedp.Run(sctx, chromedp.OuterHTML(chromedp.CSS(`main`)))
		return err == nil && strings.Contains(html, rem.ID)
	}, time.Minute, 500*time.Millisecond, "audit search finds alice's approval")
	alice.screenshot("audit")
}
