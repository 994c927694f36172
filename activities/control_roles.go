package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// roleAPI is the part of the IAM client that provisions the service roles
// some controls hand to AWS services (flow logs, CloudTrail → CloudWatch Logs,
// SSM Automation).
type roleAPI interface {
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(context.Context, *iam.CreateRoleInput, ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(context.Context, *iam.PutRolePolicyInput, ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
}

// iam:TagRole because CreateRole tags the role.
var rolePermissions = []string{"iam:GetRole", "iam:CreateRole", "iam:TagRole", "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:PassRole"}

// rolePolicyName is the name of the inline policy orgguard keeps on its
// service roles.
const rolePolicyName = "orgguard"

// serviceRole is a role orgguard creates for an AWS service to assume.
type serviceRole struct {
	Name    string
	Service string // principal, e.g. "vpc-flow-logs.amazonaws.com"
	Actions []string
	// Resource the inline policy allows; "*" when empty.
	Resource string
	// PolicyName names the inline policy; rolePolicyName when empty. Roles
	// that several guardrails share (a Config rule's automation role)
	// carry one policy per guardrail, or each would overwrite the others'.
	PolicyName string
}

func (r serviceRole) policyName() string {
	if r.PolicyName == "" {
		return rolePolicyName
	}
	return r.PolicyName
}

func (r serviceRole) arn(env Env) string {
	return "arn:" + env.Partition + ":iam::" + env.AccountID + ":role/" + r.Name
}

// policy is the role's inline policy document.
func (r serviceRole) policy() string {
	res := r.Resource
	if res == "" {
		res = "*"
	}
	policy, _ := json.Marshal(map[string]any{
		"Version":   "2012-10-17",
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": r.Actions, "Resource": res}},
	})
	return string(policy)
}

// roleExists reports whether the role is there (read-only, for Check).
func roleExists(ctx context.Context, api roleAPI, name string) (bool, error) {
	_, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return false, nil
	}
	return err == nil, err
}

// rolePolicyCurrent reports whether the role carries orgguard's inline
// policy as r wants it.
func rolePolicyCurrent(ctx context.Context, api roleAPI, r serviceRole) (bool, error) {
	current, _, err := rolePolicyState(ctx, api, r)
	return current, err
}

// rolePolicyState is rolePolicyCurrent, and tells a missing policy
// (NoSuchEntity) apart from a different one.
func rolePolicyState(ctx context.Context, api roleAPI, r serviceRole) (current, missing bool, err error) {
	out, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(r.policyName())})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &nse):
		return false, true, nil
	case err != nil:
		return false, false, err
	}
	// IAM returns the document URL-encoded.
	doc, err := url.QueryUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		return false, false, nil
	}
	have, err := normalizePolicy(doc)
	if err != nil {
		return false, false, nil
	}
	want, _ := normalizePolicy(r.policy())
	return have == want, false, nil
}

// ensureRole creates the role when it is missing and puts its inline
// policy when that is missing or different, and reports whether it wrote
// anything. The policy is checked on every call, not only after
// CreateRole: an attempt that died between CreateRole and PutRolePolicy
// left a role without its policy, and the next attempt must finish it. It
// is checked after a CreateRole too: two remediations of one account that
// need the same global role (a Config rule's automation role, one
// remediation per region) race, and whichever puts the policy second finds
// it in place instead of writing it again.
func ensureRole(ctx context.Context, api roleAPI, r serviceRole) (bool, error) {
	return ensureRoleWith(ctx, api, r, false)
}

// ensureRoleWith is ensureRole; with putRecently (this process put exactly
// this policy moments ago, see roleWriter) a read that finds no policy is
// taken for IAM's propagation delay and nothing is written. A read that
// finds a different policy is always corrected.
func ensureRoleWith(ctx context.Context, api roleAPI, r serviceRole, putRecently bool) (bool, error) {
	exists, err := roleExists(ctx, api, r.Name)
	if err != nil {
		return false, err
	}
	wrote := false
	if !exists {
		trust, _ := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Service": r.Service}, "Action": "sts:AssumeRole",
			}},
		})
		_, err := api.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(r.Name), AssumeRolePolicyDocument: aws.String(string(trust)),
			Description: aws.String("created by orgguard for " + r.Service),
			Tags:        []iamtypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("orgguard")}},
		})
		var exists *iamtypes.EntityAlreadyExistsException
		if err != nil && !errors.As(err, &exists) { // a concurrent attempt created it
			return false, fmt.Errorf("create role %s: %w", r.Name, err)
		}
		wrote = err == nil
	}
	current, missing, err := rolePolicyState(ctx, api, r)
	if err != nil || current || (missing && putRecently) {
		return wrote, err
	}
	if _, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(r.Name), PolicyName: aws.String(r.policyName()), PolicyDocument: aws.String(r.policy()),
	}); err != nil {
		return wrote, fmt.Errorf("put policy of role %s: %w", r.Name, err)
	}
	return true, nil
}
