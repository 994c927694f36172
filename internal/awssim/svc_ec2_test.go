package awssim

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const webProd = "100000000007"

func ec2Client(s *Server, account, region string) *ec2.Client {
	return ec2.NewFromConfig(memberConfig(s, account, region))
}

func allGroups(t *testing.T, c *ec2.Client, in *ec2.DescribeSecurityGroupsInput) []types.SecurityGroup {
	t.Helper()
	var out []types.SecurityGroup
	p := ec2.NewDescribeSecurityGroupsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.SecurityGroups...)
	}
	return out
}

func TestEC2DescribeRegionsAndVpcs(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := ec2Client(s, webProd, "us-east-1")
	regions := must[*ec2.DescribeRegionsOutput](t)(c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}))
	var names []string
	for _, r := range regions.Regions {
		names = append(names, aws.ToString(r.RegionName))
	}
	if !slices.Equal(names, []string{"us-east-1", "eu-west-1"}) {
		t.Errorf("regions = %v", names)
	}
	vpcs := must[*ec2.DescribeVpcsOutput](t)(c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	if len(vpcs.Vpcs) != 2 {
		t.Fatalf("got %d VPCs, want 2", len(vpcs.Vpcs))
	}
	def := must[*ec2.DescribeVpcsOutput](t)(c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{
		Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}},
	}))
	if len(def.Vpcs) != 1 || !aws.ToBool(def.Vpcs[0].IsDefault) || aws.ToString(def.Vpcs[0].CidrBlock) != "172.31.0.0/16" {
		t.Errorf("default VPC = %+v", def.Vpcs)
	}
	_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-doesnotexist"}})
	requireCode(t, err, "InvalidVpcID.NotFound")

	// Each region has its own state.
	eu := ec2Client(s, webProd, "eu-west-1")
	euVpcs := must[*ec2.DescribeVpcsOutput](t)(eu.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	if len(euVpcs.Vpcs) != 1 {
		t.Errorf("eu-west-1 has %d VPCs, want only the default", len(euVpcs.Vpcs))
	}
}

func TestEC2DescribeSecurityGroups(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	c := ec2Client(s, webProd, "us-east-1")

	all := allGroups(t, c, &ec2.DescribeSecurityGroupsInput{})
	if len(all) != 4 {
		t.Fatalf("got %d groups, want 4 (two default, bastion, web)", len(all))
	}
	defaults := allGroups(t, c, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"default"}}}})
	if len(defaults) != 2 {
		t.Fatalf("got %d default groups, want 2", len(defaults))
	}
	for _, g := range defaults {
		// AWS creates default groups with allow-from-self ingress and
		// allow-all egress: that is the drift.
		if len(g.IpPermissions) != 1 || aws.ToString(g.IpPermissions[0].IpProtocol) != "-1" ||
			len(g.IpPermissions[0].UserIdGroupPairs) != 1 || aws.ToString(g.IpPermissions[0].UserIdGroupPairs[0].GroupId) != aws.ToString(g.GroupId) {
			t.Errorf("default group ingress = %+v", g.IpPermissions)
		}
		if len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
			t.Errorf("default group egress = %+v", g.IpPermissionsEgress)
		}
	}
	open22 := allGroups(t, c, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("ip-permission.from-port"), Values: []string{"22"}},
		{Name: aws.String("ip-permission.cidr"), Values: []string{"0.0.0.0/0"}},
	}})
	if len(open22) != 1 || aws.ToString(open22[0].GroupName) != "bastion" {
		t.Fatalf("open SSH groups = %+v", open22)
	}
	p := open22[0].IpPermissions[0]
	if aws.ToString(p.IpProtocol) != "tcp" || aws.ToInt32(p.FromPort) != 22 || aws.ToInt32(p.ToPort) != 22 {
		t.Errorf("bastion permission = %+v", p)
	}
	byVPC := allGroups(t, c, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{"vpc-0a000000000000007"}}}})
	if len(byVPC) != 3 {
		t.Errorf("groups in vpc-0a000000000000007 = %d, want 3", len(byVPC))
	}
	byID := must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0a000000000000072"}}))
	if len(byID.SecurityGroups) != 1 || len(byID.SecurityGroups[0].IpPermissions[0].Ipv6Ranges) != 1 {
		t.Errorf("web group = %+v", byID.SecurityGroups)
	}
	wild := allGroups(t, c, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"bas*"}}}})
	if len(wild) != 1 {
		t.Errorf("wildcard filter matched %d groups", len(wild))
	}

	_, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0123456789abcdef0"}})
	requireCode(t, err, "InvalidGroup.NotFound")
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"bogus"}})
	requireCode(t, err, "InvalidGroupId.Malformed")
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("no-such-filter"), Values: []string{"x"}}}})
	requireCode(t, err, "InvalidParameterValue")
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{NextToken: aws.String("garbage")})
	requireCode(t, err, "InvalidPaginationToken")
}

