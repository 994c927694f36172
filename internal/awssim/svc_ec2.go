package awssim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EC2: EC2 Query protocol, regional, signing name "ec2". Security group rules
// are stored one source per rule (as AWS's security group rules are) and
// aggregated into IpPermissions for DescribeSecurityGroups.

func ec2Service() *service {
	svc := &service{
		Name:     "ec2",
		Protocol: protoEC2,
		XMLNS:    "http://ec2.amazonaws.com/doc/2016-11-15/",
		Init:     ec2Init,
		Ops: map[string]operation{
			"DescribeRegions":                ec2DescribeRegions,
			"DescribeVpcs":                   ec2DescribeVpcs,
			"DescribeSecurityGroups":         ec2DescribeSecurityGroups,
			"AuthorizeSecurityGroupIngress":  ec2Authorize(false),
			"AuthorizeSecurityGroupEgress":   ec2Authorize(true),
			"RevokeSecurityGroupIngress":     ec2Revoke(false),
			"RevokeSecurityGroupEgress":      ec2Revoke(true),
			"DescribeFlowLogs":               ec2DescribeFlowLogs,
			"CreateFlowLogs":                 ec2CreateFlowLogs,
			"GetEbsEncryptionByDefault":      ec2GetEbsEncryptionByDefault,
			"EnableEbsEncryptionByDefault":   ec2SetEbsEncryptionByDefault(true),
			"DisableEbsEncryptionByDefault":  ec2SetEbsEncryptionByDefault(false),
			"GetEbsDefaultKmsKeyId":          ec2GetEbsDefaultKmsKeyID,
			"ModifyEbsDefaultKmsKeyId":       ec2ModifyEbsDefaultKmsKeyID,
			"ResetEbsDefaultKmsKeyId":        ec2ResetEbsDefaultKmsKeyID,
			"GetInstanceMetadataDefaults":    ec2GetInstanceMetadataDefaults,
			"ModifyInstanceMetadataDefaults": ec2ModifyInstanceMetadataDefaults,
			"DescribeInstances":              ec2DescribeInstances,
			"ModifyInstanceMetadataOptions":  ec2ModifyInstanceMetadataOptions,
			"DescribeSecurityGroupRules":     ec2DescribeSecurityGroupRules,
		},
	}
	for name, op := range svc.Ops {
		svc.Ops[name] = ec2DryRun(op)
	}
	return svc
}

