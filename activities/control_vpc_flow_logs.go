package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/orgguard/orgguard/workflows"
)

// flowLogsAPI is the part of the EC2 client the flow-log control uses.
type flowLogsAPI interface {
	ec2.DescribeVpcsAPIClient
	ec2.DescribeFlowLogsAPIClient
	CreateFlowLogs(context.Context, *ec2.CreateFlowLogsInput, ...func(*ec2.Options)) (*ec2.CreateFlowLogsOutput, error)
}

// flowLogsRole delivers flow logs to CloudWatch Logs.
var flowLogsRole = serviceRole{
	Name: "orgguard-vpc-flow-logs", Service: "vpc-flow-logs.amazonaws.com",
	Actions: []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"},
}

// vpcFlowLogs: every VPC has a flow log capturing at least rejected traffic
// (CIS 3.9, FSBP EC2.6). Remediation creates one with the idempotency key as
// ClientToken, so a retried apply never creates two.
type vpcFlowLogs struct{}

func (vpcFlowLogs) Permissions() []string {
	return append([]string{"ec2:DescribeVpcs", "ec2:DescribeFlowLogs", "ec2:CreateFlowLogs"}, rolePermissions...)
}

func (vpcFlowLogs) ec2(env Env) flowLogsAPI { return ec2.NewFromConfig(env.Config) }

func (c vpcFlowLogs) vpcs(ctx context.Context, env Env, id string) ([]ec2types.Vpc, error) {
	in := &ec2.DescribeVpcsInput{}
	if id != "" {
		in.Filters = []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{id}}}
	}
	var out []ec2types.Vpc
	p := ec2.NewDescribeVpcsPaginator(c.ec2(env), in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Vpcs...)
	}
	return out, nil
}

// flowLogs returns the flow logs per VPC id.
func (c vpcFlowLogs) flowLogs(ctx context.Context, env Env, ids []string) (map[string][]ec2types.FlowLog, error) {
	out := map[string][]ec2types.FlowLog{}
	if len(ids) == 0 {
		return out, nil
	}
	p := ec2.NewDescribeFlowLogsPaginator(c.ec2(env), &ec2.DescribeFlowLogsInput{
		Filter: []ec2types.Filter{{Name: aws.String("resource-id"), Values: ids}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, f := range page.FlowLogs {
			out[aws.ToString(f.ResourceId)] = append(out[aws.ToString(f.ResourceId)], f)
		}
	}
	return out, nil
}

// capturesRejects reports whether one of the flow logs records rejected traffic.
func capturesRejects(fls []ec2types.FlowLog) bool {
	for _, f := range fls {
		if f.TrafficType == ec2types.TrafficTypeReject || f.TrafficType == ec2types.TrafficTypeAll {
			return true
		}
	}
	return false
}

func (c vpcFlowLogs) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	id := ""
	if resource != "" {
		id = sgIDFromResource(resource)
	}
	vpcs, err := c.vpcs(ctx, env, id)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, v := range vpcs {
		ids = append(ids, aws.ToString(v.VpcId))
	}
	logs, err := c.flowLogs(ctx, env, ids)
	if err != nil {
		return nil, err
	}
	s := controlSettings(env)
	traffic, destType, group := s.str("traffic_type"), s.str("log_destination_type"), s.str("log_group_name")
	var out []workflows.Finding
	for _, v := range vpcs {
		vid := aws.ToString(v.VpcId)
		res := env.ARN("ec2", "vpc/"+vid)
		fls := logs[vid]
		var kinds []string
		for _, f := range fls {
			kinds = append(kinds, string(f.TrafficType)+" to "+aws.ToString(f.LogDestination))
		}
		facts := map[string]string{"vpc_id": vid, "flow_logs": fmt.Sprint(len(fls)), "default": fmt.Sprint(aws.ToBool(v.IsDefault))}
		if capturesRejects(fls) {
			out = append(out, compliant(res, fmt.Sprintf("VPC %s has flow logs: %s", vid, strings.Join(kinds, ", ")), facts))
			continue
		}
		ev := fmt.Sprintf("VPC %s (%s) has no flow log capturing rejected traffic", vid, aws.ToString(v.CidrBlock))
		if len(fls) > 0 {
			ev += " (only " + strings.Join(kinds, ", ") + ")"
		}
		dest := group
		if destType == "s3" {
			dest = "s3"
		}
		out = append(out, nonCompliant(res, ev, facts, &workflows.Change{
			Summary: fmt.Sprintf("create a %s flow log for VPC %s to %s %s", traffic, vid, destType, dest),
			Diff:    fmt.Sprintf("VPC %s (%s, %s)\n+ flow log: traffic %s, destination %s %s, role %s\n", vid, env.AccountID, env.Region, traffic, destType, dest, flowLogsRole.Name),
			Actions: []string{"ec2:CreateFlowLogs", "iam:CreateRole", "iam:PutRolePolicy", "iam:PassRole"},
			Params:  map[string]any{"vpc_id": vid, "traffic_type": traffic, "log_destination_type": destType, "log_group_name": group},
		}))
	}
	return out, nil
}

func (c vpcFlowLogs) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	vid := paramString(f.Change, "vpc_id")
	var out applied
	logs, err := c.flowLogs(ctx, env, []string{vid})
	if err != nil {
		return out.ApplyOutput, err
	}
	if capturesRejects(logs[vid]) {
		return out.ApplyOutput, nil
	}
	destType := paramString(f.Change, "log_destination_type")
	in := &ec2.CreateFlowLogsInput{
		ResourceIds: []string{vid}, ResourceType: ec2types.FlowLogsResourceTypeVpc,
		TrafficType:        ec2types.TrafficType(paramString(f.Change, "traffic_type")),
		LogDestinationType: ec2types.LogDestinationType(destType),
	}
	if env.IdempotencyKey != "" {
		in.ClientToken = aws.String(env.IdempotencyKey)
	}
	if destType == string(ec2types.LogDestinationTypeCloudWatchLogs) {
		created, err := env.Roles.ensure(ctx, iam.NewFromConfig(env.Config), env, flowLogsRole)
		if err != nil {
			return out.ApplyOutput, err
		}
		if created {
			out.call("iam:CreateRole %s", flowLogsRole.Name)
		}
		in.LogGroupName = aws.String(paramString(f.Change, "log_group_name"))
		in.DeliverLogsPermissionArn = aws.String(flowLogsRole.arn(env))
	} else {
		return out.ApplyOutput, fmt.Errorf("flow logs to %s: only cloud-watch-logs is supported by orgguard's remediation; create the flow log by hand", destType)
	}
	res, err := c.ec2(env).CreateFlowLogs(ctx, in)
	if err != nil {
		return out.ApplyOutput, err
	}
	if len(res.Unsuccessful) > 0 {
		u := res.Unsuccessful[0]
		if u.Error != nil && aws.ToString(u.Error.Code) != "FlowLogAlreadyExists" {
			return out.ApplyOutput, fmt.Errorf("create flow log for %s: %s: %s", vid, aws.ToString(u.Error.Code), aws.ToString(u.Error.Message))
		}
	}
	if len(res.FlowLogIds) > 0 {
		out.call("ec2:CreateFlowLogs %s (%s)", vid, strings.Join(res.FlowLogIds, ","))
	}
	return out.ApplyOutput, nil
}