// TestEC2CloseDefaultSecurityGroup runs the "default security group closed"
// remediation exactly as CONTROLS.md describes it: describe, then revoke
// exactly the permissions the group has.
func TestEC2CloseDefaultSecurityGroup(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := ec2.NewFromConfig(memberConfig(s, webProd, "us-east-1", func(o *stscreds.AssumeRoleOptions) {
		o.SourceIdentity = aws.String("approver-1")
	}))
	groups := allGroups(t, c, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("group-name"), Values: []string{"default"}},
		{Name: aws.String("vpc-id"), Values: []string{"vpc-0a000000000000007"}},
	}})
	if len(groups) != 1 {
		t.Fatalf("got %d groups", len(groups))
	}
	g := groups[0]
	must[*ec2.RevokeSecurityGroupIngressOutput](t)(c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: g.IpPermissions}))
	must[*ec2.RevokeSecurityGroupEgressOutput](t)(c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: g.GroupId, IpPermissions: g.IpPermissionsEgress}))

	after := must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(g.GroupId)}}))
	if n := len(after.SecurityGroups[0].IpPermissions) + len(after.SecurityGroups[0].IpPermissionsEgress); n != 0 {
		t.Errorf("default group still has %d permissions", n)
	}
	_, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: g.IpPermissions})
	requireCode(t, err, "InvalidPermission.NotFound")

	revokes := s.CallsMatching(CallFilter{Service: "ec2", Operation: "RevokeSecurityGroupIngress", AccountID: webProd, OnlySuccess: true})
	if len(revokes) != 1 {
		t.Fatalf("successful ingress revokes = %d, want exactly 1", len(revokes))
	}
	if revokes[0].SourceIdentity != "approver-1" || revokes[0].Params["GroupId"] != aws.ToString(g.GroupId) || revokes[0].Region != "us-east-1" {
		t.Errorf("revoke call = %+v", revokes[0])
	}
}

func TestEC2AuthorizeAndRevokeExactMatch(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := ec2Client(s, webProd, "us-east-1")
	bastion := aws.String("sg-0a000000000000071")
	ssh := func(cidr string) []types.IpPermission {
		return []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String(cidr)}}}}
	}
	_, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: bastion, IpPermissions: ssh("0.0.0.0/0")})
	requireCode(t, err, "InvalidPermission.Duplicate")

	auth := must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: bastion, IpPermissions: ssh("10.0.0.0/8")}))
	if !aws.ToBool(auth.Return) || len(auth.SecurityGroupRules) != 1 || aws.ToString(auth.SecurityGroupRules[0].CidrIpv4) != "10.0.0.0/8" {
		t.Fatalf("authorize = %+v", auth)
	}

	// Same port, different CIDR: no match.
	_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: bastion, IpPermissions: ssh("192.168.0.0/16")})
	requireCode(t, err, "InvalidPermission.NotFound")
	// Port range must match exactly too.
	_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: bastion, IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(0), ToPort: aws.Int32(65535), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
	}})
	requireCode(t, err, "InvalidPermission.NotFound")

	// A partly matching request revokes what matches and reports the rest.
	perms := append(ssh("0.0.0.0/0"), ssh("172.16.0.0/12")...)
	rev := must[*ec2.RevokeSecurityGroupIngressOutput](t)(c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: bastion, IpPermissions: perms}))
	if len(rev.UnknownIpPermissions) != 1 || len(rev.RevokedSecurityGroupRules) != 1 {
		t.Errorf("revoke = unknown %+v revoked %+v", rev.UnknownIpPermissions, rev.RevokedSecurityGroupRules)
	}
	// Rule IDs from Authorize revoke too.
	must[*ec2.RevokeSecurityGroupIngressOutput](t)(c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId: bastion, SecurityGroupRuleIds: []string{aws.ToString(auth.SecurityGroupRules[0].SecurityGroupRuleId)},
	}))
	left := must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*bastion}}))
	if n := len(left.SecurityGroups[0].IpPermissions); n != 0 {
		t.Errorf("bastion still has %d ingress permissions", n)
	}

	_, err = c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String("sg-0000000000000dead"), IpPermissions: ssh("10.0.0.0/8")})
	requireCode(t, err, "InvalidGroup.NotFound")
	must[*ec2.AuthorizeSecurityGroupEgressOutput](t)(c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: bastion, IpPermissions: ssh("10.0.0.0/8")}))
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: bastion, IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), IpRanges: []types.IpRange{{CidrIp: aws.String("1.2.3.4/32")}}}}})
	requireCode(t, err, "InvalidParameterValue")
}

