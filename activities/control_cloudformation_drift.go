package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/orgguard/orgguard/workflows"
)

// cfnDriftAPI is the part of the CloudFormation client the drift control uses.
type cfnDriftAPI interface {
	cloudformation.DescribeStacksAPIClient
	DetectStackDrift(context.Context, *cloudformation.DetectStackDriftInput, ...func(*cloudformation.Options)) (*cloudformation.DetectStackDriftOutput, error)
}

// cloudFormationDrift: CloudFormation stacks have not drifted from their
// templates. Report only. A stack whose last drift detection is older than
// max_detection_age_hours gets a new detection, which changes no resource;
// its result shows in the next check (detection takes minutes).
type cloudFormationDrift struct{}

func (cloudFormationDrift) Permissions() []string {
	// DetectStackDrift needs read access to every resource type of the
	// stack; the member role's ReadOnlyAccess-style actions are out of scope.
	return []string{"cloudformation:DescribeStacks", "cloudformation:DetectStackDrift"}
}

func (c cloudFormationDrift) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	return c.check(ctx, cloudformation.NewFromConfig(env.Config), env, resource, time.Now())
}

func (cloudFormationDrift) check(ctx context.Context, api cfnDriftAPI, env Env, resource string, now time.Time) ([]workflows.Finding, error) {
	maxAge := time.Duration(controlSettings(env).num("max_detection_age_hours") * float64(time.Hour))
	var out []workflows.Finding
	p := cloudformation.NewDescribeStacksPaginator(api, &cloudformation.DescribeStacksInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Stacks {
			arn, name := aws.ToString(s.StackId), aws.ToString(s.StackName)
			if !matchesResource(resource, arn) || s.StackStatus == cfntypes.StackStatusDeleteComplete || strings.HasSuffix(string(s.StackStatus), "_IN_PROGRESS") {
				continue
			}
			status, checked := cfntypes.StackDriftStatusNotChecked, time.Time{}
			if d := s.DriftInformation; d != nil {
				status, checked = d.StackDriftStatus, aws.ToTime(d.LastCheckTimestamp)
			}
			facts := map[string]string{"stack": name, "drift_status": string(status)}
			if !checked.IsZero() {
				facts["last_check"] = checked.UTC().Format(time.RFC3339)
			}
			note := ""
			if checked.IsZero() || now.Sub(checked) > maxAge {
				d, err := api.DetectStackDrift(ctx, &cloudformation.DetectStackDriftInput{StackName: s.StackName})
				if err != nil {
					return nil, err
				}
				facts["detection_id"] = aws.ToString(d.StackDriftDetectionId)
				note = "; a new drift detection was started (result at the next check)"
			}
			switch status {
			case cfntypes.StackDriftStatusInSync:
				out = append(out, compliant(arn, "stack "+name+" is in sync with its template"+note, facts))
			case cfntypes.StackDriftStatusDrifted:
				out = append(out, nonCompliant(arn, fmt.Sprintf("stack %s has drifted from its template (detected %s)%s", name, facts["last_check"], note), facts, nil))
			default:
				out = append(out, workflows.Finding{Resource: arn, Status: workflows.StatusNotApplicable, Facts: facts,
					Evidence: "stack " + name + " has no drift result yet (" + string(status) + ")" + note})
			}
		}
	}
	return out, nil
}

func (cloudFormationDrift) Apply(context.Context, Env, workflows.Finding) (workflows.ApplyOutput, error) {
	return workflows.ApplyOutput{}, errReportOnly("cloudformation.drift")
}
