package awssim

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

func orgClient(s *Server) *organizations.Client {
	return organizations.NewFromConfig(mgmtConfig(s, "us-east-1"))
}

// allAccounts walks ListAccounts with the SDK paginator.
func allAccounts(t *testing.T, c *organizations.Client) []types.Account {
	t.Helper()
	var out []types.Account
	p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		out = append(out, page.Accounts...)
	}
	if pages < 2 {
		t.Errorf("ListAccounts took %d pages; PageSize should force several", pages)
	}
	return out
}

func TestOrganizationsDiscovery(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 2})
	c := orgClient(s)

	org := must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}))
	if aws.ToString(org.Organization.MasterAccountId) != demoMgmt || aws.ToString(org.Organization.Id) != "o-demo0rgguard" {
		t.Errorf("organization = %+v", org.Organization)
	}

	roots := must[*organizations.ListRootsOutput](t)(c.ListRoots(ctx, &organizations.ListRootsInput{}))
	if len(roots.Roots) != 1 || len(roots.Roots[0].PolicyTypes) == 0 {
		t.Fatalf("roots = %+v", roots.Roots)
	}
	rootID := aws.ToString(roots.Roots[0].Id)

	accounts := allAccounts(t, c)
	if len(accounts) != 12 {
		t.Fatalf("got %d accounts, want 12", len(accounts))
	}
	suspended := 0
	for _, a := range accounts {
		if a.Status == types.AccountStatusSuspended {
			suspended++
		}
		if a.JoinedTimestamp == nil || a.JoinedTimestamp.IsZero() || len(aws.ToString(a.Id)) != 12 {
			t.Errorf("account %+v incomplete", a)
		}
	}
	if suspended != 2 {
		t.Errorf("got %d suspended accounts, want 2", suspended)
	}

	// Walk the OU tree breadth-first, as orgguard's discovery does.
	paths := map[string]string{} // account -> OU path
	type node struct{ id, path string }
	queue := []node{{rootID, "Root"}}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		ous := organizations.NewListOrganizationalUnitsForParentPaginator(c, &organizations.ListOrganizationalUnitsForParentInput{ParentId: &n.id})
		for ous.HasMorePages() {
			page := must[*organizations.ListOrganizationalUnitsForParentOutput](t)(ous.NextPage(ctx))
			for _, u := range page.OrganizationalUnits {
				queue = append(queue, node{aws.ToString(u.Id), n.path + "/" + aws.ToString(u.Name)})
			}
		}
		accts := organizations.NewListAccountsForParentPaginator(c, &organizations.ListAccountsForParentInput{ParentId: &n.id})
		for accts.HasMorePages() {
			page := must[*organizations.ListAccountsForParentOutput](t)(accts.NextPage(ctx))
			for _, a := range page.Accounts {
				paths[aws.ToString(a.Id)] = n.path
			}
		}
	}
	want := map[string]string{
		"100000000001": "Root", "100000000003": "Root/Security", "100000000004": "Root/Infrastructure",
		"100000000006": "Root/Workloads/Prod", "100000000009": "Root/Workloads/Dev", "100000000011": "Root/Sandbox",
	}
	for acct, path := range want {
		if paths[acct] != path {
			t.Errorf("account %s at %q, want %q", acct, paths[acct], path)
		}
	}
	if len(paths) != 12 {
		t.Errorf("tree walk found %d accounts, want 12", len(paths))
	}

	children := must[*organizations.ListChildrenOutput](t)(c.ListChildren(ctx, &organizations.ListChildrenInput{ParentId: &rootID, ChildType: types.ChildTypeAccount}))
	if len(children.Children) != 1 || aws.ToString(children.Children[0].Id) != demoMgmt {
		t.Errorf("root account children = %+v", children.Children)
	}
	parents := must[*organizations.ListParentsOutput](t)(c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String("100000000006")}))
	if len(parents.Parents) != 1 || parents.Parents[0].Type != types.ParentTypeOrganizationalUnit {
		t.Errorf("parents = %+v", parents.Parents)
	}
	acct := must[*organizations.DescribeAccountOutput](t)(c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("100000000007")}))
	if aws.ToString(acct.Account.Name) != "web-prod" {
		t.Errorf("DescribeAccount = %+v", acct.Account)
	}
	tags := must[*organizations.ListTagsForResourceOutput](t)(c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String("100000000007")}))
	if !slices.ContainsFunc(tags.Tags, func(t types.Tag) bool { return aws.ToString(t.Key) == "environment" && aws.ToString(t.Value) == "prod" }) {
		t.Errorf("tags = %+v", tags.Tags)
	}

	_, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("999999999999")})
	requireCode(t, err, "AccountNotFoundException")
	_, err = c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String("999999999999")})
	requireCode(t, err, "ChildNotFoundException")
	_, err = c.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-zzzz-zzzzzzzz")})
	requireCode(t, err, "ParentNotFoundException")
	_, err = c.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: aws.String("bogus")})
	requireCode(t, err, "InvalidInputException")
}