// ec2DryRun answers DryRun=true the way EC2 does when the caller is
// authorised: DryRunOperation (HTTP 412), nothing changed. Plan mode relies
// on it to check permissions without side effects.
func ec2DryRun(op operation) operation {
	return func(r *request) (any, error) {
		if dry, _ := r.paramBool("DryRun"); dry {
			return nil, newError(http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
		}
		return op(r)
	}
}

type ec2State struct {
	// clientTokens remembers idempotent requests by ClientToken: the
	// parameters' digest and the response given.
	clientTokens           map[string]ec2TokenRecord
	ebsEncryptionByDefault bool
	// ebsDefaultKMSKey is the default EBS key; "" means the AWS managed
	// key alias/aws/ebs.
	ebsDefaultKMSKey string
	imds             imdsDefaults
	vpcs             []*ec2VPC
	groups           []*ec2Group
	flowLogs         []*ec2FlowLog
	instances        []*ec2Instance
}

// imdsDefaults is the account-level instance metadata default; empty fields
// and HopLimit 0 mean "no preference".
type imdsDefaults struct {
	HTTPTokens, HTTPEndpoint, MetadataTags string
	HopLimit                               int
}

type ec2VPC struct {
	ID, CIDR  string
	IsDefault bool
	Tags      map[string]string
}

type ec2Group struct {
	ID, Name, Description, VPCID, OwnerID string
	Tags                                  map[string]string
	Ingress, Egress                       []*ec2Rule
}

// ec2Rule is one security group rule: one protocol/port range and exactly one
// peer (IPv4 CIDR, IPv6 CIDR, security group or prefix list).
type ec2Rule struct {
	ID          string
	Protocol    string
	From, To    int
	CIDR, IPv6  string
	GroupID     string
	GroupOwner  string
	PrefixList  string
	Description string
}

// key identifies a rule for duplicate detection and exact revoke matching;
// descriptions do not take part, as in AWS.
func (r *ec2Rule) key() string {
	from, to := r.From, r.To
	if r.Protocol == "-1" {
		from, to = 0, 0
	}
	return fmt.Sprintf("%s|%d|%d|%s|%s|%s|%s", r.Protocol, from, to, r.CIDR, r.IPv6, r.GroupID, r.PrefixList)
}

type ec2FlowLog struct {
	ID, ResourceID, TrafficType, DestinationType, Destination, LogGroupName, PermissionARN string
	Created                                                                                time.Time
}

type ec2Instance struct {
	ID, VPCID, Type, State string
	HTTPTokens             string
	HopLimit               int
	HTTPEndpoint           string
	Launched               time.Time
}

type ec2TokenRecord struct {
	digest   string
	response any
}

func newEC2State() *ec2State { return &ec2State{clientTokens: map[string]ec2TokenRecord{}} }

// idempotent runs op once per ClientToken, as EC2 does: a retry with the same
// token and parameters gets the first response and changes nothing; the same
// token with other parameters is IdempotentParameterMismatch.
func idempotent(r *request, st *ec2State, op operation) (any, error) {
	token := r.param("ClientToken")
	if token == "" {
		return op(r)
	}
	params := flattenForm(r.Form)
	delete(params, "ClientToken")
	digest := digestParams(params)
	if rec, ok := st.clientTokens[token]; ok {
		if rec.digest != digest {
			return nil, errBadRequest("IdempotentParameterMismatch", "The client token %s was already used with different parameters.", token)
		}
		return rec.response, nil
	}
	out, err := op(r)
	if err == nil {
		st.clientTokens[token] = ec2TokenRecord{digest, out}
	}
	return out, err
}

func ec2For(r *request) *ec2State { return regionData(r.Account, r.Region, "ec2", newEC2State) }

// ec2Init creates, in every seeded region of every account, the default VPC
// with its default security group, then the seed's own resources.
func ec2Init(s *Server, seed *Seed) error {
	var errs []error
	walkSeedAccounts(seed, func(sa *SeedAccount) {
		a := s.accounts[sa.ID]
		byRegion := map[string]*SeedRegion{}
		for i := range sa.Regions {
			byRegion[sa.Regions[i].Name] = &sa.Regions[i]
		}
		regions := slices.Clone(seed.Regions)
		for _, sr := range sa.Regions {
			if !slices.Contains(regions, sr.Name) {
				regions = append(regions, sr.Name)
			}
		}
		for _, region := range regions {
			st := regionData(a, region, "ec2", newEC2State)
			sr := byRegion[region]
			if sr == nil {
				sr = &SeedRegion{Name: region}
			}
			if err := s.seedEC2Region(a, st, sr); err != nil {
				errs = append(errs, fmt.Errorf("account %s region %s: %w", a.ID, region, err))
			}
		}
	})
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func (s *Server) seedEC2Region(a *account, st *ec2State, sr *SeedRegion) error {
	st.ebsEncryptionByDefault = sr.EBSEncryptionByDefault
	if sr.IMDSHttpTokens != "" && sr.IMDSHttpTokens != "no-preference" {
		st.imds.HTTPTokens = sr.IMDSHttpTokens
	}
	var defaultVPC string
	if !sr.NoDefaultVPC {
		v := &ec2VPC{ID: "vpc-" + s.randomID(17, lowerHex), CIDR: "172.31.0.0/16", IsDefault: true}
		st.vpcs = append(st.vpcs, v)
		s.addDefaultGroup(a, st, v, sr.ClosedDefaultSG)
		if sr.DefaultVPCFlowLogs {
			s.addSeedFlowLog(a, st, v.ID)
		}
		defaultVPC = v.ID
	}
	for _, sv := range sr.VPCs {
		v := &ec2VPC{ID: sv.ID, CIDR: sv.CIDR, Tags: copyTags(sv.Tags)}
		st.vpcs = append(st.vpcs, v)
		s.addDefaultGroup(a, st, v, sv.ClosedDefaultSG)
		if sv.FlowLogs {
			s.addSeedFlowLog(a, st, v.ID)
		}
		for _, sg := range sv.SecurityGroups {
			g := &ec2Group{ID: sg.ID, Name: sg.Name, Description: sg.Description, VPCID: v.ID, OwnerID: a.ID, Tags: map[string]string{}}
			if g.Description == "" {
				g.Description = sg.Name
			}
			st.groups = append(st.groups, g)
			for _, sr := range sg.Ingress {
				g.Ingress = append(g.Ingress, s.seedRules(a, sr)...)
			}
			for _, sr := range sg.Egress {
				g.Egress = append(g.Egress, s.seedRules(a, sr)...)
			}
			if len(sg.Egress) == 0 {
				// New groups allow all outbound traffic, as in AWS.
				g.Egress = append(g.Egress, &ec2Rule{ID: s.ruleID(), Protocol: "-1", CIDR: "0.0.0.0/0"})
			}
		}
	}
	for _, si := range sr.Instances {
		vpc := si.VPC
		if vpc == "" {
			vpc = defaultVPC
		}
		in := &ec2Instance{ID: si.ID, VPCID: vpc, Type: si.Type, State: si.State, HTTPTokens: si.HTTPTokens,
			HopLimit: 1, HTTPEndpoint: "enabled", Launched: s.now().Add(-30 * 24 * time.Hour).Truncate(time.Second)}
		if in.Type == "" {
			in.Type = "t3.micro"
		}
		if in.State == "" {
			in.State = "running"
		}
		if in.HTTPTokens == "" {
			in.HTTPTokens = "optional"
		}
		st.instances = append(st.instances, in)
	}
	return nil
}

// addDefaultGroup creates a VPC's "default" security group with AWS's
// initial rules (all traffic from itself, all traffic out), unless closed.
func (s *Server) addDefaultGroup(a *account, st *ec2State, v *ec2VPC, closed bool) {
	g := &ec2Group{ID: "sg-" + s.randomID(17, lowerHex), Name: "default", Description: "default VPC security group",
		VPCID: v.ID, OwnerID: a.ID, Tags: map[string]string{}}
	if !closed {
		g.Ingress = []*ec2Rule{{ID: s.ruleID(), Protocol: "-1", GroupID: g.ID, GroupOwner: a.ID}}
		g.Egress = []*ec2Rule{{ID: s.ruleID(), Protocol: "-1", CIDR: "0.0.0.0/0"}}
	}
	st.groups = append(st.groups, g)
}

func (s *Server) addSeedFlowLog(a *account, st *ec2State, vpcID string) {
	st.flowLogs = append(st.flowLogs, &ec2FlowLog{
		ID: "fl-" + s.randomID(17, lowerHex), ResourceID: vpcID, TrafficType: "ALL",
		DestinationType: "cloud-watch-logs", LogGroupName: "vpc-flow-logs",
		Destination:   fmt.Sprintf("arn:aws:logs:us-east-1:%s:log-group:vpc-flow-logs", a.ID),
		PermissionARN: fmt.Sprintf("arn:aws:iam::%s:role/flow-logs", a.ID),
		Created:       s.now().Add(-100 * 24 * time.Hour).Truncate(time.Second),
	})
}

func (s *Server) seedRules(a *account, sr SeedRule) []*ec2Rule {
	proto := normalizeProtocol(sr.Protocol)
	var out []*ec2Rule
	mk := func() *ec2Rule { return &ec2Rule{ID: s.ruleID(), Protocol: proto, From: sr.FromPort, To: sr.ToPort} }
	for _, c := range sr.CIDRs {
		r := mk()
		r.CIDR = c
		out = append(out, r)
	}
	for _, c := range sr.IPv6 {
		r := mk()
		r.IPv6 = c
		out = append(out, r)
	}
	for _, g := range sr.Groups {
		r := mk()
		r.GroupID, r.GroupOwner = g, a.ID
		out = append(out, r)
	}
	return out
}

func (s *Server) ruleID() string { return "sgr-" + s.randomID(17, lowerHex) }

// walkSeedAccounts calls fn for every account of the seed, in declaration order.
func walkSeedAccounts(seed *Seed, fn func(*SeedAccount)) {
	var walk func(accts []SeedAccount, ous []SeedOU)
	walk = func(accts []SeedAccount, ous []SeedOU) {
		for i := range accts {
			fn(&accts[i])
		}
		for _, ou := range ous {
			walk(ou.Accounts, ou.OUs)
		}
	}
	walk(seed.Accounts, seed.OUs)
}

func normalizeProtocol(p string) string {
	switch strings.ToLower(p) {
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	case "58", "icmpv6":
		return "icmpv6"
	case "-1", "all", "":
		return "-1"
	}
	return strings.ToLower(p)
}

// --- XML shapes ---

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func ec2Tags(m map[string]string) []ec2Tag {
	var out []ec2Tag
	for _, k := range sortedKeys(m) {
		out = append(out, ec2Tag{k, m[k]})
	}
	return out
}

type ec2IPPermission struct {
	IPProtocol string           `xml:"ipProtocol"`
	FromPort   *int             `xml:"fromPort,omitempty"`
	ToPort     *int             `xml:"toPort,omitempty"`
	Groups     []ec2GroupPair   `xml:"groups>item"`
	IPRanges   []ec2IPRange     `xml:"ipRanges>item"`
	IPv6Ranges []ec2IPv6Range   `xml:"ipv6Ranges>item"`
	PrefixList []ec2PrefixEntry `xml:"prefixListIds>item"`
}

type ec2GroupPair struct {
	UserID      string `xml:"userId,omitempty"`
	GroupID     string `xml:"groupId"`
	Description string `xml:"description,omitempty"`
}

type ec2IPRange struct {
	CIDR        string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type ec2IPv6Range struct {
	CIDR        string `xml:"cidrIpv6"`
	Description string `xml:"description,omitempty"`
}

type ec2PrefixEntry struct {
	ID          string `xml:"prefixListId"`
	Description string `xml:"description,omitempty"`
}

type ec2GroupOut struct {
	OwnerID     string            `xml:"ownerId"`
	GroupID     string            `xml:"groupId"`
	GroupName   string            `xml:"groupName"`
	Description string            `xml:"groupDescription"`
	VPCID       string            `xml:"vpcId"`
	ARN         string            `xml:"securityGroupArn"`
	Ingress     []ec2IPPermission `xml:"ipPermissions>item"`
	Egress      []ec2IPPermission `xml:"ipPermissionsEgress>item"`
	Tags        []ec2Tag          `xml:"tagSet>item"`
}

// permissions aggregates rules into IpPermissions, one per protocol and port
// range, in first-seen order, as DescribeSecurityGroups shows them.
func permissions(rules []*ec2Rule) []ec2IPPermission {
	var out []ec2IPPermission
	index := map[string]int{}
	for _, r := range rules {
		k := fmt.Sprintf("%s|%d|%d", r.Protocol, r.From, r.To)
		i, ok := index[k]
		if !ok {
			p := ec2IPPermission{IPProtocol: r.Protocol}
			if r.Protocol != "-1" {
				from, to := r.From, r.To
				p.FromPort, p.ToPort = &from, &to
			}
			out = append(out, p)
			i = len(out) - 1
			index[k] = i
		}
		p := &out[i]
		switch {
		case r.CIDR != "":
			p.IPRanges = append(p.IPRanges, ec2IPRange{r.CIDR, r.Description})
		case r.IPv6 != "":
			p.IPv6Ranges = append(p.IPv6Ranges, ec2IPv6Range{r.IPv6, r.Description})
		case r.GroupID != "":
			p.Groups = append(p.Groups, ec2GroupPair{r.GroupOwner, r.GroupID, r.Description})
		case r.PrefixList != "":
			p.PrefixList = append(p.PrefixList, ec2PrefixEntry{r.PrefixList, r.Description})
		}
	}
	return out
}

func (g *ec2Group) out(region string) ec2GroupOut {
	return ec2GroupOut{
		OwnerID: g.OwnerID, GroupID: g.ID, GroupName: g.Name, Description: g.Description, VPCID: g.VPCID,
		ARN:     fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, g.OwnerID, g.ID),
		Ingress: permissions(g.Ingress), Egress: permissions(g.Egress), Tags: ec2Tags(g.Tags),
	}
}

// --- filters and paging ---

// ec2Filter is one Filter.N of a Describe call.
type ec2Filter struct {
	Name   string
	Values []string
}

func ec2Filters(r *request) []ec2Filter {
	var out []ec2Filter
	for _, f := range listStructs(r.Form, "Filter") {
		out = append(out, ec2Filter{Name: f.Get("Name"), Values: listValues(f, "Value")})
	}
	return out
}

// matchFilters applies EC2 filter semantics: all filters must match (AND), a
// filter matches if any value matches any of the resource's values (OR);
// values may use * and ? wildcards. get returns the resource's values for a
// filter name and whether the name is supported.
func matchFilters(filters []ec2Filter, get func(name string) ([]string, bool)) (bool, error) {
	for _, f := range filters {
		have, ok := get(f.Name)
		if !ok {
			return false, errBadRequest("InvalidParameterValue", "The filter '%s' is invalid", f.Name)
		}
		matched := false
		for _, want := range f.Values {
			for _, h := range have {
				if globMatch(want, h) {
					matched = true
				}
			}
		}
		if !matched {
			return false, nil
		}
	}
	return true, nil
}

// tagFilter answers tag:<key> and tag-key filters for any resource.
func tagFilter(name string, tags map[string]string) ([]string, bool) {
	if key, ok := strings.CutPrefix(name, "tag:"); ok {
		if v, ok := tags[key]; ok {
			return []string{v}, true
		}
		return nil, true
	}
	if name == "tag-key" {
		return sortedKeys(tags), true
	}
	return nil, false
}

// globMatch matches EC2 filter wildcards: * any run, ? one character.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	case '\\':
		if len(pattern) > 1 {
			return s != "" && s[0] == pattern[1] && globMatch(pattern[2:], s[1:])
		}
	}
	return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
}

