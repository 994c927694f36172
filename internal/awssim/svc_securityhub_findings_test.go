package awssim

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/smithy-go/middleware"
)

const demoPayDev = "100000000008"

func defaultProduct(account string) string {
	return "arn:aws:securityhub:us-east-1:" + account + ":product/" + account + "/default"
}

// asffFinding is a valid finding of account's default product.
func asffFinding(account, id string) shtypes.AwsSecurityFinding {
	return shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"),
		Id:            aws.String(id),
		ProductArn:    aws.String(defaultProduct(account)),
		GeneratorId:   aws.String("test/generator"),
		AwsAccountId:  aws.String(account),
		Types:         []string{"Software and Configuration Checks/AWS Security Best Practices"},
		CreatedAt:     aws.String("2026-12-01T10:00:00Z"),
		UpdatedAt:     aws.String("2026-12-01T10:00:00Z"),
		Severity:      &shtypes.Severity{Label: shtypes.SeverityLabelHigh},
		Title:         aws.String("Default security group allows traffic"),
		Description:   aws.String("sg-1 allows inbound traffic from 0.0.0.0/0"),
		Resources: []shtypes.Resource{{Type: aws.String("AwsEc2SecurityGroup"),
			Id: aws.String("arn:aws:ec2:us-east-1:" + account + ":security-group/sg-1")}},
		Compliance: &shtypes.Compliance{Status: shtypes.ComplianceStatusFailed},
	}
}

// noClientValidation lets a request with missing required members reach
// the server, whose own validation is under test.
func noClientValidation(o *securityhub.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		_, err := s.Initialize.Remove("OperationInputValidation")
		return err
	})
}

func hubClient(t *testing.T, s *Server, account string) *securityhub.Client {
	t.Helper()
	c := securityhub.NewFromConfig(memberConfig(s, account, "us-east-1"))
	must[*securityhub.EnableSecurityHubOutput](t)(c.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{EnableDefaultStandards: aws.Bool(false)}))
	return c
}

func getAll(t *testing.T, c *securityhub.Client, f *shtypes.AwsSecurityFindingFilters, pageSize int32) []shtypes.AwsSecurityFinding {
	t.Helper()
	var out []shtypes.AwsSecurityFinding
	p := securityhub.NewGetFindingsPaginator(c, &securityhub.GetFindingsInput{Filters: f, MaxResults: aws.Int32(pageSize)})
	for p.HasMorePages() {
		out = append(out, must[*securityhub.GetFindingsOutput](t)(p.NextPage(ctx)).Findings...)
	}
	return out
}

func findingByID(t *testing.T, c *securityhub.Client, account, id string) shtypes.AwsSecurityFinding {
	t.Helper()
	got := getAll(t, c, &shtypes.AwsSecurityFindingFilters{
		Id:         []shtypes.StringFilter{{Value: aws.String(id), Comparison: shtypes.StringFilterComparisonEquals}},
		ProductArn: []shtypes.StringFilter{{Value: aws.String(defaultProduct(account)), Comparison: shtypes.StringFilterComparisonEquals}},
	}, 100)
	if len(got) != 1 {
		t.Fatalf("findings with Id %s = %d, want 1", id, len(got))
	}
	return got[0]
}

