package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/orgguard/orgguard/workflows"
)

// passwordAndKeysSeparate: no IAM user has both a console password and an
// active access key (humans sign in, machines use keys). The remediation,
// which the baseline gates on approval, deactivates the user's active keys.
type passwordAndKeysSeparate struct{}

func (passwordAndKeysSeparate) Permissions() []string {
	return append([]string{"iam:ListAccessKeys", "iam:UpdateAccessKey"}, credentialReportPermissions...)
}

func (c passwordAndKeysSeparate) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	api := iamUsers(env)
	users, err := credentialReport(ctx, api)
	if err != nil {
		return nil, err
	}
	exempt := controlSettings(env).strs("exempt_users")
	var out []workflows.Finding
	for _, u := range users {
		if !matchesResource(resource, u.ARN) || slices.Contains(exempt, u.Name) {
			continue
		}
		facts := map[string]string{"user": u.Name, "password_enabled": fmt.Sprint(u.PasswordEnabled)}
		if !u.PasswordEnabled {
			out = append(out, compliant(u.ARN, "user "+u.Name+" has no console password", facts))
			continue
		}
		keys, err := accessKeys(ctx, api, u.Name, false)
		if err != nil {
			return nil, err
		}
		var active []string
		for _, k := range keys {
			if k.Status == "Active" {
				active = append(active, k.ID)
			}
		}
		facts["active_keys"] = strings.Join(active, ",")
		if len(active) == 0 {
			out = append(out, compliant(u.ARN, "user "+u.Name+" has a console password and no active access key", facts))
			continue
		}
		var diff strings.Builder
		for _, id := range active {
			fmt.Fprintf(&diff, "- access key %s: Active\n+ access key %s: Inactive\n", id, id)
		}
		out = append(out, nonCompliant(u.ARN,
			fmt.Sprintf("user %s has a console password and %d active access key(s): %s", u.Name, len(active), strings.Join(active, ", ")),
			facts, &workflows.Change{
				Summary: fmt.Sprintf("deactivate (not delete) %d access key(s) of console user %s", len(active), u.Name),
				Diff:    fmt.Sprintf("IAM user %s (%s)\n%s", u.Name, env.AccountID, diff.String()),
				Actions: []string{"iam:UpdateAccessKey"},
				Params:  map[string]any{"user": u.Name, "access_key_ids": anyStrings(active)},
			}))
	}
	return out, nil
}

func (c passwordAndKeysSeparate) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	var out applied
	err := deactivateKeys(ctx, iamUsers(env), paramString(f.Change, "user"), paramStrings(f.Change, "access_key_ids"), &out)
	return out.ApplyOutput, err
}
