package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/workflows"
)

// consoleMFA: every IAM user with a console password has an MFA device
// (CIS 1.10, FSBP IAM.5). Report only: only the user can enrol a device.
type consoleMFA struct{}

func (consoleMFA) Permissions() []string { return credentialReportPermissions }

func (c consoleMFA) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	users, err := credentialReport(ctx, iamUsers(env))
	if err != nil {
		return nil, err
	}
	var out []workflows.Finding
	for _, u := range users {
		if !matchesResource(resource, u.ARN) {
			continue
		}
		facts := map[string]string{"user": u.Name, "password_enabled": fmt.Sprint(u.PasswordEnabled), "mfa_active": fmt.Sprint(u.MFAActive)}
		switch {
		case !u.PasswordEnabled:
			out = append(out, compliant(u.ARN, "user "+u.Name+" has no console password", facts))
		case u.MFAActive:
			out = append(out, compliant(u.ARN, "console user "+u.Name+" has MFA", facts))
		default:
			out = append(out, nonCompliant(u.ARN, "console user "+u.Name+" has no MFA device", facts, nil))
		}
	}
	return out, nil
}

func (consoleMFA) Apply(context.Context, Env, workflows.Finding) (workflows.ApplyOutput, error) {
	return workflows.ApplyOutput{}, errReportOnly("iam.console_mfa")
}

// errReportOnly answers Apply on a control that only reports.
func errReportOnly(control string) error {
	return temporal.NewNonRetryableApplicationError(control+" only reports; it has no remediation", "ReportOnly", nil)
}
