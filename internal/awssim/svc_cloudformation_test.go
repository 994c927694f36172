package awssim

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

func cfnSeed(t *testing.T) *Seed {
	t.Helper()
	seed, err := DemoSeed()
	if err != nil {
		t.Fatal(err)
	}
	// A third stack, never checked, so DescribeStacks pages with PageSize 2.
	for i := range seed.OUs {
		for j := range seed.OUs[i].OUs {
			for k, a := range seed.OUs[i].OUs[j].Accounts {
				if a.ID != demoWebProd {
					continue
				}
				for l, r := range a.Regions {
					if r.Name == "us-east-1" {
						sa := &seed.OUs[i].OUs[j].Accounts[k]
						sa.Regions[l].CloudFormationStacks = append(sa.Regions[l].CloudFormationStacks, SeedCloudFormationStack{Name: "web-prod-cdn"})
						return seed
					}
				}
			}
		}
	}
	t.Fatal("web-prod us-east-1 not found in the demo seed")
	return nil
}

func TestCloudFormationStacksAndDrift(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second) // a fixed clock; real time, so credentials are fresh
	s := newTestServer(t, Options{PageSize: 2, Seed: cfnSeed(t), Now: func() time.Time { return now }})
	c := cloudformation.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))

	stacks := map[string]cfntypes.Stack{}
	pages := 0
	p := cloudformation.NewDescribeStacksPaginator(c, &cloudformation.DescribeStacksInput{})
	for p.HasMorePages() {
		pages++
		for _, st := range must[*cloudformation.DescribeStacksOutput](t)(p.NextPage(ctx)).Stacks {
			stacks[aws.ToString(st.StackName)] = st
		}
	}
	if len(stacks) != 3 || pages != 2 {
		t.Fatalf("stacks = %d in %d pages, want 3 in 2", len(stacks), pages)
	}
	app, net, cdn := stacks["web-prod-app"], stacks["web-prod-network"], stacks["web-prod-cdn"]
	if !strings.HasPrefix(aws.ToString(app.StackId), "arn:aws:cloudformation:us-east-1:100000000007:stack/web-prod-app/") ||
		app.StackStatus != cfntypes.StackStatusCreateComplete || app.CreationTime == nil {
		t.Errorf("app stack = %+v", app)
	}
	if d := app.DriftInformation; d == nil || d.StackDriftStatus != cfntypes.StackDriftStatusDrifted || !aws.ToTime(d.LastCheckTimestamp).Equal(now.Add(-48*time.Hour)) {
		t.Errorf("app drift = %+v", app.DriftInformation)
	}
	if d := net.DriftInformation; d == nil || d.StackDriftStatus != cfntypes.StackDriftStatusInSync || !aws.ToTime(d.LastCheckTimestamp).Equal(now) {
		t.Errorf("network drift = %+v", net.DriftInformation)
	}
	if d := cdn.DriftInformation; d == nil || d.StackDriftStatus != cfntypes.StackDriftStatusNotChecked || d.LastCheckTimestamp != nil {
		t.Errorf("cdn drift = %+v", cdn.DriftInformation)
	}

	// By name and by stack ID; unknown stacks are ValidationError.
	one := must[*cloudformation.DescribeStacksOutput](t)(c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: app.StackId}))
	if len(one.Stacks) != 1 || aws.ToString(one.Stacks[0].StackName) != "web-prod-app" {
		t.Errorf("by ID = %+v", one.Stacks)
	}
	_, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("nope")})
	requireCode(t, err, "ValidationError")
	_, err = c.DetectStackDrift(ctx, &cloudformation.DetectStackDriftInput{StackName: aws.String("nope")})
	requireCode(t, err, "ValidationError")
	_, err = c.DescribeStackResourceDrifts(ctx, &cloudformation.DescribeStackResourceDriftsInput{StackName: aws.String("nope")})
	requireCode(t, err, "ValidationError")
	_, err = c.DescribeStackDriftDetectionStatus(ctx, &cloudformation.DescribeStackDriftDetectionStatusInput{StackDriftDetectionId: aws.String("nope")})
	requireCode(t, err, "ValidationError")

	// Before any detection a stack has no resource drift results.
	rd := must[*cloudformation.DescribeStackResourceDriftsOutput](t)(c.DescribeStackResourceDrifts(ctx, &cloudformation.DescribeStackResourceDriftsInput{StackName: aws.String("web-prod-cdn")}))
	if len(rd.StackResourceDrifts) != 0 {
		t.Errorf("cdn resource drifts before detection = %+v", rd.StackResourceDrifts)
	}
	// Detection completes at once; a never-checked stack is in sync.
	det := must[*cloudformation.DetectStackDriftOutput](t)(c.DetectStackDrift(ctx, &cloudformation.DetectStackDriftInput{StackName: aws.String("web-prod-cdn")}))
	ds := must[*cloudformation.DescribeStackDriftDetectionStatusOutput](t)(c.DescribeStackDriftDetectionStatus(ctx, &cloudformation.DescribeStackDriftDetectionStatusInput{StackDriftDetectionId: det.StackDriftDetectionId}))
	if ds.DetectionStatus != cfntypes.StackDriftDetectionStatusDetectionComplete || ds.StackDriftStatus != cfntypes.StackDriftStatusInSync ||
		aws.ToString(ds.StackId) != aws.ToString(cdn.StackId) || aws.ToInt32(ds.DriftedStackResourceCount) != 0 || !aws.ToTime(ds.Timestamp).Equal(now) {
		t.Errorf("detection status = %+v", ds)
	}
	det = must[*cloudformation.DetectStackDriftOutput](t)(c.DetectStackDrift(ctx, &cloudformation.DetectStackDriftInput{StackName: app.StackId}))
	ds = must[*cloudformation.DescribeStackDriftDetectionStatusOutput](t)(c.DescribeStackDriftDetectionStatus(ctx, &cloudformation.DescribeStackDriftDetectionStatusInput{StackDriftDetectionId: det.StackDriftDetectionId}))
	if ds.StackDriftStatus != cfntypes.StackDriftStatusDrifted || aws.ToInt32(ds.DriftedStackResourceCount) != 1 {
		t.Errorf("app detection status = %+v", ds)
	}
	one = must[*cloudformation.DescribeStacksOutput](t)(c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("web-prod-app")}))
	if d := one.Stacks[0].DriftInformation; d.StackDriftStatus != cfntypes.StackDriftStatusDrifted || !aws.ToTime(d.LastCheckTimestamp).Equal(now) {
		t.Errorf("app drift after detection = %+v", d)
	}

	rd = must[*cloudformation.DescribeStackResourceDriftsOutput](t)(c.DescribeStackResourceDrifts(ctx, &cloudformation.DescribeStackResourceDriftsInput{StackName: aws.String("web-prod-app")}))
	if len(rd.StackResourceDrifts) != 1 {
		t.Fatalf("app resource drifts = %+v", rd.StackResourceDrifts)
	}
	if d := rd.StackResourceDrifts[0]; d.StackResourceDriftStatus != cfntypes.StackResourceDriftStatusModified || len(d.PropertyDifferences) != 1 ||
		d.PropertyDifferences[0].DifferenceType != cfntypes.DifferenceTypeNotEqual || aws.ToString(d.LogicalResourceId) == "" {
		t.Errorf("app resource drift = %+v", d)
	}
	rd = must[*cloudformation.DescribeStackResourceDriftsOutput](t)(c.DescribeStackResourceDrifts(ctx, &cloudformation.DescribeStackResourceDriftsInput{StackName: aws.String("web-prod-app"),
		StackResourceDriftStatusFilters: []cfntypes.StackResourceDriftStatus{cfntypes.StackResourceDriftStatusInSync}}))
	if len(rd.StackResourceDrifts) != 0 {
		t.Errorf("IN_SYNC filter = %+v", rd.StackResourceDrifts)
	}

	// Stacks are per account and region; detections too.
	eu := cloudformation.NewFromConfig(memberConfig(s, demoWebProd, "eu-west-1"))
	if out := must[*cloudformation.DescribeStacksOutput](t)(eu.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{})); len(out.Stacks) != 0 {
		t.Errorf("eu-west-1 stacks = %+v", out.Stacks)
	}
	_, err = eu.DescribeStackDriftDetectionStatus(ctx, &cloudformation.DescribeStackDriftDetectionStatusInput{StackDriftDetectionId: det.StackDriftDetectionId})
	requireCode(t, err, "ValidationError")
}

func TestCloudFormationSeedValidation(t *testing.T) {
	t.Parallel()
	seed := cfnSeed(t)
	seed.Accounts[0].Regions = append(seed.Accounts[0].Regions, SeedRegion{Name: "us-east-1",
		CloudFormationStacks: []SeedCloudFormationStack{{Name: "x", DriftStatus: "MAYBE"}}})
	if err := seed.validate(); err == nil || !strings.Contains(err.Error(), "drift_status") {
		t.Errorf("validate = %v, want a drift_status error", err)
	}
}
