package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/orgguard/orgguard/workflows"
)

// scpUndo is what an SCP apply changed: a policy it created (detached and
// deleted on rollback), content it replaced, attachments it added or
// removed. Enabling the SCP policy type is not rolled back: disabling it
// would detach every SCP in the organization, not only orgguard's.
type scpUndo struct {
	name, rootID, policyID string
	created, typeEnabled   bool
	// contentPrior is set when apply replaced the content; contentLeft is
	// the (normalised) content apply left.
	contentPrior, contentLeft string
	attached, detached        []string
	targetsLeft               []string
}

func scpUndoFrom(c workflows.Change) scpUndo {
	return scpUndo{
		name: paramString(&c, "policy_name"), rootID: paramString(&c, "root_id"), policyID: paramString(&c, "policy_id"),
		created: paramBool(&c, "created"), typeEnabled: paramBool(&c, "type_enabled"),
		contentPrior: paramString(&c, "content_prior"), contentLeft: paramString(&c, "content_left"),
		attached: paramStrings(&c, "attached"), detached: paramStrings(&c, "detached"), targetsLeft: paramStrings(&c, "targets_left"),
	}
}

// change is the undo as a planned change; nil when apply changed nothing
// a rollback restores (it only enabled the policy type).
func (u scpUndo) change(env Env) *workflows.Change {
	if !u.created && u.contentPrior == "" && len(u.attached) == 0 && len(u.detached) == 0 {
		return nil
	}
	var diff, actions, what []string
	for _, t := range u.detached {
		diff = append(diff, "+ attach to "+t)
		actions = append(actions, "organizations:AttachPolicy")
	}
	for _, t := range u.attached {
		diff = append(diff, "- detach from "+t)
		actions = append(actions, "organizations:DetachPolicy")
	}
	if u.contentPrior != "" {
		diff = append(diff, "~ policy "+u.name+" content")
		diff = append(diff, lineDiff(prettyPolicy(u.contentLeft), prettyPolicy(u.contentPrior))...)
		actions = append(actions, "organizations:UpdatePolicy")
		what = append(what, "restore its content")
	}
	if len(u.attached)+len(u.detached) > 0 {
		what = append(what, "restore its attachments")
	}
	summary := fmt.Sprintf("SCP %s: %s", u.name, strings.Join(what, ", "))
	if u.created {
		diff = append(diff, "- delete policy "+u.name+" ("+u.policyID+")")
		actions = append(actions, "organizations:DeletePolicy")
		summary = fmt.Sprintf("detach and delete SCP %s, which orgguard created", u.name)
	}
	if u.typeEnabled {
		diff = append(diff, "  (the SERVICE_CONTROL_POLICY type stays enabled in "+u.rootID+": disabling it would detach every SCP)")
	}
	return &workflows.Change{
		Summary: summary,
		Diff:    fmt.Sprintf("SCP %s (organization, management account %s)\n%s\n", u.name, env.AccountID, strings.Join(diff, "\n")),
		Actions: uniq(actions),
		Params: map[string]any{
			"policy_name": u.name, "root_id": u.rootID, "policy_id": u.policyID, "created": u.created, "type_enabled": u.typeEnabled,
			"content_prior": u.contentPrior, "content_left": u.contentLeft,
			"attached": anyStrings(u.attached), "detached": anyStrings(u.detached), "targets_left": anyStrings(u.targetsLeft),
		},
	}
}

// scpNow is the policy as a rollback finds it.
type scpNow struct {
	exists  bool
	content string // normalised
	targets []string
}

func (k scpKind) readPolicy(ctx context.Context, api orgAPI, id string) (scpNow, error) {
	var now scpNow
	d, err := api.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)})
	var nf *orgtypes.PolicyNotFoundException
	if errors.As(err, &nf) {
		return now, nil
	}
	if err != nil {
		return now, err
	}
	now.exists = true
	now.content = aws.ToString(d.Policy.Content)
	if n, err := normalizePolicy(now.content); err == nil {
		now.content = n
	}
	p := organizations.NewListTargetsForPolicyPaginator(api, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(id)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return now, err
		}
		for _, t := range page.Targets {
			now.targets = append(now.targets, aws.ToString(t.TargetId))
		}
	}
	slices.Sort(now.targets)
	return now, nil
}

