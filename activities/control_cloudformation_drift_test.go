package activities

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/orgguard/orgguard/workflows"
)

// fakeCFN serves a fixed list of stacks and records drift detections. The
// simulator has no CloudFormation, so this control is tested against the
// SDK interface it declares.
type fakeCFN struct {
	stacks   []cfntypes.Stack
	detected []string
}

func (f *fakeCFN) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	// Two pages, so the paginator is exercised.
	if in.NextToken == nil {
		return &cloudformation.DescribeStacksOutput{Stacks: f.stacks[:1], NextToken: aws.String("2")}, nil
	}
	return &cloudformation.DescribeStacksOutput{Stacks: f.stacks[1:]}, nil
}

func (f *fakeCFN) DetectStackDrift(_ context.Context, in *cloudformation.DetectStackDriftInput, _ ...func(*cloudformation.Options)) (*cloudformation.DetectStackDriftOutput, error) {
	f.detected = append(f.detected, aws.ToString(in.StackName))
	return &cloudformation.DetectStackDriftOutput{StackDriftDetectionId: aws.String("det-" + aws.ToString(in.StackName))}, nil
}

func TestCloudFormationDrift(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	stack := func(name string, st cfntypes.StackDriftStatus, checkedAgo time.Duration) cfntypes.Stack {
		s := cfntypes.Stack{StackName: aws.String(name), StackId: aws.String("arn:aws:cloudformation:us-east-1:100000000007:stack/" + name + "/1"),
			StackStatus: cfntypes.StackStatusUpdateComplete, DriftInformation: &cfntypes.StackDriftInformation{StackDriftStatus: st}}
		if checkedAgo > 0 {
			s.DriftInformation.LastCheckTimestamp = aws.Time(now.Add(-checkedAgo))
		}
		return s
	}
	api := &fakeCFN{stacks: []cfntypes.Stack{
		stack("drifted", cfntypes.StackDriftStatusDrifted, time.Hour),
		stack("in-sync-stale", cfntypes.StackDriftStatusInSync, 48*time.Hour),
		stack("never-checked", cfntypes.StackDriftStatusNotChecked, 0),
	}}
	env := Env{AccountID: acctWebProd, Region: usEast1, Partition: "aws", Guardrail: control("cloudformation.drift", nil)}
	fs, err := cloudFormationDrift{}.check(ctx, api, env, "", now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]workflows.FindingStatus{"drifted": workflows.StatusNonCompliant, "in-sync-stale": workflows.StatusCompliant, "never-checked": workflows.StatusNotApplicable}
	if len(fs) != len(want) {
		t.Fatalf("findings: %s", describe(fs))
	}
	for _, f := range fs {
		if got := want[f.Facts["stack"]]; got != f.Status {
			t.Errorf("%s: status %s, want %s (%s)", f.Facts["stack"], f.Status, got, f.Evidence)
		}
		if f.Change != nil {
			t.Errorf("%s: report-only control planned a change", f.Facts["stack"])
		}
	}
	if got := api.detected; len(got) != 2 || got[0] != "in-sync-stale" || got[1] != "never-checked" {
		t.Errorf("drift detections started for %v, want the stale and the never-checked stack", got)
	}
}
