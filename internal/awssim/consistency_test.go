package awssim

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// testClock is a settable clock for Options.Now, so tests step over the
// consistency delay instead of sleeping.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testDelay = 2 * time.Second

func consistentServer(t *testing.T) (*Server, *testClock) {
	t.Helper()
	clock := newTestClock()
	return newTestServer(t, Options{Now: clock.Now, ConsistencyDelay: testDelay}), clock
}

func requireMessage(t *testing.T, err error, code, contains string) {
	t.Helper()
	requireCode(t, err, code)
	var ae smithy.APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), contains) {
		t.Fatalf("message of %v does not contain %q", err, contains)
	}
}

// TestConsistencyCloudTrailRoleAndKey: CloudTrail cannot use a role, a role
// policy, a key, a key policy or an alias written less than the delay ago,
// and answers as AWS does until then.
func TestConsistencyCloudTrailRoleAndKey(t *testing.T) {
	t.Parallel()
	s, clock := consistentServer(t)
	cfg := mgmtConfig(s, "us-east-1")
	must[*s3.PutBucketPolicyOutput](t)(s3.NewFromConfig(memberConfig(s, demoLogArchive, "us-east-1")).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{
		Bucket: aws.String(demoTrailBucket), Policy: aws.String(trailBucketPolicy)}))
	must[*cloudwatchlogs.CreateLogGroupOutput](t)(cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("trail")}))
	ic := iam.NewFromConfig(cfg)
	role := createRole(t, ic, "CloudTrailToLogs", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)

	c := cloudtrail.NewFromConfig(cfg)
	create := &cloudtrail.CreateTrailInput{Name: aws.String("trail"), S3BucketName: aws.String(demoTrailBucket),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:100000000001:log-group:trail:*"), CloudWatchLogsRoleArn: aws.String(role)}
	_, err := c.CreateTrail(ctx, create)
	requireMessage(t, err, "InvalidCloudWatchLogsRoleArnException", "Check the trust relationships for your role")

	clock.Advance(testDelay)
	must[*iam.PutRolePolicyOutput](t)(ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("CloudTrailToLogs"), PolicyName: aws.String("logs"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`)}))
	_, err = c.CreateTrail(ctx, create)
	requireMessage(t, err, "InvalidCloudWatchLogsLogGroupArnException", "Check the permissions for your role")

	clock.Advance(testDelay)
	must[*cloudtrail.CreateTrailOutput](t)(c.CreateTrail(ctx, create))

	// A key just created: KMS itself knows it, CloudTrail cannot use it.
	kc := kms.NewFromConfig(cfg)
	key := must[*kms.CreateKeyOutput](t)(kc.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("trail")}))
	must[*kms.DescribeKeyOutput](t)(kc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: key.KeyMetadata.KeyId}))
	update := &cloudtrail.UpdateTrailInput{Name: aws.String("trail"), KmsKeyId: key.KeyMetadata.Arn}
	_, err = c.UpdateTrail(ctx, update)
	requireMessage(t, err, "InsufficientEncryptionPolicyException", "Insufficient permissions to access S3 bucket "+demoTrailBucket+" or KMS key")

	clock.Advance(testDelay)
	must[*kms.CreateAliasOutput](t)(kc.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/trail"), TargetKeyId: key.KeyMetadata.KeyId}))
	must[*kms.DescribeKeyOutput](t)(kc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/trail")}))
	_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("trail"), KmsKeyId: aws.String("alias/trail")})
	requireCode(t, err, "KmsKeyNotFoundException")
	must[*cloudtrail.UpdateTrailOutput](t)(c.UpdateTrail(ctx, update))

	// A key policy just put.
	must[*kms.PutKeyPolicyOutput](t)(kc.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyMetadata.KeyId, PolicyName: aws.String("default"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*"}]}`)}))
	_, err = c.UpdateTrail(ctx, update)
	requireCode(t, err, "InsufficientEncryptionPolicyException")
	clock.Advance(testDelay)
	out := must[*cloudtrail.UpdateTrailOutput](t)(c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("trail"), KmsKeyId: aws.String("alias/trail")}))
	if aws.ToString(out.KmsKeyId) != aws.ToString(key.KeyMetadata.Arn) {
		t.Errorf("trail key = %s", aws.ToString(out.KmsKeyId))
	}
	pol := must[*kms.GetKeyPolicyOutput](t)(kc.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyMetadata.KeyId}))
	if !strings.Contains(aws.ToString(pol.Policy), "cloudtrail.amazonaws.com") {
		t.Errorf("key policy = %s", aws.ToString(pol.Policy))
	}

	// CloudWatch Logs does not find a key created a moment ago.
	key2 := must[*kms.CreateKeyOutput](t)(kc.CreateKey(ctx, &kms.CreateKeyInput{}))
	lc := cloudwatchlogs.NewFromConfig(cfg)
	lg := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("encrypted"), KmsKeyId: key2.KeyMetadata.Arn}
	_, err = lc.CreateLogGroup(ctx, lg)
	requireCode(t, err, "InvalidParameterException")
	clock.Advance(testDelay)
	must[*cloudwatchlogs.CreateLogGroupOutput](t)(lc.CreateLogGroup(ctx, lg))
}

