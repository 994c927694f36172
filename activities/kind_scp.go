package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/workflows"
)

// orgAPI is the part of the Organizations client the SCP kind uses.
type orgAPI interface {
	organizations.ListRootsAPIClient
	organizations.ListPoliciesAPIClient
	organizations.ListTargetsForPolicyAPIClient
	organizations.ListPoliciesForTargetAPIClient
	organizations.ListOrganizationalUnitsForParentAPIClient
	DescribePolicy(context.Context, *organizations.DescribePolicyInput, ...func(*organizations.Options)) (*organizations.DescribePolicyOutput, error)
	CreatePolicy(context.Context, *organizations.CreatePolicyInput, ...func(*organizations.Options)) (*organizations.CreatePolicyOutput, error)
	UpdatePolicy(context.Context, *organizations.UpdatePolicyInput, ...func(*organizations.Options)) (*organizations.UpdatePolicyOutput, error)
	AttachPolicy(context.Context, *organizations.AttachPolicyInput, ...func(*organizations.Options)) (*organizations.AttachPolicyOutput, error)
	DetachPolicy(context.Context, *organizations.DetachPolicyInput, ...func(*organizations.Options)) (*organizations.DetachPolicyOutput, error)
	EnablePolicyType(context.Context, *organizations.EnablePolicyTypeInput, ...func(*organizations.Options)) (*organizations.EnablePolicyTypeOutput, error)
	DeletePolicy(context.Context, *organizations.DeletePolicyInput, ...func(*organizations.Options)) (*organizations.DeletePolicyOutput, error)
}

// scpKind manages one Service Control Policy: its content, where it is
// attached, and the SCP policy type of the root. It runs once per
// organization with the management account's credentials; errors such as
// ConcurrentModificationException are returned raw and retried by the
// activity's retry policy (they are classified retryable).
//
// A run's configuration carries the worker's Organizations memo
// (awsclient.Factory.ManagementAs): the SCP guardrails of a run share one
// ListRoots, one ListPolicies and the OU tree discovery walked. Apply and
// the verification of one policy read fresh (awsclient.ReadFresh): what
// they decide on must include the writes of other workers.
type scpKind struct{}

func (scpKind) Permissions() []string {
	return []string{
		"organizations:ListRoots", "organizations:ListPolicies", "organizations:DescribePolicy",
		"organizations:ListTargetsForPolicy", "organizations:ListPoliciesForTarget",
		"organizations:ListOrganizationalUnitsForParent",
		"organizations:CreatePolicy", "organizations:UpdatePolicy", "organizations:AttachPolicy",
		"organizations:DetachPolicy", "organizations:EnablePolicyType",
		// Rollback deletes a policy orgguard created.
		"organizations:DeletePolicy",
	}
}

func (scpKind) org(env Env) orgAPI { return organizations.NewFromConfig(env.Config) }

const scpType = orgtypes.PolicyTypeServiceControlPolicy

// ErrUnsafeDetach is the Temporal error type of a refused detachment.
const ErrUnsafeDetach = "UnsafeDetach"

// scpState is what Check and Apply read from Organizations.
type scpState struct {
	rootID      string
	typeEnabled bool
	policy      *orgtypes.PolicySummary // nil when the policy does not exist
	content     string
	targets     map[string]string // attached target id -> name
	desired     []string          // resolved attach_to, in guardrail order
	names       map[string]string // desired id -> how the guardrail named it
}

var (
	scpAccountRe = regexp.MustCompile(`^\d{12}$`)
	scpOURe      = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	scpRootRe    = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
)

func (k scpKind) read(ctx context.Context, api orgAPI, spec *guardrails.SCP) (*scpState, error) {
	st := &scpState{targets: map[string]string{}, names: map[string]string{}}
	roots := organizations.NewListRootsPaginator(api, &organizations.ListRootsInput{})
	for roots.HasMorePages() {
		page, err := roots.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Roots {
			if st.rootID == "" {
				st.rootID = aws.ToString(r.Id)
				for _, t := range r.PolicyTypes {
					if t.Type == scpType && t.Status == orgtypes.PolicyTypeStatusEnabled {
						st.typeEnabled = true
					}
				}
			}
		}
	}
	if st.rootID == "" {
		return nil, errors.New("organization has no root")
	}
	pols := organizations.NewListPoliciesPaginator(api, &organizations.ListPoliciesInput{Filter: scpType})
	for pols.HasMorePages() && st.policy == nil {
		page, err := pols.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Policies {
			if aws.ToString(p.Name) == spec.PolicyName {
				p := p
				st.policy = &p
				break
			}
		}
	}
	if st.policy != nil {
		d, err := api.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: st.policy.Id})
		if err != nil {
			return nil, err
		}
		st.content = aws.ToString(d.Policy.Content)
		tp := organizations.NewListTargetsForPolicyPaginator(api, &organizations.ListTargetsForPolicyInput{PolicyId: st.policy.Id})
		for tp.HasMorePages() {
			page, err := tp.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, t := range page.Targets {
				st.targets[aws.ToString(t.TargetId)] = aws.ToString(t.Name)
			}
		}
	}
	for _, name := range spec.AttachTo {
		id, err := k.resolveTarget(ctx, api, st.rootID, name)
		if err != nil {
			return nil, err
		}
		if _, dup := st.names[id]; dup {
			continue
		}
		st.names[id] = name
		st.desired = append(st.desired, id)
	}
	return st, nil
}

