package awssim

import (
	"encoding/json"
	"slices"
	"strings"
)

// Organizations: JSON 1.1, global (us-east-1), management account only
// (DescribeOrganization also works from members, as in AWS).

func organizationsService() *service {
	ops := map[string]operation{
		"DescribeOrganization":             orgDescribeOrganization,
		"ListRoots":                        orgListRoots,
		"ListOrganizationalUnitsForParent": orgListOUsForParent,
		"DescribeOrganizationalUnit":       orgDescribeOU,
		"ListChildren":                     orgListChildren,
		"ListParents":                      orgListParents,
		"ListAccounts":                     orgListAccounts,
		"ListAccountsForParent":            orgListAccountsForParent,
		"DescribeAccount":                  orgDescribeAccount,
		"ListTagsForResource":              orgListTagsForResource,
		"CreatePolicy":                     orgCreatePolicy,
		"UpdatePolicy":                     orgUpdatePolicy,
		"DeletePolicy":                     orgDeletePolicy,
		"DescribePolicy":                   orgDescribePolicy,
		"ListPolicies":                     orgListPolicies,
		"ListPoliciesForTarget":            orgListPoliciesForTarget,
		"ListTargetsForPolicy":             orgListTargetsForPolicy,
		"AttachPolicy":                     orgAttachPolicy,
		"DetachPolicy":                     orgDetachPolicy,
		"EnablePolicyType":                 orgEnablePolicyType,
		"TagResource":                      orgTagResource,
		"UntagResource":                    orgUntagResource,
	}
	for name, op := range ops {
		if name != "DescribeOrganization" {
			ops[name] = managementOnly(op)
		}
	}
	return &service{
		Name:         "organizations",
		Protocol:     protoJSON11,
		TargetPrefix: "AWSOrganizationsV20161128",
		Global:       true,
		Codes:        errorCodes{Throttling: "TooManyRequestsException", Internal: "ServiceException", Validation: "InvalidInputException"},
		Ops:          ops,
	}
}

// managementOnly refuses callers from member accounts the way AWS does.
func managementOnly(op operation) operation {
	return func(r *request) (any, error) {
		if r.Caller.AccountID != r.srv.org.MasterID {
			return nil, errBadRequest("AccessDeniedException",
				"You don't have permissions to access this resource. This operation can be called only from the organization's management account.")
		}
		return op(r)
	}
}

// orgInput has every request member the implemented operations use; their
// names do not collide across operations.
type orgInput struct {
	ParentId, ChildType, ChildId, AccountId, ResourceId  string
	PolicyId, TargetId, Filter, Type, RootId, PolicyType string
	TagKeys                                              []string
	OrganizationalUnitId                                 string
	Name, Description, Content                           *string
	NextToken                                            string
	MaxResults                                           int
	Tags                                                 []orgTag
}

type orgTag struct {
	Key   string
	Value string
}

type orgPolicyTypeSummary struct {
	Type   string
	Status string
}

type orgRoot struct {
	Id          string
	Arn         string
	Name        string
	PolicyTypes []orgPolicyTypeSummary
}

type orgOU struct {
	Id   string
	Arn  string
	Name string
}

type orgAccount struct {
	Id              string
	Arn             string
	Email           string
	Name            string
	Status          string
	State           string
	JoinedMethod    string
	JoinedTimestamp float64
}

type orgPolicySummary struct {
	Id          string
	Arn         string
	Name        string
	Description string
	Type        string
	AwsManaged  bool
}

type orgPolicyOut struct {
	PolicySummary orgPolicySummary
	Content       string
}

func orgParse(r *request) (*orgInput, error) {
	var in orgInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	return &in, nil
}

func orgBadToken() *apiError {
	return errBadRequest("InvalidInputException", "The provided pagination token is invalid.").with("Reason", "INVALID_PAGINATION_TOKEN")
}