// ec2Page pages a Describe listing with EC2's MaxResults (5..1000) and
// nextToken; with no MaxResults AWS returns everything unless
// Options.PageSize says otherwise.
func ec2Page[T any](r *request, items []T, idsGiven bool) ([]T, string, error) {
	max, err := r.paramInt("MaxResults")
	if err != nil {
		return nil, "", err
	}
	if max != 0 && idsGiven {
		return nil, "", errBadRequest("InvalidParameterCombination", "The parameter MaxResults cannot be used with the parameter GroupId or InstanceId")
	}
	if max != 0 && (max < 5 || max > 1000) {
		return nil, "", errBadRequest("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Parameter must be between 5 and 1000.", max)
	}
	limit, err := r.pageLimit(max, 0, 1000)
	if err != nil {
		return nil, "", err
	}
	if idsGiven {
		limit = 0
	}
	return paginate(items, r.param("NextToken"), limit,
		errBadRequest("InvalidPaginationToken", "Invalid pagination token"))
}

// --- operations ---

type ec2RegionOut struct {
	Name        string `xml:"regionName"`
	Endpoint    string `xml:"regionEndpoint"`
	OptInStatus string `xml:"optInStatus"`
}

// ec2DescribeRegions lists the seed's regions the caller's account has
// enabled. AllRegions adds those it has not: seed regions the account did not
// opt into and every other opt-in region of the partition, as
// "not-opted-in". RegionName may name any of them, enabled or not, as in
// EC2. Default regions the seed does not serve are not listed.
func ec2DescribeRegions(r *request) (any, error) {
	all, _ := r.paramBool("AllRegions")
	known := slices.Clone(r.srv.seed.Regions)
	for _, name := range optInRegions {
		if !slices.Contains(known, name) {
			known = append(known, name)
		}
	}
	var regions []string
	for _, name := range known {
		if all || r.srv.regionEnabled(r.Account, name) {
			regions = append(regions, name)
		}
	}
	if names := listValues(r.Form, "RegionName"); len(names) > 0 {
		for _, n := range names {
			if !slices.Contains(known, n) {
				return nil, errBadRequest("InvalidParameterValue", "Invalid region: %s", n)
			}
		}
		regions = names
	}
	filters := ec2Filters(r)
	var out []ec2RegionOut
	for _, name := range regions {
		status := r.srv.optInStatus(r.Account, name)
		ok, err := matchFilters(filters, func(f string) ([]string, bool) {
			switch f {
			case "region-name":
				return []string{name}, true
			case "opt-in-status":
				return []string{status}, true
			case "endpoint":
				return []string{"ec2." + name + ".amazonaws.com"}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ec2RegionOut{name, "ec2." + name + ".amazonaws.com", status})
		}
	}
	return &struct {
		Regions []ec2RegionOut `xml:"regionInfo>item"`
	}{out}, nil
}

type ec2VPCOut struct {
	VPCID           string   `xml:"vpcId"`
	OwnerID         string   `xml:"ownerId"`
	State           string   `xml:"state"`
	CIDR            string   `xml:"cidrBlock"`
	DHCPOptionsID   string   `xml:"dhcpOptionsId"`
	InstanceTenancy string   `xml:"instanceTenancy"`
	IsDefault       bool     `xml:"isDefault"`
	Tags            []ec2Tag `xml:"tagSet>item"`
}

func ec2DescribeVpcs(r *request) (any, error) {
	st := ec2For(r)
	ids := listValues(r.Form, "VpcId")
	for _, id := range ids {
		if !slices.ContainsFunc(st.vpcs, func(v *ec2VPC) bool { return v.ID == id }) {
			return nil, errBadRequest("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		}
	}
	filters := ec2Filters(r)
	var out []ec2VPCOut
	for _, v := range st.vpcs {
		if len(ids) > 0 && !slices.Contains(ids, v.ID) {
			continue
		}
		ok, err := matchFilters(filters, func(f string) ([]string, bool) {
			switch f {
			case "vpc-id":
				return []string{v.ID}, true
			case "is-default", "isDefault":
				return []string{strconv.FormatBool(v.IsDefault)}, true
			case "cidr", "cidr-block-association.cidr-block", "cidrBlock":
				return []string{v.CIDR}, true
			case "owner-id":
				return []string{r.Account.ID}, true
			case "state":
				return []string{"available"}, true
			}
			return tagFilter(f, v.Tags)
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ec2VPCOut{VPCID: v.ID, OwnerID: r.Account.ID, State: "available", CIDR: v.CIDR,
				DHCPOptionsID: "dopt-" + v.ID[4:12], InstanceTenancy: "default", IsDefault: v.IsDefault, Tags: ec2Tags(v.Tags)})
		}
	}
	page, next, err := ec2Page(r, out, len(ids) > 0)
	if err != nil {
		return nil, err
	}
	return &struct {
		VPCs      []ec2VPCOut `xml:"vpcSet>item"`
		NextToken string      `xml:"nextToken,omitempty"`
	}{page, next}, nil
}

func (st *ec2State) group(id string) *ec2Group {
	for _, g := range st.groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

func (st *ec2State) defaultVPC() string {
	for _, v := range st.vpcs {
		if v.IsDefault {
			return v.ID
		}
	}
	return ""
}

func ec2DescribeSecurityGroups(r *request) (any, error) {
	st := ec2For(r)
	ids := listValues(r.Form, "GroupId")
	names := listValues(r.Form, "GroupName")
	for _, id := range ids {
		if !strings.HasPrefix(id, "sg-") {
			return nil, errBadRequest("InvalidGroupId.Malformed", "Invalid id: \"%s\" (expecting \"sg-...\")", id)
		}
		if st.group(id) == nil {
			return nil, errBadRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	}
	// GroupName only addresses groups of the default VPC.
	def := st.defaultVPC()
	for _, n := range names {
		if !slices.ContainsFunc(st.groups, func(g *ec2Group) bool { return g.Name == n && g.VPCID == def }) {
			return nil, errBadRequest("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", n, def)
		}
	}
	filters := ec2Filters(r)
	var out []ec2GroupOut
	for _, g := range st.groups {
		if len(ids) > 0 && !slices.Contains(ids, g.ID) {
			continue
		}
		if len(names) > 0 && !(slices.Contains(names, g.Name) && g.VPCID == def) {
			continue
		}
		ok, err := matchFilters(filters, func(f string) ([]string, bool) { return groupFilter(g, f) })
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, g.out(r.Region))
		}
	}
	page, next, err := ec2Page(r, out, len(ids) > 0 || len(names) > 0)
	if err != nil {
		return nil, err
	}
	return &struct {
		Groups    []ec2GroupOut `xml:"securityGroupInfo>item"`
		NextToken string        `xml:"nextToken,omitempty"`
	}{page, next}, nil
}

func groupFilter(g *ec2Group, f string) ([]string, bool) {
	rules := g.Ingress
	name := f
	if rest, ok := strings.CutPrefix(f, "egress."); ok {
		rules, name = g.Egress, rest
	}
	collect := func(get func(*ec2Rule) string) []string {
		var vs []string
		for _, r := range rules {
			if v := get(r); v != "" {
				vs = append(vs, v)
			}
		}
		return vs
	}
	switch name {
	case "group-id":
		return []string{g.ID}, true
	case "group-name":
		return []string{g.Name}, true
	case "vpc-id":
		return []string{g.VPCID}, true
	case "description":
		return []string{g.Description}, true
	case "owner-id":
		return []string{g.OwnerID}, true
	case "ip-permission.cidr":
		return collect(func(r *ec2Rule) string { return r.CIDR }), true
	case "ip-permission.ipv6-cidr":
		return collect(func(r *ec2Rule) string { return r.IPv6 }), true
	case "ip-permission.group-id":
		return collect(func(r *ec2Rule) string { return r.GroupID }), true
	case "ip-permission.prefix-list-id":
		return collect(func(r *ec2Rule) string { return r.PrefixList }), true
	case "ip-permission.protocol":
		return collect(func(r *ec2Rule) string { return r.Protocol }), true
	case "ip-permission.from-port":
		return collect(func(r *ec2Rule) string { return strconv.Itoa(r.From) }), true
	case "ip-permission.to-port":
		return collect(func(r *ec2Rule) string { return strconv.Itoa(r.To) }), true
	}
	return tagFilter(f, g.Tags)
}

// parsePermissions reads IpPermissions.N (or the legacy top-level
// IpProtocol/FromPort/ToPort/CidrIp form) into atomic rules.
func parsePermissions(r *request, st *ec2State) ([]*ec2Rule, error) {
	perms := listStructs(r.Form, "IpPermissions")
	if len(perms) == 0 && r.param("IpProtocol") != "" {
		legacy := url.Values{}
		for _, k := range []string{"IpProtocol", "FromPort", "ToPort"} {
			if v := r.param(k); v != "" {
				legacy.Set(k, v)
			}
		}
		if c := r.param("CidrIp"); c != "" {
			legacy.Set("IpRanges.1.CidrIp", c)
		}
		perms = []url.Values{legacy}
	}
	if len(perms) == 0 {
		return nil, errBadRequest("MissingParameter", "No ip permissions specified.")
	}
	var out []*ec2Rule
	for _, p := range perms {
		proto := normalizeProtocol(p.Get("IpProtocol"))
		if p.Get("IpProtocol") == "" {
			return nil, errBadRequest("MissingParameter", "The request must contain the parameter ipProtocol")
		}
		var from, to int
		if proto != "-1" {
			fs, ts := p.Get("FromPort"), p.Get("ToPort")
			if (proto == "tcp" || proto == "udp") && (fs == "" || ts == "") {
				return nil, errBadRequest("InvalidParameterValue", "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange")
			}
			var err1, err2 error
			from, err1 = strconv.Atoi(fs)
			to, err2 = strconv.Atoi(ts)
			if fs != "" && err1 != nil || ts != "" && err2 != nil {
				return nil, errBadRequest("InvalidParameterValue", "Invalid port range")
			}
			if (proto == "tcp" || proto == "udp") && (from < 0 || to > 65535 || from > to) {
				return nil, errBadRequest("InvalidParameterValue", "Invalid TCP/UDP port range %d-%d", from, to)
			}
		}
		mk := func(desc string) *ec2Rule { return &ec2Rule{Protocol: proto, From: from, To: to, Description: desc} }
		n := 0
		for _, ip := range listStructs(p, "IpRanges") {
			rule := mk(ip.Get("Description"))
			rule.CIDR = ip.Get("CidrIp")
			out = append(out, rule)
			n++
		}
		for _, ip := range listStructs(p, "Ipv6Ranges") {
			rule := mk(ip.Get("Description"))
			rule.IPv6 = ip.Get("CidrIpv6")
			out = append(out, rule)
			n++
		}
		for _, gp := range listStructs(p, "Groups") {
			rule := mk(gp.Get("Description"))
			rule.GroupID = gp.Get("GroupId")
			rule.GroupOwner = gp.Get("UserId")
			if rule.GroupOwner == "" {
				rule.GroupOwner = r.Account.ID
			}
			if rule.GroupOwner == r.Account.ID && st.group(rule.GroupID) == nil {
				return nil, errBadRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", rule.GroupID)
			}
			out = append(out, rule)
			n++
		}
		for _, pl := range listStructs(p, "PrefixListIds") {
			rule := mk(pl.Get("Description"))
			rule.PrefixList = pl.Get("PrefixListId")
			out = append(out, rule)
			n++
		}
		if n == 0 {
			return nil, errBadRequest("InvalidParameterValue", "The request must contain a source (CIDR, IPv6 CIDR, security group or prefix list)")
		}
	}
	return out, nil
}

// targetGroup resolves GroupId (or, for the default VPC, GroupName).
func targetGroup(r *request, st *ec2State) (*ec2Group, error) {
	id := r.param("GroupId")
	if id == "" {
		name := r.param("GroupName")
		if name == "" {
			return nil, errBadRequest("MissingParameter", "The request must contain the parameter groupId or groupName")
		}
		def := st.defaultVPC()
		for _, g := range st.groups {
			if g.Name == name && g.VPCID == def {
				return g, nil
			}
		}
		return nil, errBadRequest("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, def)
	}
	if !strings.HasPrefix(id, "sg-") {
		return nil, errBadRequest("InvalidGroupId.Malformed", "Invalid id: \"%s\" (expecting \"sg-...\")", id)
	}
	g := st.group(id)
	if g == nil {
		return nil, errBadRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	return g, nil
}

type ec2RuleOut struct {
	RuleID     string `xml:"securityGroupRuleId"`
	GroupID    string `xml:"groupId"`
	GroupOwner string `xml:"groupOwnerId,omitempty"`
	IsEgress   bool   `xml:"isEgress"`
	Protocol   string `xml:"ipProtocol"`
	FromPort   int    `xml:"fromPort"`
	ToPort     int    `xml:"toPort"`
	CIDR       string `xml:"cidrIpv4,omitempty"`
	IPv6       string `xml:"cidrIpv6,omitempty"`
	PrefixList string `xml:"prefixListId,omitempty"`
	// SecurityGroupRule names the peer group referencedGroupInfo, the
	// RevokedSecurityGroupRule shape referencedGroupId.
	RefGroupInfo *ec2RefGroup `xml:"referencedGroupInfo,omitempty"`
	RefGroupID   string       `xml:"referencedGroupId,omitempty"`
	Desc         string       `xml:"description,omitempty"`
	ARN          string       `xml:"securityGroupRuleArn,omitempty"`
}

type ec2RefGroup struct {
	GroupID string `xml:"groupId"`
	UserID  string `xml:"userId,omitempty"`
}

func ruleOut(g *ec2Group, rule *ec2Rule, egress bool) ec2RuleOut {
	from, to := rule.From, rule.To
	if rule.Protocol == "-1" {
		from, to = -1, -1
	}
	out := ec2RuleOut{RuleID: rule.ID, GroupID: g.ID, GroupOwner: g.OwnerID, IsEgress: egress, Protocol: rule.Protocol,
		FromPort: from, ToPort: to, CIDR: rule.CIDR, IPv6: rule.IPv6, PrefixList: rule.PrefixList, Desc: rule.Description}
	if rule.GroupID != "" {
		out.RefGroupInfo = &ec2RefGroup{GroupID: rule.GroupID, UserID: rule.GroupOwner}
	}
	return out
}

// revokedOut is ruleOut in the RevokedSecurityGroupRule shape.
func revokedOut(g *ec2Group, rule *ec2Rule, egress bool) ec2RuleOut {
	out := ruleOut(g, rule, egress)
	out.GroupOwner = ""
	if out.RefGroupInfo != nil {
		out.RefGroupID, out.RefGroupInfo = out.RefGroupInfo.GroupID, nil
	}
	return out
}

func describeRule(r *ec2Rule) string {
	peer := r.CIDR + r.IPv6 + r.GroupID + r.PrefixList
	if r.Protocol == "-1" {
		return fmt.Sprintf("peer: %s, ALL, ALLOW", peer)
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, strings.ToUpper(r.Protocol), r.From, r.To)
}

func ec2Authorize(egress bool) operation {
	return func(r *request) (any, error) {
		st := ec2For(r)
		g, err := targetGroup(r, st)
		if err != nil {
			return nil, err
		}
		rules, err := parsePermissions(r, st)
		if err != nil {
			return nil, err
		}
		existing := &g.Ingress
		if egress {
			existing = &g.Egress
		}
		seen := map[string]bool{}
		for _, e := range *existing {
			seen[e.key()] = true
		}
		for _, rule := range rules {
			if seen[rule.key()] {
				return nil, errBadRequest("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", describeRule(rule))
			}
			seen[rule.key()] = true
		}
		// AWS limits rules per group (default 60 per direction and family).
		if len(*existing)+len(rules) > 60 {
			return nil, errBadRequest("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
		}
		var out []ec2RuleOut
		for _, rule := range rules {
			rule.ID = r.srv.ruleID()
			*existing = append(*existing, rule)
			out = append(out, ruleOut(g, rule, egress))
		}
		return &struct {
			Return bool         `xml:"return"`
			Rules  []ec2RuleOut `xml:"securityGroupRuleSet>item"`
		}{true, out}, nil
	}
}

func ec2Revoke(egress bool) operation {
	return func(r *request) (any, error) {
		st := ec2For(r)
		g, err := targetGroup(r, st)
		if err != nil {
			return nil, err
		}
		existing := &g.Ingress
		if egress {
			existing = &g.Egress
		}
		var remove map[string]bool
		var unknown []*ec2Rule
		if ruleIDs := listValues(r.Form, "SecurityGroupRuleId"); len(ruleIDs) > 0 {
			remove = map[string]bool{}
			for _, id := range ruleIDs {
				i := slices.IndexFunc(*existing, func(e *ec2Rule) bool { return e.ID == id })
				if i < 0 {
					return nil, errBadRequest("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
				}
				remove[(*existing)[i].key()] = true
			}
		} else {
			rules, err := parsePermissions(r, st)
			if err != nil {
				return nil, err
			}
			have := map[string]bool{}
			for _, e := range *existing {
				have[e.key()] = true
			}
			remove = map[string]bool{}
			for _, rule := range rules {
				if have[rule.key()] {
					remove[rule.key()] = true
				} else {
					unknown = append(unknown, rule)
				}
			}
			if len(remove) == 0 {
				return nil, errBadRequest("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			}
		}
		var revoked []ec2RuleOut
		kept := (*existing)[:0:0]
		for _, e := range *existing {
			if remove[e.key()] {
				revoked = append(revoked, revokedOut(g, e, egress))
				continue
			}
			kept = append(kept, e)
		}
		*existing = kept
		return &struct {
			Return  bool              `xml:"return"`
			Unknown []ec2IPPermission `xml:"unknownIpPermissionSet>item"`
			Revoked []ec2RuleOut      `xml:"revokedSecurityGroupRuleSet>item"`
		}{true, permissions(unknown), revoked}, nil
	}
}

type ec2FlowLogOut struct {
	ID              string `xml:"flowLogId"`
	ResourceID      string `xml:"resourceId"`
	TrafficType     string `xml:"trafficType"`
	DestinationType string `xml:"logDestinationType"`
	Destination     string `xml:"logDestination,omitempty"`
	LogGroupName    string `xml:"logGroupName,omitempty"`
	PermissionARN   string `xml:"deliverLogsPermissionArn,omitempty"`
	Status          string `xml:"flowLogStatus"`
	DeliverStatus   string `xml:"deliverLogsStatus"`
	DeliverError    string `xml:"deliverLogsErrorMessage,omitempty"`
	Created         string `xml:"creationTime"`
	LogFormat       string `xml:"logFormat"`
	MaxAggregation  int    `xml:"maxAggregationInterval"`
}

const defaultFlowLogFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"

func ec2DescribeFlowLogs(r *request) (any, error) {
	st := ec2For(r)
	ids := listValues(r.Form, "FlowLogId")
	filters := ec2Filters(r)
	var out []ec2FlowLogOut
	for _, fl := range st.flowLogs {
		if len(ids) > 0 && !slices.Contains(ids, fl.ID) {
			continue
		}
		// Delivery assumes the role; while a role or policy written a
		// moment ago propagates, it fails with EC2's "Access error"
		// (consistency.go). Roles the simulator does not know are not
		// checked.
		deliver, deliverErr := "SUCCESS", ""
		if roleByARN(r.srv, fl.PermissionARN) != nil && !r.srv.roleSeen(fl.PermissionARN).usable() {
			deliver, deliverErr = "FAILED", "Access error"
		}
		ok, err := matchFilters(filters, func(f string) ([]string, bool) {
			switch f {
			case "resource-id":
				return []string{fl.ResourceID}, true
			case "flow-log-id":
				return []string{fl.ID}, true
			case "traffic-type":
				return []string{fl.TrafficType}, true
			case "log-destination-type":
				return []string{fl.DestinationType}, true
			case "log-group-name":
				return []string{fl.LogGroupName}, true
			case "deliver-log-status":
				return []string{deliver}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ec2FlowLogOut{ID: fl.ID, ResourceID: fl.ResourceID, TrafficType: fl.TrafficType,
				DestinationType: fl.DestinationType, Destination: fl.Destination, LogGroupName: fl.LogGroupName,
				PermissionARN: fl.PermissionARN, Status: "ACTIVE", DeliverStatus: deliver, DeliverError: deliverErr,
				Created: fl.Created.UTC().Format("2006-01-02T15:04:05.000Z"), LogFormat: defaultFlowLogFormat, MaxAggregation: 600})
		}
	}
	page, next, err := ec2Page(r, out, false)
	if err != nil {
		return nil, err
	}
	return &struct {
		FlowLogs  []ec2FlowLogOut `xml:"flowLogSet>item"`
		NextToken string          `xml:"nextToken,omitempty"`
	}{page, next}, nil
}

type ec2Unsuccessful struct {
	Code       string `xml:"error>code"`
	Message    string `xml:"error>message"`
	ResourceID string `xml:"resourceId"`
}

func ec2CreateFlowLogs(r *request) (any, error) {
	st := ec2For(r)
	return idempotent(r, st, func(r *request) (any, error) { return createFlowLogs(r, st) })
}

func createFlowLogs(r *request, st *ec2State) (any, error) {
	resType := r.param("ResourceType")
	ids := listValues(r.Form, "ResourceId")
	traffic := r.param("TrafficType")
	destType := r.param("LogDestinationType")
	if destType == "" {
		destType = "cloud-watch-logs"
	}
	if len(ids) == 0 || resType == "" {
		return nil, errBadRequest("MissingParameter", "The request must contain the parameters ResourceId and ResourceType")
	}
	if resType != "VPC" {
		return nil, errBadRequest("InvalidParameterValue", "the simulator supports ResourceType VPC only, got %s", resType)
	}
	if !slices.Contains([]string{"ACCEPT", "REJECT", "ALL"}, traffic) {
		return nil, errBadRequest("InvalidParameterValue", "Invalid value '%s' for TrafficType", traffic)
	}
	dest := r.param("LogDestination")
	group := r.param("LogGroupName")
	perm := r.param("DeliverLogsPermissionArn")
	switch destType {
	case "cloud-watch-logs":
		if dest == "" && group == "" {
			return nil, errBadRequest("InvalidParameter", "LogDestination or LogGroupName is required for destination type cloud-watch-logs")
		}
		if perm == "" {
			return nil, errBadRequest("InvalidParameter", "DeliverLogsPermissionArn is required for destination type cloud-watch-logs")
		}
		if group == "" {
			_, group, _ = strings.Cut(dest, ":log-group:")
			group = strings.TrimSuffix(group, ":*")
		}
		if dest == "" {
			dest = fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", r.Region, r.Account.ID, group)
		}
	case "s3", "kinesis-data-firehose":
		if !strings.HasPrefix(dest, "arn:") {
			return nil, errBadRequest("InvalidParameter", "LogDestination must be an ARN for destination type %s", destType)
		}
	default:
		return nil, errBadRequest("InvalidParameterValue", "Invalid value '%s' for LogDestinationType", destType)
	}
	var created []string
	var failed []ec2Unsuccessful
	for _, id := range ids {
		if !slices.ContainsFunc(st.vpcs, func(v *ec2VPC) bool { return v.ID == id }) {
			failed = append(failed, ec2Unsuccessful{"InvalidVpcID.NotFound", fmt.Sprintf("VPC %s does not exist", id), id})
			continue
		}
		if slices.ContainsFunc(st.flowLogs, func(f *ec2FlowLog) bool {
			return f.ResourceID == id && f.TrafficType == traffic && f.Destination == dest
		}) {
			failed = append(failed, ec2Unsuccessful{"FlowLogAlreadyExists", "Error. There is an existing Flow Log with the same configuration and log destination.", id})
			continue
		}
		fl := &ec2FlowLog{ID: "fl-" + r.srv.randomID(17, lowerHex), ResourceID: id, TrafficType: traffic,
			DestinationType: destType, Destination: dest, LogGroupName: group, PermissionARN: perm, Created: r.srv.now()}
		st.flowLogs = append(st.flowLogs, fl)
		created = append(created, fl.ID)
	}
	return &struct {
		ClientToken  string            `xml:"clientToken,omitempty"`
		FlowLogIDs   []string          `xml:"flowLogIdSet>item"`
		Unsuccessful []ec2Unsuccessful `xml:"unsuccessful>item"`
	}{r.param("ClientToken"), created, failed}, nil
}

func ec2GetEbsEncryptionByDefault(r *request) (any, error) {
	return &struct {
		Enabled bool   `xml:"ebsEncryptionByDefault"`
		SSEType string `xml:"sseType"`
	}{ec2For(r).ebsEncryptionByDefault, "sse-ebs"}, nil
}

func ec2SetEbsEncryptionByDefault(on bool) operation {
	return func(r *request) (any, error) {
		ec2For(r).ebsEncryptionByDefault = on
		return &struct {
			Enabled bool `xml:"ebsEncryptionByDefault"`
		}{on}, nil
	}
}

// ec2DefaultEBSKey is what EC2 reports while no customer key is set.
const ec2DefaultEBSKey = "alias/aws/ebs"

type ec2EbsKMSKeyOut struct {
	KmsKeyID string `xml:"kmsKeyId"`
}

func (st *ec2State) ebsKey() ec2EbsKMSKeyOut {
	if st.ebsDefaultKMSKey == "" {
		return ec2EbsKMSKeyOut{ec2DefaultEBSKey}
	}
	return ec2EbsKMSKeyOut{st.ebsDefaultKMSKey}
}

func ec2GetEbsDefaultKmsKeyID(r *request) (any, error) {
	return ec2For(r).ebsKey(), nil
}

// ec2ModifyEbsDefaultKmsKeyID sets the default key. A key ID, alias or ARN
// of a simulated KMS key is stored as the key's ARN; anything else is
// stored as given (existence is not checked).
func ec2ModifyEbsDefaultKmsKeyID(r *request) (any, error) {
	id := r.param("KmsKeyId")
	if id == "" {
		return nil, errBadRequest("MissingParameter", "The request must contain the parameter KmsKeyId")
	}
	if k := kmsResolve(r.srv, r.Account, r.Region, id); k != nil {
		id = k.ARN
	}
	st := ec2For(r)
	st.ebsDefaultKMSKey = id
	return st.ebsKey(), nil
}

func ec2ResetEbsDefaultKmsKeyID(r *request) (any, error) {
	st := ec2For(r)
	st.ebsDefaultKMSKey = ""
	return st.ebsKey(), nil
}

type imdsDefaultsOut struct {
	HTTPTokens   string `xml:"httpTokens,omitempty"`
	HopLimit     int    `xml:"httpPutResponseHopLimit,omitempty"`
	HTTPEndpoint string `xml:"httpEndpoint,omitempty"`
	MetadataTags string `xml:"instanceMetadataTags,omitempty"`
}

func ec2GetInstanceMetadataDefaults(r *request) (any, error) {
	d := ec2For(r).imds
	return &struct {
		AccountLevel imdsDefaultsOut `xml:"accountLevel"`
	}{imdsDefaultsOut{d.HTTPTokens, d.HopLimit, d.HTTPEndpoint, d.MetadataTags}}, nil
}

func ec2ModifyInstanceMetadataDefaults(r *request) (any, error) {
	d := &ec2For(r).imds
	set := func(dst *string, param string, allowed ...string) error {
		v := r.param(param)
		if v == "" {
			return nil
		}
		if v == "no-preference" {
			*dst = ""
			return nil
		}
		if !slices.Contains(allowed, v) {
			return errBadRequest("InvalidParameterValue", "Invalid value '%s' for %s", v, param)
		}
		*dst = v
		return nil
	}
	next := *d
	if err := set(&next.HTTPTokens, "HttpTokens", "optional", "required"); err != nil {
		return nil, err
	}
	if err := set(&next.HTTPEndpoint, "HttpEndpoint", "enabled", "disabled"); err != nil {
		return nil, err
	}
	if err := set(&next.MetadataTags, "InstanceMetadataTags", "enabled", "disabled"); err != nil {
		return nil, err
	}
	if v := r.param("HttpPutResponseHopLimit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 || n > 64 || n == 0 {
			return nil, errBadRequest("InvalidParameterValue", "Invalid value '%s' for HttpPutResponseHopLimit", v)
		}
		if n == -1 {
			n = 0
		}
		next.HopLimit = n
	}
	*d = next
	return &struct {
		Return bool `xml:"return"`
	}{true}, nil
}

type ec2MetadataOptions struct {
	State        string `xml:"state"`
	HTTPTokens   string `xml:"httpTokens"`
	HopLimit     int    `xml:"httpPutResponseHopLimit"`
	HTTPEndpoint string `xml:"httpEndpoint"`
	IPv6         string `xml:"httpProtocolIpv6"`
	Tags         string `xml:"instanceMetadataTags"`
}

func (in *ec2Instance) metadata() ec2MetadataOptions {
	return ec2MetadataOptions{"applied", in.HTTPTokens, in.HopLimit, in.HTTPEndpoint, "disabled", "disabled"}
}

type ec2InstanceOut struct {
	ID       string             `xml:"instanceId"`
	ImageID  string             `xml:"imageId"`
	Type     string             `xml:"instanceType"`
	State    ec2InstanceState   `xml:"instanceState"`
	VPCID    string             `xml:"vpcId"`
	Launch   string             `xml:"launchTime"`
	AZ       string             `xml:"placement>availabilityZone"`
	Metadata ec2MetadataOptions `xml:"metadataOptions"`
}

type ec2InstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

var instanceStateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

type ec2Reservation struct {
	ID        string           `xml:"reservationId"`
	OwnerID   string           `xml:"ownerId"`
	Instances []ec2InstanceOut `xml:"instancesSet>item"`
}

func ec2DescribeInstances(r *request) (any, error) {
	st := ec2For(r)
	ids := listValues(r.Form, "InstanceId")
	for _, id := range ids {
		if !slices.ContainsFunc(st.instances, func(in *ec2Instance) bool { return in.ID == id }) {
			return nil, errBadRequest("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
	}
	filters := ec2Filters(r)
	var out []ec2Reservation
	for _, in := range st.instances {
		if len(ids) > 0 && !slices.Contains(ids, in.ID) {
			continue
		}
		ok, err := matchFilters(filters, func(f string) ([]string, bool) {
			switch f {
			case "instance-id":
				return []string{in.ID}, true
			case "vpc-id":
				return []string{in.VPCID}, true
			case "instance-state-name":
				return []string{in.State}, true
			case "instance-type":
				return []string{in.Type}, true
			case "metadata-options.http-tokens":
				return []string{in.HTTPTokens}, true
			case "metadata-options.http-endpoint":
				return []string{in.HTTPEndpoint}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out = append(out, ec2Reservation{
			ID: "r-" + strings.TrimPrefix(in.ID, "i-"), OwnerID: r.Account.ID,
			Instances: []ec2InstanceOut{{
				ID: in.ID, ImageID: "ami-0abcdef1234567890", Type: in.Type,
				State: ec2InstanceState{instanceStateCodes[in.State], in.State}, VPCID: in.VPCID,
				Launch: in.Launched.UTC().Format("2006-01-02T15:04:05.000Z"), AZ: r.Region + "a", Metadata: in.metadata(),
			}},
		})
	}
	page, next, err := ec2Page(r, out, len(ids) > 0)
	if err != nil {
		return nil, err
	}
	return &struct {
		Reservations []ec2Reservation `xml:"reservationSet>item"`
		NextToken    string           `xml:"nextToken,omitempty"`
	}{page, next}, nil
}

func ec2ModifyInstanceMetadataOptions(r *request) (any, error) {
	st := ec2For(r)
	id := r.param("InstanceId")
	i := slices.IndexFunc(st.instances, func(in *ec2Instance) bool { return in.ID == id })
	if i < 0 {
		return nil, errBadRequest("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	}
	in := st.instances[i]
	if v := r.param("HttpTokens"); v != "" {
		if v != "optional" && v != "required" {
			return nil, errBadRequest("InvalidParameterValue", "Invalid value '%s' for HttpTokens", v)
		}
		in.HTTPTokens = v
	}
	if v := r.param("HttpEndpoint"); v != "" {
		in.HTTPEndpoint = v
	}
	if v := r.param("HttpPutResponseHopLimit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return nil, errBadRequest("InvalidParameterValue", "Invalid value '%s' for HttpPutResponseHopLimit", v)
		}
		in.HopLimit = n
	}
	md := in.metadata()
	md.State = "pending"
	return &struct {
		InstanceID string             `xml:"instanceId"`
		Options    ec2MetadataOptions `xml:"instanceMetadataOptions"`
	}{in.ID, md}, nil
}

func ec2DescribeSecurityGroupRules(r *request) (any, error) {
	st := ec2For(r)
	ids := listValues(r.Form, "SecurityGroupRuleId")
	filters := ec2Filters(r)
	var out []ec2RuleOut
	found := map[string]bool{}
	for _, g := range st.groups {
		for _, dir := range []struct {
			rules  []*ec2Rule
			egress bool
		}{{g.Ingress, false}, {g.Egress, true}} {
			for _, rule := range dir.rules {
				if len(ids) > 0 && !slices.Contains(ids, rule.ID) {
					continue
				}
				ok, err := matchFilters(filters, func(f string) ([]string, bool) {
					switch f {
					case "group-id":
						return []string{g.ID}, true
					case "security-group-rule-id":
						return []string{rule.ID}, true
					}
					return tagFilter(f, nil)
				})
				if err != nil {
					return nil, err
				}
				if ok {
					found[rule.ID] = true
					o := ruleOut(g, rule, dir.egress)
					o.ARN = fmt.Sprintf("arn:aws:ec2:%s:%s:security-group-rule/%s", r.Region, g.OwnerID, rule.ID)
					out = append(out, o)
				}
			}
		}
	}
	for _, id := range ids {
		if !found[id] {
			return nil, errBadRequest("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
		}
	}
	page, next, err := ec2Page(r, out, false)
	if err != nil {
		return nil, err
	}
	return &struct {
		Rules     []ec2RuleOut `xml:"securityGroupRuleSet>item"`
		NextToken string       `xml:"nextToken,omitempty"`
	}{page, next}, nil
}