func TestSecurityHubBatchImportFindings(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 2})
	c := securityhub.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))
	_, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{asffFinding(demoWebProd, "f-0")}})
	requireCode(t, err, "InvalidAccessException")
	c = hubClient(t, s, demoWebProd)

	var batch []shtypes.AwsSecurityFinding
	for i := range 3 {
		batch = append(batch, asffFinding(demoWebProd, fmt.Sprintf("f-%d", i)))
	}
	out := must[*securityhub.BatchImportFindingsOutput](t)(c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch}))
	if aws.ToInt32(out.SuccessCount) != 3 || aws.ToInt32(out.FailedCount) != 0 || len(out.FailedFindings) != 0 {
		t.Fatalf("import = %+v", out)
	}
	// Paged by two: the SDK paginator follows NextToken.
	got := getAll(t, c, &shtypes.AwsSecurityFindingFilters{ProductArn: []shtypes.StringFilter{{Value: aws.String(defaultProduct(demoWebProd)), Comparison: shtypes.StringFilterComparisonEquals}}}, 2)
	if len(got) != 3 {
		t.Fatalf("GetFindings = %d findings, want 3", len(got))
	}
	f := got[0]
	if aws.ToString(f.Id) != "f-0" || aws.ToString(f.Region) != "us-east-1" || f.RecordState != shtypes.RecordStateActive ||
		f.Workflow == nil || f.Workflow.Status != shtypes.WorkflowStatusNew || aws.ToInt32(f.Severity.Normalized) != 70 ||
		f.FindingProviderFields == nil || f.FindingProviderFields.Severity.Label != shtypes.SeverityLabelHigh ||
		!slices.Equal(f.FindingProviderFields.Types, f.Types) || aws.ToString(f.ProductName) != "Default" ||
		f.ProductFields["aws/securityhub/FindingId"] != defaultProduct(demoWebProd)+"/f-0" || f.Compliance.Status != shtypes.ComplianceStatusFailed {
		t.Errorf("stored finding = %+v", f)
	}
	_, err = c.GetFindings(ctx, &securityhub.GetFindingsInput{NextToken: aws.String("forged")})
	requireCode(t, err, "InvalidInputException")

	// Schema errors are per finding; the valid ones of the batch go in.
	badSchema := asffFinding(demoWebProd, "bad-schema")
	badSchema.SchemaVersion = aws.String("2018-10-09")
	noSeverity := asffFinding(demoWebProd, "no-severity")
	noSeverity.Severity = nil
	badType := asffFinding(demoWebProd, "bad-type")
	badType.Types = []string{"Vulnerabilities/CVE"}
	noTypes := asffFinding(demoWebProd, "no-types")
	noTypes.Types = nil
	noResources := asffFinding(demoWebProd, "no-resources")
	noResources.Resources = []shtypes.Resource{}
	badTime := asffFinding(demoWebProd, "bad-time")
	badTime.UpdatedAt = aws.String("yesterday")
	badCompliance := asffFinding(demoWebProd, "bad-account")
	badCompliance.Compliance.Status = "BROKEN"
	mixed := []shtypes.AwsSecurityFinding{badSchema, noSeverity, asffFinding(demoWebProd, "good"), badType, noTypes, noResources, badTime, badCompliance}
	out = must[*securityhub.BatchImportFindingsOutput](t)(c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: mixed}))
	if aws.ToInt32(out.SuccessCount) != 1 || aws.ToInt32(out.FailedCount) != 7 || len(out.FailedFindings) != 7 {
		t.Fatalf("mixed import = %+v", out)
	}
	want := map[string]string{"bad-schema": "SchemaVersion", "no-severity": "'Severity'", "bad-type": "Types[0]", "no-types": "'Types'",
		"no-resources": "Resources", "bad-time": "UpdatedAt", "bad-account": "Compliance.Status"}
	for _, ff := range out.FailedFindings {
		w := want[aws.ToString(ff.Id)]
		if aws.ToString(ff.ErrorCode) != "InvalidInput" || w == "" || !strings.Contains(aws.ToString(ff.ErrorMessage), w) ||
			!strings.HasPrefix(aws.ToString(ff.ErrorMessage), "Finding does not adhere to Amazon Finding Format.") {
			t.Errorf("failed finding %s: %s %q (want a message naming %s)", aws.ToString(ff.Id), aws.ToString(ff.ErrorCode), aws.ToString(ff.ErrorMessage), w)
		}
	}
	// The SDK checks required members itself; the server does too.
	noTitle := asffFinding(demoWebProd, "no-title")
	noTitle.Title = nil
	out = must[*securityhub.BatchImportFindingsOutput](t)(c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{noTitle}}, noClientValidation))
	if len(out.FailedFindings) != 1 || !strings.Contains(aws.ToString(out.FailedFindings[0].ErrorMessage), "required property 'Title'") {
		t.Errorf("import without Title = %+v", out.FailedFindings)
	}

	// At most 100 findings per call.
	var many []shtypes.AwsSecurityFinding
	for i := range 101 {
		many = append(many, asffFinding(demoWebProd, fmt.Sprintf("bulk-%03d", i)))
	}
	_, err = c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: many})
	requireCode(t, err, "InvalidInputException")
	out = must[*securityhub.BatchImportFindingsOutput](t)(c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: many[:100]}))
	if aws.ToInt32(out.SuccessCount) != 100 {
		t.Errorf("100 findings: %+v", out)
	}
	_, err = c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{}})
	requireCode(t, err, "InvalidInputException")
}