func TestEC2FlowLogs(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := ec2Client(s, webProd, "us-east-1")
	vpc := "vpc-0a000000000000007"
	none := must[*ec2.DescribeFlowLogsOutput](t)(c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{Filter: []types.Filter{{Name: aws.String("resource-id"), Values: []string{vpc}}}}))
	if len(none.FlowLogs) != 0 {
		t.Fatalf("web-prod VPC already has flow logs: %+v", none.FlowLogs)
	}
	in := &ec2.CreateFlowLogsInput{
		ResourceType: types.FlowLogsResourceTypeVpc, ResourceIds: []string{vpc, "vpc-0000000000000beef"},
		TrafficType: types.TrafficTypeReject, LogGroupName: aws.String("orgguard-flow-logs"),
		DeliverLogsPermissionArn: aws.String("arn:aws:iam::100000000007:role/flow-logs"),
	}
	out := must[*ec2.CreateFlowLogsOutput](t)(c.CreateFlowLogs(ctx, in))
	if len(out.FlowLogIds) != 1 || len(out.Unsuccessful) != 1 || aws.ToString(out.Unsuccessful[0].Error.Code) != "InvalidVpcID.NotFound" {
		t.Fatalf("create = ids %v unsuccessful %+v", out.FlowLogIds, out.Unsuccessful)
	}
	again := must[*ec2.CreateFlowLogsOutput](t)(c.CreateFlowLogs(ctx, in))
	if len(again.FlowLogIds) != 0 || aws.ToString(again.Unsuccessful[0].Error.Code) != "FlowLogAlreadyExists" {
		t.Errorf("second create = %+v", again.Unsuccessful)
	}
	got := must[*ec2.DescribeFlowLogsOutput](t)(c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{Filter: []types.Filter{{Name: aws.String("resource-id"), Values: []string{vpc}}}}))
	if len(got.FlowLogs) != 1 || got.FlowLogs[0].TrafficType != types.TrafficTypeReject || aws.ToString(got.FlowLogs[0].LogGroupName) != "orgguard-flow-logs" {
		t.Errorf("flow logs = %+v", got.FlowLogs)
	}
	// The network account's VPCs are seeded with flow logs.
	nc := ec2Client(s, "100000000004", "us-east-1")
	seeded := must[*ec2.DescribeFlowLogsOutput](t)(nc.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{}))
	if len(seeded.FlowLogs) != 2 {
		t.Errorf("network account has %d flow logs, want 2", len(seeded.FlowLogs))
	}
}

func TestEC2AccountDefaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := ec2Client(s, webProd, "eu-west-1")
	ebs := must[*ec2.GetEbsEncryptionByDefaultOutput](t)(c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}))
	if aws.ToBool(ebs.EbsEncryptionByDefault) {
		t.Fatal("EBS encryption already on")
	}
	en := must[*ec2.EnableEbsEncryptionByDefaultOutput](t)(c.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}))
	if !aws.ToBool(en.EbsEncryptionByDefault) {
		t.Error("enable returned false")
	}
	ebs = must[*ec2.GetEbsEncryptionByDefaultOutput](t)(c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}))
	if !aws.ToBool(ebs.EbsEncryptionByDefault) {
		t.Error("EBS encryption still off")
	}
	must[*ec2.DisableEbsEncryptionByDefaultOutput](t)(c.DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{}))
	if off := must[*ec2.GetEbsEncryptionByDefaultOutput](t)(c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})); aws.ToBool(off.EbsEncryptionByDefault) {
		t.Error("disable left EBS encryption on")
	}
	must[*ec2.EnableEbsEncryptionByDefaultOutput](t)(c.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}))
	// Only the region it was enabled in.
	us := must[*ec2.GetEbsEncryptionByDefaultOutput](t)(ec2Client(s, webProd, "us-east-1").GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{}))
	if aws.ToBool(us.EbsEncryptionByDefault) {
		t.Error("enabling in eu-west-1 changed us-east-1")
	}

	md := must[*ec2.GetInstanceMetadataDefaultsOutput](t)(c.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{}))
	if md.AccountLevel == nil || md.AccountLevel.HttpTokens != "" {
		t.Fatalf("IMDS defaults = %+v", md.AccountLevel)
	}
	must[*ec2.ModifyInstanceMetadataDefaultsOutput](t)(c.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: types.MetadataDefaultHttpTokensStateRequired}))
	md = must[*ec2.GetInstanceMetadataDefaultsOutput](t)(c.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{}))
	if md.AccountLevel.HttpTokens != types.HttpTokensStateRequired {
		t.Errorf("HttpTokens = %q", md.AccountLevel.HttpTokens)
	}
	seeded := must[*ec2.GetInstanceMetadataDefaultsOutput](t)(ec2Client(s, "100000000003", "us-east-1").GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{}))
	if seeded.AccountLevel.HttpTokens != types.HttpTokensStateRequired {
		t.Errorf("security-tooling IMDS default = %q", seeded.AccountLevel.HttpTokens)
	}
}