// TestConsistencyAssumeRole: a role just created cannot be assumed; a trust
// policy just changed still lets the old principals in.
func TestConsistencyAssumeRole(t *testing.T) {
	t.Parallel()
	s, clock := consistentServer(t)
	ic := iamClient(s, demoWebProd)
	createRole(t, ic, "Fresh", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::100000000001:root"},"Action":"sts:AssumeRole"}]}`)
	c := sts.NewFromConfig(mgmtConfig(s, "us-east-1"))
	assume := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + demoWebProd + ":role/Fresh"), RoleSessionName: aws.String("fresh")}
	_, err := c.AssumeRole(ctx, assume)
	requireCode(t, err, "AccessDenied")
	clock.Advance(testDelay)
	must[*sts.AssumeRoleOutput](t)(c.AssumeRole(ctx, assume))

	must[*iam.UpdateAssumeRolePolicyOutput](t)(ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("Fresh"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::100000000009:root"},"Action":"sts:AssumeRole"}]}`)}))
	must[*sts.AssumeRoleOutput](t)(c.AssumeRole(ctx, assume))
	clock.Advance(testDelay)
	_, err = c.AssumeRole(ctx, assume)
	requireCode(t, err, "AccessDenied")
}

// TestConsistencyConfig: the recorder's role, and rule evaluations, which
// complete a delay after they start.
func TestConsistencyConfig(t *testing.T) {
	t.Parallel()
	s, clock := consistentServer(t)
	cfg := memberConfig(s, demoWebProd, "us-east-1")
	c := configservice.NewFromConfig(cfg)
	role := createRole(t, iam.NewFromConfig(cfg), "ConfigRecorder", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"config.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	rec := &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{Name: aws.String("default"), RoleARN: aws.String(role)}}
	_, err := c.PutConfigurationRecorder(ctx, rec)
	requireCode(t, err, "InvalidRoleException")
	clock.Advance(testDelay)
	must[*configservice.PutConfigurationRecorderOutput](t)(c.PutConfigurationRecorder(ctx, rec))

	must[*configservice.PutConfigRuleOutput](t)(c.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &cfgtypes.ConfigRule{
		ConfigRuleName: aws.String("ebs"), Source: &cfgtypes.Source{Owner: cfgtypes.OwnerAws, SourceIdentifier: aws.String("EC2_EBS_ENCRYPTION_BY_DEFAULT")}}}))
	details := func() []cfgtypes.EvaluationResult {
		return must[*configservice.GetComplianceDetailsByConfigRuleOutput](t)(c.GetComplianceDetailsByConfigRule(ctx,
			&configservice.GetComplianceDetailsByConfigRuleInput{ConfigRuleName: aws.String("ebs")})).EvaluationResults
	}
	// Not evaluated yet.
	if got := complianceOf(t, c)["ebs"]; got != cfgtypes.ComplianceTypeInsufficientData {
		t.Errorf("compliance before the first evaluation = %s", got)
	}
	if r := details(); len(r) != 0 {
		t.Errorf("evaluation results before the first evaluation = %+v", r)
	}
	start := &configservice.StartConfigRulesEvaluationInput{ConfigRuleNames: []string{"ebs"}}
	_, err = c.StartConfigRulesEvaluation(ctx, start)
	requireCode(t, err, "LimitExceededException")
	_, err = c.StartConfigRulesEvaluation(ctx, &configservice.StartConfigRulesEvaluationInput{ConfigRuleNames: []string{"nope"}})
	requireCode(t, err, "NoSuchConfigRuleException")

	clock.Advance(testDelay)
	if got := complianceOf(t, c)["ebs"]; got != cfgtypes.ComplianceTypeNonCompliant {
		t.Errorf("compliance after the evaluation = %s", got)
	}
	if r := details(); len(r) != 1 || r[0].ComplianceType != cfgtypes.ComplianceTypeNonCompliant {
		t.Errorf("evaluation results = %+v", r)
	}

	// A fix shows one evaluation later.
	must[*ec2.EnableEbsEncryptionByDefaultOutput](t)(ec2.NewFromConfig(cfg).EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}))
	if got := complianceOf(t, c)["ebs"]; got != cfgtypes.ComplianceTypeNonCompliant {
		t.Errorf("compliance right after the fix = %s, want the last evaluation's", got)
	}
	clock.Advance(testDelay)
	if got := complianceOf(t, c)["ebs"]; got != cfgtypes.ComplianceTypeCompliant {
		t.Errorf("compliance an evaluation after the fix = %s", got)
	}
	must[*configservice.StartConfigRulesEvaluationOutput](t)(c.StartConfigRulesEvaluation(ctx, start))
	if got := complianceOf(t, c)["ebs"]; got != cfgtypes.ComplianceTypeCompliant {
		t.Errorf("compliance while re-evaluating = %s, want the last results", got)
	}
}

