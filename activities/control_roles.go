package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
	PutRolePolicy(context.Context, *iam.PutRolePolicyInput, ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
}

// iam:TagRole because CreateRole tags the role.
var rolePermissions = []string{"iam:GetRole", "iam:CreateRole", "iam:TagRole", "iam:PutRolePolicy", "iam:PassRole"}

// serviceRole is a role orgguard creates for an AWS service to assume.
type serviceRole struct {
	Name    string
	Service string // principal, e.g. "vpc-flow-logs.amazonaws.com"
	Actions []string
	// Resource the inline policy allows; "*" when empty.
	Resource string
}

func (r serviceRole) arn(env Env) string {
	return "arn:" + env.Partition + ":iam::" + env.AccountID + ":role/" + r.Name
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

// ensureRole creates the role with its inline policy when it is missing and
// reports whether it did.
func ensureRole(ctx context.Context, api roleAPI, r serviceRole) (bool, error) {
	ok, err := roleExists(ctx, api, r.Name)
	if err != nil || ok {
		return false, err
	}
	trust, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": r.Service}, "Action": "sts:AssumeRole",
		}},
	})
	if _, err := api.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(r.Name), AssumeRolePolicyDocument: aws.String(string(trust)),
		Description: aws.String("created by orgguard for " + r.Service),
		Tags:        []iamtypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("orgguard")}},
	}); err != nil {
		return false, fmt.Errorf("create role %s: %w", r.Name, err)
	}
	res := r.Resource
	if res == "" {
		res = "*"
	}
	policy, _ := json.Marshal(map[string]any{
		"Version":   "2012-10-17",
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": r.Actions, "Resource": res}},
	})
	if _, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(r.Name), PolicyName: aws.String("orgguard"), PolicyDocument: aws.String(string(policy)),
	}); err != nil {
		return true, fmt.Errorf("put policy of role %s: %w", r.Name, err)
	}
	return true, nil
}