func normalized(doc string) string {
	if n, err := normalizePolicy(doc); err == nil {
		return n
	}
	return doc
}

// drift says how the policy differs from what apply left. Parts a rollback
// may have restored already (an earlier attempt) count as drift only when
// strict, as for a plan.
func (u scpUndo) drift(now scpNow, strict bool) []string {
	if !now.exists {
		return []string{"policy " + u.name + " (" + u.policyID + ") was deleted"}
	}
	var out []string
	if c := now.content; c != u.contentLeft && (strict || u.contentPrior == "" || c != normalized(u.contentPrior)) {
		out = append(out, "its content was edited:\n"+strings.Join(lineDiff(prettyPolicy(u.contentLeft), prettyPolicy(c)), "\n"))
	}
	for _, t := range now.targets {
		if !slices.Contains(u.targetsLeft, t) && (strict || !slices.Contains(u.detached, t)) {
			out = append(out, "it is now also attached to "+t)
		}
	}
	for _, t := range u.targetsLeft {
		if !slices.Contains(now.targets, t) && (strict || !slices.Contains(u.attached, t)) {
			out = append(out, "it is no longer attached to "+t)
		}
	}
	return out
}

// restored: everything apply changed is as before.
func (u scpUndo) restored(now scpNow) bool {
	if u.created || !now.exists {
		return u.created && !now.exists
	}
	if u.contentPrior != "" && now.content != normalized(u.contentPrior) {
		return false
	}
	for _, t := range u.attached {
		if slices.Contains(now.targets, t) {
			return false
		}
	}
	for _, t := range u.detached {
		if !slices.Contains(now.targets, t) {
			return false
		}
	}
	return true
}

func (u scpUndo) refusal(what []string) string {
	if len(what) == 0 {
		return ""
	}
	return fmt.Sprintf("SCP %s changed since orgguard left it: %s", u.name, strings.Join(what, "; "))
}

func (k scpKind) PlanUndo(ctx context.Context, env Env, _ string, undo workflows.Change) (string, error) {
	u := scpUndoFrom(undo)
	now, err := k.readPolicy(ctx, k.org(env), u.policyID)
	if err != nil || u.restored(now) {
		return planUndoOf("SCP "+u.name, err == nil, "", err)
	}
	return u.refusal(u.drift(now, true)), nil
}

// Undo attaches back what apply detached, detaches what it attached,
// restores the content, and deletes a policy apply created; each step is
// skipped where an earlier attempt did it.
func (k scpKind) Undo(ctx context.Context, env Env, _ string, undo workflows.Change) (workflows.ApplyOutput, error) {
	u := scpUndoFrom(undo)
	api := k.org(env)
	now, err := k.readPolicy(ctx, api, u.policyID)
	return undoOf(err == nil && u.restored(now), u.refusal(u.drift(now, false)), err, func(out *applied) error {
		id := aws.String(u.policyID)
		for _, t := range u.detached {
			if slices.Contains(now.targets, t) {
				continue
			}
			if _, err := api.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: id, TargetId: aws.String(t)}); err != nil {
				return err
			}
			out.call("organizations:AttachPolicy %s to %s", u.policyID, t)
		}
		for _, t := range u.attached {
			if !slices.Contains(now.targets, t) {
				continue
			}
			safe, err := k.detachSafe(ctx, api, t, u.policyID)
			if err != nil {
				return err
			}
			if !safe {
				return refuse("SCP %s: detaching it from %s would leave no SCP that allows anything there", u.name, t)
			}
			if _, err := api.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: id, TargetId: aws.String(t)}); err != nil {
				return err
			}
			out.call("organizations:DetachPolicy %s from %s", u.policyID, t)
		}
		if u.contentPrior != "" && now.content != normalized(u.contentPrior) {
			if _, err := api.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: id, Content: aws.String(u.contentPrior)}); err != nil {
				return err
			}
			out.call("organizations:UpdatePolicy %s content", u.policyID)
		}
		if u.created {
			if _, err := api.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: id}); err != nil {
				return err
			}
			out.call("organizations:DeletePolicy %s (%s)", u.name, u.policyID)
		}
		return nil
	})
}
