package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgguard/orgguard/workflows"
)

// ec2API is the part of the EC2 client the security-group controls use.
type ec2API interface {
	ec2.DescribeSecurityGroupsAPIClient
	RevokeSecurityGroupIngress(context.Context, *ec2.RevokeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupEgress(context.Context, *ec2.RevokeSecurityGroupEgressInput, ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error)
}

// Rule is one source of one permission of a security group: the unit that
// plans, approvals and revocations speak about, so that apply revokes exactly
// what was planned.
type Rule struct {
	Direction string `json:"direction"` // ingress | egress
	Protocol  string `json:"protocol"`  // "-1" = all
	FromPort  int32  `json:"from_port"`
	ToPort    int32  `json:"to_port"`
	Kind      string `json:"kind"` // cidr | ipv6 | prefix_list | group
	Source    string `json:"source"`
}

func (r Rule) String() string {
	proto := r.Protocol
	ports := fmt.Sprintf("%d-%d", r.FromPort, r.ToPort)
	if r.FromPort == r.ToPort {
		ports = fmt.Sprint(r.FromPort)
	}
	if proto == "-1" {
		proto, ports = "all", "all"
	}
	dir := "from"
	if r.Direction == "egress" {
		dir = "to"
	}
	return fmt.Sprintf("%s %s %s %s %s", r.Direction, proto, ports, dir, r.Source)
}

// rulesOf flattens a group's permissions into rules, sorted.
func rulesOf(sg ec2types.SecurityGroup) []Rule {
	var out []Rule
	add := func(dir string, perms []ec2types.IpPermission) {
		for _, p := range perms {
			base := Rule{Direction: dir, Protocol: aws.ToString(p.IpProtocol), FromPort: aws.ToInt32(p.FromPort), ToPort: aws.ToInt32(p.ToPort)}
			for _, r := range p.IpRanges {
				x := base
				x.Kind, x.Source = "cidr", aws.ToString(r.CidrIp)
				out = append(out, x)
			}
			for _, r := range p.Ipv6Ranges {
				x := base
				x.Kind, x.Source = "ipv6", aws.ToString(r.CidrIpv6)
				out = append(out, x)
			}
			for _, r := range p.PrefixListIds {
				x := base
				x.Kind, x.Source = "prefix_list", aws.ToString(r.PrefixListId)
				out = append(out, x)
			}
			for _, r := range p.UserIdGroupPairs {
				x := base
				x.Kind, x.Source = "group", aws.ToString(r.GroupId)
				out = append(out, x)
			}
		}
	}
	add("ingress", sg.IpPermissions)
	add("egress", sg.IpPermissionsEgress)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// permissions turns rules back into the API's shape.
func permissions(rules []Rule) []ec2types.IpPermission {
	out := make([]ec2types.IpPermission, 0, len(rules))
	for _, r := range rules {
		p := ec2types.IpPermission{IpProtocol: aws.String(r.Protocol)}
		if r.Protocol != "-1" {
			p.FromPort, p.ToPort = aws.Int32(r.FromPort), aws.Int32(r.ToPort)
		}
		switch r.Kind {
		case "cidr":
			p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(r.Source)}}
		case "ipv6":
			p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(r.Source)}}
		case "prefix_list":
			p.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: aws.String(r.Source)}}
		case "group":
			p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(r.Source)}}
		}
		out = append(out, p)
	}
	return out
}

// rulesParam decodes rules from a change's params (they went through JSON
// in workflow history).
func rulesParam(params map[string]any, key string) ([]Rule, error) {
	raw, err := json.Marshal(params[key])
	if err != nil {
		return nil, err
	}
	var rules []Rule
	if err := json.Unmarshal(raw, &rules); err != nil {
		return nil, fmt.Errorf("change parameter %s: %w", key, err)
	}
	return rules, nil
}

func rulesAny(rules []Rule) []any {
	out := make([]any, 0, len(rules))
	for _, r := range rules {
		b, _ := json.Marshal(r)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out = append(out, m)
	}
	return out
}

// defaultSGClosed: no VPC's default security group has any rule
// (CIS 5.4, FSBP EC2.2). Remediation revokes exactly the rules found.
type defaultSGClosed struct{}

