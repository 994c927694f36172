package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
)

func TestGuardDutyDetectorLifecycle(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	c := guardduty.NewFromConfig(memberConfig(s, demoWebDev, "eu-west-1"))

	list := must[*guardduty.ListDetectorsOutput](t)(c.ListDetectors(ctx, &guardduty.ListDetectorsInput{}))
	if len(list.DetectorIds) != 0 {
		t.Fatalf("seeded detectors = %v, want none", list.DetectorIds)
	}
	created := must[*guardduty.CreateDetectorOutput](t)(c.CreateDetector(ctx, &guardduty.CreateDetectorInput{
		Enable:                     aws.Bool(false),
		FindingPublishingFrequency: gdtypes.FindingPublishingFrequencyFifteenMinutes,
		Tags:                       map[string]string{"managed-by": "orgguard"},
	}))
	id := aws.ToString(created.DetectorId)
	if len(id) != 32 {
		t.Errorf("detector ID = %q", id)
	}
	_, err := c.CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
	requireCode(t, err, "BadRequestException")

	var ids []string
	p := guardduty.NewListDetectorsPaginator(c, &guardduty.ListDetectorsInput{})
	for p.HasMorePages() {
		ids = append(ids, must[*guardduty.ListDetectorsOutput](t)(p.NextPage(ctx)).DetectorIds...)
	}
	if len(ids) != 1 || ids[0] != id {
		t.Errorf("ListDetectors = %v", ids)
	}

	got := must[*guardduty.GetDetectorOutput](t)(c.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)}))
	if got.Status != gdtypes.DetectorStatusDisabled || got.FindingPublishingFrequency != gdtypes.FindingPublishingFrequencyFifteenMinutes ||
		got.Tags["managed-by"] != "orgguard" || aws.ToString(got.CreatedAt) == "" || len(got.Features) == 0 {
		t.Errorf("GetDetector = %+v", got)
	}
	must[*guardduty.UpdateDetectorOutput](t)(c.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{
		DetectorId: aws.String(id), Enable: aws.Bool(true),
		FindingPublishingFrequency: gdtypes.FindingPublishingFrequencySixHours,
		Features:                   []gdtypes.DetectorFeatureConfiguration{{Name: gdtypes.DetectorFeatureS3DataEvents, Status: gdtypes.FeatureStatusDisabled}},
	}))
	got = must[*guardduty.GetDetectorOutput](t)(c.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)}))
	if got.Status != gdtypes.DetectorStatusEnabled || got.FindingPublishingFrequency != gdtypes.FindingPublishingFrequencySixHours {
		t.Errorf("after update = %+v", got)
	}
	for _, f := range got.Features {
		if f.Name == gdtypes.DetectorFeatureResultS3DataEvents && f.Status != gdtypes.FeatureStatusDisabled {
			t.Errorf("S3_DATA_EVENTS = %s", f.Status)
		}
	}

	// Detectors are regional and per account.
	other := guardduty.NewFromConfig(memberConfig(s, demoWebDev, "us-east-1"))
	_, err = other.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
	requireCode(t, err, "BadRequestException")
	must[*guardduty.DeleteDetectorOutput](t)(c.DeleteDetector(ctx, &guardduty.DeleteDetectorInput{DetectorId: aws.String(id)}))
	_, err = c.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
	requireCode(t, err, "BadRequestException")

	calls := s.CallsMatching(CallFilter{Service: "guardduty", Operation: "UpdateDetector", AccountID: demoWebDev})
	if len(calls) != 1 || calls[0].Params["enable"] != "true" || calls[0].Region != "eu-west-1" {
		t.Errorf("UpdateDetector calls = %+v", calls)
	}
}

func TestAccessAnalyzerCreateAndList(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	c := accessanalyzer.NewFromConfig(memberConfig(s, demoWebDev, "us-east-1"))

	out := must[*accessanalyzer.CreateAnalyzerOutput](t)(c.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{
		AnalyzerName: aws.String("orgguard-account"), Type: aatypes.TypeAccount,
	}))
	if got, want := aws.ToString(out.Arn), "arn:aws:access-analyzer:us-east-1:100000000009:analyzer/orgguard-account"; got != want {
		t.Errorf("arn = %s, want %s", got, want)
	}
	must[*accessanalyzer.CreateAnalyzerOutput](t)(c.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{
		AnalyzerName: aws.String("orgguard-unused"), Type: aatypes.TypeAccountUnusedAccess,
	}))
	_, err := c.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{AnalyzerName: aws.String("orgguard-account"), Type: aatypes.TypeAccount})
	requireCode(t, err, "ConflictException")
	_, err = c.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{AnalyzerName: aws.String("x"), Type: "BOGUS"})
	requireCode(t, err, "ValidationException")

	var names []string
	p := accessanalyzer.NewListAnalyzersPaginator(c, &accessanalyzer.ListAnalyzersInput{})
	pages := 0
	for p.HasMorePages() {
		pages++
		for _, a := range must[*accessanalyzer.ListAnalyzersOutput](t)(p.NextPage(ctx)).Analyzers {
			names = append(names, aws.ToString(a.Name))
			if a.Status != aatypes.AnalyzerStatusActive || a.CreatedAt == nil {
				t.Errorf("analyzer = %+v", a)
			}
		}
	}
	if len(names) != 2 || pages != 2 || names[0] != "orgguard-account" {
		t.Errorf("analyzers = %v in %d pages", names, pages)
	}
	typed := must[*accessanalyzer.ListAnalyzersOutput](t)(c.ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{Type: aatypes.TypeAccountUnusedAccess}))
	if len(typed.Analyzers) != 1 || aws.ToString(typed.Analyzers[0].Name) != "orgguard-unused" {
		t.Errorf("typed listing = %+v", typed.Analyzers)
	}
	eu := must[*accessanalyzer.ListAnalyzersOutput](t)(accessanalyzer.NewFromConfig(memberConfig(s, demoWebDev, "eu-west-1")).ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{}))
	if len(eu.Analyzers) != 0 {
		t.Errorf("eu-west-1 analyzers = %+v", eu.Analyzers)
	}
	got := must[*accessanalyzer.GetAnalyzerOutput](t)(c.GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String("orgguard-account")}))
	if got.Analyzer.Type != aatypes.TypeAccount {
		t.Errorf("GetAnalyzer = %+v", got.Analyzer)
	}
	_, err = c.GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String("nope")})
	requireCode(t, err, "ResourceNotFoundException")
	must[*accessanalyzer.DeleteAnalyzerOutput](t)(c.DeleteAnalyzer(ctx, &accessanalyzer.DeleteAnalyzerInput{AnalyzerName: aws.String("orgguard-unused")}))
	_, err = c.DeleteAnalyzer(ctx, &accessanalyzer.DeleteAnalyzerInput{AnalyzerName: aws.String("orgguard-unused")})
	requireCode(t, err, "ResourceNotFoundException")
}
