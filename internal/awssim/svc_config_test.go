package awssim

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

const demoWebProd = "100000000007"

// ssmTrust is the trust policy of an automation role.
const ssmTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func createRole(t *testing.T, c *iam.Client, name, trust string) string {
	t.Helper()
	out := must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}))
	return aws.ToString(out.Role.Arn)
}

func complianceOf(t *testing.T, c *configservice.Client) map[string]cfgtypes.ComplianceType {
	t.Helper()
	got := map[string]cfgtypes.ComplianceType{}
	p := configservice.NewDescribeComplianceByConfigRulePaginator(c, &configservice.DescribeComplianceByConfigRuleInput{})
	for p.HasMorePages() {
		for _, r := range must[*configservice.DescribeComplianceByConfigRuleOutput](t)(p.NextPage(ctx)).ComplianceByConfigRules {
			got[aws.ToString(r.ConfigRuleName)] = r.Compliance.ComplianceType
		}
	}
	return got
}

func nonCompliant(t *testing.T, c *configservice.Client, rule string) []string {
	t.Helper()
	var ids []string
	p := configservice.NewGetComplianceDetailsByConfigRulePaginator(c, &configservice.GetComplianceDetailsByConfigRuleInput{
		ConfigRuleName: aws.String(rule), ComplianceTypes: []cfgtypes.ComplianceType{cfgtypes.ComplianceTypeNonCompliant},
	})
	for p.HasMorePages() {
		for _, r := range must[*configservice.GetComplianceDetailsByConfigRuleOutput](t)(p.NextPage(ctx)).EvaluationResults {
			ids = append(ids, aws.ToString(r.EvaluationResultIdentifier.EvaluationResultQualifier.ResourceId))
		}
	}
	return ids
}

func TestConfigRecorderAndChannel(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cfg := memberConfig(s, demoWebProd, "us-east-1")
	c := configservice.NewFromConfig(cfg)

	_, err := c.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &cfgtypes.ConfigRule{
		ConfigRuleName: aws.String("ssh"), Source: &cfgtypes.Source{Owner: cfgtypes.OwnerAws, SourceIdentifier: aws.String("INCOMING_SSH_DISABLED")}}})
	requireCode(t, err, "NoAvailableConfigurationRecorderException")
	_, err = c.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::100000000007:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")}})
	requireCode(t, err, "InvalidRoleException")

	slr := must[*iam.CreateServiceLinkedRoleOutput](t)(iam.NewFromConfig(cfg).CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("config.amazonaws.com")}))
	must[*configservice.PutConfigurationRecorderOutput](t)(c.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: slr.Role.Arn,
		RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true},
	}}))
	_, err = c.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("second"), RoleARN: slr.Role.Arn}})
	requireCode(t, err, "MaxNumberOfConfigurationRecordersExceededException")

	recs := must[*configservice.DescribeConfigurationRecordersOutput](t)(c.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{}))
	if len(recs.ConfigurationRecorders) != 1 || !recs.ConfigurationRecorders[0].RecordingGroup.IncludeGlobalResourceTypes ||
		aws.ToString(recs.ConfigurationRecorders[0].RoleARN) != aws.ToString(slr.Role.Arn) {
		t.Errorf("recorders = %+v", recs.ConfigurationRecorders)
	}
	_, err = c.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{ConfigurationRecorderNames: []string{"nope"}})
	requireCode(t, err, "NoSuchConfigurationRecorderException")

	_, err = c.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")})
	requireCode(t, err, "NoAvailableDeliveryChannelException")
	_, err = c.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("no-such-bucket-anywhere")}})
	requireCode(t, err, "NoSuchBucketException")
	// The organization's central bucket in the log archive account.
	must[*configservice.PutDeliveryChannelOutput](t)(c.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String(demoTrailBucket), S3KeyPrefix: aws.String("config"),
		ConfigSnapshotDeliveryProperties: &cfgtypes.ConfigSnapshotDeliveryProperties{DeliveryFrequency: cfgtypes.MaximumExecutionFrequencyTwentyFourHours},
	}}))
	chs := must[*configservice.DescribeDeliveryChannelsOutput](t)(c.DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{}))
	if len(chs.DeliveryChannels) != 1 || aws.ToString(chs.DeliveryChannels[0].S3BucketName) != demoTrailBucket ||
		chs.DeliveryChannels[0].ConfigSnapshotDeliveryProperties.DeliveryFrequency != cfgtypes.MaximumExecutionFrequencyTwentyFourHours {
		t.Errorf("channels = %+v", chs.DeliveryChannels)
	}

	status := func() cfgtypes.ConfigurationRecorderStatus {
		out := must[*configservice.DescribeConfigurationRecorderStatusOutput](t)(c.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{}))
		if len(out.ConfigurationRecordersStatus) != 1 {
			t.Fatalf("status = %+v", out.ConfigurationRecordersStatus)
		}
		return out.ConfigurationRecordersStatus[0]
	}
	if st := status(); st.Recording {
		t.Errorf("recording before start")
	}
	must[*configservice.StartConfigurationRecorderOutput](t)(c.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}))
	if st := status(); !st.Recording || st.LastStartTime == nil || st.LastStatus != cfgtypes.RecorderStatusSuccess {
		t.Errorf("status after start = %+v", st)
	}
	_, err = c.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("default")})
	requireCode(t, err, "LastDeliveryChannelDeleteFailedException")
	must[*configservice.StopConfigurationRecorderOutput](t)(c.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}))
	if st := status(); st.Recording || st.LastStopTime == nil {
		t.Errorf("status after stop = %+v", st)
	}
	must[*configservice.DeleteDeliveryChannelOutput](t)(c.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("default")}))
	must[*configservice.DeleteConfigurationRecorderOutput](t)(c.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}))
	left := must[*configservice.DescribeConfigurationRecordersOutput](t)(c.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{}))
	if len(left.ConfigurationRecorders) != 0 {
		t.Errorf("recorders after delete = %+v", left.ConfigurationRecorders)
	}
	// Regional: nothing in eu-west-1.
	eu := must[*configservice.DescribeConfigurationRecordersOutput](t)(configservice.NewFromConfig(memberConfig(s, demoWebProd, "eu-west-1")).DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{}))
	if len(eu.ConfigurationRecorders) != 0 {
		t.Errorf("eu-west-1 recorders = %+v", eu.ConfigurationRecorders)
	}
}