func (defaultSGClosed) ec2(env Env) ec2API { return ec2.NewFromConfig(env.Config) }

func (c defaultSGClosed) groups(ctx context.Context, env Env, groupID string) ([]ec2types.SecurityGroup, error) {
	in := &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"default"}}}}
	if groupID != "" {
		in.Filters = append(in.Filters, ec2types.Filter{Name: aws.String("group-id"), Values: []string{groupID}})
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

func sgIDFromResource(resource string) string {
	if i := strings.LastIndex(resource, "/"); i >= 0 {
		return resource[i+1:]
	}
	return resource
}

func (c defaultSGClosed) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	groups, err := c.groups(ctx, env, sgIDFromResource(resource))
	if err != nil {
		return nil, err
	}
	var out []workflows.Finding
	for _, sg := range groups {
		id := aws.ToString(sg.GroupId)
		rules := rulesOf(sg)
		f := workflows.Finding{
			Resource: env.ARN("ec2", "security-group/"+id),
			Status:   workflows.StatusCompliant,
			Evidence: fmt.Sprintf("default security group %s of %s has no rules", id, aws.ToString(sg.VpcId)),
			Facts:    map[string]string{"group_id": id, "vpc_id": aws.ToString(sg.VpcId), "rules": fmt.Sprint(len(rules))},
		}
		if len(rules) > 0 {
			f.Status = workflows.StatusNonCompliant
			var ingress, egress int
			var diff strings.Builder
			for _, r := range rules {
				if r.Direction == "ingress" {
					ingress++
				} else {
					egress++
				}
				fmt.Fprintf(&diff, "- %s\n", r)
			}
			f.Evidence = fmt.Sprintf("default security group %s of %s has %d ingress and %d egress rule(s)", id, aws.ToString(sg.VpcId), ingress, egress)
			actions := []string{}
			if ingress > 0 {
				actions = append(actions, "ec2:RevokeSecurityGroupIngress")
			}
			if egress > 0 {
				actions = append(actions, "ec2:RevokeSecurityGroupEgress")
			}
			f.Change = &workflows.Change{
				Summary: fmt.Sprintf("revoke all %d rule(s) of default security group %s (%s)", len(rules), id, aws.ToString(sg.VpcId)),
				Diff:    fmt.Sprintf("security group %s (%s, %s, %s)\n%s", id, aws.ToString(sg.VpcId), env.AccountID, env.Region, diff.String()),
				Actions: actions,
				Params:  map[string]any{"group_id": id, "rules": rulesAny(rules)},
			}
		}
		out = append(out, f)
	}
	return out, nil
}

func (c defaultSGClosed) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	planned, err := rulesParam(f.Change.Params, "rules")
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	groupID, _ := f.Change.Params["group_id"].(string)
	groups, err := c.groups(ctx, env, groupID)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	var out workflows.ApplyOutput
	if len(groups) == 0 {
		return out, nil // the VPC and its default group are gone: nothing to do
	}
	current := map[string]bool{}
	for _, r := range rulesOf(groups[0]) {
		current[r.String()] = true
	}
	// Revoke exactly the planned rules that are still there: never more than
	// was planned (and approved), and nothing twice.
	var ingress, egress []Rule
	for _, r := range planned {
		if !current[r.String()] {
			continue
		}
		if r.Direction == "ingress" {
			ingress = append(ingress, r)
		} else {
			egress = append(egress, r)
		}
	}
	api := c.ec2(env)
	if len(ingress) > 0 {
		if _, err := api.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: permissions(ingress)}); err != nil {
			return out, err
		}
		out.Changed = true
		out.Calls = append(out.Calls, fmt.Sprintf("ec2:RevokeSecurityGroupIngress %s (%d rule(s))", groupID, len(ingress)))
	}
	if len(egress) > 0 {
		if _, err := api.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(groupID), IpPermissions: permissions(egress)}); err != nil {
			return out, err
		}
		out.Changed = true
		out.Calls = append(out.Calls, fmt.Sprintf("ec2:RevokeSecurityGroupEgress %s (%d rule(s))", groupID, len(egress)))
	}
	return out, nil
}

func (defaultSGClosed) Permissions() []string {
	return []string{"ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"}
}
