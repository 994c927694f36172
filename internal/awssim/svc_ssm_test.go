package awssim

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// closeDefaultSGDoc revokes every rule of a default security group, the
// way orgguard's custom remediation document does.
const closeDefaultSGDoc = `schemaVersion: "0.3"
description: Revoke every ingress and egress rule of a security group.
assumeRole: "{{ AutomationAssumeRole }}"
parameters:
  GroupId:
    type: String
  AutomationAssumeRole:
    type: String
mainSteps:
  - name: Describe
    action: aws:executeAwsApi
    inputs:
      Service: ec2
      Api: DescribeSecurityGroups
      GroupIds: ["{{ GroupId }}"]
    outputs:
      - Name: Ingress
        Selector: $.SecurityGroups[0].IpPermissions
        Type: MapList
      - Name: Egress
        Selector: $.SecurityGroups[0].IpPermissionsEgress
        Type: MapList
  - name: RevokeIngress
    action: aws:executeAwsApi
    inputs:
      Service: ec2
      Api: RevokeSecurityGroupIngress
      GroupId: "{{ GroupId }}"
      IpPermissions: "{{ Describe.Ingress }}"
  - name: RevokeEgress
    action: aws:executeAwsApi
    inputs:
      Service: ec2
      Api: RevokeSecurityGroupEgress
      GroupId: "{{ GroupId }}"
      IpPermissions: "{{ Describe.Egress }}"
    isEnd: true
`

func defaultGroup(t *testing.T, e *ec2.Client, vpc string) ec2types.SecurityGroup {
	t.Helper()
	out := must[*ec2.DescribeSecurityGroupsOutput](t)(e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{"default"}}, {Name: aws.String("vpc-id"), Values: []string{vpc}}}}))
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("default groups = %+v", out.SecurityGroups)
	}
	return out.SecurityGroups[0]
}