// setupConfig turns Config on in the account and region, as orgguard does.
func setupConfig(t *testing.T, cfg aws.Config) *configservice.Client {
	t.Helper()
	c := configservice.NewFromConfig(cfg)
	ims := iam.NewFromConfig(cfg)
	slr, err := ims.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("config.amazonaws.com")})
	if err != nil {
		t.Fatal(err)
	}
	must[*configservice.PutConfigurationRecorderOutput](t)(c.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: slr.Role.Arn}}))
	return c
}

func TestConfigRulesEvaluateLiveState(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 2})
	cfg := memberConfig(s, demoWebProd, "us-east-1")
	c := setupConfig(t, cfg)

	rules := map[string]string{
		"ssh":      "INCOMING_SSH_DISABLED",
		"common":   "RESTRICTED_INCOMING_TRAFFIC",
		"default":  "VPC_DEFAULT_SECURITY_GROUP_CLOSED",
		"ebs":      "EC2_EBS_ENCRYPTION_BY_DEFAULT",
		"flowlogs": "VPC_FLOW_LOGS_ENABLED",
		"trail":    "CLOUD_TRAIL_ENABLED",
		"drift":    "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK",
		"pwd":      "IAM_PASSWORD_POLICY",
	}
	for _, name := range sortedKeys(rules) {
		r := &cfgtypes.ConfigRule{ConfigRuleName: aws.String(name),
			Source: &cfgtypes.Source{Owner: cfgtypes.OwnerAws, SourceIdentifier: aws.String(rules[name])}}
		if name == "pwd" {
			r.InputParameters = aws.String(`{"MinimumPasswordLength":"14","PasswordReusePrevention":"24","MaxPasswordAge":"90"}`)
			r.MaximumExecutionFrequency = cfgtypes.MaximumExecutionFrequencyTwentyFourHours
		}
		must[*configservice.PutConfigRuleOutput](t)(c.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: r}))
	}
	_, err := c.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &cfgtypes.ConfigRule{ConfigRuleName: aws.String("bad"),
		Source: &cfgtypes.Source{Owner: cfgtypes.OwnerAws, SourceIdentifier: aws.String("INCOMING_SSH_DISABLED")}, InputParameters: aws.String("{not json")}})
	requireCode(t, err, "InvalidParameterValueException")

	var names []string
	p := configservice.NewDescribeConfigRulesPaginator(c, &configservice.DescribeConfigRulesInput{})
	for p.HasMorePages() {
		for _, r := range must[*configservice.DescribeConfigRulesOutput](t)(p.NextPage(ctx)).ConfigRules {
			names = append(names, aws.ToString(r.ConfigRuleName))
			if !strings.HasPrefix(aws.ToString(r.ConfigRuleArn), "arn:aws:config:us-east-1:100000000007:config-rule/config-rule-") || r.ConfigRuleState != cfgtypes.ConfigRuleStateActive {
				t.Errorf("rule = %+v", r)
			}
		}
	}
	if len(names) != len(rules) {
		t.Errorf("rules = %v", names)
	}
	_, err = c.DescribeConfigRules(ctx, &configservice.DescribeConfigRulesInput{ConfigRuleNames: []string{"nope"}})
	requireCode(t, err, "NoSuchConfigRuleException")

	want := map[string]cfgtypes.ComplianceType{
		"ssh": "NON_COMPLIANT", "common": "COMPLIANT", "default": "NON_COMPLIANT", "ebs": "NON_COMPLIANT",
		"flowlogs": "NON_COMPLIANT", "trail": "NON_COMPLIANT", "drift": "INSUFFICIENT_DATA", "pwd": "NON_COMPLIANT",
	}
	got := complianceOf(t, c)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("compliance %s = %s, want %s", k, got[k], v)
		}
	}
	if ids := nonCompliant(t, c, "ssh"); !slices.Equal(ids, []string{"sg-0a000000000000071"}) {
		t.Errorf("ssh non-compliant = %v", ids)
	}
	if ids := nonCompliant(t, c, "flowlogs"); len(ids) != 2 {
		t.Errorf("flowlogs non-compliant = %v", ids)
	}
	onlyNon := must[*configservice.DescribeComplianceByConfigRuleOutput](t)(c.DescribeComplianceByConfigRule(ctx, &configservice.DescribeComplianceByConfigRuleInput{
		ConfigRuleNames: []string{"ssh", "common"}, ComplianceTypes: []cfgtypes.ComplianceType{cfgtypes.ComplianceTypeNonCompliant}}))
	if len(onlyNon.ComplianceByConfigRules) != 1 || onlyNon.ComplianceByConfigRules[0].Compliance.ComplianceContributorCount.CappedCount != 1 {
		t.Errorf("filtered = %+v", onlyNon.ComplianceByConfigRules)
	}

	// Fixing the resources through their own APIs changes compliance.
	e := ec2.NewFromConfig(cfg)
	must[*ec2.EnableEbsEncryptionByDefaultOutput](t)(e.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}))
	must[*iam.UpdateAccountPasswordPolicyOutput](t)(iam.NewFromConfig(cfg).UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true,
		RequireLowercaseCharacters: true, MaxPasswordAge: aws.Int32(90), PasswordReusePrevention: aws.Int32(24)}))
	got = complianceOf(t, c)
	if got["ebs"] != "COMPLIANT" || got["pwd"] != "COMPLIANT" {
		t.Errorf("after fix: %v", got)
	}

	must[*configservice.DeleteConfigRuleOutput](t)(c.DeleteConfigRule(ctx, &configservice.DeleteConfigRuleInput{ConfigRuleName: aws.String("drift")}))
	_, err = c.DeleteConfigRule(ctx, &configservice.DeleteConfigRuleInput{ConfigRuleName: aws.String("drift")})
	requireCode(t, err, "NoSuchConfigRuleException")
}

