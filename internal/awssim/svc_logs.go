package awssim

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// CloudWatch Logs (JSON 1.1, Logs_20140328): log groups (with retention
// policies) and metric filters.
func logsService() *service {
	return &service{
		Name:         "logs",
		Protocol:     protoJSON11,
		TargetPrefix: "Logs_20140328",
		Codes:        errorCodes{Validation: "InvalidParameterException"},
		Ops: map[string]operation{
			"CreateLogGroup":        logsCreateLogGroup,
			"DescribeLogGroups":     logsDescribeLogGroups,
			"PutMetricFilter":       logsPutMetricFilter,
			"DescribeMetricFilters": logsDescribeMetricFilters,
			"PutRetentionPolicy":    logsPutRetentionPolicy,
			"DeleteRetentionPolicy": logsDeleteRetentionPolicy,
		},
	}
}

type logsState struct {
	groups []*logGroup
}

type logGroup struct {
	Name, ARN, KMSKeyID string
	Created             time.Time
	Tags                map[string]string
	Filters             []*metricFilter
	// RetentionDays 0 means never expire (no retention policy).
	RetentionDays int
}

type metricFilter struct {
	Name, Pattern   string
	Transformations []map[string]any
	Created         time.Time
}

func logsStateOf(a *account, region string) *logsState {
	return regionData(a, region, "logs", func() *logsState { return &logsState{} })
}

// logsGroupExists reports whether a log group ARN ("...:log-group:NAME" with
// or without ":*") names an existing group.
func logsGroupExists(s *Server, arn string) bool {
	parts := strings.SplitN(strings.TrimSuffix(arn, ":*"), ":", 7)
	if len(parts) != 7 || parts[5] != "log-group" {
		return false
	}
	a := s.accounts[parts[4]]
	if a == nil {
		return false
	}
	for _, g := range logsStateOf(a, parts[3]).groups {
		if g.Name == parts[6] {
			return true
		}
	}
	return false
}

var logGroupNameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