func TestOrganizationsPolicies(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	c := orgClient(s)
	roots := must[*organizations.ListRootsOutput](t)(c.ListRoots(ctx, &organizations.ListRootsInput{}))
	rootID := roots.Roots[0].Id

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}`
	created := must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{
		Name: aws.String("deny-leave"), Description: aws.String("d"), Content: &doc, Type: types.PolicyTypeServiceControlPolicy,
	}))
	id := created.Policy.PolicySummary.Id
	_, err := c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("deny-leave"), Description: aws.String("d"), Content: &doc, Type: types.PolicyTypeServiceControlPolicy})
	requireCode(t, err, "DuplicatePolicyException")
	_, err = c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("bad"), Description: aws.String("d"), Content: aws.String("{not json"), Type: types.PolicyTypeServiceControlPolicy})
	requireCode(t, err, "MalformedPolicyDocumentException")

	var names []string
	pp := organizations.NewListPoliciesPaginator(c, &organizations.ListPoliciesInput{Filter: types.PolicyTypeServiceControlPolicy})
	for pp.HasMorePages() {
		for _, p := range must[*organizations.ListPoliciesOutput](t)(pp.NextPage(ctx)).Policies {
			names = append(names, aws.ToString(p.Name))
		}
	}
	if !slices.Equal(names, []string{"FullAWSAccess", "deny-leave"}) {
		t.Errorf("policies = %v", names)
	}

	upd := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["organizations:LeaveOrganization"],"Resource":"*"}]}`
	must[*organizations.UpdatePolicyOutput](t)(c.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: id, Content: &upd}))
	desc := must[*organizations.DescribePolicyOutput](t)(c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: id}))
	if aws.ToString(desc.Policy.Content) != upd {
		t.Errorf("content not updated: %s", aws.ToString(desc.Policy.Content))
	}
	_, err = c.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String("p-FullAWSAccess"), Content: &upd})
	requireCode(t, err, "AccessDeniedException")

	must[*organizations.AttachPolicyOutput](t)(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: id, TargetId: rootID}))
	must[*organizations.AttachPolicyOutput](t)(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: id, TargetId: aws.String("100000000006")}))
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: id, TargetId: rootID})
	requireCode(t, err, "DuplicatePolicyAttachmentException")
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: id, TargetId: aws.String("ou-none-00000000")})
	requireCode(t, err, "TargetNotFoundException")
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String("p-missing1"), TargetId: rootID})
	requireCode(t, err, "PolicyNotFoundException")

	var targets []string
	tp := organizations.NewListTargetsForPolicyPaginator(c, &organizations.ListTargetsForPolicyInput{PolicyId: id})
	for tp.HasMorePages() {
		for _, tg := range must[*organizations.ListTargetsForPolicyOutput](t)(tp.NextPage(ctx)).Targets {
			targets = append(targets, string(tg.Type)+":"+aws.ToString(tg.TargetId))
		}
	}
	if !slices.Equal(targets, []string{"ROOT:" + *rootID, "ACCOUNT:100000000006"}) {
		t.Errorf("targets = %v", targets)
	}
	var forTarget []string
	fp := organizations.NewListPoliciesForTargetPaginator(c, &organizations.ListPoliciesForTargetInput{TargetId: rootID, Filter: types.PolicyTypeServiceControlPolicy})
	for fp.HasMorePages() {
		for _, p := range must[*organizations.ListPoliciesForTargetOutput](t)(fp.NextPage(ctx)).Policies {
			forTarget = append(forTarget, aws.ToString(p.Id))
		}
	}
	if !slices.Equal(forTarget, []string{"p-FullAWSAccess", *id}) {
		t.Errorf("policies for root = %v", forTarget)
	}

	_, err = c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: id})
	requireCode(t, err, "PolicyInUseException")
	must[*organizations.DetachPolicyOutput](t)(c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: id, TargetId: rootID}))
	_, err = c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: id, TargetId: rootID})
	requireCode(t, err, "PolicyNotAttachedException")
	must[*organizations.DetachPolicyOutput](t)(c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: id, TargetId: aws.String("100000000006")}))
	must[*organizations.DeletePolicyOutput](t)(c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: id}))
	_, err = c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: id})
	requireCode(t, err, "PolicyNotFoundException")

	// Every entity keeps at least one SCP.
	_, err = c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String("100000000006")})
	requireCode(t, err, "ConstraintViolationException")

	// Tag policies are not enabled in the demo org.
	tagDoc := `{"tags":{"owner":{"tag_key":{"@@assign":"owner"}}}}`
	tagPol := must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{
		Name: aws.String("owner-tag"), Description: aws.String("d"), Content: &tagDoc, Type: types.PolicyTypeTagPolicy,
	}))
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: tagPol.Policy.PolicySummary.Id, TargetId: rootID})
	requireCode(t, err, "PolicyTypeNotEnabledException")
	en := must[*organizations.EnablePolicyTypeOutput](t)(c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: rootID, PolicyType: types.PolicyTypeTagPolicy}))
	if !slices.ContainsFunc(en.Root.PolicyTypes, func(p types.PolicyTypeSummary) bool { return p.Type == types.PolicyTypeTagPolicy }) {
		t.Errorf("root policy types = %+v", en.Root.PolicyTypes)
	}
	_, err = c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: rootID, PolicyType: types.PolicyTypeTagPolicy})
	requireCode(t, err, "PolicyTypeAlreadyEnabledException")
	must[*organizations.AttachPolicyOutput](t)(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: tagPol.Policy.PolicySummary.Id, TargetId: rootID}))
}