func TestConfigRemediationRunsSSMAutomation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cfg := memberConfig(s, demoWebProd, "us-east-1")
	c := setupConfig(t, cfg)
	roleARN := createRole(t, iam.NewFromConfig(cfg), "OrgguardRemediationRole", ssmTrust)

	must[*configservice.PutConfigRuleOutput](t)(c.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &cfgtypes.ConfigRule{
		ConfigRuleName: aws.String("restricted-ssh"),
		Source:         &cfgtypes.Source{Owner: cfgtypes.OwnerAws, SourceIdentifier: aws.String("INCOMING_SSH_DISABLED")},
		Scope:          &cfgtypes.Scope{ComplianceResourceTypes: []string{"AWS::EC2::SecurityGroup"}},
	}}))
	_, err := c.PutRemediationConfigurations(ctx, &configservice.PutRemediationConfigurationsInput{RemediationConfigurations: []cfgtypes.RemediationConfiguration{{
		ConfigRuleName: aws.String("restricted-ssh"), TargetType: cfgtypes.RemediationTargetTypeSsmDocument, TargetId: aws.String("No-Such-Doc"),
	}}})
	requireCode(t, err, "InvalidParameterValueException")
	must[*configservice.PutRemediationConfigurationsOutput](t)(c.PutRemediationConfigurations(ctx, &configservice.PutRemediationConfigurationsInput{RemediationConfigurations: []cfgtypes.RemediationConfiguration{{
		ConfigRuleName: aws.String("restricted-ssh"), TargetType: cfgtypes.RemediationTargetTypeSsmDocument,
		TargetId: aws.String("AWS-DisablePublicAccessForSecurityGroup"), ResourceType: aws.String("AWS::EC2::SecurityGroup"),
		MaximumAutomaticAttempts: aws.Int32(3), RetryAttemptSeconds: aws.Int64(60),
		Parameters: map[string]cfgtypes.RemediationParameterValue{
			"GroupId":              {ResourceValue: &cfgtypes.ResourceValue{Value: cfgtypes.ResourceValueTypeResourceId}},
			"AutomationAssumeRole": {StaticValue: &cfgtypes.StaticValue{Values: []string{roleARN}}},
		},
	}}}))
	rcs := must[*configservice.DescribeRemediationConfigurationsOutput](t)(c.DescribeRemediationConfigurations(ctx, &configservice.DescribeRemediationConfigurationsInput{ConfigRuleNames: []string{"restricted-ssh"}}))
	if len(rcs.RemediationConfigurations) != 1 || aws.ToInt32(rcs.RemediationConfigurations[0].MaximumAutomaticAttempts) != 3 ||
		rcs.RemediationConfigurations[0].Parameters["GroupId"].ResourceValue.Value != cfgtypes.ResourceValueTypeResourceId ||
		aws.ToString(rcs.RemediationConfigurations[0].Arn) == "" {
		t.Errorf("remediation configurations = %+v", rcs.RemediationConfigurations)
	}
	_, err = c.DeleteConfigRule(ctx, &configservice.DeleteConfigRuleInput{ConfigRuleName: aws.String("restricted-ssh")})
	requireCode(t, err, "ResourceInUseException")

	if ids := nonCompliant(t, c, "restricted-ssh"); !slices.Equal(ids, []string{"sg-0a000000000000071"}) {
		t.Fatalf("non-compliant before = %v", ids)
	}
	out := must[*configservice.StartRemediationExecutionOutput](t)(c.StartRemediationExecution(ctx, &configservice.StartRemediationExecutionInput{
		ConfigRuleName: aws.String("restricted-ssh"),
		ResourceKeys:   []cfgtypes.ResourceKey{{ResourceType: cfgtypes.ResourceTypeSecurityGroup, ResourceId: aws.String("sg-0a000000000000071")}},
	}))
	if len(out.FailedItems) != 0 {
		t.Fatalf("failed = %+v: %s", out.FailedItems, aws.ToString(out.FailureMessage))
	}
	if ids := nonCompliant(t, c, "restricted-ssh"); len(ids) != 0 {
		t.Errorf("non-compliant after = %v", ids)
	}
	revokes := s.CallsMatching(CallFilter{Service: "ec2", Operation: "RevokeSecurityGroupIngress", AccountID: demoWebProd, OnlySuccess: true})
	if len(revokes) != 1 || !strings.HasPrefix(revokes[0].Principal, "arn:aws:sts::100000000007:assumed-role/OrgguardRemediationRole/") ||
		revokes[0].Params["GroupId"] != "sg-0a000000000000071" || revokes[0].Params["IpPermissions.1.FromPort"] != "22" {
		t.Errorf("revokes = %+v", revokes)
	}

	must[*configservice.DeleteRemediationConfigurationOutput](t)(c.DeleteRemediationConfiguration(ctx, &configservice.DeleteRemediationConfigurationInput{ConfigRuleName: aws.String("restricted-ssh")}))
	_, err = c.StartRemediationExecution(ctx, &configservice.StartRemediationExecutionInput{ConfigRuleName: aws.String("restricted-ssh"),
		ResourceKeys: []cfgtypes.ResourceKey{{ResourceType: cfgtypes.ResourceTypeSecurityGroup, ResourceId: aws.String("sg-0a000000000000071")}}})
	requireCode(t, err, "NoSuchRemediationConfigurationException")
}

