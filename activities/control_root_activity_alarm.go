package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/orgguard/orgguard/workflows"
)

// metricFilterAPI is the part of the CloudWatch Logs client the root
// activity alarm uses.
type metricFilterAPI interface {
	logGroupAPI
	cloudwatchlogs.DescribeMetricFiltersAPIClient
	PutMetricFilter(context.Context, *cloudwatchlogs.PutMetricFilterInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutMetricFilterOutput, error)
}

// alarmAPI is the part of the CloudWatch client the root activity alarm uses.
type alarmAPI interface {
	cloudwatch.DescribeAlarmsAPIClient
	PutMetricAlarm(context.Context, *cloudwatch.PutMetricAlarmInput, ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error)
}

// topicAPI is the part of the SNS client the root activity alarm uses.
type topicAPI interface {
	CreateTopic(context.Context, *sns.CreateTopicInput, ...func(*sns.Options)) (*sns.CreateTopicOutput, error)
}

// rootActivityAlarm: a metric filter on the CloudTrail log group counts root
// activity and an alarm on that metric notifies an SNS topic (CIS 4.3 /
// 1.7, FSBP CloudWatch.1).
type rootActivityAlarm struct{}

func (rootActivityAlarm) Permissions() []string {
	return append([]string{
		"logs:DescribeMetricFilters", "logs:PutMetricFilter",
		"cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm",
		"sns:CreateTopic",
	}, logGroupPermissions...)
}

const rootActivityMetric = "RootAccountUsage"

type alarmWant struct {
	group, pattern, namespace, alarm, topic string
}

func (rootActivityAlarm) want(env Env) alarmWant {
	s := controlSettings(env)
	return alarmWant{group: s.str("log_group_name"), pattern: s.str("filter_pattern"), namespace: s.str("metric_namespace"),
		alarm: s.str("alarm_name"), topic: s.str("sns_topic_name")}
}

// samePattern compares filter patterns ignoring whitespace differences.
func samePattern(a, b string) bool {
	return strings.Join(strings.Fields(a), "") == strings.Join(strings.Fields(b), "")
}

type alarmState struct {
	groupExists bool
	filter      *logstypes.MetricFilter // the filter with the pattern, if any
	metric      string
	namespace   string
	alarm       string // an alarm on the metric that notifies SNS
	topicARN    string
}

func (c rootActivityAlarm) read(ctx context.Context, env Env, w alarmWant) (alarmState, error) {
	var st alarmState
	logs := cloudwatchlogs.NewFromConfig(env.Config)
	g, err := findLogGroup(ctx, logs, w.group)
	if err != nil || g == nil {
		return st, err
	}
	st.groupExists = true
	p := cloudwatchlogs.NewDescribeMetricFiltersPaginator(logs, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(w.group)})
	for p.HasMorePages() && st.filter == nil {
		page, err := p.NextPage(ctx)
		if err != nil {
			return st, err
		}
		for _, f := range page.MetricFilters {
			if samePattern(aws.ToString(f.FilterPattern), w.pattern) && len(f.MetricTransformations) > 0 {
				f := f
				st.filter = &f
				st.metric = aws.ToString(f.MetricTransformations[0].MetricName)
				st.namespace = aws.ToString(f.MetricTransformations[0].MetricNamespace)
				break
			}
		}
	}
	if st.filter == nil {
		return st, nil
	}
	var api alarmAPI = cloudwatch.NewFromConfig(env.Config)
	ap := cloudwatch.NewDescribeAlarmsPaginator(api, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return st, err
		}
		for _, a := range page.MetricAlarms {
			if aws.ToString(a.MetricName) != st.metric || aws.ToString(a.Namespace) != st.namespace || (a.ActionsEnabled != nil && !*a.ActionsEnabled) {
				continue
			}
			for _, act := range a.AlarmActions {
				if strings.Contains(act, ":sns:") {
					st.alarm, st.topicARN = aws.ToString(a.AlarmName), act
				}
			}
		}
	}
	return st, nil
}