func TestSecurityHubImportOnlyForOwnAccount(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := hubClient(t, s, demoWebProd)
	other := hubClient(t, s, demoPayDev)

	foreignAccount := asffFinding(demoWebProd, "x")
	foreignAccount.AwsAccountId = aws.String(demoPayDev)
	foreignProduct := asffFinding(demoPayDev, "x") // pay-prod's default product and account
	awsProduct := asffFinding(demoWebProd, "x")
	awsProduct.ProductArn = aws.String("arn:aws:securityhub:us-east-1::product/aws/securityhub")
	for name, f := range map[string]shtypes.AwsSecurityFinding{"finding of another account": foreignAccount,
		"another account's default product": foreignProduct, "an AWS product": awsProduct} {
		_, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{asffFinding(demoWebProd, "ok"), f}})
		requireCode(t, err, "AccessDeniedException")
		if !strings.Contains(err.Error(), "securityhub:BatchImportFindings on resource: "+aws.ToString(f.ProductArn)) {
			t.Errorf("%s: %v", name, err)
		}
	}
	otherRegion := asffFinding(demoWebProd, "x")
	otherRegion.ProductArn = aws.String("arn:aws:securityhub:eu-west-1:" + demoWebProd + ":product/" + demoWebProd + "/default")
	_, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{otherRegion}})
	requireCode(t, err, "InvalidInputException")
	// Nothing of the refused calls was imported, and each account sees
	// only its own findings.
	if got := getAll(t, c, nil, 100); len(got) != 0 {
		t.Errorf("web-prod findings after refused imports: %+v", got)
	}
	must[*securityhub.BatchImportFindingsOutput](t)(other.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{foreignProduct}}))
	if got := getAll(t, c, nil, 100); len(got) != 0 {
		t.Errorf("web-prod sees pay-prod's findings: %+v", got)
	}
	if got := getAll(t, other, nil, 100); len(got) != 1 {
		t.Errorf("pay-prod findings = %d, want 1", len(got))
	}
}