func TestEC2Instances(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := ec2Client(s, webProd, "us-east-1")
	v1 := must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("metadata-options.http-tokens"), Values: []string{"optional"}},
	}}))
	if len(v1.Reservations) != 1 {
		t.Fatalf("IMDSv1 instances: %+v", v1.Reservations)
	}
	inst := v1.Reservations[0].Instances[0]
	if aws.ToString(inst.InstanceId) != "i-0a000000000000071" || inst.MetadataOptions.HttpTokens != types.HttpTokensStateOptional || inst.State.Name != types.InstanceStateNameRunning {
		t.Errorf("instance = %+v", inst)
	}
	must[*ec2.ModifyInstanceMetadataOptionsOutput](t)(c.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: inst.InstanceId, HttpTokens: types.HttpTokensStateRequired}))
	after := must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0a000000000000071"}}))
	if got := after.Reservations[0].Instances[0].MetadataOptions.HttpTokens; got != types.HttpTokensStateRequired {
		t.Errorf("HttpTokens after modify = %q", got)
	}
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000dead"}})
	requireCode(t, err, "InvalidInstanceID.NotFound")
}

func TestEC2Faults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Faults: []Fault{
		{Service: "ec2", Operation: "DescribeVpcs", Throttle: &Throttle{Burst: 1}},
		{Service: "ec2", AccountID: "100000000008", AccessDenied: true},
		{Service: "ec2", Operation: "GetEbsEncryptionByDefault", ErrorRate: 1},
	}})
	c := ec2Client(s, webProd, "us-east-1")
	must[*ec2.DescribeVpcsOutput](t)(c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	requireCode(t, err, "RequestLimitExceeded")
	// Buckets are per account and region.
	must[*ec2.DescribeVpcsOutput](t)(ec2Client(s, webProd, "eu-west-1").DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))

	_, err = ec2Client(s, "100000000008", "us-east-1").DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	requireCode(t, err, "UnauthorizedOperation")

	_, err = c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	requireCode(t, err, "InternalError")

	// Faults can be changed at run time.
	s.SetFaults()
	must[*ec2.DescribeVpcsOutput](t)(c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
}

func TestEC2DescribeSecurityGroupRules(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	c := ec2Client(s, webProd, "us-east-1")
	var rules []types.SecurityGroupRule
	p := ec2.NewDescribeSecurityGroupRulesPaginator(c, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{"sg-0a000000000000071"}}},
	})
	for p.HasMorePages() {
		rules = append(rules, must[*ec2.DescribeSecurityGroupRulesOutput](t)(p.NextPage(ctx)).SecurityGroupRules...)
	}
	// SSH ingress from 0.0.0.0/0 plus the default allow-all egress.
	if len(rules) != 2 {
		t.Fatalf("rules = %+v", rules)
	}
	var ingress types.SecurityGroupRule
	for _, r := range rules {
		if !aws.ToBool(r.IsEgress) {
			ingress = r
		}
	}
	if aws.ToString(ingress.CidrIpv4) != "0.0.0.0/0" || aws.ToInt32(ingress.FromPort) != 22 {
		t.Errorf("ingress rule = %+v", ingress)
	}
	_, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{"sgr-00000000000000000"}})
	requireCode(t, err, "InvalidSecurityGroupRuleId.NotFound")

	// Default groups reference themselves.
	defs := allGroups(t, c, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"default"}}}})
	self := must[*ec2.DescribeSecurityGroupRulesOutput](t)(c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{aws.ToString(defs[0].GroupId)}}}, MaxResults: aws.Int32(10),
	}))
	found := false
	for _, r := range self.SecurityGroupRules {
		if r.ReferencedGroupInfo != nil && aws.ToString(r.ReferencedGroupInfo.GroupId) == aws.ToString(defs[0].GroupId) {
			found = true
		}
	}
	if !found {
		t.Errorf("default group rules = %+v", self.SecurityGroupRules)
	}
}

