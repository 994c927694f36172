package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/orgguard/orgguard/workflows"
)

// accessKeyRotation: no active access key is older than max_age_days
// (CIS 1.14, FSBP IAM.3). Report only: rotating a key is its owner's job.
type accessKeyRotation struct{}

func (accessKeyRotation) Permissions() []string {
	return append([]string{"iam:ListAccessKeys"}, credentialReportPermissions...)
}

func (c accessKeyRotation) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
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
		keys, err := accessKeys(ctx, api, u.Name, false)
		if err != nil {
			return nil, err
		}
		var old []string
		for _, k := range keys {
			if d := daysSince(t, k.Created); k.Status == "Active" && d > maxAge {
				old = append(old, fmt.Sprintf("%s (%d days old)", k.ID, d))
			}
		}
		facts := map[string]string{"user": u.Name, "max_age_days": fmt.Sprint(maxAge), "keys": fmt.Sprint(len(keys))}
		if len(old) == 0 {
			out = append(out, compliant(u.ARN, fmt.Sprintf("user %s has no active access key older than %d days", u.Name, maxAge), facts))
			continue
		}
		facts["old_keys"] = strings.Join(old, ",")
		out = append(out, nonCompliant(u.ARN, fmt.Sprintf("user %s has active access key(s) older than %d days: %s; rotate them", u.Name, maxAge, strings.Join(old, ", ")), facts, nil))
	}
	return out, nil
}

func (accessKeyRotation) Apply(context.Context, Env, workflows.Finding) (workflows.ApplyOutput, error) {
	return workflows.ApplyOutput{}, errReportOnly("iam.access_key_rotation")
}
