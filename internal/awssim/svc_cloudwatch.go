package awssim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// CloudWatch metric alarms (Smithy RPC v2 CBOR, query-compatible: error
// codes are the Query ones).
func cloudWatchService() *service {
	return &service{
		Name:              "monitoring",
		Protocol:          protoRPCv2CBOR,
		SmithyServiceName: "GraniteServiceVersion20100801",
		QueryCompatible:   true,
		Codes: errorCodes{Throttling: "Throttling", Validation: "InvalidParameterValue",
			Internal: "InternalServiceError", AccessDenied: "AccessDenied"},
		Ops: map[string]operation{
			"PutMetricAlarm": cwPutMetricAlarm,
			"DescribeAlarms": cwDescribeAlarms,
			"DeleteAlarms":   cwDeleteAlarms,
		},
	}
}

type cloudWatchState struct {
	alarms []*cwAlarm
}

type cwAlarm struct {
	fields  map[string]any // the PutMetricAlarm input, echoed by DescribeAlarms
	name    string
	state   string
	reason  string
	updated time.Time
	stateAt time.Time
}

func cwStateOf(a *account, region string) *cloudWatchState {
	return regionData(a, region, "monitoring", func() *cloudWatchState { return &cloudWatchState{} })
}

// cwInput decodes the CBOR body as a map, which PutMetricAlarm stores and
// DescribeAlarms echoes.
func cwInput(req *request) (map[string]any, error) {
	in := map[string]any{}
	if err := req.decodeCBOR(&in); err != nil {
		return nil, err
	}
	return in, nil
}

func cwString(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func cwNumber(m map[string]any, k string) (float64, bool) {
	switch v := m[k].(type) {
	case uint64:
		return float64(v), true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case float32:
		return float64(v), true
	}
	return 0, false
}

func cwPutMetricAlarm(req *request) (any, error) {
	in, err := cwInput(req)
	if err != nil {
		return nil, err
	}
	name := cwString(in, "AlarmName")
	if name == "" || len(name) > 255 {
		return nil, newError(http.StatusBadRequest, "InvalidParameterValue", "%s", "AlarmName must be 1 to 255 characters")
	}
	if n, ok := cwNumber(in, "EvaluationPeriods"); !ok || n < 1 {
		return nil, newError(http.StatusBadRequest, "InvalidParameterValue", "%s", "EvaluationPeriods must be at least 1")
	}
	switch cwString(in, "ComparisonOperator") {
	case "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold",
		"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold":
	default:
		return nil, newError(http.StatusBadRequest, "InvalidParameterValue", "%s", "Invalid ComparisonOperator")
	}
	_, metrics := in["Metrics"]
	if metrics == (cwString(in, "MetricName") != "") {
		return nil, newError(http.StatusBadRequest, "InvalidParameterCombination", "%s", "Exactly one of MetricName and Metrics must be specified")
	}
	if !metrics {
		if cwString(in, "Namespace") == "" {
			return nil, newError(http.StatusBadRequest, "MissingParameter", "%s", "The parameter Namespace is required.")
		}
		if (cwString(in, "Statistic") == "") == (cwString(in, "ExtendedStatistic") == "") {
			return nil, newError(http.StatusBadRequest, "InvalidParameterCombination", "%s", "Exactly one of Statistic and ExtendedStatistic must be specified")
		}
		if p, ok := cwNumber(in, "Period"); !ok || p < 10 {
			return nil, newError(http.StatusBadRequest, "InvalidParameterValue", "%s", "Period must be 10, 20, 30 or a multiple of 60")
		}
	}
	for _, k := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
		acts, _ := in[k].([]any)
		if len(acts) > 5 {
			return nil, newError(http.StatusBadRequest, "LimitExceeded", "%s", "The maximum number of alarm actions is 5")
		}
		for _, a := range acts {
			if s, _ := a.(string); !strings.HasPrefix(s, "arn:aws:") {
				return nil, newError(http.StatusBadRequest, "InvalidParameterValue", "%s", fmt.Sprintf("Invalid arn syntax: %v", a))
			}
		}
	}
	delete(in, "Tags")
	st := cwStateOf(req.Account, req.Region)
	now := req.srv.now().UTC()
	for _, a := range st.alarms {
		if a.name == name {
			a.fields, a.updated = in, now
			return map[string]any{}, nil
		}
	}
	st.alarms = append(st.alarms, &cwAlarm{fields: in, name: name, state: "INSUFFICIENT_DATA",
		reason: "Unchecked: Initial alarm creation", updated: now, stateAt: now})
	return map[string]any{}, nil
}

