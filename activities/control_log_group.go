package activities

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// logGroupAPI is the part of the CloudWatch Logs client that manages the log
// groups CloudTrail delivers to and metric filters read.
type logGroupAPI interface {
	cloudwatchlogs.DescribeLogGroupsAPIClient
	CreateLogGroup(context.Context, *cloudwatchlogs.CreateLogGroupInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(context.Context, *cloudwatchlogs.PutRetentionPolicyInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
}

// logs:TagResource because CreateLogGroup tags the group.
var logGroupPermissions = []string{"logs:DescribeLogGroups", "logs:CreateLogGroup", "logs:TagResource", "logs:PutRetentionPolicy"}

// findLogGroup returns the named log group, nil when it does not exist.
func findLogGroup(ctx context.Context, api logGroupAPI, name string) (*logstypes.LogGroup, error) {
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(api, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range page.LogGroups {
			if aws.ToString(g.LogGroupName) == name {
				g := g
				return &g, nil
			}
		}
	}
	return nil, nil
}

// ensureLogGroup creates the group when missing and sets its retention when
// it differs (retentionDays 0 leaves retention alone).
func ensureLogGroup(ctx context.Context, api logGroupAPI, name string, retentionDays int, out *applied) error {
	g, err := findLogGroup(ctx, api, name)
	if err != nil {
		return err
	}
	if g == nil {
		if _, err := api.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: map[string]string{"managed-by": "orgguard"}}); err != nil && errorCode(err) != "ResourceAlreadyExistsException" {
			return err
		}
		out.call("logs:CreateLogGroup %s", name)
	}
	if retentionDays > 0 && (g == nil || int(aws.ToInt32(g.RetentionInDays)) != retentionDays) {
		if _, err := api.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(int32(retentionDays))}); err != nil {
			return err
		}
		out.call("logs:PutRetentionPolicy %s %d days", name, retentionDays)
	}
	return nil
}