// orgPage pages a listing with Organizations' limits (MaxResults 1-20,
// default 20).
func orgPage[T any](r *request, in *orgInput, items []T) ([]T, string, error) {
	limit, err := r.pageLimit(in.MaxResults, 20, 20)
	if err != nil {
		return nil, "", errBadRequest("InvalidInputException", "%s", err.(*apiError).Message).with("Reason", "INVALID_INPUT")
	}
	return paginate(items, in.NextToken, limit, orgBadToken())
}

func (s *Server) orgRootOut() orgRoot {
	o := s.org
	root := orgRoot{Id: o.RootID, Arn: o.RootARN, Name: o.RootName, PolicyTypes: []orgPolicyTypeSummary{}}
	for _, t := range sortedKeys(o.policyTypes) {
		root.PolicyTypes = append(root.PolicyTypes, orgPolicyTypeSummary{Type: t, Status: o.policyTypes[t]})
	}
	return root
}

func accountOut(a *account) orgAccount {
	return orgAccount{
		Id: a.ID, Arn: a.ARN, Email: a.Email, Name: a.Name, Status: a.Status, State: a.Status,
		JoinedMethod: a.JoinedMethod, JoinedTimestamp: float64(a.Joined.Unix()),
	}
}

func policyOut(p *orgPolicy) orgPolicyOut {
	return orgPolicyOut{PolicySummary: policySummary(p), Content: p.Content}
}

func policySummary(p *orgPolicy) orgPolicySummary {
	return orgPolicySummary{Id: p.ID, Arn: p.ARN, Name: p.Name, Description: p.Description, Type: p.Type, AwsManaged: p.AWSManaged}
}

