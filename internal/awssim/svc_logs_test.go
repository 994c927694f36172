package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func TestLogsGroupsAndMetricFilters(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 2})
	c := cloudwatchlogs.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))
	for _, n := range []string{"cloudtrail/org", "cloudtrail/other", "vpc-flow-logs"} {
		must[*cloudwatchlogs.CreateLogGroupOutput](t)(c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(n)}))
	}
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("vpc-flow-logs")})
	requireCode(t, err, "ResourceAlreadyExistsException")

	var names []string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c, &cloudwatchlogs.DescribeLogGroupsInput{})
	for p.HasMorePages() {
		for _, g := range must[*cloudwatchlogs.DescribeLogGroupsOutput](t)(p.NextPage(ctx)).LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
			if aws.ToString(g.Arn) != aws.ToString(g.LogGroupArn)+":*" || g.CreationTime == nil {
				t.Errorf("group = %+v", g)
			}
		}
	}
	if len(names) != 3 {
		t.Errorf("groups = %v", names)
	}
	pre := must[*cloudwatchlogs.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("cloudtrail/")}))
	if len(pre.LogGroups) != 2 {
		t.Errorf("prefix listing = %+v", pre.LogGroups)
	}

	root := `{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`
	mt := []cwltypes.MetricTransformation{{MetricName: aws.String("RootAccountUsage"), MetricNamespace: aws.String("CISBenchmark"), MetricValue: aws.String("1")}}
	_, err = c.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("nope"), FilterName: aws.String("root"),
		FilterPattern: aws.String(root), MetricTransformations: []cwltypes.MetricTransformation{{MetricName: aws.String("RootAccountUsage"), MetricNamespace: aws.String("CISBenchmark"), MetricValue: aws.String("1")}}})
	requireCode(t, err, "ResourceNotFoundException")
	must[*cloudwatchlogs.PutMetricFilterOutput](t)(c.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("cloudtrail/org"),
		FilterName: aws.String("root"), FilterPattern: aws.String(root), MetricTransformations: mt}))
	mf := must[*cloudwatchlogs.DescribeMetricFiltersOutput](t)(c.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{
		MetricName: aws.String("RootAccountUsage"), MetricNamespace: aws.String("CISBenchmark")}))
	if len(mf.MetricFilters) != 1 || aws.ToString(mf.MetricFilters[0].FilterPattern) != root || aws.ToString(mf.MetricFilters[0].LogGroupName) != "cloudtrail/org" ||
		aws.ToString(mf.MetricFilters[0].MetricTransformations[0].MetricValue) != "1" {
		t.Errorf("metric filters = %+v", mf.MetricFilters)
	}
	_, err = c.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{MetricName: aws.String("RootAccountUsage")})
	requireCode(t, err, "InvalidParameterException")
	g := must[*cloudwatchlogs.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("cloudtrail/org")}))
	if aws.ToInt32(g.LogGroups[0].MetricFilterCount) != 1 {
		t.Errorf("metricFilterCount = %d", aws.ToInt32(g.LogGroups[0].MetricFilterCount))
	}
}

func TestLogsRetentionPolicy(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := cloudwatchlogs.NewFromConfig(memberConfig(s, demoWebProd, "eu-west-1"))
	must[*cloudwatchlogs.CreateLogGroupOutput](t)(c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("trail")}))
	retention := func() *int32 {
		t.Helper()
		out := must[*cloudwatchlogs.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("trail")}))
		if len(out.LogGroups) != 1 {
			t.Fatalf("groups = %+v", out.LogGroups)
		}
		return out.LogGroups[0].RetentionInDays
	}
	if r := retention(); r != nil {
		t.Errorf("new group retention = %d, want none", *r)
	}
	must[*cloudwatchlogs.PutRetentionPolicyOutput](t)(c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("trail"), RetentionInDays: aws.Int32(365)}))
	if r := aws.ToInt32(retention()); r != 365 {
		t.Errorf("retention = %d, want 365", r)
	}
	_, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("trail"), RetentionInDays: aws.Int32(2)})
	requireCode(t, err, "InvalidParameterException")
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("nope"), RetentionInDays: aws.Int32(30)})
	requireCode(t, err, "ResourceNotFoundException")
	must[*cloudwatchlogs.DeleteRetentionPolicyOutput](t)(c.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("trail")}))
	if r := retention(); r != nil {
		t.Errorf("retention after delete = %d, want none", *r)
	}
	_, err = c.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("nope")})
	requireCode(t, err, "ResourceNotFoundException")
}
