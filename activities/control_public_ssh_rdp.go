package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgguard/orgguard/workflows"
)

// noPublicSSHRDP: no security group admits the administration ports (22,
// 3389 by default) from anywhere (CIS 5.2/5.3, FSBP EC2.13/EC2.14).
// Remediation revokes exactly the world-open rules that reach those ports and
// leaves every other rule of the group alone.
type noPublicSSHRDP struct{}

func (noPublicSSHRDP) Permissions() []string {
	return []string{"ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress"}
}

func (noPublicSSHRDP) ec2(env Env) ec2API { return ec2.NewFromConfig(env.Config) }

func (c noPublicSSHRDP) groups(ctx context.Context, env Env, groupID string) ([]ec2types.SecurityGroup, error) {
	in := &ec2.DescribeSecurityGroupsInput{}
	if groupID != "" {
		in.Filters = []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{groupID}}}
	}
	var out []ec2types.SecurityGroup
	p := ec2.NewDescribeSecurityGroupsPaginator(c.ec2(env), in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.SecurityGroups...)
	}
	return out, nil
}

// openRules returns the ingress rules of sg that admit one of ports from one
// of the "anywhere" cidrs, with the ports each reaches.
func openRules(sg ec2types.SecurityGroup, ports []int32, cidrs []string) ([]Rule, map[string][]int32) {
	var out []Rule
	reach := map[string][]int32{}
	for _, r := range rulesOf(sg) {
		if r.Direction != "ingress" || (r.Kind != "cidr" && r.Kind != "ipv6") || !slices.Contains(cidrs, r.Source) {
			continue
		}
		var hit []int32
		for _, p := range ports {
			switch r.Protocol {
			case "-1":
				hit = append(hit, p)
			case "tcp", "6":
				if r.FromPort <= p && p <= r.ToPort {
					hit = append(hit, p)
				}
			}
		}
		if len(hit) > 0 {
			out = append(out, r)
			reach[r.String()] = hit
		}
	}
	return out, reach
}

func (c noPublicSSHRDP) config(env Env) ([]int32, []string) {
	s := controlSettings(env)
	var ports []int32
	for _, p := range s.nums("ports") {
		ports = append(ports, int32(p))
	}
	return ports, s.strs("cidrs")
}

func (c noPublicSSHRDP) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	groups, err := c.groups(ctx, env, sgIDFromResource(resource))
	if err != nil {
		return nil, err
	}
	ports, cidrs := c.config(env)
	portList := fmt.Sprint(ports)
	var out []workflows.Finding
	for _, sg := range groups {
		id, vpc := aws.ToString(sg.GroupId), aws.ToString(sg.VpcId)
		res := env.ARN("ec2", "security-group/"+id)
		open, reach := openRules(sg, ports, cidrs)
		facts := map[string]string{"group_id": id, "group_name": aws.ToString(sg.GroupName), "vpc_id": vpc, "open_rules": fmt.Sprint(len(open))}
		if len(open) == 0 {
			out = append(out, compliant(res, fmt.Sprintf("security group %s (%s) admits none of ports %s from anywhere", id, aws.ToString(sg.GroupName), portList), facts))
			continue
		}
		var diff, what strings.Builder
		for i, r := range open {
			fmt.Fprintf(&diff, "- %s\n", r)
			if i > 0 {
				what.WriteString(", ")
			}
			fmt.Fprintf(&what, "%s (reaches %v)", r, reach[r.String()])
		}
		out = append(out, nonCompliant(res,
			fmt.Sprintf("security group %s (%s, %s) admits administration ports from anywhere: %s", id, aws.ToString(sg.GroupName), vpc, what.String()),
			facts, &workflows.Change{
				Summary: fmt.Sprintf("revoke %d world-open ingress rule(s) to ports %s of security group %s (%s)", len(open), portList, id, aws.ToString(sg.GroupName)),
				Diff:    fmt.Sprintf("security group %s (%s, %s, %s, %s)\n%s", id, aws.ToString(sg.GroupName), vpc, env.AccountID, env.Region, diff.String()),
				Actions: []string{"ec2:RevokeSecurityGroupIngress"},
				Params:  map[string]any{"group_id": id, "rules": rulesAny(open)},
			}))
	}
	return out, nil
}

func (c noPublicSSHRDP) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	planned, err := rulesParam(f.Change.Params, "rules")
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	groupID := paramString(f.Change, "group_id")
	groups, err := c.groups(ctx, env, groupID)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	var out applied
	if len(groups) == 0 {
		return out.ApplyOutput, nil // the group is gone
	}
	current := map[string]bool{}
	for _, r := range rulesOf(groups[0]) {
		current[r.String()] = true
	}
	var revoke []Rule
	for _, r := range planned {
		if r.Direction == "ingress" && current[r.String()] {
			revoke = append(revoke, r)
		}
	}
	if len(revoke) == 0 {
		return out.ApplyOutput, nil
	}
	if _, err := c.ec2(env).RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: permissions(revoke)}); err != nil {
		return out.ApplyOutput, err
	}
	out.call("ec2:RevokeSecurityGroupIngress %s (%d rule(s))", groupID, len(revoke))
	// Only ingress was touched: egress may change without blocking a rollback.
	out.Undo = sgUndoChange(env, fmt.Sprintf("security group %s (%s)", groupID, aws.ToString(groups[0].GroupName)),
		groupID, []string{"ingress"}, rulesOf(groups[0]), revoke)
	return out.ApplyOutput, nil
}

func (c noPublicSSHRDP) PlanUndo(ctx context.Context, env Env, _ string, undo workflows.Change) (string, error) {
	return planSGUndo(ctx, c.ec2(env), undo)
}

func (c noPublicSSHRDP) Undo(ctx context.Context, env Env, _ string, undo workflows.Change) (workflows.ApplyOutput, error) {
	return undoSG(ctx, c.ec2(env), undo)
}
