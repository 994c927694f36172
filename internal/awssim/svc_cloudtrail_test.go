package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

const trailBucketPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::demo-org-cloudtrail-logs-100000000002"},{"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::demo-org-cloudtrail-logs-100000000002/AWSLogs/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}`

func TestCloudTrailOrganizationTrail(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cfg := mgmtConfig(s, "us-east-1")
	c := cloudtrail.NewFromConfig(cfg)

	_, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), S3BucketName: aws.String("no-such-bucket-anywhere")})
	requireCode(t, err, "S3BucketDoesNotExistException")
	_, err = c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), S3BucketName: aws.String(demoTrailBucket)})
	requireCode(t, err, "InsufficientS3BucketPolicyException")
	must[*s3.PutBucketPolicyOutput](t)(s3.NewFromConfig(memberConfig(s, demoLogArchive, "us-east-1")).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{
		Bucket: aws.String(demoTrailBucket), Policy: aws.String(trailBucketPolicy)}))

	key := must[*kms.CreateKeyOutput](t)(kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("trail")}))
	must[*cloudwatchlogs.CreateLogGroupOutput](t)(cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("org-trail")}))
	role := createRole(t, iam.NewFromConfig(cfg), "CloudTrailToLogs", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)

	_, err = c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), S3BucketName: aws.String(demoTrailBucket), KmsKeyId: aws.String("alias/nope")})
	requireCode(t, err, "KmsKeyNotFoundException")
	out := must[*cloudtrail.CreateTrailOutput](t)(c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String("org-trail"), S3BucketName: aws.String(demoTrailBucket), IsMultiRegionTrail: aws.Bool(true),
		IsOrganizationTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true), KmsKeyId: key.KeyMetadata.KeyId,
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:100000000001:log-group:org-trail:*"), CloudWatchLogsRoleArn: aws.String(role),
	}))
	if aws.ToString(out.TrailARN) != "arn:aws:cloudtrail:us-east-1:100000000001:trail/org-trail" || !aws.ToBool(out.IsOrganizationTrail) ||
		aws.ToString(out.KmsKeyId) != aws.ToString(key.KeyMetadata.Arn) || !aws.ToBool(out.LogFileValidationEnabled) {
		t.Errorf("CreateTrail = %+v", out)
	}
	_, err = c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), S3BucketName: aws.String(demoTrailBucket)})
	requireCode(t, err, "TrailAlreadyExistsException")
	_, err = cloudtrail.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1")).CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String("x-trail"), S3BucketName: aws.String(demoTrailBucket), IsOrganizationTrail: aws.Bool(true)})
	requireCode(t, err, "NotOrganizationMasterAccountException")

	// Visible everywhere: as a shadow trail in other regions and in members.
	eu := cloudtrail.NewFromConfig(mgmtConfig(s, "eu-west-1"))
	shadow := must[*cloudtrail.DescribeTrailsOutput](t)(eu.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}))
	if len(shadow.TrailList) != 1 || aws.ToString(shadow.TrailList[0].HomeRegion) != "us-east-1" {
		t.Errorf("eu-west-1 trails = %+v", shadow.TrailList)
	}
	none := must[*cloudtrail.DescribeTrailsOutput](t)(eu.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)}))
	if len(none.TrailList) != 0 {
		t.Errorf("without shadow trails = %+v", none.TrailList)
	}
	member := cloudtrail.NewFromConfig(memberConfig(s, demoWebProd, "eu-west-1"))
	mt := must[*cloudtrail.DescribeTrailsOutput](t)(member.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}))
	if len(mt.TrailList) != 1 || !aws.ToBool(mt.TrailList[0].IsOrganizationTrail) {
		t.Errorf("member trails = %+v", mt.TrailList)
	}
	_, err = member.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: out.TrailARN})
	requireCode(t, err, "OperationNotPermittedException")

	st := must[*cloudtrail.GetTrailStatusOutput](t)(c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("org-trail")}))
	if aws.ToBool(st.IsLogging) {
		t.Error("logging before StartLogging")
	}
	_, err = eu.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: out.TrailARN})
	requireCode(t, err, "InvalidHomeRegionException")
	must[*cloudtrail.StartLoggingOutput](t)(c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("org-trail")}))
	st = must[*cloudtrail.GetTrailStatusOutput](t)(member.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: out.TrailARN}))
	if !aws.ToBool(st.IsLogging) || st.StartLoggingTime == nil {
		t.Errorf("status = %+v", st)
	}
	// The organization trail makes CLOUD_TRAIL_ENABLED compliant in members.
	mc := setupConfig(t, memberConfig(s, demoWebProd, "eu-west-1"))
	must[*configservice.PutConfigRuleOutput](t)(mc.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &cfgtypes.ConfigRule{
		ConfigRuleName: aws.String("trail"), Source: &cfgtypes.Source{Owner: cfgtypes.OwnerAws, SourceIdentifier: aws.String("MULTI_REGION_CLOUD_TRAIL_ENABLED")}}}))
	if got := complianceOf(t, mc)["trail"]; got != cfgtypes.ComplianceTypeCompliant {
		t.Errorf("member trail compliance = %s", got)
	}
	_, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("nope-trail")})
	requireCode(t, err, "TrailNotFoundException")

	sel := must[*cloudtrail.GetEventSelectorsOutput](t)(c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("org-trail")}))
	if len(sel.EventSelectors) != 1 || sel.EventSelectors[0].ReadWriteType != cttypes.ReadWriteTypeAll || !aws.ToBool(sel.EventSelectors[0].IncludeManagementEvents) {
		t.Errorf("default selectors = %+v", sel.EventSelectors)
	}
	must[*cloudtrail.PutEventSelectorsOutput](t)(c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("org-trail"),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true),
			DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}}}}}))
	sel = must[*cloudtrail.GetEventSelectorsOutput](t)(c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("org-trail")}))
	if len(sel.EventSelectors) != 1 || sel.EventSelectors[0].ReadWriteType != cttypes.ReadWriteTypeWriteOnly || len(sel.EventSelectors[0].DataResources) != 1 {
		t.Errorf("selectors = %+v", sel.EventSelectors)
	}

	_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("org-trail"), KmsKeyId: aws.String("alias/nope")})
	requireCode(t, err, "KmsKeyNotFoundException")
	up := must[*cloudtrail.UpdateTrailOutput](t)(c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("org-trail"), EnableLogFileValidation: aws.Bool(false)}))
	if aws.ToBool(up.LogFileValidationEnabled) || aws.ToString(up.KmsKeyId) == "" {
		t.Errorf("UpdateTrail = %+v", up)
	}
	must[*cloudtrail.StopLoggingOutput](t)(c.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("org-trail")}))
	st = must[*cloudtrail.GetTrailStatusOutput](t)(c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("org-trail")}))
	if aws.ToBool(st.IsLogging) || st.StopLoggingTime == nil {
		t.Errorf("status after stop = %+v", st)
	}

	must[*cloudtrail.DeleteTrailOutput](t)(c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("org-trail")}))
	gone := must[*cloudtrail.DescribeTrailsOutput](t)(member.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}))
	if len(gone.TrailList) != 0 {
		t.Errorf("trails after delete = %+v", gone.TrailList)
	}
}

// TestRootActivityAlarmControl walks the CIS root-activity guardrail across
// services: trail to CloudWatch Logs, metric filter, alarm to SNS, checked by
// Security Hub's CloudWatch.1 (CIS 1.2.0 control 3.3).
func TestRootActivityAlarmControl(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cfg := mgmtConfig(s, "us-east-1")
	sh := securityhub.NewFromConfig(cfg)
	must[*securityhub.EnableSecurityHubOutput](t)(sh.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}))
	status := func() shtypes.ComplianceStatus {
		out := must[*securityhub.GetFindingsOutput](t)(sh.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
			ComplianceSecurityControlId: []shtypes.StringFilter{{Value: aws.String("CloudWatch.1"), Comparison: shtypes.StringFilterComparisonEquals}}}}))
		if len(out.Findings) != 1 {
			t.Fatalf("CloudWatch.1 findings = %+v", out.Findings)
		}
		return out.Findings[0].Compliance.Status
	}
	if got := status(); got != shtypes.ComplianceStatusFailed {
		t.Fatalf("before = %s", got)
	}

	must[*s3.PutBucketPolicyOutput](t)(s3.NewFromConfig(memberConfig(s, demoLogArchive, "us-east-1")).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{
		Bucket: aws.String(demoTrailBucket), Policy: aws.String(trailBucketPolicy)}))
	logs := cloudwatchlogs.NewFromConfig(cfg)
	must[*cloudwatchlogs.CreateLogGroupOutput](t)(logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("trail")}))
	role := createRole(t, iam.NewFromConfig(cfg), "CloudTrailToLogs", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	ct := cloudtrail.NewFromConfig(cfg)
	must[*cloudtrail.CreateTrailOutput](t)(ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String(demoTrailBucket),
		IsMultiRegionTrail: aws.Bool(true), CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:100000000001:log-group:trail:*"), CloudWatchLogsRoleArn: aws.String(role)}))
	must[*cloudtrail.StartLoggingOutput](t)(ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("main")}))
	must[*cloudwatchlogs.PutMetricFilterOutput](t)(logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("trail"),
		FilterName: aws.String("root-activity"), FilterPattern: aws.String(`{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`),
		MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String("RootAccountUsage"), MetricNamespace: aws.String("CISBenchmark"), MetricValue: aws.String("1")}}}))
	if got := status(); got != shtypes.ComplianceStatusFailed {
		t.Errorf("without an alarm = %s", got)
	}
	must[*cloudwatch.PutMetricAlarmOutput](t)(cloudwatch.NewFromConfig(cfg).PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("root-activity"), MetricName: aws.String("RootAccountUsage"), Namespace: aws.String("CISBenchmark"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, AlarmActions: []string{"arn:aws:sns:us-east-1:100000000001:security-alerts"}}))
	if got := status(); got != shtypes.ComplianceStatusPassed {
		t.Errorf("with filter and alarm = %s", got)
	}
}