func TestSecurityHubBatchUpdateAndReimport(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := hubClient(t, s, demoWebProd)
	product := defaultProduct(demoWebProd)
	ident := func(id string) shtypes.AwsSecurityFindingIdentifier {
		return shtypes.AwsSecurityFindingIdentifier{Id: aws.String(id), ProductArn: aws.String(product)}
	}
	imp := func(f shtypes.AwsSecurityFinding) {
		t.Helper()
		out := must[*securityhub.BatchImportFindingsOutput](t)(c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{f}}))
		if aws.ToInt32(out.SuccessCount) != 1 {
			t.Fatalf("import %s: %+v", aws.ToString(f.Id), out.FailedFindings)
		}
	}
	update := func(in *securityhub.BatchUpdateFindingsInput) *securityhub.BatchUpdateFindingsOutput {
		t.Helper()
		return must[*securityhub.BatchUpdateFindingsOutput](t)(c.BatchUpdateFindings(ctx, in))
	}
	imp(asffFinding(demoWebProd, "f"))

	out := update(&securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{ident("f"), ident("missing"), ident("dup"), ident("dup")},
		Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNotified},
		Note:               &shtypes.NoteUpdate{Text: aws.String("owner paged"), UpdatedBy: aws.String("alice")},
		Severity:           &shtypes.SeverityUpdate{Label: shtypes.SeverityLabelLow},
		VerificationState:  shtypes.VerificationStateTruePositive,
		UserDefinedFields:  map[string]string{"ticket": "SEC-1"},
	})
	codes := map[string]string{}
	for _, u := range out.UnprocessedFindings {
		codes[aws.ToString(u.FindingIdentifier.Id)] = aws.ToString(u.ErrorCode)
	}
	if len(out.ProcessedFindings) != 1 || aws.ToString(out.ProcessedFindings[0].Id) != "f" ||
		codes["missing"] != "FindingNotFound" || codes["dup"] != "DuplicatedFindingIdentifier" || len(out.UnprocessedFindings) != 3 {
		t.Fatalf("update = processed %+v, unprocessed %v", out.ProcessedFindings, codes)
	}
	f := findingByID(t, c, demoWebProd, "f")
	if f.Workflow.Status != shtypes.WorkflowStatusNotified || aws.ToString(f.Note.Text) != "owner paged" || aws.ToString(f.Note.UpdatedBy) != "alice" ||
		f.Severity.Label != shtypes.SeverityLabelLow || aws.ToInt32(f.Severity.Normalized) != 1 || f.VerificationState != shtypes.VerificationStateTruePositive ||
		f.UserDefinedFields["ticket"] != "SEC-1" || aws.ToString(f.UpdatedAt) != "2026-12-01T10:00:00Z" {
		t.Fatalf("after BatchUpdateFindings: %+v", f)
	}

	// A re-import changes what the provider owns and leaves what the
	// customer set: Workflow, Note, VerificationState, UserDefinedFields,
	// and the Severity BatchUpdateFindings changed.
	again := asffFinding(demoWebProd, "f")
	again.Title = aws.String("new title")
	again.UpdatedAt = aws.String("2026-12-02T10:00:00Z")
	again.Severity = &shtypes.Severity{Label: shtypes.SeverityLabelCritical}
	again.Confidence = aws.Int32(10)
	again.Workflow = &shtypes.Workflow{Status: shtypes.WorkflowStatusSuppressed}
	again.Note = &shtypes.Note{Text: aws.String("provider note"), UpdatedBy: aws.String("bot"), UpdatedAt: aws.String("2026-12-02T10:00:00Z")}
	again.VerificationState = shtypes.VerificationStateFalsePositive
	again.UserDefinedFields = map[string]string{"ticket": "overwritten"}
	imp(again)
	f = findingByID(t, c, demoWebProd, "f")
	if aws.ToString(f.Title) != "new title" || aws.ToString(f.UpdatedAt) != "2026-12-02T10:00:00Z" || aws.ToInt32(f.Confidence) != 10 ||
		f.FindingProviderFields.Severity.Label != shtypes.SeverityLabelCritical {
		t.Errorf("provider-owned attributes not updated: %+v", f)
	}
	if f.Workflow.Status != shtypes.WorkflowStatusNotified || aws.ToString(f.Note.Text) != "owner paged" || f.Severity.Label != shtypes.SeverityLabelLow ||
		f.VerificationState != shtypes.VerificationStateTruePositive || f.UserDefinedFields["ticket"] != "SEC-1" {
		t.Errorf("a re-import changed customer-owned attributes: workflow %v note %q severity %v verification %v fields %v",
			f.Workflow.Status, aws.ToString(f.Note.Text), f.Severity.Label, f.VerificationState, f.UserDefinedFields)
	}

	// Security Hub reopens a resolved finding when it fails again, or is
	// active again after being archived.
	resolve := func(id string) {
		t.Helper()
		update(&securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{ident(id)},
			Workflow: &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusResolved}})
	}
	withCompliance := func(st shtypes.ComplianceStatus, rs shtypes.RecordState) shtypes.AwsSecurityFinding {
		x := asffFinding(demoWebProd, "f")
		x.Compliance.Status, x.RecordState = st, rs
		return x
	}
	steps := []struct {
		name     string
		resolve  bool
		finding  shtypes.AwsSecurityFinding
		workflow shtypes.WorkflowStatus
	}{
		{"passes", true, withCompliance(shtypes.ComplianceStatusPassed, ""), shtypes.WorkflowStatusResolved},
		{"fails again", false, withCompliance(shtypes.ComplianceStatusFailed, ""), shtypes.WorkflowStatusNew},
		{"archived", true, withCompliance(shtypes.ComplianceStatusFailed, shtypes.RecordStateArchived), shtypes.WorkflowStatusResolved},
		{"still failing", false, withCompliance(shtypes.ComplianceStatusFailed, shtypes.RecordStateArchived), shtypes.WorkflowStatusResolved},
		{"active again", false, withCompliance(shtypes.ComplianceStatusFailed, shtypes.RecordStateActive), shtypes.WorkflowStatusNew},
	}
	for _, st := range steps {
		if st.resolve {
			resolve("f")
		}
		imp(st.finding)
		if got := findingByID(t, c, demoWebProd, "f").Workflow.Status; got != st.workflow {
			t.Errorf("%s: workflow = %s, want %s", st.name, got, st.workflow)
		}
	}
	// A suppressed finding stays suppressed.
	update(&securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{ident("f")},
		Workflow: &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusSuppressed}})
	imp(withCompliance(shtypes.ComplianceStatusPassed, ""))
	imp(withCompliance(shtypes.ComplianceStatusFailed, ""))
	if got := findingByID(t, c, demoWebProd, "f").Workflow.Status; got != shtypes.WorkflowStatusSuppressed {
		t.Errorf("suppressed finding reopened: %s", got)
	}

	for name, in := range map[string]*securityhub.BatchUpdateFindingsInput{
		"no identifiers":   {FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{}, Workflow: &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNew}},
		"101 identifiers":  {FindingIdentifiers: slices.Repeat([]shtypes.AwsSecurityFindingIdentifier{ident("f")}, 101), Workflow: &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNew}},
		"unknown workflow": {FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{ident("f")}, Workflow: &shtypes.WorkflowUpdate{Status: "DONE"}},
		"confidence 101":   {FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{ident("f")}, Confidence: aws.Int32(101)},
	} {
		_, err := c.BatchUpdateFindings(ctx, in)
		if errorCode(err) != "InvalidInputException" {
			t.Errorf("%s: err = %v, want InvalidInputException", name, err)
		}
	}
	// Another account cannot update web-prod's finding.
	other := hubClient(t, s, demoPayDev)
	o := must[*securityhub.BatchUpdateFindingsOutput](t)(other.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{ident("f")}, Workflow: &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusResolved}}))
	if len(o.UnprocessedFindings) != 1 || aws.ToString(o.UnprocessedFindings[0].ErrorCode) != "FindingNotFound" {
		t.Errorf("update from another account = %+v", o)
	}
}

