package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	AuthorizeSecurityGroupIngress(context.Context, *ec2.AuthorizeSecurityGroupIngressInput, ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	AuthorizeSecurityGroupEgress(context.Context, *ec2.AuthorizeSecurityGroupEgressInput, ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupEgressOutput, error)
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
	before := rulesOf(groups[0])
	current := map[string]bool{}
	for _, r := range before {
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
	if out.Changed {
		out.Undo = sgUndoChange(env, fmt.Sprintf("default security group %s (%s)", groupID, aws.ToString(groups[0].VpcId)),
			groupID, []string{"ingress", "egress"}, before, append(ingress, egress...))
	}
	return out, nil
}

func (c defaultSGClosed) PlanUndo(ctx context.Context, env Env, _ string, undo workflows.Change) (string, error) {
	return planSGUndo(ctx, c.ec2(env), undo)
}

func (c defaultSGClosed) Undo(ctx context.Context, env Env, _ string, undo workflows.Change) (workflows.ApplyOutput, error) {
	return undoSG(ctx, c.ec2(env), undo)
}

func (defaultSGClosed) Permissions() []string {
	return []string{"ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
		"ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"}
}

// sgUndoChange is the undo of revoking rules from a security group: authorize
// them again. It records the group's rules in the directions orgguard
// touched as apply left them (before minus revoked), so that a rollback
// refuses once anyone changed them since.
func sgUndoChange(env Env, group, groupID string, dirs []string, before, revoked []Rule) *workflows.Change {
	gone := map[string]bool{}
	for _, r := range revoked {
		gone[r.String()] = true
	}
	var left []Rule
	for _, r := range before {
		if slices.Contains(dirs, r.Direction) && !gone[r.String()] {
			left = append(left, r)
		}
	}
	revoked = slices.Clone(revoked)
	sort.Slice(revoked, func(i, j int) bool { return revoked[i].String() < revoked[j].String() })
	var diff strings.Builder
	fmt.Fprintf(&diff, "%s (%s, %s)\n", group, env.AccountID, env.Region)
	var actions []string
	for _, r := range revoked {
		fmt.Fprintf(&diff, "+ %s\n", r)
		actions = append(actions, sgAuthorizeAction(r.Direction))
	}
	return &workflows.Change{
		Summary: fmt.Sprintf("restore the %d rule(s) orgguard revoked from %s", len(revoked), group),
		Diff:    diff.String(),
		Actions: uniq(actions),
		Params:  map[string]any{"group_id": groupID, "directions": anyStrings(dirs), "rules": rulesAny(revoked), "left": rulesAny(left)},
	}
}

func sgAuthorizeAction(direction string) string {
	if direction == "egress" {
		return "ec2:AuthorizeSecurityGroupEgress"
	}
	return "ec2:AuthorizeSecurityGroupIngress"
}

// sgUndoState is a security group against the undo of a revocation.
type sgUndoState struct {
	groupID string
	restore []Rule
	// extra are rules that are neither left by apply nor restorable, missing
	// rules apply left that are gone, todo the restorable rules not there.
	extra, missing, todo []Rule
	gone                 bool
}

func readSGUndo(ctx context.Context, api ec2API, undo workflows.Change) (sgUndoState, error) {
	st := sgUndoState{groupID: paramString(&undo, "group_id")}
	restore, err := rulesParam(undo.Params, "rules")
	if err != nil {
		return st, err
	}
	left, err := rulesParam(undo.Params, "left")
	if err != nil {
		return st, err
	}
	st.restore = restore
	dirs := paramStrings(&undo, "directions")
	var groups []ec2types.SecurityGroup
	p := ec2.NewDescribeSecurityGroupsPaginator(api, &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{st.groupID}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return st, err
		}
		groups = append(groups, page.SecurityGroups...)
	}
	if len(groups) == 0 {
		st.gone = true
		return st, nil
	}
	now := rulesOf(groups[0])
	current := map[string]bool{}
	for _, r := range now {
		if slices.Contains(dirs, r.Direction) {
			current[r.String()] = true
		}
	}
	known := map[string]bool{}
	for _, r := range left {
		known[r.String()] = true
		if !current[r.String()] {
			st.missing = append(st.missing, r)
		}
	}
	for _, r := range restore {
		known[r.String()] = true
		if !current[r.String()] {
			st.todo = append(st.todo, r)
		}
	}
	for _, r := range now {
		if current[r.String()] && !known[r.String()] {
			st.extra = append(st.extra, r)
		}
	}
	return st, nil
}

// drift says how the group differs from what apply left, "" when it does
// not (restored rules aside).
func (st sgUndoState) drift() string {
	if st.gone {
		return fmt.Sprintf("security group %s no longer exists", st.groupID)
	}
	var what []string
	for _, r := range st.extra {
		what = append(what, "added "+r.String())
	}
	for _, r := range st.missing {
		what = append(what, "removed "+r.String())
	}
	if len(what) == 0 {
		return ""
	}
	return fmt.Sprintf("security group %s changed since orgguard left it: %s", st.groupID, strings.Join(what, "; "))
}

func planSGUndo(ctx context.Context, api ec2API, undo workflows.Change) (string, error) {
	st, err := readSGUndo(ctx, api, undo)
	if err != nil {
		return "", err
	}
	if why := st.drift(); why != "" {
		return why, nil
	}
	if len(st.todo) < len(st.restore) {
		var back []string
		for _, r := range st.restore {
			if !slices.ContainsFunc(st.todo, func(t Rule) bool { return t.String() == r.String() }) {
				back = append(back, r.String())
			}
		}
		return fmt.Sprintf("security group %s changed since orgguard left it: %s already back", st.groupID, strings.Join(back, "; ")), nil
	}
	return "", nil
}

// undoSG authorizes the revoked rules that are not back yet; a group whose
// other rules changed since apply is refused.
func undoSG(ctx context.Context, api ec2API, undo workflows.Change) (workflows.ApplyOutput, error) {
	var out applied
	st, err := readSGUndo(ctx, api, undo)
	if err != nil {
		return out.ApplyOutput, err
	}
	if why := st.drift(); why != "" {
		return out.ApplyOutput, refuse("%s", why)
	}
	var ingress, egress []Rule
	for _, r := range st.todo {
		if r.Direction == "egress" {
			egress = append(egress, r)
		} else {
			ingress = append(ingress, r)
		}
	}
	if len(ingress) > 0 {
		if _, err := api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(st.groupID), IpPermissions: permissions(ingress)}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("ec2:AuthorizeSecurityGroupIngress %s (%d rule(s))", st.groupID, len(ingress))
	}
	if len(egress) > 0 {
		if _, err := api.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(st.groupID), IpPermissions: permissions(egress)}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("ec2:AuthorizeSecurityGroupEgress %s (%d rule(s))", st.groupID, len(egress))
	}
	return out.ApplyOutput, nil
}