// resolveTarget turns "root", a root / OU / account id or an OU path
// ("Root/Workloads/Prod") into the id AWS attaches to.
func (scpKind) resolveTarget(ctx context.Context, api orgAPI, rootID, name string) (string, error) {
	switch {
	case name == "root" || name == "Root":
		return rootID, nil
	case scpAccountRe.MatchString(name), scpOURe.MatchString(name), scpRootRe.MatchString(name):
		return name, nil
	}
	parts := strings.Split(strings.Trim(name, "/"), "/")
	if parts[0] != "Root" {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("attachment %q is not root, an id or an OU path starting with Root/", name), "Validation", nil)
	}
	parent := rootID
	for _, seg := range parts[1:] {
		next := ""
		p := organizations.NewListOrganizationalUnitsForParentPaginator(api, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		for p.HasMorePages() && next == "" {
			page, err := p.NextPage(ctx)
			if err != nil {
				return "", err
			}
			for _, ou := range page.OrganizationalUnits {
				if aws.ToString(ou.Name) == seg {
					next = aws.ToString(ou.Id)
					break
				}
			}
		}
		if next == "" {
			return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("attachment %q: no OU %q under %s", name, seg, parent), "NotFound", nil)
		}
		parent = next
	}
	return parent, nil
}

// normalizePolicy renders a policy document canonically: keys sorted,
// Statement always a list, Action/NotAction/Resource/NotResource and
// condition values always sorted lists. Two documents that AWS evaluates the
// same way but that differ in whitespace, key order or "x" vs ["x"]
// normalise equal.
func normalizePolicy(doc string) (string, error) {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return "", fmt.Errorf("policy is not JSON: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", errors.New("policy is not a JSON object")
	}
	if st, ok := m["Statement"].(map[string]any); ok {
		m["Statement"] = []any{st}
	}
	if sts, ok := m["Statement"].([]any); ok {
		for _, s := range sts {
			sm, ok := s.(map[string]any)
			if !ok {
				continue
			}
			for _, key := range []string{"Action", "NotAction", "Resource", "NotResource"} {
				if x, ok := sm[key]; ok {
					sm[key] = sortedList(x)
				}
			}
			if cond, ok := sm["Condition"].(map[string]any); ok {
				for _, ops := range cond {
					if om, ok := ops.(map[string]any); ok {
						for ck, cv := range om {
							om[ck] = sortedList(cv)
						}
					}
				}
			}
		}
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func sortedList(x any) []any {
	var list []any
	switch t := x.(type) {
	case []any:
		list = append(list, t...)
	default:
		list = []any{t}
	}
	sort.SliceStable(list, func(i, j int) bool { return fmt.Sprint(list[i]) < fmt.Sprint(list[j]) })
	return list
}

func prettyPolicy(doc string) string {
	var v any
	if json.Unmarshal([]byte(doc), &v) != nil {
		return doc
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// hasAllow reports whether a policy document has an Allow statement.
func hasAllow(doc string) bool {
	n, err := normalizePolicy(doc)
	if err != nil {
		return false
	}
	var m struct{ Statement []struct{ Effect string } }
	if json.Unmarshal([]byte(n), &m) != nil {
		return false
	}
	for _, s := range m.Statement {
		if s.Effect == "Allow" {
			return true
		}
	}
	return false
}

// detachSafe reports whether target keeps at least one SCP with an Allow
// statement once policyID is detached; AWS would otherwise deny everything
// in it (the FullAWSAccess case).
func (scpKind) detachSafe(ctx context.Context, api orgAPI, target, policyID string) (bool, error) {
	p := organizations.NewListPoliciesForTargetPaginator(api, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(target), Filter: scpType})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, err
		}
		for _, pol := range page.Policies {
			if aws.ToString(pol.Id) == policyID {
				continue
			}
			d, err := api.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: pol.Id})
			if err != nil {
				return false, err
			}
			if hasAllow(aws.ToString(d.Policy.Content)) {
				return true, nil
			}
		}
	}
	return false, nil
}

