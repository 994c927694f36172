package secexport

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/workflows"
)

const (
	webProd  = "100000000007"
	payDev   = "100000000008"
	usEast1  = "us-east-1"
	pack     = "baseline"
	roleName = "OrgguardExecutionRole"
)

var ctx = context.Background()

// env is a simulated organization, an evidence store and the factory the
// exporter gets its member-account configurations from.
type env struct {
	sim     *awssim.Server
	factory *awsclient.Factory
	store   evidence.Store
}

func newEnv(t *testing.T, faults ...awssim.Fault) *env {
	t.Helper()
	srv, err := awssim.New(awssim.Options{IgnoreEnvironment: true, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ak, sk := srv.ManagementCredentials()
	root := aws.Config{
		Region:       usEast1,
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(ak, sk, "")),
		BaseEndpoint: aws.String(srv.URL()),
		// Throttles reach the exporter, whose own retries are under test.
		RetryMaxAttempts: 1,
	}
	return &env{sim: srv, factory: awsclient.New(root, awsclient.Options{RoleName: roleName, ExternalID: "orgguard-demo"}),
		store: evidence.Store{B: evidence.Dir{Root: t.TempDir()}}}
}

func (e *env) client(t *testing.T, account string) *securityhub.Client {
	t.Helper()
	cfg, _, err := e.factory.Account(ctx, account, usEast1, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	return securityhub.NewFromConfig(cfg)
}

func (e *env) enableHub(t *testing.T, accounts ...string) {
	t.Helper()
	for _, a := range accounts {
		if _, err := e.client(t, a).EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{EnableDefaultStandards: aws.Bool(false)}); err != nil {
			t.Fatal(err)
		}
	}
}

// putRun writes a run's manifest and records, grouped by account.
func (e *env) putRun(t *testing.T, run string, started time.Time, recs ...evidence.Record) {
	t.Helper()
	if err := e.store.PutRun(ctx, evidence.RunManifest{RecordRunInput: workflows.RecordRunInput{RunID: run, Pack: pack, Digest: "sha256:" + run, Mode: workflows.ModeApply, StartedAt: started, Status: "completed"}}); err != nil {
		t.Fatal(err)
	}
	by := map[string][]evidence.Record{}
	for _, r := range recs {
		r.RunID, r.PackDigest, r.RecordedAt = run, "sha256:"+run, started.Add(time.Minute)
		by[r.AccountID] = append(by[r.AccountID], r)
	}
	for acct, rs := range by {
		if err := e.store.PutAccount(ctx, run, acct, rs); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) export(t *testing.T, run string, opts Options) Summary {
	t.Helper()
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	if opts.Rates == (Rates{}) {
		opts.Rates = Rates{Import: 1000, Update: 1000, Get: 1000}
	}
	sum, err := Export(ctx, e.store, run, FactoryConfigs(e.factory, run), opts)
	if err != nil {
		t.Fatalf("export %s: %v", run, err)
	}
	return sum
}

// findings reads an account's orgguard findings by ID.
func (e *env) findings(t *testing.T, account string) map[string]types.AwsSecurityFinding {
	t.Helper()
	out := map[string]types.AwsSecurityFinding{}
	p := securityhub.NewGetFindingsPaginator(e.client(t, account), &securityhub.GetFindingsInput{Filters: &types.AwsSecurityFindingFilters{
		GeneratorId: []types.StringFilter{{Value: aws.String(GeneratorPrefix), Comparison: types.StringFilterComparisonPrefix}}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Findings {
			out[aws.ToString(f.Id)] = f
		}
	}
	return out
}

func rec(account, guardrail, resource, status string) evidence.Record {
	return evidence.Record{AccountID: account, Region: usEast1, GuardrailID: guardrail, Kind: guardrail, Resource: resource,
		Status: status, Severity: "high", Mode: "apply", RecordedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Controls: []evidence.Control{{Framework: "CIS", Title: "CIS AWS Foundations Benchmark", Version: "v3.0.0", ID: "5.4"}}}
}

func sg(account, id string) string {
	return "arn:aws:ec2:us-east-1:" + account + ":security-group/" + id
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enableHub(t, webProd, payDev)
	webSG := rec(webProd, "default-sg-closed", sg(webProd, "sg-1"), "non_compliant")
	webPW := rec(webProd, "password-policy", "arn:aws:iam::"+webProd+":account-password-policy", "compliant")
	webEBS := rec(webProd, "ebs-default-encryption", "arn:aws:ec2:us-east-1:"+webProd+":ebs-encryption-by-default", "planned")
	payKey := rec(payDev, "kms-rotation", "arn:aws:kms:us-east-1:"+payDev+":key/k-1", "pending_approval")
	payOrg := rec(payDev, "scp-deny-leave", "arn:aws:organizations::"+payDev+":policy/p-1", "compliant")
	payOrg.Region = "global" // organization-wide: exported to the home region
	e.putRun(t, "run-1", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), webSG, webPW, webEBS, payKey, payOrg)

	var progress []string
	var mu sync.Mutex
	sum := e.export(t, "run-1", Options{Progress: func(r AccountResult) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, fmt.Sprintf("%s %v %d/%d/%d/%d", r.Account, r.Regions, r.Imported, r.Updated, r.Resolved, r.Failed))
	}})
	if sum.Accounts != 2 || sum.Imported != 5 || sum.Updated != 0 || sum.Resolved != 0 || sum.Failed != 0 || len(sum.Failures) != 0 {
		t.Fatalf("first export = %+v", sum)
	}
	slices.Sort(progress)
	if want := []string{webProd + " [us-east-1] 3/0/0/0", payDev + " [us-east-1] 2/0/0/0"}; !slices.Equal(progress, want) {
		t.Errorf("progress = %v, want %v", progress, want)
	}
	web := e.findings(t, webProd)
	if len(web) != 3 {
		t.Fatalf("web-prod findings = %d, want 3", len(web))
	}
	wantState := map[string][2]string{ // compliance, workflow
		FindingID(webSG):  {"FAILED", "NEW"},
		FindingID(webPW):  {"PASSED", "RESOLVED"},
		FindingID(webEBS): {"FAILED", "NEW"},
	}
	for id, w := range wantState {
		f, ok := web[id]
		if !ok {
			t.Fatalf("finding %s missing", id)
		}
		if got := [2]string{string(f.Compliance.Status), string(f.Workflow.Status)}; got != w {
			t.Errorf("%s: compliance/workflow = %v, want %v", id, got, w)
		}
		if f.ProductFields[FieldRunID] != "run-1" || aws.ToString(f.ProductArn) != DefaultProductARN("aws", usEast1, webProd) {
			t.Errorf("%s: %+v", id, f)
		}
	}
	if pay := e.findings(t, payDev); len(pay) != 2 || pay[FindingID(payKey)].Compliance.Status != types.ComplianceStatusFailed {
		t.Errorf("payments-dev findings = %+v", pay)
	}
	// The member role's policy allows what the export calls.
	for _, c := range e.sim.CallsMatching(awssim.CallFilter{Service: "securityhub"}) {
		if a := "securityhub:" + c.Operation; c.Operation != "EnableSecurityHub" && !slices.Contains(Permissions, a) {
			t.Errorf("the export called %s, which Permissions lacks", a)
		}
	}
	// Every import was made by the finding's own account.
	for _, c := range e.sim.CallsMatching(awssim.CallFilter{Service: "securityhub", Operation: "BatchImportFindings"}) {
		for k, v := range c.Params {
			if strings.HasSuffix(k, ".AwsAccountId") && v != c.AccountID {
				t.Errorf("account %s imported a finding of %s", c.AccountID, v)
			}
		}
	}

	// Run 2: the security group was fixed, the EBS finding's resource is
	// gone, the rest unchanged. The same findings are updated, the fixed
	// one and the gone one resolved, the gone one archived.
	e.sim.ResetCalls()
	webSG2 := webSG
	webSG2.Status = "remediated"
	e.putRun(t, "run-2", time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), webSG2, webPW, payKey, payOrg)
	sum = e.export(t, "run-2", Options{})
	if sum.Imported != 0 || sum.Updated != 4 || sum.Resolved != 2 || sum.Archived != 1 || sum.Failed != 0 {
		t.Fatalf("second export = %+v", sum)
	}
	web = e.findings(t, webProd)
	if len(web) != 3 {
		t.Fatalf("web-prod findings after run 2 = %d, want the same 3", len(web))
	}
	fixed := web[FindingID(webSG)]
	if fixed.Compliance.Status != types.ComplianceStatusPassed || fixed.Workflow.Status != types.WorkflowStatusResolved ||
		fixed.ProductFields[FieldRunID] != "run-2" || fixed.RecordState != types.RecordStateActive {
		t.Errorf("fixed finding = compliance %s workflow %s run %s", fixed.Compliance.Status, fixed.Workflow.Status, fixed.ProductFields[FieldRunID])
	}
	gone := web[FindingID(webEBS)]
	if gone.RecordState != types.RecordStateArchived || gone.Workflow.Status != types.WorkflowStatusResolved || gone.ProductFields[FieldArchivedByRun] != "run-2" {
		t.Errorf("finding of a removed resource = record %s workflow %s fields %v", gone.RecordState, gone.Workflow.Status, gone.ProductFields)
	}
	if n := len(e.sim.CallsMatching(awssim.CallFilter{Service: "securityhub", Operation: "BatchUpdateFindings", OnlySuccess: true})); n != 1 {
		t.Errorf("BatchUpdateFindings calls = %d, want 1 (one batch for web-prod)", n)
	}

	// Run 3: the group drifts again; Security Hub reopens its finding.
	webSG3 := webSG
	e.putRun(t, "run-3", time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), webSG3, webPW, payKey, payOrg)
	sum = e.export(t, "run-3", Options{})
	if sum.Resolved != 0 || sum.Updated != 4 || sum.Failed != 0 {
		t.Errorf("third export = %+v", sum)
	}
	if f := e.findings(t, webProd)[FindingID(webSG)]; f.Compliance.Status != types.ComplianceStatusFailed || f.Workflow.Status != types.WorkflowStatusNew {
		t.Errorf("drifted again: compliance %s workflow %s", f.Compliance.Status, f.Workflow.Status)
	}

	// Exporting run 1 again changes nothing: Security Hub holds later
	// observations of every finding, the archived one included.
	before := e.findings(t, webProd)
	sum = e.export(t, "run-1", Options{})
	if sum.Skipped != 5 || sum.Imported+sum.Updated+sum.Resolved+sum.Archived+sum.Failed != 0 {
		t.Errorf("export of an older run = %+v", sum)
	}
	for id, f := range e.findings(t, webProd) {
		b := before[id]
		if f.Compliance.Status != b.Compliance.Status || f.RecordState != b.RecordState || f.Workflow.Status != b.Workflow.Status ||
			f.ProductFields[FieldRunID] != b.ProductFields[FieldRunID] {
			t.Errorf("%s rolled back by an older run: compliance %s record %s workflow %s run %s", id,
				f.Compliance.Status, f.RecordState, f.Workflow.Status, f.ProductFields[FieldRunID])
		}
	}
}