func TestConfigAutomaticRemediation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cfg := memberConfig(s, demoWebProd, "us-east-1")
	c := setupConfig(t, cfg)
	ims := iam.NewFromConfig(cfg)
	good := createRole(t, ims, "RemediationRole", ssmTrust)
	bad := createRole(t, ims, "BrokenRole", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)

	put := func(rule, source, role string) {
		must[*configservice.PutConfigRuleOutput](t)(c.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &cfgtypes.ConfigRule{
			ConfigRuleName: aws.String(rule), Source: &cfgtypes.Source{Owner: cfgtypes.OwnerAws, SourceIdentifier: aws.String(source)}}}))
		doc := "AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules"
		if source == "INCOMING_SSH_DISABLED" {
			doc = "AWS-DisablePublicAccessForSecurityGroup"
		}
		must[*configservice.PutRemediationConfigurationsOutput](t)(c.PutRemediationConfigurations(ctx, &configservice.PutRemediationConfigurationsInput{RemediationConfigurations: []cfgtypes.RemediationConfiguration{{
			ConfigRuleName: aws.String(rule), TargetType: cfgtypes.RemediationTargetTypeSsmDocument, TargetId: aws.String(doc),
			ResourceType: aws.String("AWS::EC2::SecurityGroup"), Automatic: true, MaximumAutomaticAttempts: aws.Int32(2), RetryAttemptSeconds: aws.Int64(30),
			Parameters: map[string]cfgtypes.RemediationParameterValue{
				"GroupId":              {ResourceValue: &cfgtypes.ResourceValue{Value: cfgtypes.ResourceValueTypeResourceId}},
				"AutomationAssumeRole": {StaticValue: &cfgtypes.StaticValue{Values: []string{role}}},
			},
		}}}))
	}
	put("default-sg-closed", "VPC_DEFAULT_SECURITY_GROUP_CLOSED", good)
	put("restricted-ssh", "INCOMING_SSH_DISABLED", bad)

	// Evaluating the rules remediates what is out of compliance.
	got := complianceOf(t, c)
	if got["default-sg-closed"] != cfgtypes.ComplianceTypeCompliant || got["restricted-ssh"] != cfgtypes.ComplianceTypeNonCompliant {
		t.Errorf("compliance = %v", got)
	}
	st := must[*configservice.DescribeRemediationExecutionStatusOutput](t)(c.DescribeRemediationExecutionStatus(ctx, &configservice.DescribeRemediationExecutionStatusInput{ConfigRuleName: aws.String("default-sg-closed")}))
	if len(st.RemediationExecutionStatuses) != 2 {
		t.Fatalf("statuses = %+v", st.RemediationExecutionStatuses)
	}
	for _, x := range st.RemediationExecutionStatuses {
		if x.State != cfgtypes.RemediationExecutionStateSucceeded || x.ResourceKey.ResourceType != cfgtypes.ResourceTypeSecurityGroup || len(x.StepDetails) != 1 {
			t.Errorf("status = %+v", x)
		}
	}
	// A failing remediation is retried at each evaluation, at most
	// MaximumAutomaticAttempts times.
	complianceOf(t, c)
	complianceOf(t, c)
	ssh := must[*configservice.DescribeRemediationExecutionStatusOutput](t)(c.DescribeRemediationExecutionStatus(ctx, &configservice.DescribeRemediationExecutionStatusInput{ConfigRuleName: aws.String("restricted-ssh")}))
	if len(ssh.RemediationExecutionStatuses) != 1 || ssh.RemediationExecutionStatuses[0].State != cfgtypes.RemediationExecutionStateFailed {
		t.Errorf("ssh statuses = %+v", ssh.RemediationExecutionStatuses)
	}
	execs := must[*ssm.DescribeAutomationExecutionsOutput](t)(ssm.NewFromConfig(cfg).DescribeAutomationExecutions(ctx, &ssm.DescribeAutomationExecutionsInput{
		Filters: []ssmtypes.AutomationExecutionFilter{{Key: ssmtypes.AutomationExecutionFilterKeyDocumentNamePrefix, Values: []string{"AWS-DisablePublicAccessForSecurityGroup"}}}}))
	if len(execs.AutomationExecutionMetadataList) != 2 {
		t.Errorf("failed remediation attempts = %d, want MaximumAutomaticAttempts (2)", len(execs.AutomationExecutionMetadataList))
	}
	// Each default group was closed exactly once, by the remediation role.
	ingress := s.CallsMatching(CallFilter{Service: "ec2", Operation: "RevokeSecurityGroupIngress", AccountID: demoWebProd, OnlySuccess: true})
	egress := s.CallsMatching(CallFilter{Service: "ec2", Operation: "RevokeSecurityGroupEgress", AccountID: demoWebProd, OnlySuccess: true})
	if len(ingress) != 2 || len(egress) != 2 {
		t.Errorf("revokes: %d ingress, %d egress", len(ingress), len(egress))
	}
	for _, call := range append(ingress, egress...) {
		if !strings.Contains(call.Principal, ":assumed-role/RemediationRole/") {
			t.Errorf("revoke by %s", call.Principal)
		}
	}
}