func orgDescribeOrganization(r *request) (any, error) {
	o := r.srv.org
	var types []orgPolicyTypeSummary
	if o.policyTypes["SERVICE_CONTROL_POLICY"] == "ENABLED" {
		types = append(types, orgPolicyTypeSummary{Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED"})
	}
	return map[string]any{"Organization": map[string]any{
		"Id": o.ID, "Arn": o.ARN, "FeatureSet": "ALL",
		"MasterAccountArn":     r.srv.accounts[o.MasterID].ARN,
		"MasterAccountId":      o.MasterID,
		"MasterAccountEmail":   o.MasterEmail,
		"AvailablePolicyTypes": types,
	}}, nil
}

func orgListRoots(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	page, next, err := orgPage(r, in, []orgRoot{r.srv.orgRootOut()})
	if err != nil {
		return nil, err
	}
	return listOut("Roots", page, next), nil
}

// orgParent checks that id is the root or an OU.
func (s *Server) orgParent(id string) error {
	if id == s.org.RootID {
		return nil
	}
	if _, ok := s.org.ous[id]; ok {
		return nil
	}
	if !strings.HasPrefix(id, "r-") && !strings.HasPrefix(id, "ou-") {
		return errBadRequest("InvalidInputException", "You specified an invalid value for parentId.").with("Reason", "INVALID_PARENT_ID")
	}
	return errBadRequest("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
}

func (s *Server) ousUnder(parent string) []orgOU {
	out := []orgOU{}
	for _, id := range s.org.ouOrder {
		if u := s.org.ous[id]; u.ParentID == parent {
			out = append(out, orgOU{Id: u.ID, Arn: u.ARN, Name: u.Name})
		}
	}
	return out
}

func (s *Server) accountsUnder(parent string) []orgAccount {
	out := []orgAccount{}
	for _, id := range s.accountOrder {
		if a := s.accounts[id]; a.ParentID == parent {
			out = append(out, accountOut(a))
		}
	}
	return out
}

func orgListOUsForParent(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	if err := r.srv.orgParent(in.ParentId); err != nil {
		return nil, err
	}
	page, next, err := orgPage(r, in, r.srv.ousUnder(in.ParentId))
	if err != nil {
		return nil, err
	}
	return listOut("OrganizationalUnits", page, next), nil
}

func orgDescribeOU(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	u := r.srv.org.ous[in.OrganizationalUnitId]
	if u == nil {
		return nil, errBadRequest("OrganizationalUnitNotFoundException", "We can't find an OU with the OrganizationalUnitId that you specified.")
	}
	return map[string]any{"OrganizationalUnit": orgOU{Id: u.ID, Arn: u.ARN, Name: u.Name}}, nil
}

func orgListChildren(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	if err := r.srv.orgParent(in.ParentId); err != nil {
		return nil, err
	}
	type child struct{ Id, Type string }
	children := []child{}
	switch in.ChildType {
	case "ACCOUNT":
		for _, a := range r.srv.accountsUnder(in.ParentId) {
			children = append(children, child{a.Id, "ACCOUNT"})
		}
	case "ORGANIZATIONAL_UNIT":
		for _, u := range r.srv.ousUnder(in.ParentId) {
			children = append(children, child{u.Id, "ORGANIZATIONAL_UNIT"})
		}
	default:
		return nil, errBadRequest("InvalidInputException", "You provided a value that does not match the required pattern.").with("Reason", "INVALID_ENUM")
	}
	page, next, err := orgPage(r, in, children)
	if err != nil {
		return nil, err
	}
	return listOut("Children", page, next), nil
}

func orgListParents(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	var parent string
	if a := r.srv.accounts[in.ChildId]; a != nil {
		parent = a.ParentID
	} else if u := r.srv.org.ous[in.ChildId]; u != nil {
		parent = u.ParentID
	} else {
		return nil, errBadRequest("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")
	}
	typ := "ORGANIZATIONAL_UNIT"
	if parent == r.srv.org.RootID {
		typ = "ROOT"
	}
	type parentOut struct{ Id, Type string }
	page, next, err := orgPage(r, in, []parentOut{{parent, typ}})
	if err != nil {
		return nil, err
	}
	return listOut("Parents", page, next), nil
}

func orgListAccounts(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	all := make([]orgAccount, 0, len(r.srv.accountOrder))
	for _, id := range r.srv.accountOrder {
		all = append(all, accountOut(r.srv.accounts[id]))
	}
	page, next, err := orgPage(r, in, all)
	if err != nil {
		return nil, err
	}
	return listOut("Accounts", page, next), nil
}

func orgListAccountsForParent(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	if err := r.srv.orgParent(in.ParentId); err != nil {
		return nil, err
	}
	page, next, err := orgPage(r, in, r.srv.accountsUnder(in.ParentId))
	if err != nil {
		return nil, err
	}
	return listOut("Accounts", page, next), nil
}

func orgDescribeAccount(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	a := r.srv.accounts[in.AccountId]
	if a == nil {
		return nil, errBadRequest("AccountNotFoundException", "You specified an account that doesn't exist.")
	}
	return map[string]any{"Account": accountOut(a)}, nil
}

func orgListTagsForResource(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	_, isPolicy := r.srv.org.policies[in.ResourceId]
	if !r.srv.orgTargetExists(in.ResourceId) && !isPolicy {
		return nil, errBadRequest("TargetNotFoundException", "We can't find a root, OU, account, or policy with the TargetId that you specified.")
	}
	tags := r.srv.org.tags[in.ResourceId]
	out := []orgTag{}
	for _, k := range sortedKeys(tags) {
		out = append(out, orgTag{Key: k, Value: tags[k]})
	}
	page, next, err := paginate(out, in.NextToken, 0, orgBadToken())
	if err != nil {
		return nil, err
	}
	return listOut("Tags", page, next), nil
}

var orgPolicyTypes = []string{"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY"}

// orgValidatePolicy applies the checks AWS makes on policy documents that
// orgguard can trip over: JSON syntax, a Statement for SCPs/RCPs, size.
func orgValidatePolicy(typ, content string) error {
	var doc map[string]any
	if err := json.Unmarshal([]byte(content), &doc); err != nil {
		return errBadRequest("MalformedPolicyDocumentException", "The provided policy document does not meet the requirements of the specified policy type.")
	}
	if typ == "SERVICE_CONTROL_POLICY" || typ == "RESOURCE_CONTROL_POLICY" {
		if _, ok := doc["Statement"]; !ok {
			return errBadRequest("MalformedPolicyDocumentException", "The provided policy document does not meet the requirements of the specified policy type.")
		}
		if len(content) > 5120 {
			return errBadRequest("ConstraintViolationException", "You have exceeded the maximum size of a policy document.").with("Reason", "POLICY_CONTENT_LIMIT_EXCEEDED")
		}
	}
	return nil
}

func orgCreatePolicy(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	if in.Name == nil || *in.Name == "" || in.Content == nil || in.Description == nil {
		return nil, errBadRequest("InvalidInputException", "Name, Content, Description and Type are required.").with("Reason", "MISSING_INPUT")
	}
	if !slices.Contains(orgPolicyTypes, in.Type) {
		return nil, errBadRequest("InvalidInputException", "You specified an invalid policy type.").with("Reason", "INVALID_ENUM_POLICY_TYPE")
	}
	if err := orgValidatePolicy(in.Type, *in.Content); err != nil {
		return nil, err
	}
	for _, p := range r.srv.org.policies {
		if p.Name == *in.Name && p.Type == in.Type {
			return nil, errBadRequest("DuplicatePolicyException", "A policy with the same name already exists.")
		}
	}
	p := r.srv.newOrgPolicy("", *in.Name, *in.Description, in.Type, *in.Content)
	if len(in.Tags) > 0 {
		tags := map[string]string{}
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		r.srv.org.tags[p.ID] = tags
	}
	return map[string]any{"Policy": policyOut(p)}, nil
}

func (s *Server) orgPolicy(id string) (*orgPolicy, error) {
	p := s.org.policies[id]
	if p == nil {
		return nil, errBadRequest("PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.")
	}
	return p, nil
}

func orgUpdatePolicy(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	p, err := r.srv.orgPolicy(in.PolicyId)
	if err != nil {
		return nil, err
	}
	if p.AWSManaged {
		return nil, errBadRequest("AccessDeniedException", "You can't modify an AWS managed policy.")
	}
	if in.Content != nil {
		if err := orgValidatePolicy(p.Type, *in.Content); err != nil {
			return nil, err
		}
		p.Content = *in.Content
	}
	if in.Name != nil {
		p.Name = *in.Name
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	return map[string]any{"Policy": policyOut(p)}, nil
}

func orgDeletePolicy(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	p, err := r.srv.orgPolicy(in.PolicyId)
	if err != nil {
		return nil, err
	}
	if p.AWSManaged {
		return nil, errBadRequest("AccessDeniedException", "You can't delete an AWS managed policy.")
	}
	if len(r.srv.org.attachments[p.ID]) > 0 {
		return nil, errBadRequest("PolicyInUseException", "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.")
	}
	delete(r.srv.org.policies, p.ID)
	delete(r.srv.org.attachments, p.ID)
	delete(r.srv.org.tags, p.ID)
	r.srv.org.policyOrder = slices.DeleteFunc(r.srv.org.policyOrder, func(id string) bool { return id == p.ID })
	return struct{}{}, nil
}

func orgDescribePolicy(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	p, err := r.srv.orgPolicy(in.PolicyId)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Policy": policyOut(p)}, nil
}

func orgCheckFilter(f string) error {
	if !slices.Contains(orgPolicyTypes, f) {
		return errBadRequest("InvalidInputException", "You specified an invalid value for filter.").with("Reason", "INVALID_ENUM_POLICY_TYPE")
	}
	return nil
}

func orgListPolicies(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	if err := orgCheckFilter(in.Filter); err != nil {
		return nil, err
	}
	out := []orgPolicySummary{}
	for _, id := range r.srv.org.policyOrder {
		if p := r.srv.org.policies[id]; p.Type == in.Filter {
			out = append(out, policySummary(p))
		}
	}
	page, next, err := orgPage(r, in, out)
	if err != nil {
		return nil, err
	}
	return listOut("Policies", page, next), nil
}

func orgListPoliciesForTarget(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	if err := orgCheckFilter(in.Filter); err != nil {
		return nil, err
	}
	if !r.srv.orgTargetExists(in.TargetId) {
		return nil, errBadRequest("TargetNotFoundException", "We can't find a root, OU, account, or policy with the TargetId that you specified.")
	}
	out := []orgPolicySummary{}
	for _, id := range r.srv.org.policyOrder {
		p := r.srv.org.policies[id]
		if p.Type == in.Filter && slices.Contains(r.srv.org.attachments[id], in.TargetId) {
			out = append(out, policySummary(p))
		}
	}
	page, next, err := orgPage(r, in, out)
	if err != nil {
		return nil, err
	}
	return listOut("Policies", page, next), nil
}

type orgTarget struct {
	TargetId string
	Arn      string
	Name     string
	Type     string
}

func (s *Server) orgTargetOut(id string) orgTarget {
	if id == s.org.RootID {
		return orgTarget{TargetId: id, Arn: s.org.RootARN, Name: s.org.RootName, Type: "ROOT"}
	}
	if u := s.org.ous[id]; u != nil {
		return orgTarget{TargetId: id, Arn: u.ARN, Name: u.Name, Type: "ORGANIZATIONAL_UNIT"}
	}
	a := s.accounts[id]
	return orgTarget{TargetId: id, Arn: a.ARN, Name: a.Name, Type: "ACCOUNT"}
}

func orgListTargetsForPolicy(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	p, err := r.srv.orgPolicy(in.PolicyId)
	if err != nil {
		return nil, err
	}
	out := []orgTarget{}
	for _, t := range r.srv.org.attachments[p.ID] {
		out = append(out, r.srv.orgTargetOut(t))
	}
	page, next, err := orgPage(r, in, out)
	if err != nil {
		return nil, err
	}
	return listOut("Targets", page, next), nil
}

// attachedOfType counts the policies of typ attached to target.
func (s *Server) attachedOfType(target, typ string) int {
	n := 0
	for id, targets := range s.org.attachments {
		if s.org.policies[id].Type == typ && slices.Contains(targets, target) {
			n++
		}
	}
	return n
}

func orgAttachPolicy(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	p, err := r.srv.orgPolicy(in.PolicyId)
	if err != nil {
		return nil, err
	}
	if !r.srv.orgTargetExists(in.TargetId) {
		return nil, errBadRequest("TargetNotFoundException", "We can't find a root, OU, account, or policy with the TargetId that you specified.")
	}
	if r.srv.org.policyTypes[p.Type] != "ENABLED" {
		return nil, errBadRequest("PolicyTypeNotEnabledException", "This operation can be performed only for enabled policy types.")
	}
	if slices.Contains(r.srv.org.attachments[p.ID], in.TargetId) {
		return nil, errBadRequest("DuplicatePolicyAttachmentException", "The selected policy is already attached to the specified target.")
	}
	// AWS allows at most five SCPs (and RCPs) per root, OU or account.
	if (p.Type == "SERVICE_CONTROL_POLICY" || p.Type == "RESOURCE_CONTROL_POLICY") && r.srv.attachedOfType(in.TargetId, p.Type) >= 5 {
		return nil, errBadRequest("ConstraintViolationException", "You attempted to exceed the number of policies of a certain type that can be attached to an entity.").with("Reason", "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
	}
	r.srv.org.attachments[p.ID] = append(r.srv.org.attachments[p.ID], in.TargetId)
	return struct{}{}, nil
}

func orgDetachPolicy(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	p, err := r.srv.orgPolicy(in.PolicyId)
	if err != nil {
		return nil, err
	}
	if !r.srv.orgTargetExists(in.TargetId) {
		return nil, errBadRequest("TargetNotFoundException", "We can't find a root, OU, account, or policy with the TargetId that you specified.")
	}
	if !slices.Contains(r.srv.org.attachments[p.ID], in.TargetId) {
		return nil, errBadRequest("PolicyNotAttachedException", "The policy isn't attached to the specified target in the specified root.")
	}
	// Every entity must keep at least one SCP while SCPs are enabled.
	if p.Type == "SERVICE_CONTROL_POLICY" && r.srv.attachedOfType(in.TargetId, p.Type) <= 1 {
		return nil, errBadRequest("ConstraintViolationException", "You attempted to detach a policy from an entity that would cause the entity to have fewer than the minimum number of policies of a certain type required.").with("Reason", "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
	}
	r.srv.org.attachments[p.ID] = slices.DeleteFunc(r.srv.org.attachments[p.ID], func(t string) bool { return t == in.TargetId })
	return struct{}{}, nil
}

func orgEnablePolicyType(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	if in.RootId != r.srv.org.RootID {
		return nil, errBadRequest("RootNotFoundException", "We can't find a root with the RootId that you specified.")
	}
	if !slices.Contains(orgPolicyTypes, in.PolicyType) {
		return nil, errBadRequest("InvalidInputException", "You specified an invalid policy type.").with("Reason", "INVALID_ENUM_POLICY_TYPE")
	}
	if r.srv.org.policyTypes[in.PolicyType] == "ENABLED" {
		return nil, errBadRequest("PolicyTypeAlreadyEnabledException", "The specified policy type is already enabled.")
	}
	// AWS enables asynchronously (PENDING_ENABLE); the simulator is done at
	// once, which callers that poll ListRoots handle the same way.
	r.srv.org.policyTypes[in.PolicyType] = "ENABLED"
	if in.PolicyType == "SERVICE_CONTROL_POLICY" {
		// Enabling SCPs attaches FullAWSAccess everywhere.
		full := r.srv.org.policies["p-FullAWSAccess"]
		if full != nil {
			var all []string
			all = append(all, r.srv.org.RootID)
			all = append(all, r.srv.org.ouOrder...)
			all = append(all, r.srv.accountOrder...)
			r.srv.org.attachments[full.ID] = all
		}
	}
	return map[string]any{"Root": r.srv.orgRootOut()}, nil
}

// listOut is a JSON list response; NextToken is present only when there is
// another page, as in AWS.
func listOut(key string, items any, next string) map[string]any {
	out := map[string]any{key: items}
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

// orgTaggable checks that id names something Organizations can tag.
func (s *Server) orgTaggable(id string) error {
	if _, isPolicy := s.org.policies[id]; isPolicy || s.orgTargetExists(id) {
		return nil
	}
	return errBadRequest("TargetNotFoundException", "We can't find a root, OU, account, or policy with the TargetId that you specified.")
}

func orgTagResource(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	if err := r.srv.orgTaggable(in.ResourceId); err != nil {
		return nil, err
	}
	tags := r.srv.org.tags[in.ResourceId]
	if tags == nil {
		tags = map[string]string{}
		r.srv.org.tags[in.ResourceId] = tags
	}
	for _, t := range in.Tags {
		tags[t.Key] = t.Value
	}
	return struct{}{}, nil
}

func orgUntagResource(r *request) (any, error) {
	in, err := orgParse(r)
	if err != nil {
		return nil, err
	}
	if err := r.srv.orgTaggable(in.ResourceId); err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(r.srv.org.tags[in.ResourceId], k)
	}
	return struct{}{}, nil
}