var findingIndex = regexp.MustCompile(`^Findings\.\d+\.Id$`)

func TestExportSplitsBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enableHub(t, webProd)
	var recs []evidence.Record
	for i := range 250 {
		recs = append(recs, rec(webProd, "no-public-ssh", sg(webProd, fmt.Sprintf("sg-%04d", i)), "non_compliant"))
	}
	e.putRun(t, "run-1", time.Now(), recs...)
	sum := e.export(t, "run-1", Options{})
	if sum.Imported != 250 || sum.Failed != 0 {
		t.Fatalf("export = %+v", sum)
	}
	var sizes []int
	for _, c := range e.sim.CallsMatching(awssim.CallFilter{Service: "securityhub", Operation: "BatchImportFindings", OnlySuccess: true}) {
		n := 0
		for k := range c.Params {
			if findingIndex.MatchString(k) {
				n++
			}
		}
		sizes = append(sizes, n)
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Errorf("batch sizes = %v, want [100 100 50]", sizes)
	}
	if got := len(e.findings(t, webProd)); got != 250 {
		t.Errorf("findings = %d, want 250", got)
	}
	// A smaller batch size is honoured; a larger one is capped at 100.
	e.sim.ResetCalls()
	e.export(t, "run-1", Options{BatchSize: 1000})
	if n := len(e.sim.CallsMatching(awssim.CallFilter{Service: "securityhub", Operation: "BatchImportFindings"})); n != 3 {
		t.Errorf("BatchSize 1000: %d calls, want 3", n)
	}
}