func TestEC2DryRunAndClientToken(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := ec2Client(s, webProd, "us-east-1")
	bastion := aws.String("sg-0a000000000000071")
	perm := []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	_, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: bastion, IpPermissions: perm, DryRun: aws.Bool(true)})
	requireCode(t, err, "DryRunOperation")
	// Nothing changed: the real revoke still finds the rule.
	must[*ec2.RevokeSecurityGroupIngressOutput](t)(c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: bastion, IpPermissions: perm}))

	in := &ec2.CreateFlowLogsInput{
		ResourceType: types.FlowLogsResourceTypeVpc, ResourceIds: []string{"vpc-0a000000000000007"},
		TrafficType: types.TrafficTypeAll, LogDestinationType: types.LogDestinationTypeS3,
		LogDestination: aws.String("arn:aws:s3:::flow-logs-bucket"), ClientToken: aws.String("wf-123-attempt"),
	}
	first := must[*ec2.CreateFlowLogsOutput](t)(c.CreateFlowLogs(ctx, in))
	retry := must[*ec2.CreateFlowLogsOutput](t)(c.CreateFlowLogs(ctx, in))
	if len(first.FlowLogIds) != 1 || !slices.Equal(first.FlowLogIds, retry.FlowLogIds) || len(retry.Unsuccessful) != 0 {
		t.Errorf("first %v, retry %v %+v", first.FlowLogIds, retry.FlowLogIds, retry.Unsuccessful)
	}
	logs := must[*ec2.DescribeFlowLogsOutput](t)(c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{}))
	if len(logs.FlowLogs) != 1 {
		t.Errorf("retry created a second flow log: %+v", logs.FlowLogs)
	}
	in.TrafficType = types.TrafficTypeReject
	_, err = c.CreateFlowLogs(ctx, in)
	requireCode(t, err, "IdempotentParameterMismatch")
}

func TestEC2EbsDefaultKmsKeyID(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	const paymentsProd = "100000000006"
	c := ec2Client(s, paymentsProd, "us-east-1")
	key := func(c *ec2.Client) string {
		t.Helper()
		return aws.ToString(must[*ec2.GetEbsDefaultKmsKeyIdOutput](t)(c.GetEbsDefaultKmsKeyId(ctx, &ec2.GetEbsDefaultKmsKeyIdInput{})).KmsKeyId)
	}
	if got := key(c); got != "alias/aws/ebs" {
		t.Errorf("default key = %q", got)
	}
	// A simulated key given by ID is stored as its ARN.
	const keyARN = "arn:aws:kms:us-east-1:100000000006:key/1a2b3c4d-0006-4000-8000-000000000061"
	m := must[*ec2.ModifyEbsDefaultKmsKeyIdOutput](t)(c.ModifyEbsDefaultKmsKeyId(ctx, &ec2.ModifyEbsDefaultKmsKeyIdInput{KmsKeyId: aws.String("1a2b3c4d-0006-4000-8000-000000000061")}))
	if aws.ToString(m.KmsKeyId) != keyARN {
		t.Errorf("modify returned %q", aws.ToString(m.KmsKeyId))
	}
	if got := key(c); got != keyARN {
		t.Errorf("key after modify = %q", got)
	}
	if got := key(ec2Client(s, paymentsProd, "eu-west-1")); got != "alias/aws/ebs" {
		t.Errorf("eu-west-1 key = %q, want the default (per region)", got)
	}
	_, err := c.ModifyEbsDefaultKmsKeyId(ctx, &ec2.ModifyEbsDefaultKmsKeyIdInput{KmsKeyId: aws.String(keyARN), DryRun: aws.Bool(true)})
	requireCode(t, err, "DryRunOperation")
	r := must[*ec2.ResetEbsDefaultKmsKeyIdOutput](t)(c.ResetEbsDefaultKmsKeyId(ctx, &ec2.ResetEbsDefaultKmsKeyIdInput{}))
	if aws.ToString(r.KmsKeyId) != "alias/aws/ebs" || key(c) != "alias/aws/ebs" {
		t.Errorf("after reset: returned %q, key %q", aws.ToString(r.KmsKeyId), key(c))
	}
	if calls := s.CallsMatching(CallFilter{Service: "ec2", Operation: "ModifyEbsDefaultKmsKeyId", AccountID: paymentsProd, OnlySuccess: true}); len(calls) != 1 ||
		calls[0].Params["KmsKeyId"] != "1a2b3c4d-0006-4000-8000-000000000061" {
		t.Errorf("logged modify calls = %+v", calls)
	}
}