func TestSecurityHubGetFindingsFilters(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 2})
	c := hubClient(t, s, demoWebProd)
	var batch []shtypes.AwsSecurityFinding
	for i := range 6 {
		f := asffFinding(demoWebProd, fmt.Sprintf("f-%d", i))
		f.GeneratorId = aws.String(fmt.Sprintf("orgguard/g%d", i%2))
		if i%3 == 0 {
			f.Compliance.Status = shtypes.ComplianceStatusPassed
		}
		if i == 5 {
			f.RecordState = shtypes.RecordStateArchived
		}
		f.ProductFields = map[string]string{"orgguard/pack": map[bool]string{true: "baseline", false: "pci"}[i < 4]}
		batch = append(batch, f)
	}
	must[*securityhub.BatchImportFindingsOutput](t)(c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch}))
	must[*securityhub.BatchUpdateFindingsOutput](t)(c.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: aws.String("f-1"), ProductArn: aws.String(defaultProduct(demoWebProd))}},
		Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusResolved}}))

	sf := func(v string, cmp shtypes.StringFilterComparison) []shtypes.StringFilter {
		return []shtypes.StringFilter{{Value: aws.String(v), Comparison: cmp}}
	}
	eq := shtypes.StringFilterComparisonEquals
	cases := []struct {
		name   string
		filter shtypes.AwsSecurityFindingFilters
		want   []string
	}{
		{"generator prefix", shtypes.AwsSecurityFindingFilters{GeneratorId: sf("orgguard/g1", shtypes.StringFilterComparisonPrefix)}, []string{"f-1", "f-3", "f-5"}},
		{"compliance", shtypes.AwsSecurityFindingFilters{ComplianceStatus: sf("PASSED", eq)}, []string{"f-0", "f-3"}},
		{"workflow", shtypes.AwsSecurityFindingFilters{WorkflowStatus: sf("RESOLVED", eq)}, []string{"f-1"}},
		{"record state", shtypes.AwsSecurityFindingFilters{RecordState: sf("ARCHIVED", eq)}, []string{"f-5"}},
		{"not equals", shtypes.AwsSecurityFindingFilters{RecordState: sf("ARCHIVED", shtypes.StringFilterComparisonNotEquals), ComplianceStatus: sf("FAILED", eq)}, []string{"f-1", "f-2", "f-4"}},
		{"account and id", shtypes.AwsSecurityFindingFilters{AwsAccountId: sf(demoWebProd, eq), Id: []shtypes.StringFilter{{Value: aws.String("f-2"), Comparison: eq}, {Value: aws.String("f-4"), Comparison: eq}}}, []string{"f-2", "f-4"}},
		{"product fields", shtypes.AwsSecurityFindingFilters{ProductFields: []shtypes.MapFilter{{Key: aws.String("orgguard/pack"), Value: aws.String("pci"), Comparison: shtypes.MapFilterComparisonEquals}}}, []string{"f-4", "f-5"}},
		{"other account", shtypes.AwsSecurityFindingFilters{AwsAccountId: sf(demoPayDev, eq)}, nil},
	}
	for _, tc := range cases {
		var ids []string
		for _, f := range getAll(t, c, &tc.filter, 2) {
			ids = append(ids, aws.ToString(f.Id))
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, ids, tc.want)
		}
	}
	_, err := c.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
		ProductFields: []shtypes.MapFilter{{Value: aws.String("pci"), Comparison: shtypes.MapFilterComparisonEquals}}}})
	requireCode(t, err, "InvalidInputException")
	_, err = c.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{ComplianceStatus: sf("PASSED", "ALMOST")}})
	requireCode(t, err, "InvalidInputException")
}