// TestConsistencyFlowLogs: delivery with a role written a moment ago fails
// with "Access error" until the role has propagated.
func TestConsistencyFlowLogs(t *testing.T) {
	t.Parallel()
	s, clock := consistentServer(t)
	cfg := memberConfig(s, demoWebProd, "us-east-1")
	role := createRole(t, iam.NewFromConfig(cfg), "FlowLogs", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	e := ec2.NewFromConfig(cfg)
	vpcs := must[*ec2.DescribeVpcsOutput](t)(e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	fl := must[*ec2.CreateFlowLogsOutput](t)(e.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{ResourceType: ec2types.FlowLogsResourceTypeVpc,
		ResourceIds: []string{aws.ToString(vpcs.Vpcs[0].VpcId)}, TrafficType: ec2types.TrafficTypeAll,
		LogGroupName: aws.String("flow"), DeliverLogsPermissionArn: aws.String(role)}))
	if len(fl.FlowLogIds) != 1 {
		t.Fatalf("CreateFlowLogs = %+v", fl)
	}
	status := func() ec2types.FlowLog {
		out := must[*ec2.DescribeFlowLogsOutput](t)(e.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{FlowLogIds: fl.FlowLogIds}))
		return out.FlowLogs[0]
	}
	if got := status(); aws.ToString(got.DeliverLogsStatus) != "FAILED" || aws.ToString(got.DeliverLogsErrorMessage) != "Access error" {
		t.Errorf("delivery right after creating the role = %s %q", aws.ToString(got.DeliverLogsStatus), aws.ToString(got.DeliverLogsErrorMessage))
	}
	clock.Advance(testDelay)
	if got := status(); aws.ToString(got.DeliverLogsStatus) != "SUCCESS" || got.DeliverLogsErrorMessage != nil {
		t.Errorf("delivery after the delay = %s %q", aws.ToString(got.DeliverLogsStatus), aws.ToString(got.DeliverLogsErrorMessage))
	}
}

// TestConsistencyFromEnvironment: New reads AWSSIM_CONSISTENCY_DELAY and
// AWSSIM_FAULTS unless told not to. Not parallel: it sets the environment.
func TestConsistencyFromEnvironment(t *testing.T) {
	t.Setenv(EnvConsistencyDelay, "3s")
	t.Setenv(EnvFaults, "organizations:ListRoots throttle=100%")
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if d := s.ConsistencyDelay(); d != 3*time.Second {
		t.Errorf("delay = %s, want 3s from the environment", d)
	}
	_, err = orgClient(s).ListRoots(ctx, &organizations.ListRootsInput{})
	requireCode(t, err, "TooManyRequestsException")

	off := newTestServer(t, Options{})
	if d := off.ConsistencyDelay(); d != 0 {
		t.Errorf("IgnoreEnvironment: delay = %s", d)
	}
	must[*organizations.ListRootsOutput](t)(orgClient(off).ListRoots(ctx, &organizations.ListRootsInput{}))
	neg, err := New(Options{ConsistencyDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { neg.Close() })
	if d := neg.ConsistencyDelay(); d != 0 {
		t.Errorf("negative ConsistencyDelay: delay %s, want off", d)
	}

	t.Setenv(EnvConsistencyDelay, "soon")
	if _, err := New(Options{}); err == nil || !strings.Contains(err.Error(), EnvConsistencyDelay) {
		t.Errorf("bad %s accepted: %v", EnvConsistencyDelay, err)
	}
}