func (c rootActivityAlarm) Check(ctx context.Context, env Env, _ string) ([]workflows.Finding, error) {
	w := c.want(env)
	st, err := c.read(ctx, env, w)
	if err != nil {
		return nil, err
	}
	if st.alarm != "" {
		return []workflows.Finding{compliant(env.ARN("cloudwatch", "alarm:"+st.alarm),
			fmt.Sprintf("alarm %s on %s/%s (metric filter on %s) notifies %s", st.alarm, st.namespace, st.metric, w.group, st.topicARN),
			map[string]string{"alarm": st.alarm, "metric": st.namespace + "/" + st.metric, "topic": st.topicARN})}, nil
	}
	var ev string
	switch {
	case !st.groupExists:
		ev = "log group " + w.group + " does not exist, so nothing watches root activity"
	case st.filter == nil:
		ev = "log group " + w.group + " has no metric filter for root activity"
	default:
		ev = fmt.Sprintf("metric %s/%s counts root activity but no alarm on it notifies SNS", st.namespace, st.metric)
	}
	var diff strings.Builder
	fmt.Fprintf(&diff, "root activity alarm (%s, %s)\n", env.AccountID, env.Region)
	if !st.groupExists {
		fmt.Fprintf(&diff, "+ log group %s\n", w.group)
	}
	if st.filter == nil {
		fmt.Fprintf(&diff, "+ metric filter on %s: %s -> %s/%s\n", w.group, w.pattern, w.namespace, rootActivityMetric)
	}
	fmt.Fprintf(&diff, "+ SNS topic %s\n+ alarm %s: Sum >= 1 over 5 minutes -> %s\n", w.topic, w.alarm, w.topic)
	return []workflows.Finding{nonCompliant(env.ARN("cloudwatch", "alarm:"+w.alarm), ev, map[string]string{"log_group": w.group}, &workflows.Change{
		Summary: "alarm on root activity to SNS topic " + w.topic,
		Diff:    diff.String(),
		Actions: []string{"logs:PutMetricFilter", "sns:CreateTopic", "cloudwatch:PutMetricAlarm"},
		Params:  map[string]any{"alarm": w.alarm},
	})}, nil
}

func (c rootActivityAlarm) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	w := c.want(env)
	var out applied
	st, err := c.read(ctx, env, w)
	if err != nil || st.alarm != "" {
		return out.ApplyOutput, err
	}
	logs := cloudwatchlogs.NewFromConfig(env.Config)
	if !st.groupExists {
		if err := ensureLogGroup(ctx, logs, w.group, 0, &out); err != nil {
			return out.ApplyOutput, err
		}
	}
	metric, ns := st.metric, st.namespace
	if st.filter == nil {
		metric, ns = rootActivityMetric, w.namespace
		var api metricFilterAPI = logs
		if _, err := api.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{
			LogGroupName: aws.String(w.group), FilterName: aws.String("orgguard-root-activity"), FilterPattern: aws.String(w.pattern),
			MetricTransformations: []logstypes.MetricTransformation{{MetricName: aws.String(metric), MetricNamespace: aws.String(ns), MetricValue: aws.String("1")}},
		}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("logs:PutMetricFilter %s orgguard-root-activity", w.group)
	}
	// CreateTopic is idempotent for an existing name with the same
	// attributes: it returns the topic's ARN.
	var topics topicAPI = sns.NewFromConfig(env.Config)
	topic, err := topics.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(w.topic)})
	if err != nil {
		return out.ApplyOutput, err
	}
	out.call("sns:CreateTopic %s", w.topic)
	var alarms alarmAPI = cloudwatch.NewFromConfig(env.Config)
	if _, err := alarms.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(w.alarm), AlarmDescription: aws.String("Root user activity (CIS 4.3); managed by orgguard"),
		MetricName: aws.String(metric), Namespace: aws.String(ns), Statistic: cwtypes.StatisticSum, Period: aws.Int32(300),
		EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
		TreatMissingData: aws.String("notBreaching"), ActionsEnabled: aws.Bool(true), AlarmActions: []string{aws.ToString(topic.TopicArn)},
	}); err != nil {
		return out.ApplyOutput, err
	}
	out.call("cloudwatch:PutMetricAlarm %s -> %s", w.alarm, aws.ToString(topic.TopicArn))
	return out.ApplyOutput, nil
}