func TestOrganizationsMemberAccountRefused(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := organizations.NewFromConfig(memberConfig(s, "100000000006", "us-east-1"))
	_, err := c.ListAccounts(ctx, &organizations.ListAccountsInput{})
	requireCode(t, err, "AccessDeniedException")
	// Members may describe the organization they belong to.
	must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}))
}

func TestOrganizationsThrottling(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Faults: []Fault{{Service: "organizations", Operation: "ListRoots", Throttle: &Throttle{Burst: 2}}}})
	c := orgClient(s)
	for i := 0; i < 2; i++ {
		must[*organizations.ListRootsOutput](t)(c.ListRoots(ctx, &organizations.ListRootsInput{}))
	}
	_, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	requireCode(t, err, "TooManyRequestsException")
	// Other operations have their own quota.
	must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}))
	throttled := s.CallsMatching(CallFilter{Operation: "ListRoots"})
	if len(throttled) != 3 || throttled[2].ErrorCode != "TooManyRequestsException" {
		t.Errorf("calls = %+v", throttled)
	}
}

func TestOrganizationsTagging(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := orgClient(s)
	acct := aws.String("100000000008")
	must[*organizations.TagResourceOutput](t)(c.TagResource(ctx, &organizations.TagResourceInput{ResourceId: acct, Tags: []types.Tag{{Key: aws.String("orgguard:wave"), Value: aws.String("2")}}}))
	tags := must[*organizations.ListTagsForResourceOutput](t)(c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: acct}))
	if !slices.ContainsFunc(tags.Tags, func(t types.Tag) bool { return aws.ToString(t.Key) == "orgguard:wave" }) {
		t.Fatalf("tags = %+v", tags.Tags)
	}
	must[*organizations.UntagResourceOutput](t)(c.UntagResource(ctx, &organizations.UntagResourceInput{ResourceId: acct, TagKeys: []string{"orgguard:wave"}}))
	tags = must[*organizations.ListTagsForResourceOutput](t)(c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: acct}))
	if slices.ContainsFunc(tags.Tags, func(t types.Tag) bool { return aws.ToString(t.Key) == "orgguard:wave" }) {
		t.Errorf("tag not removed: %+v", tags.Tags)
	}
	_, err := c.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String("999999999999"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	requireCode(t, err, "TargetNotFoundException")
}

func TestOrganizationsOUs(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := orgClient(s)
	roots := must[*organizations.ListRootsOutput](t)(c.ListRoots(ctx, &organizations.ListRootsInput{}))
	ous := must[*organizations.ListChildrenOutput](t)(c.ListChildren(ctx, &organizations.ListChildrenInput{ParentId: roots.Roots[0].Id, ChildType: types.ChildTypeOrganizationalUnit}))
	if len(ous.Children) != 4 {
		t.Fatalf("top-level OUs = %+v", ous.Children)
	}
	var names []string
	for _, ch := range ous.Children {
		ou := must[*organizations.DescribeOrganizationalUnitOutput](t)(c.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: ch.Id}))
		names = append(names, aws.ToString(ou.OrganizationalUnit.Name))
	}
	if !slices.Equal(names, []string{"Security", "Infrastructure", "Workloads", "Sandbox"}) {
		t.Errorf("OU names = %v", names)
	}
	_, err := c.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String("ou-none-00000000")})
	requireCode(t, err, "OrganizationalUnitNotFoundException")
}