func (st *logsState) find(name string) *logGroup {
	for _, g := range st.groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

func logsCreateLogGroup(req *request) (any, error) {
	var in struct {
		LogGroupName string            `json:"logGroupName"`
		KmsKeyID     string            `json:"kmsKeyId"`
		Tags         map[string]string `json:"tags"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !logGroupNameRE.MatchString(in.LogGroupName) {
		return nil, errBadRequest("InvalidParameterException", "1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint", in.LogGroupName)
	}
	st := logsStateOf(req.Account, req.Region)
	if st.find(in.LogGroupName) != nil {
		return nil, errBadRequest("ResourceAlreadyExistsException", "The specified log group already exists")
	}
	if k, settled := kmsSeen(req.srv, req.Account, req.Region, in.KmsKeyID); in.KmsKeyID != "" && (k == nil || !settled) {
		return nil, errBadRequest("InvalidParameterException", "The specified KMS key does not exist or is not allowed to be used")
	}
	st.groups = append(st.groups, &logGroup{
		Name: in.LogGroupName, KMSKeyID: in.KmsKeyID, Tags: in.Tags, Created: req.srv.now(),
		ARN: fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", req.Region, req.Account.ID, in.LogGroupName),
	})
	return map[string]any{}, nil
}

func logsDescribeLogGroups(req *request) (any, error) {
	var in struct {
		Prefix    string `json:"logGroupNamePrefix"`
		Pattern   string `json:"logGroupNamePattern"`
		NextToken string `json:"nextToken"`
		Limit     int    `json:"limit"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.Prefix != "" && in.Pattern != "" {
		return nil, errBadRequest("InvalidParameterException", "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	limit, err := req.pageLimit(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	var list []*logGroup
	for _, g := range logsStateOf(req.Account, req.Region).groups {
		if strings.HasPrefix(g.Name, in.Prefix) && strings.Contains(g.Name, in.Pattern) {
			list = append(list, g)
		}
	}
	page, next, err := paginate(list, in.NextToken, limit, errBadRequest("InvalidParameterException", "The specified nextToken is invalid."))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, g := range page {
		m := map[string]any{
			"logGroupName": g.Name, "creationTime": g.Created.UnixMilli(), "metricFilterCount": len(g.Filters),
			"arn": g.ARN + ":*", "logGroupArn": g.ARN, "storedBytes": 0, "logGroupClass": "STANDARD",
		}
		if g.KMSKeyID != "" {
			m["kmsKeyId"] = g.KMSKeyID
		}
		if g.RetentionDays > 0 {
			m["retentionInDays"] = g.RetentionDays
		}
		out = append(out, m)
	}
	res := map[string]any{"logGroups": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

func logsPutMetricFilter(req *request) (any, error) {
	var in struct {
		LogGroupName          string           `json:"logGroupName"`
		FilterName            string           `json:"filterName"`
		FilterPattern         *string          `json:"filterPattern"`
		MetricTransformations []map[string]any `json:"metricTransformations"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.FilterName == "" || in.FilterPattern == nil || len(in.MetricTransformations) != 1 {
		return nil, errBadRequest("InvalidParameterException", "filterName, filterPattern and exactly one metricTransformation are required")
	}
	for _, k := range []string{"metricName", "metricNamespace", "metricValue"} {
		if s, _ := in.MetricTransformations[0][k].(string); s == "" {
			return nil, errBadRequest("InvalidParameterException", "metricTransformations %s is required", k)
		}
	}
	g := logsStateOf(req.Account, req.Region).find(in.LogGroupName)
	if g == nil {
		return nil, errBadRequest("ResourceNotFoundException", "The specified log group does not exist.")
	}
	for _, f := range g.Filters {
		if f.Name == in.FilterName {
			f.Pattern, f.Transformations = *in.FilterPattern, in.MetricTransformations
			return map[string]any{}, nil
		}
	}
	if len(g.Filters) >= 100 {
		return nil, errBadRequest("LimitExceededException", "Resource limit exceeded.")
	}
	g.Filters = append(g.Filters, &metricFilter{Name: in.FilterName, Pattern: *in.FilterPattern,
		Transformations: in.MetricTransformations, Created: req.srv.now()})
	return map[string]any{}, nil
}

func logsDescribeMetricFilters(req *request) (any, error) {
	var in struct {
		LogGroupName     string `json:"logGroupName"`
		FilterNamePrefix string `json:"filterNamePrefix"`
		NextToken        string `json:"nextToken"`
		Limit            int    `json:"limit"`
		MetricName       string `json:"metricName"`
		MetricNamespace  string `json:"metricNamespace"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if (in.MetricName == "") != (in.MetricNamespace == "") {
		return nil, errBadRequest("InvalidParameterException", "metricName and metricNamespace must be specified together")
	}
	if in.FilterNamePrefix != "" && in.LogGroupName == "" {
		return nil, errBadRequest("InvalidParameterException", "logGroupName is required with filterNamePrefix")
	}
	limit, err := req.pageLimit(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	type entry struct {
		g *logGroup
		f *metricFilter
	}
	var list []entry
	st := logsStateOf(req.Account, req.Region)
	if in.LogGroupName != "" && st.find(in.LogGroupName) == nil {
		return nil, errBadRequest("ResourceNotFoundException", "The specified log group does not exist.")
	}
	for _, g := range st.groups {
		if in.LogGroupName != "" && g.Name != in.LogGroupName {
			continue
		}
		for _, f := range g.Filters {
			if !strings.HasPrefix(f.Name, in.FilterNamePrefix) {
				continue
			}
			if in.MetricName != "" && (f.Transformations[0]["metricName"] != in.MetricName || f.Transformations[0]["metricNamespace"] != in.MetricNamespace) {
				continue
			}
			list = append(list, entry{g, f})
		}
	}
	page, next, err := paginate(list, in.NextToken, limit, errBadRequest("InvalidParameterException", "The specified nextToken is invalid."))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, e := range page {
		out = append(out, map[string]any{
			"filterName": e.f.Name, "filterPattern": e.f.Pattern, "metricTransformations": e.f.Transformations,
			"creationTime": e.f.Created.UnixMilli(), "logGroupName": e.g.Name, "applyOnTransformedLogs": false,
		})
	}
	res := map[string]any{"metricFilters": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

// logsRetentionDays are the values PutRetentionPolicy accepts.
var logsRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func logsPutRetentionPolicy(req *request) (any, error) {
	var in struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays *int   `json:"retentionInDays"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.RetentionInDays == nil || !slices.Contains(logsRetentionDays, *in.RetentionInDays) {
		days := 0
		if in.RetentionInDays != nil {
			days = *in.RetentionInDays
		}
		return nil, errBadRequest("InvalidParameterException", "1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: %v", days, logsRetentionDays)
	}
	g := logsStateOf(req.Account, req.Region).find(in.LogGroupName)
	if g == nil {
		return nil, errBadRequest("ResourceNotFoundException", "The specified log group does not exist.")
	}
	g.RetentionDays = *in.RetentionInDays
	return map[string]any{}, nil
}

func logsDeleteRetentionPolicy(req *request) (any, error) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	g := logsStateOf(req.Account, req.Region).find(in.LogGroupName)
	if g == nil {
		return nil, errBadRequest("ResourceNotFoundException", "The specified log group does not exist.")
	}
	g.RetentionDays = 0
	return map[string]any{}, nil
}