// Check returns one finding: the policy. A guardrail manages exactly one
// policy, whose ARN only exists once it is created, so resource only says
// that this check verifies an apply: it reads fresh.
func (k scpKind) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	spec := env.Guardrail.SCP
	if spec == nil {
		return nil, temporal.NewNonRetryableApplicationError("guardrail "+env.Guardrail.ID+" has no scp block", "InvalidInput", nil)
	}
	want, err := normalizePolicy(spec.Policy)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("guardrail "+env.Guardrail.ID+": "+err.Error(), "Validation", nil)
	}
	if resource != "" {
		ctx = awsclient.ReadFresh(ctx)
	}
	api := k.org(env)
	st, err := k.read(ctx, api, spec)
	if err != nil {
		return nil, err
	}
	res := "arn:" + env.Partition + ":organizations::" + env.AccountID + ":policy/service_control_policy/" + spec.PolicyName
	facts := map[string]string{"policy_name": spec.PolicyName, "root_id": st.rootID}
	var drift, diff []string
	change := map[string]any{"policy_name": spec.PolicyName, "root_id": st.rootID, "content": want}
	var actions []string

	if !st.typeEnabled {
		drift = append(drift, "the SERVICE_CONTROL_POLICY type is disabled in root "+st.rootID)
		diff = append(diff, "+ enable policy type SERVICE_CONTROL_POLICY in "+st.rootID)
		change["enable_policy_type"] = true
		actions = append(actions, "organizations:EnablePolicyType")
	}
	switch {
	case st.policy == nil:
		drift = append(drift, "policy "+spec.PolicyName+" does not exist")
		diff = append(diff, "+ create policy "+spec.PolicyName)
		for _, l := range strings.Split(prettyPolicy(want), "\n") {
			diff = append(diff, "+   "+l)
		}
		change["create"] = true
		actions = append(actions, "organizations:CreatePolicy")
	default:
		res = aws.ToString(st.policy.Arn)
		facts["policy_id"] = aws.ToString(st.policy.Id)
		change["policy_id"] = aws.ToString(st.policy.Id)
		have, err := normalizePolicy(st.content)
		if err != nil {
			have = st.content
		}
		if have != want {
			drift = append(drift, "the content of policy "+spec.PolicyName+" differs from the guardrail (edited outside orgguard)")
			diff = append(diff, "~ policy "+spec.PolicyName+" content")
			diff = append(diff, lineDiff(prettyPolicy(have), prettyPolicy(want))...)
			change["update_content"] = true
			actions = append(actions, "organizations:UpdatePolicy")
		}
	}
	var attach, detach, refused []string
	for _, id := range st.desired {
		if _, ok := st.targets[id]; !ok {
			attach = append(attach, id)
			label := id
			if st.names[id] != id {
				label = st.names[id] + " (" + id + ")"
			}
			diff = append(diff, "+ attach to "+label)
		}
	}
	if spec.OwnsAttachments && st.policy != nil {
		for _, id := range sortedKeysOf(st.targets) {
			if _, ok := st.names[id]; ok {
				continue
			}
			safe, err := k.detachSafe(ctx, api, id, aws.ToString(st.policy.Id))
			if err != nil {
				return nil, err
			}
			if !safe {
				refused = append(refused, id)
				continue
			}
			detach = append(detach, id)
			diff = append(diff, "- detach from "+id+" ("+st.targets[id]+")")
		}
	}
	if len(attach) > 0 {
		drift = append(drift, fmt.Sprintf("not attached to %s", strings.Join(attach, ", ")))
		actions = append(actions, "organizations:AttachPolicy")
		change["attach"] = anyStrings(attach)
	}
	if len(detach) > 0 {
		drift = append(drift, fmt.Sprintf("attached to %s, which the guardrail no longer names", strings.Join(detach, ", ")))
		actions = append(actions, "organizations:DetachPolicy")
		change["detach"] = anyStrings(detach)
	}
	facts["attached_to"] = strings.Join(sortedKeysOf(st.targets), ",")
	facts["attach_to"] = strings.Join(st.desired, ",")
	if len(refused) > 0 {
		facts["detach_refused"] = strings.Join(refused, ",")
	}
	if len(drift) == 0 {
		ev := fmt.Sprintf("policy %s matches the guardrail and is attached to %s", spec.PolicyName, strings.Join(st.desired, ", "))
		if len(refused) > 0 {
			ev += fmt.Sprintf("; also attached to %s, not detached because that would leave no Allow SCP there", strings.Join(refused, ", "))
		}
		return []workflows.Finding{compliant(res, ev, facts)}, nil
	}
	ev := "SCP drift: " + strings.Join(drift, "; ")
	if len(refused) > 0 {
		ev += fmt.Sprintf("; not detaching from %s: that would leave no Allow SCP (FullAWSAccess) there", strings.Join(refused, ", "))
	}
	f := nonCompliant(res, ev, facts, &workflows.Change{
		Summary: fmt.Sprintf("bring SCP %s in line with guardrail %s: %s", spec.PolicyName, env.Guardrail.ID, strings.Join(drift, "; ")),
		Diff:    fmt.Sprintf("SCP %s (organization, management account %s)\n%s\n", spec.PolicyName, env.AccountID, strings.Join(diff, "\n")),
		Actions: actions,
		Params:  change,
	})
	return []workflows.Finding{f}, nil
}

