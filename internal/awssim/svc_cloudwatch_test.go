package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func TestCloudWatchAlarmsOverCBOR(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	c := cloudwatch.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))
	topic := "arn:aws:sns:us-east-1:100000000007:orgguard-alarms"
	for _, n := range []string{"root-activity", "unauthorized-api-calls"} {
		must[*cloudwatch.PutMetricAlarmOutput](t)(c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(n), MetricName: aws.String("RootAccountUsage"), Namespace: aws.String("CISBenchmark"),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, AlarmActions: []string{topic},
			TreatMissingData: aws.String("notBreaching"),
		}))
	}
	_, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("bad"), MetricName: aws.String("M"), Namespace: aws.String("N"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{"not-an-arn"}})
	requireCode(t, err, "InvalidParameterValue")

	var alarms []cwtypes.MetricAlarm
	p := cloudwatch.NewDescribeAlarmsPaginator(c, &cloudwatch.DescribeAlarmsInput{})
	for p.HasMorePages() {
		alarms = append(alarms, must[*cloudwatch.DescribeAlarmsOutput](t)(p.NextPage(ctx)).MetricAlarms...)
	}
	if len(alarms) != 2 {
		t.Fatalf("alarms = %+v", alarms)
	}
	a := alarms[0]
	if aws.ToString(a.AlarmName) != "root-activity" || aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-east-1:100000000007:alarm:root-activity" ||
		a.StateValue != cwtypes.StateValueInsufficientData || aws.ToFloat64(a.Threshold) != 1 || aws.ToInt32(a.Period) != 300 ||
		len(a.AlarmActions) != 1 || a.AlarmActions[0] != topic || a.StateUpdatedTimestamp == nil || a.Statistic != cwtypes.StatisticSum {
		t.Errorf("alarm = %+v", a)
	}
	byName := must[*cloudwatch.DescribeAlarmsOutput](t)(c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"unauthorized-api-calls"}}))
	if len(byName.MetricAlarms) != 1 {
		t.Errorf("by name = %+v", byName.MetricAlarms)
	}
	must[*cloudwatch.DeleteAlarmsOutput](t)(c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"unauthorized-api-calls"}}))
	_, err = c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"unauthorized-api-calls"}})
	requireCode(t, err, "ResourceNotFound")
	calls := s.CallsMatching(CallFilter{Service: "monitoring", Operation: "PutMetricAlarm", AccountID: demoWebProd})
	if len(calls) != 3 || calls[0].Params["AlarmName"] != "root-activity" || calls[0].Params["AlarmActions.1"] != topic {
		t.Errorf("PutMetricAlarm calls = %+v", calls)
	}
}
