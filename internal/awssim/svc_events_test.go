package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

func TestEventBridgeRulesAndTargets(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 2})
	c := eventbridge.NewFromConfig(memberConfig(s, demoWebProd, "eu-west-1"))
	const pattern = `{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"]}`

	_, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("findings")})
	requireCode(t, err, "ResourceNotFoundException")
	_, err = c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("findings")})
	requireCode(t, err, "ResourceNotFoundException")
	_, err = c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("findings"), Targets: []ebtypes.Target{{Id: aws.String("a"), Arn: aws.String("arn:aws:sns:eu-west-1:100000000007:t")}}})
	requireCode(t, err, "ResourceNotFoundException")
	_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("findings")})
	requireCode(t, err, "ValidationException")
	_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("findings"), EventPattern: aws.String("not json")})
	requireCode(t, err, "InvalidEventPatternException")
	_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("findings"), EventPattern: aws.String(pattern), EventBusName: aws.String("custom")})
	requireCode(t, err, "ResourceNotFoundException")

	put := must[*eventbridge.PutRuleOutput](t)(c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("findings"), EventPattern: aws.String(pattern),
		State: ebtypes.RuleStateDisabled, Description: aws.String("GuardDuty findings")}))
	if got := aws.ToString(put.RuleArn); got != "arn:aws:events:eu-west-1:100000000007:rule/findings" {
		t.Errorf("RuleArn = %s", got)
	}
	d := must[*eventbridge.DescribeRuleOutput](t)(c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("findings")}))
	if d.State != ebtypes.RuleStateDisabled || aws.ToString(d.EventPattern) != pattern || aws.ToString(d.Arn) != aws.ToString(put.RuleArn) ||
		aws.ToString(d.EventBusName) != "default" || aws.ToString(d.Description) != "GuardDuty findings" || aws.ToString(d.CreatedBy) != demoWebProd {
		t.Errorf("DescribeRule = %+v", d)
	}
	// PutRule on an existing rule updates it; State defaults to ENABLED.
	must[*eventbridge.PutRuleOutput](t)(c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("findings"), EventPattern: aws.String(pattern)}))
	d = must[*eventbridge.DescribeRuleOutput](t)(c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("findings")}))
	if d.State != ebtypes.RuleStateEnabled {
		t.Errorf("State after update = %s", d.State)
	}
	for _, n := range []string{"nightly", "other"} {
		must[*eventbridge.PutRuleOutput](t)(c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(n), ScheduleExpression: aws.String("rate(1 day)")}))
	}
	var names []string
	var token *string
	for {
		page := must[*eventbridge.ListRulesOutput](t)(c.ListRules(ctx, &eventbridge.ListRulesInput{NextToken: token}))
		for _, r := range page.Rules {
			names = append(names, aws.ToString(r.Name))
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	if len(names) != 3 || names[0] != "findings" || names[1] != "nightly" {
		t.Errorf("ListRules = %v", names)
	}
	pre := must[*eventbridge.ListRulesOutput](t)(c.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String("ni")}))
	if len(pre.Rules) != 1 || aws.ToString(pre.Rules[0].ScheduleExpression) != "rate(1 day)" {
		t.Errorf("ListRules prefix = %+v", pre.Rules)
	}

	topic := "arn:aws:sns:eu-west-1:100000000007:orgguard-findings"
	pt := must[*eventbridge.PutTargetsOutput](t)(c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("findings"), Targets: []ebtypes.Target{
		{Id: aws.String("sns"), Arn: aws.String(topic)},
		{Id: aws.String("old"), Arn: aws.String(topic + "-old"), Input: aws.String(`{"a":1}`)},
	}}))
	if pt.FailedEntryCount != 0 {
		t.Errorf("PutTargets failed %+v", pt.FailedEntries)
	}
	// Same Id replaces the target.
	must[*eventbridge.PutTargetsOutput](t)(c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("findings"), Targets: []ebtypes.Target{
		{Id: aws.String("old"), Arn: aws.String(topic + "-older"), Input: aws.String(`{"a":2}`)},
	}}))
	lt := must[*eventbridge.ListTargetsByRuleOutput](t)(c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("findings"), Limit: aws.Int32(100)}))
	if len(lt.Targets) != 2 || aws.ToString(lt.Targets[0].Arn) != topic || aws.ToString(lt.Targets[1].Arn) != topic+"-older" || aws.ToString(lt.Targets[1].Input) != `{"a":2}` {
		t.Errorf("ListTargetsByRule = %+v", lt.Targets)
	}
	_, err = c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("findings"), Targets: []ebtypes.Target{
		{Id: aws.String("t3"), Arn: aws.String(topic)}, {Id: aws.String("t4"), Arn: aws.String(topic)},
		{Id: aws.String("t5"), Arn: aws.String(topic)}, {Id: aws.String("t6"), Arn: aws.String(topic)},
	}})
	requireCode(t, err, "LimitExceededException")

	_, err = c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("findings")})
	requireCode(t, err, "ValidationException")
	rt := must[*eventbridge.RemoveTargetsOutput](t)(c.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("findings"), Ids: []string{"sns", "old", "never"}}))
	if rt.FailedEntryCount != 0 {
		t.Errorf("RemoveTargets failed %+v", rt.FailedEntries)
	}
	lt = must[*eventbridge.ListTargetsByRuleOutput](t)(c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("findings")}))
	if len(lt.Targets) != 0 {
		t.Errorf("targets after remove = %+v", lt.Targets)
	}
	must[*eventbridge.DeleteRuleOutput](t)(c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("findings")}))
	_, err = c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("findings")})
	requireCode(t, err, "ResourceNotFoundException")
	must[*eventbridge.DeleteRuleOutput](t)(c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("findings")}))

	// Rules are per account and region.
	other := eventbridge.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))
	_, err = other.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("nightly")})
	requireCode(t, err, "ResourceNotFoundException")
	if calls := s.CallsMatching(CallFilter{Service: "events", Operation: "PutTargets", AccountID: demoWebProd, OnlySuccess: true}); len(calls) != 2 {
		t.Errorf("PutTargets calls logged = %d, want 2", len(calls))
	}
}