func (k scpKind) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	spec := env.Guardrail.SCP
	c := f.Change
	if spec == nil || c == nil {
		return workflows.ApplyOutput{}, temporal.NewNonRetryableApplicationError("nothing to apply", "InvalidInput", nil)
	}
	api := k.org(env)
	st, err := k.read(awsclient.ReadFresh(ctx), api, spec)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	var out applied
	u := scpUndo{name: spec.PolicyName, rootID: st.rootID}
	if paramBool(c, "enable_policy_type") && !st.typeEnabled {
		if _, err := api.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(st.rootID), PolicyType: scpType}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("organizations:EnablePolicyType %s SERVICE_CONTROL_POLICY", st.rootID)
		u.typeEnabled = true
	}
	content := paramString(c, "content")
	policyID := ""
	if st.policy == nil {
		if !paramBool(c, "create") {
			return out.ApplyOutput, temporal.NewNonRetryableApplicationError("policy "+spec.PolicyName+" disappeared since the plan; check again", "PlanOutdated", nil)
		}
		desc := env.Guardrail.Description
		if desc == "" {
			desc = "managed by orgguard guardrail " + env.Guardrail.ID
		}
		if len(desc) > 512 {
			desc = desc[:512]
		}
		created, err := api.CreatePolicy(ctx, &organizations.CreatePolicyInput{
			Name: aws.String(spec.PolicyName), Description: aws.String(desc), Type: scpType, Content: aws.String(content),
		})
		if err != nil {
			return out.ApplyOutput, err
		}
		policyID = aws.ToString(created.Policy.PolicySummary.Id)
		out.call("organizations:CreatePolicy %s (%s)", spec.PolicyName, policyID)
		u.created, u.contentLeft = true, content
	} else {
		policyID = aws.ToString(st.policy.Id)
		have, _ := normalizePolicy(st.content)
		u.contentLeft = have
		if paramBool(c, "update_content") && have != content {
			if _, err := api.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String(policyID), Content: aws.String(content)}); err != nil {
				return out.ApplyOutput, err
			}
			out.call("organizations:UpdatePolicy %s content", policyID)
			u.contentPrior, u.contentLeft = st.content, content
		}
	}
	u.policyID = policyID
	left := map[string]bool{}
	for t := range st.targets {
		left[t] = true
	}
	for _, t := range paramStrings(c, "attach") {
		if _, ok := st.targets[t]; ok {
			continue
		}
		left[t] = true
		if _, err := api.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(policyID), TargetId: aws.String(t)}); err != nil {
			var dup *orgtypes.DuplicatePolicyAttachmentException
			if errors.As(err, &dup) {
				continue // attached meanwhile: the goal is reached
			}
			return out.ApplyOutput, err
		}
		out.call("organizations:AttachPolicy %s to %s", policyID, t)
		u.attached = append(u.attached, t)
	}
	for _, t := range paramStrings(c, "detach") {
		if _, ok := st.targets[t]; !ok || slices.Contains(st.desired, t) {
			continue
		}
		safe, err := k.detachSafe(ctx, api, t, policyID)
		if err != nil {
			return out.ApplyOutput, err
		}
		if !safe {
			return out.ApplyOutput, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("refusing to detach %s from %s: no other SCP there allows anything (attach FullAWSAccess first)", spec.PolicyName, t), ErrUnsafeDetach, nil)
		}
		delete(left, t)
		if _, err := api.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(policyID), TargetId: aws.String(t)}); err != nil {
			var na *orgtypes.PolicyNotAttachedException
			if errors.As(err, &na) {
				continue
			}
			return out.ApplyOutput, err
		}
		out.call("organizations:DetachPolicy %s from %s", policyID, t)
		u.detached = append(u.detached, t)
	}
	u.targetsLeft = sortedKeysOf(left)
	if out.Changed {
		out.Undo = u.change(env)
	}
	return out.ApplyOutput, nil
}

// lineDiff is a small LCS line diff ("- old", "+ new", "  same") of two
// pretty-printed documents; policies are a few dozen lines at most.
func lineDiff(a, b string) []string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			out = append(out, "    "+x[i])
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out = append(out, "  + "+y[j])
			j++
		default:
			out = append(out, "  - "+x[i])
			i++
		}
	}
	return out
}