func TestSSMDocumentsAndCustomAutomation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	cfg := memberConfig(s, demoWebProd, "us-east-1")
	c := ssm.NewFromConfig(cfg)
	e := ec2.NewFromConfig(cfg)
	roleARN := createRole(t, iam.NewFromConfig(cfg), "OrgguardRemediationRole", ssmTrust)

	created := must[*ssm.CreateDocumentOutput](t)(c.CreateDocument(ctx, &ssm.CreateDocumentInput{
		Name: aws.String("Orgguard-CloseDefaultSecurityGroup"), Content: aws.String(closeDefaultSGDoc),
		DocumentType: ssmtypes.DocumentTypeAutomation, DocumentFormat: ssmtypes.DocumentFormatYaml,
	}))
	d := created.DocumentDescription
	if aws.ToString(d.DocumentVersion) != "1" || d.DocumentType != ssmtypes.DocumentTypeAutomation || aws.ToString(d.SchemaVersion) != "0.3" ||
		len(d.Parameters) != 2 || aws.ToString(d.Owner) != demoWebProd {
		t.Errorf("created = %+v", d)
	}
	_, err := c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Orgguard-CloseDefaultSecurityGroup"), Content: aws.String(closeDefaultSGDoc),
		DocumentType: ssmtypes.DocumentTypeAutomation, DocumentFormat: ssmtypes.DocumentFormatYaml})
	requireCode(t, err, "DocumentAlreadyExists")
	_, err = c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Broken"), Content: aws.String(`{"schemaVersion":"0.3"}`),
		DocumentType: ssmtypes.DocumentTypeAutomation})
	requireCode(t, err, "InvalidDocumentContent")

	desc := must[*ssm.DescribeDocumentOutput](t)(c.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("AWS-DisablePublicAccessForSecurityGroup")}))
	if aws.ToString(desc.Document.Owner) != "Amazon" {
		t.Errorf("AWS document = %+v", desc.Document)
	}
	_, err = c.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("Nope-Doc")})
	requireCode(t, err, "InvalidDocument")

	// A second version; the default stays 1.
	v2 := strings.Replace(closeDefaultSGDoc, "Revoke every", "Revokes every", 1)
	upd := must[*ssm.UpdateDocumentOutput](t)(c.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String("Orgguard-CloseDefaultSecurityGroup"),
		Content: aws.String(v2), DocumentFormat: ssmtypes.DocumentFormatYaml, DocumentVersion: aws.String("$LATEST")}))
	if aws.ToString(upd.DocumentDescription.DocumentVersion) != "2" || aws.ToString(upd.DocumentDescription.DefaultVersion) != "1" {
		t.Errorf("updated = %+v", upd.DocumentDescription)
	}
	_, err = c.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String("Orgguard-CloseDefaultSecurityGroup"),
		Content: aws.String(v2), DocumentFormat: ssmtypes.DocumentFormatYaml, DocumentVersion: aws.String("$LATEST")})
	requireCode(t, err, "DuplicateDocumentContent")
	got := must[*ssm.GetDocumentOutput](t)(c.GetDocument(ctx, &ssm.GetDocumentInput{Name: aws.String("Orgguard-CloseDefaultSecurityGroup"), DocumentVersion: aws.String("2")}))
	if aws.ToString(got.Content) != v2 || got.DocumentFormat != ssmtypes.DocumentFormatYaml {
		t.Errorf("GetDocument = %+v", got)
	}
	asJSON := must[*ssm.GetDocumentOutput](t)(c.GetDocument(ctx, &ssm.GetDocumentInput{Name: aws.String("Orgguard-CloseDefaultSecurityGroup"), DocumentFormat: ssmtypes.DocumentFormatJson}))
	if !strings.HasPrefix(aws.ToString(asJSON.Content), "{") {
		t.Errorf("JSON content = %s", aws.ToString(asJSON.Content))
	}

	_, err = c.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{DocumentName: aws.String("Orgguard-CloseDefaultSecurityGroup")})
	requireCode(t, err, "InvalidAutomationExecutionParametersException")
	_, err = c.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{DocumentName: aws.String("Nope-Doc")})
	requireCode(t, err, "AutomationDefinitionNotFoundException")

	vpcs := must[*ec2.DescribeVpcsOutput](t)(e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}}))
	g := defaultGroup(t, e, aws.ToString(vpcs.Vpcs[0].VpcId))
	if len(g.IpPermissions) == 0 || len(g.IpPermissionsEgress) == 0 {
		t.Fatalf("default group already closed: %+v", g)
	}
	start := must[*ssm.StartAutomationExecutionOutput](t)(c.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{
		DocumentName: aws.String("Orgguard-CloseDefaultSecurityGroup"),
		Parameters:   map[string][]string{"GroupId": {aws.ToString(g.GroupId)}, "AutomationAssumeRole": {roleARN}},
	}))
	x := must[*ssm.GetAutomationExecutionOutput](t)(c.GetAutomationExecution(ctx, &ssm.GetAutomationExecutionInput{AutomationExecutionId: start.AutomationExecutionId})).AutomationExecution
	if x.AutomationExecutionStatus != ssmtypes.AutomationExecutionStatusSuccess || len(x.StepExecutions) != 3 || aws.ToString(x.DocumentVersion) != "1" {
		t.Fatalf("execution = %+v (%s)", x, aws.ToString(x.FailureMessage))
	}
	if out := x.StepExecutions[0].Outputs["Ingress"]; len(out) != 1 || !strings.Contains(out[0], "UserIdGroupPairs") {
		t.Errorf("Describe outputs = %v", x.StepExecutions[0].Outputs)
	}
	g = defaultGroup(t, e, aws.ToString(vpcs.Vpcs[0].VpcId))
	if len(g.IpPermissions)+len(g.IpPermissionsEgress) != 0 {
		t.Errorf("default group after automation = %+v", g)
	}
	for _, op := range []string{"DescribeSecurityGroups", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress"} {
		calls := s.CallsMatching(CallFilter{Service: "ec2", Operation: op, AccountID: demoWebProd, OnlySuccess: true})
		n := 0
		for _, c := range calls {
			if c.SessionName == aws.ToString(start.AutomationExecutionId) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s calls by the automation = %d, want 1", op, n)
		}
	}

	// Running it again fails: there is nothing left to revoke.
	again := must[*ssm.StartAutomationExecutionOutput](t)(c.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{
		DocumentName: aws.String("Orgguard-CloseDefaultSecurityGroup"),
		Parameters:   map[string][]string{"GroupId": {aws.ToString(g.GroupId)}, "AutomationAssumeRole": {roleARN}},
	}))
	x = must[*ssm.GetAutomationExecutionOutput](t)(c.GetAutomationExecution(ctx, &ssm.GetAutomationExecutionInput{AutomationExecutionId: again.AutomationExecutionId})).AutomationExecution
	if x.AutomationExecutionStatus != ssmtypes.AutomationExecutionStatusFailed || !strings.Contains(aws.ToString(x.FailureMessage), "MissingParameter") {
		t.Errorf("second execution = %s: %s", x.AutomationExecutionStatus, aws.ToString(x.FailureMessage))
	}

	var ids []string
	p := ssm.NewDescribeAutomationExecutionsPaginator(c, &ssm.DescribeAutomationExecutionsInput{Filters: []ssmtypes.AutomationExecutionFilter{
		{Key: ssmtypes.AutomationExecutionFilterKeyDocumentNamePrefix, Values: []string{"Orgguard-"}}}})
	for p.HasMorePages() {
		for _, m := range must[*ssm.DescribeAutomationExecutionsOutput](t)(p.NextPage(ctx)).AutomationExecutionMetadataList {
			ids = append(ids, aws.ToString(m.AutomationExecutionId))
		}
	}
	if len(ids) != 2 {
		t.Errorf("executions = %v", ids)
	}
	failed := must[*ssm.DescribeAutomationExecutionsOutput](t)(c.DescribeAutomationExecutions(ctx, &ssm.DescribeAutomationExecutionsInput{Filters: []ssmtypes.AutomationExecutionFilter{
		{Key: ssmtypes.AutomationExecutionFilterKeyExecutionStatus, Values: []string{"Failed"}}}}))
	if len(failed.AutomationExecutionMetadataList) != 1 || aws.ToString(failed.AutomationExecutionMetadataList[0].AutomationExecutionId) != aws.ToString(again.AutomationExecutionId) {
		t.Errorf("failed executions = %+v", failed.AutomationExecutionMetadataList)
	}
	_, err = c.GetAutomationExecution(ctx, &ssm.GetAutomationExecutionInput{AutomationExecutionId: aws.String("00000000-0000-0000-0000-000000000000")})
	requireCode(t, err, "AutomationExecutionNotFoundException")
}

