package activities

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/orgguard/orgguard/workflows"
)

// rootAPI is the part of the IAM client the root-user controls use.
type rootAPI interface {
	GetAccountSummary(context.Context, *iam.GetAccountSummaryInput, ...func(*iam.Options)) (*iam.GetAccountSummaryOutput, error)
	iam.ListVirtualMFADevicesAPIClient
}

func rootSummary(ctx context.Context, env Env) (map[string]int32, error) {
	out, err := iam.NewFromConfig(env.Config).GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		return nil, err
	}
	return out.SummaryMap, nil
}

// rootMFA: the root user has MFA (CIS 1.5, FSBP IAM.9), a hardware device
// when require_hardware_mfa is set (CIS 1.6, FSBP IAM.6). Report only:
// enrolling a device needs the root user.
type rootMFA struct{}

func (rootMFA) Permissions() []string {
	return []string{"iam:GetAccountSummary", "iam:ListVirtualMFADevices"}
}

func (rootMFA) Check(ctx context.Context, env Env, _ string) ([]workflows.Finding, error) {
	sum, err := rootSummary(ctx, env)
	if err != nil {
		return nil, err
	}
	res := iamARN(env, "root")
	enabled := sum["AccountMFAEnabled"] == 1
	facts := map[string]string{"mfa_enabled": fmt.Sprint(enabled)}
	if !enabled {
		return []workflows.Finding{nonCompliant(res, "the root user of "+env.AccountID+" has no MFA (GetAccountSummary AccountMFAEnabled=0); enrol a device as root", facts, nil)}, nil
	}
	if controlSettings(env).boolean("require_hardware_mfa") {
		virtual := false
		var api rootAPI = iam.NewFromConfig(env.Config)
		p := iam.NewListVirtualMFADevicesPaginator(api, &iam.ListVirtualMFADevicesInput{AssignmentStatus: iamtypes.AssignmentStatusTypeAssigned})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, d := range page.VirtualMFADevices {
				if d.User != nil && aws.ToString(d.User.Arn) == res {
					virtual = true
				}
			}
		}
		facts["virtual_mfa"] = fmt.Sprint(virtual)
		if virtual {
			return []workflows.Finding{nonCompliant(res, "the root user of "+env.AccountID+" uses a virtual MFA device; the baseline requires a hardware device", facts, nil)}, nil
		}
	}
	return []workflows.Finding{compliant(res, "the root user of "+env.AccountID+" has MFA enabled", facts)}, nil
}

func (rootMFA) Apply(context.Context, Env, workflows.Finding) (workflows.ApplyOutput, error) {
	return workflows.ApplyOutput{}, errReportOnly("iam.root_mfa")
}

// rootAccessKeys: the root user has no access keys (CIS 1.4, FSBP IAM.4).
// Report only: deleting them needs the root user.
type rootAccessKeys struct{}

func (rootAccessKeys) Permissions() []string { return []string{"iam:GetAccountSummary"} }

func (rootAccessKeys) Check(ctx context.Context, env Env, _ string) ([]workflows.Finding, error) {
	sum, err := rootSummary(ctx, env)
	if err != nil {
		return nil, err
	}
	res := iamARN(env, "root")
	present := sum["AccountAccessKeysPresent"] != 0
	facts := map[string]string{"access_keys_present": fmt.Sprint(present)}
	if present {
		return []workflows.Finding{nonCompliant(res, "the root user of "+env.AccountID+" has access keys (GetAccountSummary AccountAccessKeysPresent=1); delete them as root", facts, nil)}, nil
	}
	return []workflows.Finding{compliant(res, "the root user of "+env.AccountID+" has no access keys", facts)}, nil
}

func (rootAccessKeys) Apply(context.Context, Env, workflows.Finding) (workflows.ApplyOutput, error) {
	return workflows.ApplyOutput{}, errReportOnly("iam.root_access_keys")
}
