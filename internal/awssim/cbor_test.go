package awssim

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// TestRPCv2CBOR drives the core's RPC v2 CBOR path (routing, CBOR in and
// out, timestamps, errors with the query-compatible header, faults) through
// the real CloudWatch client, with a minimal stand-in service.
func TestRPCv2CBOR(t *testing.T) {
	t.Parallel()
	s, err := newServer(Options{Faults: []Fault{{Service: "monitoring", Operation: "DescribeAlarms", AccountID: webProd, Throttle: &Throttle{}}}})
	if err != nil {
		t.Fatal(err)
	}
	type alarm struct {
		AlarmName             string
		StateValue            string
		StateUpdatedTimestamp time.Time
		Threshold             float64
	}
	alarms := map[string][]alarm{} // by account
	updated := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fake := &service{
		Name: "monitoring", Protocol: protoRPCv2CBOR, SmithyServiceName: "GraniteServiceVersion20100801",
		QueryCompatible: true, Codes: errorCodes{Throttling: "Throttling"},
		Ops: map[string]operation{
			"PutMetricAlarm": func(r *request) (any, error) {
				var in struct {
					AlarmName string
					Threshold float64
				}
				if err := r.decodeCBOR(&in); err != nil {
					return nil, err
				}
				alarms[r.Account.ID] = append(alarms[r.Account.ID], alarm{in.AlarmName, "INSUFFICIENT_DATA", updated, in.Threshold})
				return nil, nil
			},
			"DescribeAlarms": func(r *request) (any, error) {
				return map[string]any{"MetricAlarms": alarms[r.Account.ID]}, nil
			},
			"DeleteAlarms": func(r *request) (any, error) {
				return nil, errNotFound("ResourceNotFound", "alarm not found")
			},
		},
	}
	fake.defaultCodes()
	s.services = append(s.services, fake)
	s.bySmithyName[fake.SmithyServiceName] = fake
	if err := s.listen(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	c := cloudwatch.NewFromConfig(memberConfig(s, "100000000006", "us-east-1"))
	must[*cloudwatch.PutMetricAlarmOutput](t)(c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("root-activity"), Threshold: aws.Float64(1), EvaluationPeriods: aws.Int32(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, MetricName: aws.String("RootActivity"),
		Namespace: aws.String("CISBenchmark"), Period: aws.Int32(300), Statistic: cwtypes.StatisticSum,
	}))
	out := must[*cloudwatch.DescribeAlarmsOutput](t)(c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}))
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("alarms = %+v", out.MetricAlarms)
	}
	a := out.MetricAlarms[0]
	if aws.ToString(a.AlarmName) != "root-activity" || a.StateValue != cwtypes.StateValueInsufficientData ||
		!aws.ToTime(a.StateUpdatedTimestamp).Equal(updated) || aws.ToFloat64(a.Threshold) != 1 {
		t.Errorf("alarm = %+v", a)
	}
	_, err = c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"nope"}})
	requireCode(t, err, "ResourceNotFound")

	calls := s.CallsMatching(CallFilter{Service: "monitoring", Operation: "PutMetricAlarm"})
	if len(calls) != 1 || calls[0].Params["AlarmName"] != "root-activity" || calls[0].AccountID != "100000000006" {
		t.Errorf("calls = %+v", calls)
	}
	_, err = cloudwatch.NewFromConfig(memberConfig(s, webProd, "us-east-1")).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	requireCode(t, err, "Throttling")
}
