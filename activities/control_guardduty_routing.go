package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/orgguard/orgguard/workflows"
)

// findingsRouteAPI is the part of the EventBridge client that routes
// GuardDuty findings.
type findingsRouteAPI interface {
	DescribeRule(context.Context, *eventbridge.DescribeRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
	ListTargetsByRule(context.Context, *eventbridge.ListTargetsByRuleInput, ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
	PutRule(context.Context, *eventbridge.PutRuleInput, ...func(*eventbridge.Options)) (*eventbridge.PutRuleOutput, error)
	PutTargets(context.Context, *eventbridge.PutTargetsInput, ...func(*eventbridge.Options)) (*eventbridge.PutTargetsOutput, error)
}

var findingsRoutePermissions = []string{
	"events:DescribeRule", "events:ListTargetsByRule", "events:PutRule", "events:PutTargets", "sns:CreateTopic",
}

const (
	findingsRule    = "orgguard-guardduty-findings"
	findingsPattern = `{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"]}`
)

// routeState says whether the EventBridge rule sends findings to the topic.
type routeState struct {
	ruleOK, targetOK bool
}

func readRoute(ctx context.Context, env Env, topicARN string) (routeState, error) {
	var st routeState
	var api findingsRouteAPI = eventbridge.NewFromConfig(env.Config)
	r, err := api.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(findingsRule)})
	if errorCode(err) == "ResourceNotFoundException" {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.ruleOK = r.State == ebtypes.RuleStateEnabled && sameDocument(aws.ToString(r.EventPattern), findingsPattern)
	// A rule has at most five targets: one page holds them all (the SDK
	// has no paginator for this operation).
	ts, err := api.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(findingsRule), Limit: aws.Int32(100)})
	if err != nil {
		return st, err
	}
	for _, t := range ts.Targets {
		st.targetOK = st.targetOK || aws.ToString(t.Arn) == topicARN
	}
	return st, nil
}

func topicARN(env Env, name string) string { return env.ARN("sns", name) }

// routeFinding reports whether GuardDuty findings reach the SNS topic.
func routeFinding(ctx context.Context, env Env, topic string) (workflows.Finding, error) {
	arn := topicARN(env, topic)
	st, err := readRoute(ctx, env, arn)
	if err != nil {
		return workflows.Finding{}, err
	}
	res := env.ARN("events", "rule/"+findingsRule)
	facts := map[string]string{"rule": findingsRule, "topic": arn}
	if st.ruleOK && st.targetOK {
		return compliant(res, "EventBridge rule "+findingsRule+" sends GuardDuty findings to "+arn, facts), nil
	}
	var gaps []string
	if !st.ruleOK {
		gaps = append(gaps, "no enabled EventBridge rule "+findingsRule+" matching GuardDuty findings")
	}
	if !st.targetOK {
		gaps = append(gaps, "findings are not sent to SNS topic "+topic)
	}
	return nonCompliant(res, strings.Join(gaps, "; "), facts, &workflows.Change{
		Summary: "route GuardDuty findings to SNS topic " + topic,
		Diff: fmt.Sprintf("GuardDuty findings routing (%s, %s)\n+ SNS topic %s (EventBridge may publish)\n+ EventBridge rule %s: %s\n+ target %s\n",
			env.AccountID, env.Region, topic, findingsRule, findingsPattern, arn),
		Actions: []string{"sns:CreateTopic", "events:PutRule", "events:PutTargets"},
		Params:  map[string]any{"route": true, "topic": topic},
	}), nil
}

func applyRoute(ctx context.Context, env Env, topic string, out *applied) error {
	arn := topicARN(env, topic)
	st, err := readRoute(ctx, env, arn)
	if err != nil || (st.ruleOK && st.targetOK) {
		return err
	}
	policy, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "EventBridgePublishes", "Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"},
		"Action": "sns:Publish", "Resource": arn,
	}}})
	// CreateTopic returns the existing topic when name and attributes match.
	t, err := sns.NewFromConfig(env.Config).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(topic), Attributes: map[string]string{"Policy": string(policy)}})
	if err != nil {
		return err
	}
	out.call("sns:CreateTopic %s", topic)
	var api findingsRouteAPI = eventbridge.NewFromConfig(env.Config)
	if !st.ruleOK {
		if _, err := api.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(findingsRule), EventPattern: aws.String(findingsPattern),
			State: ebtypes.RuleStateEnabled, Description: aws.String("GuardDuty findings to SNS; managed by orgguard")}); err != nil {
			return err
		}
		out.call("events:PutRule %s", findingsRule)
	}
	if !st.targetOK {
		if _, err := api.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(findingsRule), Targets: []ebtypes.Target{{Id: aws.String("orgguard-sns"), Arn: t.TopicArn}}}); err != nil {
			return err
		}
		out.call("events:PutTargets %s -> %s", findingsRule, aws.ToString(t.TopicArn))
	}
	return nil
}
