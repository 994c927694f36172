package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/workflows"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func rec(run, acct, ou, region, guardrail, resource, status string, controls []string, csf string) evidence.Record {
	return evidence.Record{
		RunID: run, PackDigest: "d1", Mode: "apply", AccountID: acct, AccountName: "acct-" + acct, OUPath: ou,
		Region: region, GuardrailID: guardrail, Resource: resource, Status: status,
		Evidence: guardrail + " on " + resource + " is " + status,
		Controls: guardrails.ControlRefs(controls, csf), CSF: csf, Severity: "high", RecordedAt: t0,
	}
}

var sgControls = []string{"CIS v1.2.0 4.3", "CIS v3.0.0 5.4", "PCI.EC2.2", "FSBP EC2.2"}
var pwControls = []string{"CIS v1.4.0 1.8", "FSBP IAM.7"}

// fixture writes two runs of one pack: the second has 3 accounts in 2 OUs
// with a failing default security group (pending approval, then
// approved and remediated by alice), a rejected one, and a compliant one.
func fixture(t *testing.T) *evidence.Store {
	t.Helper()
	ctx := context.Background()
	st := &evidence.Store{B: evidence.Dir{Root: t.TempDir()}}
	for i, run := range []string{"run-1", "run-2"} {
		c := workflows.AccountResult{Compliant: 3 + i, NonCompliant: 3 - i}
		if err := st.PutRun(ctx, evidence.RunManifest{RecordRunInput: workflows.RecordRunInput{RunID: run, Pack: "baseline", Digest: "d1", Mode: workflows.ModeApply,
			StartedAt: t0.Add(time.Duration(i) * time.Hour), FinishedAt: t0.Add(time.Duration(i)*time.Hour + time.Minute),
			Status: "completed", Counts: &c, RequestedBy: "ccoe"}}); err != nil {
			t.Fatal(err)
		}
	}
	a := []evidence.Record{
		rec("run-2", "111111111111", "Root/Prod", "us-east-1", "control.default_sg_closed", "sg-1", "pending_approval", sgControls, "PR.IR"),
		rec("run-2", "111111111111", "Root/Prod", "global", "control.password_policy", "iam-password-policy", "compliant", pwControls, "PR.AA"),
	}
	a[0].RemediationID = "rem-approved"
	a[0].Change = &workflows.Change{Summary: "revoke 1 ingress rule", Diff: "- ingress tcp 22 0.0.0.0/0"}
	b := []evidence.Record{
		rec("run-2", "222222222222", "Root/Dev", "us-east-1", "control.default_sg_closed", "sg-2", "pending_approval", sgControls, "PR.IR"),
		rec("run-2", "222222222222", "Root/Dev", "global", "control.password_policy", "iam-password-policy", "remediated", pwControls, "PR.AA"),
	}
	b[0].RemediationID = "rem-rejected"
	b[0].Change = &workflows.Change{Summary: "revoke 1 ingress rule", Diff: "- ingress tcp 22 0.0.0.0/0 <script>"}
	c := []evidence.Record{
		rec("run-2", "333333333333", "Root/Dev", "us-east-1", "control.default_sg_closed", "sg-3", "compliant", sgControls, "PR.IR"),
		rec("run-2", "333333333333", "Root/Dev", "eu-west-1", "control.default_sg_closed", "sg-4", "not_applicable", sgControls, "PR.IR"),
		rec("run-2", "333333333333", "Root/Dev", "global", "control.password_policy", "iam-password-policy", "exempted", pwControls, "PR.AA"),
	}
	for acct, recs := range map[string][]evidence.Record{"111111111111": a, "222222222222": b, "333333333333": c} {
		if err := st.PutAccount(ctx, "run-2", acct, recs); err != nil {
			t.Fatal(err)
		}
	}
	for id, status := range map[string]string{"rem-approved": workflows.RemRemediated, "rem-rejected": workflows.RemRejected} {
		vote := workflows.Vote{Approver: "alice", Approve: status == workflows.RemRemediated, Reason: "ticket SEC-1", At: t0, Issuer: "https://idp", TokenID: "jti-1"}
		if err := st.PutRemediation(ctx, evidence.RemediationRecord{WorkflowID: id, RunID: "wf-" + id, RecordedAt: t0,
			State: workflows.RemediationState{ID: id, Status: status, Policy: "security-team", Quorum: 1, Votes: []workflows.Vote{vote}}}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func render(t *testing.T, st *evidence.Store, opt Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Report(context.Background(), st, "run-2", &buf, opt); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestCSVOneRowPerFindingWithVersionedControls(t *testing.T) {
	st := fixture(t)
	rows, err := csv.NewReader(strings.NewReader(render(t, st, Options{Format: "csv"}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+7 {
		t.Fatalf("want a header and 7 findings, got %d rows", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	byRes := map[string][]string{}
	for _, r := range rows[1:] {
		byRes[r[col["account_id"]]+"/"+r[col["resource"]]] = r
	}
	sg1 := byRes["111111111111/sg-1"]
	if got := sg1[col["controls"]]; got != "CIS v1.2.0 4.3; CIS v3.0.0 5.4; PCI DSS v3.2.1 PCI.EC2.2; FSBP v1.0.0 EC2.2; NIST CSF 2.0 PR.IR" {
		t.Errorf("controls column: %q", got)
	}
	// The approved remediation turned the pending finding into a pass; the
	// rejected one is a failure.
	if sg1[col["result"]] != "pass" || sg1[col["remediation_status"]] != "remediated" || sg1[col["approvers"]] != "alice" {
		t.Errorf("sg-1 row: %v", sg1)
	}
	if r := byRes["222222222222/sg-2"]; r[col["result"]] != "fail" || r[col["remediation_status"]] != "rejected" {
		t.Errorf("sg-2 row: %v", r)
	}
	if r := byRes["333333333333/iam-password-policy"]; r[col["result"]] != "exempt" {
		t.Errorf("exempted row: %v", r)
	}

	// --framework cis keeps CIS controls only, and findings without one go.
	rows, _ = csv.NewReader(strings.NewReader(render(t, st, Options{Format: "csv", Framework: "cis"}))).ReadAll()
	for _, r := range rows[1:] {
		for _, c := range strings.Split(r[col["controls"]], "; ") {
			if !strings.HasPrefix(c, "CIS v") {
				t.Errorf("--framework cis row has %q", c)
			}
		}
	}
	if err := Report(context.Background(), st, "run-2", &bytes.Buffer{}, Options{Format: "csv", Framework: "soc2"}); err == nil {
		t.Fatal("want an error for an unknown framework")
	}
}

func TestJSONStreamsAValidDocument(t *testing.T) {
	var doc struct {
		Run      evidence.RunManifest `json:"run"`
		Findings []JSONFinding        `json:"findings"`
		Summary  map[string]int       `json:"summary"`
	}
	if err := json.Unmarshal([]byte(render(t, fixture(t), Options{Format: "json"})), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Run.RunID != "run-2" || len(doc.Findings) != 7 {
		t.Fatalf("run %q, %d findings", doc.Run.RunID, len(doc.Findings))
	}
	if doc.Summary["pass"] != 4 || doc.Summary["fail"] != 1 || doc.Summary["exempt"] != 1 || doc.Summary["n/a"] != 1 {
		t.Errorf("summary %v", doc.Summary)
	}
}

func TestHTMLHeatmapRollupTrendAndDrillDown(t *testing.T) {
	out := render(t, fixture(t), Options{})
	for _, want := range []string{
		"<h2>Compliance heatmap",
		`<tr class="ou"><td colspan=`, ">Root/Dev<", ">Root/Prod<",
		"CIS AWS Foundations Benchmark v3.0.0 5.4", // a column's full name
		"Trend: the last 2 run(s) of pack baseline", "run-2 (this run)",
		"NIST Cybersecurity Framework", "Identity Management, Authentication, and Access Control",
		"Remediation <code>rem-rejected</code>: <b>rejected</b>", "ticket SEC-1",
		"&lt;script&gt;", // the diff is escaped
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("report contains an unescaped <script>")
	}
	// Every failing cell links to evidence that exists in the file.
	links := regexp.MustCompile(`href="#(d-[0-9]+-[0-9]+)"`).FindAllStringSubmatch(out, -1)
	if len(links) == 0 {
		t.Fatal("no failing cell links")
	}
	for _, l := range links {
		if !strings.Contains(out, fmt.Sprintf(`id="%s"`, l[1])) {
			t.Errorf("link #%s has no target", l[1])
		}
	}
	// Account 111111111111's default SG was remediated after approval: no
	// failing cell; 222222222222's was rejected: failing cells.
	if strings.Contains(out, `href="#d-111111111111-`) {
		t.Error("the approved and remediated finding shows as failing")
	}
	if !strings.Contains(out, `href="#d-222222222222-`) {
		t.Error("the rejected finding does not show as failing")
	}
}

func TestReportUnknownRun(t *testing.T) {
	err := Report(context.Background(), fixture(t), "nope", &bytes.Buffer{}, Options{})
	if err == nil || !strings.Contains(err.Error(), `run "nope" has no evidence`) {
		t.Fatalf("got %v", err)
	}
}