func TestSSMDisablePublicAccessForSecurityGroup(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cfg := memberConfig(s, "100000000010", "us-east-1")
	c := ssm.NewFromConfig(cfg)
	good := createRole(t, iam.NewFromConfig(cfg), "AutomationRole", ssmTrust)
	bad := createRole(t, iam.NewFromConfig(cfg), "NotForSSM", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)

	run := func(role string) *ssmtypes.AutomationExecution {
		out := must[*ssm.StartAutomationExecutionOutput](t)(c.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{
			DocumentName: aws.String("AWS-DisablePublicAccessForSecurityGroup"),
			Parameters:   map[string][]string{"GroupId": {"sg-0a000000000000101"}, "AutomationAssumeRole": {role}},
		}))
		return must[*ssm.GetAutomationExecutionOutput](t)(c.GetAutomationExecution(ctx, &ssm.GetAutomationExecutionInput{AutomationExecutionId: out.AutomationExecutionId})).AutomationExecution
	}
	if x := run(bad); x.AutomationExecutionStatus != ssmtypes.AutomationExecutionStatusFailed || !strings.Contains(aws.ToString(x.FailureMessage), "assume role") {
		t.Errorf("untrusted role: %s %s", x.AutomationExecutionStatus, aws.ToString(x.FailureMessage))
	}
	if x := run(good); x.AutomationExecutionStatus != ssmtypes.AutomationExecutionStatusSuccess {
		t.Fatalf("execution: %s %s", x.AutomationExecutionStatus, aws.ToString(x.FailureMessage))
	}
	out := must[*ec2.DescribeSecurityGroupsOutput](t)(ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0a000000000000101"}}))
	if n := len(out.SecurityGroups[0].IpPermissions); n != 0 {
		t.Errorf("ingress left: %+v", out.SecurityGroups[0].IpPermissions)
	}
	revokes := s.CallsMatching(CallFilter{Service: "ec2", Operation: "RevokeSecurityGroupIngress", AccountID: "100000000010", OnlySuccess: true})
	if len(revokes) != 1 || !strings.Contains(revokes[0].Principal, ":assumed-role/AutomationRole/") {
		t.Errorf("revokes = %+v", revokes)
	}
}
