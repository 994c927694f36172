package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/orgguard/orgguard/workflows"
)

// accessAnalyzerAPI is the part of the Access Analyzer client the control uses.
type accessAnalyzerAPI interface {
	accessanalyzer.ListAnalyzersAPIClient
	CreateAnalyzer(context.Context, *accessanalyzer.CreateAnalyzerInput, ...func(*accessanalyzer.Options)) (*accessanalyzer.CreateAnalyzerOutput, error)
}

// accessAnalyzer: an active IAM Access Analyzer of the configured zone of
// trust exists in the region (CIS 1.20, FSBP IAM.21). Any such analyzer
// counts, whoever created it.
type accessAnalyzer struct{}

func (accessAnalyzer) Permissions() []string {
	// CreateAnalyzer tags the analyzer and creates its service-linked role.
	return []string{"access-analyzer:ListAnalyzers", "access-analyzer:CreateAnalyzer", "access-analyzer:TagResource", "iam:CreateServiceLinkedRole"}
}

func (accessAnalyzer) api(env Env) accessAnalyzerAPI { return accessanalyzer.NewFromConfig(env.Config) }

// active returns the names of the region's active analyzers of type typ.
func (c accessAnalyzer) active(ctx context.Context, env Env, typ string) ([]aatypes.AnalyzerSummary, error) {
	var out []aatypes.AnalyzerSummary
	p := accessanalyzer.NewListAnalyzersPaginator(c.api(env), &accessanalyzer.ListAnalyzersInput{Type: aatypes.Type(typ)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Analyzers {
			if a.Status == aatypes.AnalyzerStatusActive || a.Status == aatypes.AnalyzerStatusCreating {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func (c accessAnalyzer) Check(ctx context.Context, env Env, _ string) ([]workflows.Finding, error) {
	s := controlSettings(env)
	name, typ := s.str("analyzer_name"), s.str("type")
	as, err := c.active(ctx, env, typ)
	if err != nil {
		return nil, err
	}
	if len(as) > 0 {
		var names []string
		for _, a := range as {
			names = append(names, aws.ToString(a.Name))
		}
		return []workflows.Finding{compliant(aws.ToString(as[0].Arn), fmt.Sprintf("IAM Access Analyzer %s (%s) is active in %s", strings.Join(names, ", "), typ, env.Region),
			map[string]string{"analyzers": strings.Join(names, ","), "type": typ})}, nil
	}
	return []workflows.Finding{nonCompliant(env.ARN("access-analyzer", "analyzer/"+name), fmt.Sprintf("no active %s IAM Access Analyzer in %s", typ, env.Region),
		map[string]string{"type": typ}, &workflows.Change{
			Summary: fmt.Sprintf("create IAM Access Analyzer %s (%s) in %s", name, typ, env.Region),
			Diff:    fmt.Sprintf("IAM Access Analyzer (%s, %s)\n+ analyzer %s, zone of trust %s\n", env.AccountID, env.Region, name, typ),
			Actions: []string{"access-analyzer:CreateAnalyzer"},
			Params:  map[string]any{"name": name, "type": typ},
		})}, nil
}

func (c accessAnalyzer) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	name, typ := paramString(f.Change, "name"), paramString(f.Change, "type")
	var out applied
	as, err := c.active(ctx, env, typ)
	if err != nil || len(as) > 0 {
		return out.ApplyOutput, err
	}
	in := &accessanalyzer.CreateAnalyzerInput{AnalyzerName: aws.String(name), Type: aatypes.Type(typ), Tags: map[string]string{"managed-by": "orgguard"}}
	if env.IdempotencyKey != "" {
		in.ClientToken = aws.String(env.IdempotencyKey)
	}
	created, err := c.api(env).CreateAnalyzer(ctx, in)
	if err != nil {
		return out.ApplyOutput, err
	}
	out.call("access-analyzer:CreateAnalyzer %s", aws.ToString(created.Arn))
	return out.ApplyOutput, nil
}