func TestExportConvergesWhenThrottled(t *testing.T) {
	t.Parallel()
	// Security Hub refuses the first calls of each operation with its
	// throttling error (LimitExceededException, HTTP 429).
	throttle := func(op string, n int) awssim.Fault {
		return awssim.Fault{Service: "securityhub", Operation: op, ThrottleRate: 1, Times: n}
	}
	e := newEnv(t, throttle("GetFindings", 2), throttle("BatchImportFindings", 3), throttle("BatchUpdateFindings", 2))
	e.enableHub(t, webProd)
	var recs []evidence.Record
	for i := range 120 {
		st := "non_compliant"
		if i%2 == 0 {
			st = "compliant"
		}
		recs = append(recs, rec(webProd, "no-public-ssh", sg(webProd, fmt.Sprintf("sg-%04d", i)), st))
	}
	e.putRun(t, "run-1", time.Now(), recs...)
	sum := e.export(t, "run-1", Options{})
	if sum.Imported != 120 || sum.Failed != 0 {
		t.Fatalf("export under throttling = %+v", sum)
	}
	throttled := map[string]int{}
	for _, c := range e.sim.CallsMatching(awssim.CallFilter{Service: "securityhub"}) {
		if c.ErrorCode == "LimitExceededException" {
			throttled[c.Operation]++
		}
	}
	if throttled["GetFindings"] != 2 || throttled["BatchImportFindings"] != 3 || throttled["BatchUpdateFindings"] != 2 {
		t.Errorf("throttled calls = %v", throttled)
	}
	resolved := 0
	for _, f := range e.findings(t, webProd) {
		if f.Compliance.Status == types.ComplianceStatusPassed && f.Workflow.Status == types.WorkflowStatusResolved {
			resolved++
		}
	}
	if resolved != 60 {
		t.Errorf("resolved passing findings = %d, want 60", resolved)
	}
}

func TestExportReportsFailuresAndGoesOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enableHub(t, payDev) // not web-prod
	e.putRun(t, "run-1", time.Now(),
		rec(webProd, "no-public-ssh", sg(webProd, "sg-1"), "non_compliant"),
		rec(webProd, "no-public-ssh", sg(webProd, "sg-2"), "non_compliant"),
		rec(payDev, "no-public-ssh", sg(payDev, "sg-1"), "non_compliant"))
	sum := e.export(t, "run-1", Options{Concurrency: 1})
	if sum.Imported != 1 || sum.Failed != 2 || len(sum.Failures) != 1 {
		t.Fatalf("export = %+v", sum)
	}
	f := sum.Failures[0]
	if f.Account != webProd || f.Region != usEast1 || f.Action != "securityhub:GetFindings" || f.Code != "InvalidAccessException" || f.Findings != 2 {
		t.Errorf("failure = %+v", f)
	}
	if s := f.String(); !strings.Contains(s, "securityhub:GetFindings in account "+webProd+" region us-east-1: 2 findings: InvalidAccessException") {
		t.Errorf("failure reads %q", s)
	}
	if _, err := Export(ctx, e.store, "no-such-run", FactoryConfigs(e.factory, "x"), Options{}); err == nil {
		t.Error("export of a run without evidence succeeded")
	}
}

func TestExportKeepsOtherPacksFindings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enableHub(t, webProd)
	r := rec(webProd, "no-public-ssh", sg(webProd, "sg-1"), "non_compliant")
	e.putRun(t, "run-1", time.Now(), r)
	e.export(t, "run-1", Options{})
	// A run of another pack does not see this pack's finding as gone.
	if err := e.store.PutRun(ctx, evidence.RunManifest{RecordRunInput: workflows.RecordRunInput{RunID: "pci-1", Pack: "pci", StartedAt: time.Now(), Status: "completed"}}); err != nil {
		t.Fatal(err)
	}
	other := rec(webProd, "pci-logging", "arn:aws:cloudtrail:us-east-1:"+webProd+":trail/org", "compliant")
	other.RunID = "pci-1"
	if err := e.store.PutAccount(ctx, "pci-1", webProd, []evidence.Record{other}); err != nil {
		t.Fatal(err)
	}
	sum := e.export(t, "pci-1", Options{})
	if sum.Archived != 0 || sum.Resolved != 0 {
		t.Errorf("export of another pack = %+v", sum)
	}
	if f := e.findings(t, webProd)[FindingID(r)]; f.RecordState != types.RecordStateActive || f.Workflow.Status != types.WorkflowStatusNew {
		t.Errorf("baseline finding after the pci export: %s %s", f.RecordState, f.Workflow.Status)
	}
}

func TestExportHoldsAtMostConcurrencyAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	accounts := []string{"100000000002", "100000000003", "100000000004", "100000000005", "100000000006", webProd}
	var recs []evidence.Record
	for _, a := range accounts {
		recs = append(recs, rec(a, "no-public-ssh", sg(a, "sg-1"), "non_compliant"))
	}
	misfiled := rec(payDev, "no-public-ssh", sg(payDev, "sg-1"), "non_compliant")
	recs = append(recs, misfiled)
	e.putRun(t, "run-1", time.Now(), recs...)
	// Store the pay-dev record under web-prod as well: it is reported,
	// never sent with web-prod's credentials.
	webRecs, err := e.store.AccountRecords(ctx, "run-1", webProd)
	if err != nil {
		t.Fatal(err)
	}
	misfiled.RunID = "run-1"
	if err := e.store.PutAccount(ctx, "run-1", webProd, append(webRecs, misfiled)); err != nil {
		t.Fatal(err)
	}
	var (
		mu              sync.Mutex
		started         = map[string]bool{}
		inFlight, maxIn int
	)
	configs := func(c context.Context, account, region string) (aws.Config, error) {
		mu.Lock()
		if !started[account] {
			started[account] = true
			inFlight++
			maxIn = max(maxIn, inFlight)
		}
		mu.Unlock()
		return FactoryConfigs(e.factory, "run-1")(c, account, region)
	}
	sum, err := Export(ctx, e.store, "run-1", configs, Options{Concurrency: 2, Backoff: time.Millisecond,
		Progress: func(AccountResult) { mu.Lock(); inFlight--; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Accounts != len(accounts)+1 || maxIn > 2 || maxIn < 1 {
		t.Errorf("accounts %d, at most %d in flight (want <= 2)", sum.Accounts, maxIn)
	}
	i := slices.IndexFunc(sum.Failures, func(f Failure) bool { return f.Action == "evidence" })
	if i < 0 || sum.Failures[i].Account != webProd || sum.Failures[i].FindingID != FindingID(misfiled) {
		t.Errorf("misfiled record not reported: %+v", sum.Failures)
	}
	for _, c := range e.sim.CallsMatching(awssim.CallFilter{Service: "securityhub", Operation: "BatchImportFindings"}) {
		for k, v := range c.Params {
			if strings.HasSuffix(k, ".AwsAccountId") && v != c.AccountID {
				t.Errorf("account %s sent a finding of %s", c.AccountID, v)
			}
		}
	}
}

// corrupting breaks one finding on its way to Security Hub.
type corrupting struct {
	API
	id string
}

func (c corrupting) BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, o ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error) {
	for i := range in.Findings {
		if aws.ToString(in.Findings[i].Id) == c.id {
			in.Findings[i].SchemaVersion = aws.String("2019-01-01")
		}
	}
	return c.API.BatchImportFindings(ctx, in, o...)
}

func TestExportReportsRefusedFindings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enableHub(t, webProd)
	bad := rec(webProd, "no-public-ssh", sg(webProd, "sg-bad"), "compliant")
	e.putRun(t, "run-1", time.Now(), rec(webProd, "no-public-ssh", sg(webProd, "sg-1"), "compliant"), bad)
	sum := e.export(t, "run-1", Options{NewClient: func(cfg aws.Config) API {
		return corrupting{API: securityhub.NewFromConfig(cfg), id: FindingID(bad)}
	}})
	if sum.Imported != 1 || sum.Failed != 1 || len(sum.Failures) != 1 {
		t.Fatalf("export = %+v", sum)
	}
	f := sum.Failures[0]
	if f.Account != webProd || f.Region != usEast1 || f.Action != "securityhub:BatchImportFindings" || f.FindingID != FindingID(bad) ||
		f.Code != "InvalidInput" || !strings.Contains(f.Message, "SchemaVersion") {
		t.Errorf("failure = %+v", f)
	}
	// The refused finding is neither in Security Hub nor resolved.
	got := e.findings(t, webProd)
	if _, ok := got[FindingID(bad)]; ok || len(got) != 1 {
		t.Errorf("findings = %d, refused one present: %v", len(got), ok)
	}
	if n := len(e.sim.CallsMatching(awssim.CallFilter{Service: "securityhub", Operation: "BatchUpdateFindings", OnlySuccess: true})); n != 1 {
		t.Errorf("BatchUpdateFindings calls = %d, want 1", n)
	}
}
