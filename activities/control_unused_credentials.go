package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/orgguard/orgguard/workflows"
)

// unusedCredentials: no password or access key stays unused longer than
// max_age_days (CIS 1.12, FSBP IAM.8). Unused keys are deactivated, never
// deleted; unused passwords are reported (removing a login profile cannot
// be undone by orgguard).
type unusedCredentials struct{}

func (unusedCredentials) Permissions() []string {
	return append([]string{"iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:UpdateAccessKey"}, credentialReportPermissions...)
}

// idleSince is when a credential was last used, or created when never used.
func idleSince(lastUsed, created time.Time) time.Time {
	if !lastUsed.IsZero() {
		return lastUsed
	}
	return created
}

func (c unusedCredentials) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	api := iamUsers(env)
	users, err := credentialReport(ctx, api)
	if err != nil {
		return nil, err
	}
	maxAge := controlSettings(env).integer("max_age_days")
	t := time.Now()
	var out []workflows.Finding
	for _, u := range users {
		if !matchesResource(resource, u.ARN) {
			continue
		}
		keys, err := accessKeys(ctx, api, u.Name, true)
		if err != nil {
			return nil, err
		}
		var problems, unusedKeys []string
		var diff strings.Builder
		if u.PasswordEnabled {
			since := idleSince(u.PasswordLastUsed, u.PasswordChanged)
			if since.IsZero() {
				since = u.Created
			}
			if d := daysSince(t, since); d > maxAge {
				what := fmt.Sprintf("password unused for %d days", d)
				if u.PasswordLastUsed.IsZero() {
					what = fmt.Sprintf("password never used in %d days", d)
				}
				problems = append(problems, what)
			}
		}
		for _, k := range keys {
			if k.Status != "Active" {
				continue
			}
			d := daysSince(t, idleSince(k.LastUsed, k.Created))
			if d <= maxAge {
				continue
			}
			if k.LastUsed.IsZero() {
				problems = append(problems, fmt.Sprintf("access key %s never used in %d days", k.ID, d))
			} else {
				problems = append(problems, fmt.Sprintf("access key %s unused for %d days (last %s)", k.ID, d, k.Service))
			}
			unusedKeys = append(unusedKeys, k.ID)
			fmt.Fprintf(&diff, "- access key %s: Active\n+ access key %s: Inactive\n", k.ID, k.ID)
		}
		facts := map[string]string{"user": u.Name, "max_age_days": fmt.Sprint(maxAge), "unused_keys": strings.Join(unusedKeys, ",")}
		if len(problems) == 0 {
			out = append(out, compliant(u.ARN, fmt.Sprintf("user %s has no credential unused for more than %d days", u.Name, maxAge), facts))
			continue
		}
		var ch *workflows.Change
		if len(unusedKeys) > 0 {
			ch = &workflows.Change{
				Summary: fmt.Sprintf("deactivate (not delete) %d unused access key(s) of %s", len(unusedKeys), u.Name),
				Diff:    fmt.Sprintf("IAM user %s (%s)\n%s", u.Name, env.AccountID, diff.String()),
				Actions: []string{"iam:UpdateAccessKey"},
				Params:  map[string]any{"user": u.Name, "access_key_ids": anyStrings(unusedKeys)},
			}
		}
		out = append(out, nonCompliant(u.ARN, fmt.Sprintf("user %s: %s", u.Name, strings.Join(problems, "; ")), facts, ch))
	}
	return out, nil
}

func (c unusedCredentials) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	var out applied
	err := deactivateKeys(ctx, iamUsers(env), paramString(f.Change, "user"), paramStrings(f.Change, "access_key_ids"), &out)
	return out.ApplyOutput, err
}