func cwAlarmOut(req *request, a *cwAlarm) map[string]any {
	out := map[string]any{}
	for k, v := range a.fields {
		out[k] = v
	}
	if _, ok := out["ActionsEnabled"]; !ok {
		out["ActionsEnabled"] = true
	}
	for _, k := range []string{"AlarmActions", "OKActions", "InsufficientDataActions", "Dimensions"} {
		if _, ok := out[k]; !ok {
			out[k] = []any{}
		}
	}
	out["AlarmArn"] = fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", req.Region, req.Account.ID, a.name)
	out["StateValue"], out["StateReason"] = a.state, a.reason
	out["AlarmConfigurationUpdatedTimestamp"] = a.updated
	out["StateUpdatedTimestamp"], out["StateTransitionedTimestamp"] = a.stateAt, a.stateAt
	return out
}

func cwDescribeAlarms(req *request) (any, error) {
	in, err := cwInput(req)
	if err != nil {
		return nil, err
	}
	max := 0
	if n, ok := cwNumber(in, "MaxRecords"); ok {
		max = int(n)
	}
	limit, perr := req.pageLimit(max, 50, 100)
	if perr != nil {
		return nil, newError(http.StatusBadRequest, "InvalidParameterValue", "%s", "MaxRecords must be between 1 and 100")
	}
	names, _ := in["AlarmNames"].([]any)
	prefix := cwString(in, "AlarmNamePrefix")
	if len(names) > 0 && prefix != "" {
		return nil, newError(http.StatusBadRequest, "InvalidParameterCombination", "%s", "AlarmNames and AlarmNamePrefix are mutually exclusive")
	}
	state, action := cwString(in, "StateValue"), cwString(in, "ActionPrefix")
	types, _ := in["AlarmTypes"].([]any)
	var list []*cwAlarm
	if len(types) == 0 || slices.Contains(types, any("MetricAlarm")) {
		for _, a := range cwStateOf(req.Account, req.Region).alarms {
			if len(names) > 0 && !slices.Contains(names, any(a.name)) {
				continue
			}
			if !strings.HasPrefix(a.name, prefix) || (state != "" && a.state != state) {
				continue
			}
			if action != "" {
				acts, _ := a.fields["AlarmActions"].([]any)
				if !slices.ContainsFunc(acts, func(x any) bool { s, _ := x.(string); return strings.HasPrefix(s, action) }) {
					continue
				}
			}
			list = append(list, a)
		}
	}
	page, next, err := paginate(list, cwString(in, "NextToken"), limit, errBadRequest("InvalidNextToken", "invalid NextToken"))
	if err != nil {
		return nil, newError(http.StatusBadRequest, "InvalidNextToken", "%s", "The service couldn't process your request because of an invalid NextToken")
	}
	alarms := []any{}
	for _, a := range page {
		alarms = append(alarms, cwAlarmOut(req, a))
	}
	out := map[string]any{"MetricAlarms": alarms, "CompositeAlarms": []any{}}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func cwDeleteAlarms(req *request) (any, error) {
	in, err := cwInput(req)
	if err != nil {
		return nil, err
	}
	names, _ := in["AlarmNames"].([]any)
	st := cwStateOf(req.Account, req.Region)
	for _, n := range names {
		if !slices.ContainsFunc(st.alarms, func(a *cwAlarm) bool { return a.name == n }) {
			return nil, newError(http.StatusNotFound, "ResourceNotFound", "%s", fmt.Sprintf("Alarm %v does not exist", n))
		}
	}
	st.alarms = slices.DeleteFunc(st.alarms, func(a *cwAlarm) bool { return slices.Contains(names, any(a.name)) })
	return map[string]any{}, nil
}

// cwAlarmOnMetric reports whether a metric alarm watches namespace/name
// with at least one action (for Security Hub CloudWatch.1).
func cwAlarmOnMetric(a *account, region, namespace, metric string) bool {
	for _, al := range cwStateOf(a, region).alarms {
		acts, _ := al.fields["AlarmActions"].([]any)
		if cwString(al.fields, "Namespace") == namespace && cwString(al.fields, "MetricName") == metric && len(acts) > 0 {
			return true
		}
	}
	return false
}