func TestSecurityHubFindingsQuotas(t *testing.T) {
	t.Parallel()
	for _, q := range []struct {
		op          string
		rate, burst int
	}{{"BatchImportFindings", 10, 30}, {"BatchUpdateFindings", 10, 30}, {"GetFindings", 3, 6}} {
		if !slices.ContainsFunc(AWSQuotas(), func(f Fault) bool {
			return f.Service == "securityhub" && f.Operation == q.op && f.Throttle != nil &&
				f.Throttle.RatePerSecond == float64(q.rate) && f.Throttle.Burst == q.burst
		}) {
			t.Errorf("AWSQuotas lacks securityhub:%s at %d/s, burst %d", q.op, q.rate, q.burst)
		}
	}
	// An exhausted bucket answers with Security Hub's throttling error.
	s := newTestServer(t, Options{Faults: []Fault{{Service: "securityhub", Operation: "BatchImportFindings", Throttle: &Throttle{Burst: 1}}}})
	c := hubClient(t, s, demoWebProd)
	in := &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{asffFinding(demoWebProd, "f")}}
	must[*securityhub.BatchImportFindingsOutput](t)(c.BatchImportFindings(ctx, in))
	_, err := c.BatchImportFindings(ctx, in)
	requireCode(t, err, "LimitExceededException")
}
