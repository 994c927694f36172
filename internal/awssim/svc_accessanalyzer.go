package awssim

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// IAM Access Analyzer (REST-JSON, signing name "access-analyzer").
func accessAnalyzerService() *service {
	return &service{
		Name:     "access-analyzer",
		Protocol: protoRESTJSON,
		Codes:    errorCodes{Throttling: "ThrottlingException", ThrottlingStatus: 429, Internal: "InternalServerException", Validation: "ValidationException"},
		Routes: []route{
			{Method: "PUT", Pattern: "/analyzer", Op: "CreateAnalyzer", Handler: aaCreateAnalyzer},
			{Method: "GET", Pattern: "/analyzer", Op: "ListAnalyzers", Handler: aaListAnalyzers},
			{Method: "GET", Pattern: "/analyzer/{analyzerName}", Op: "GetAnalyzer", Handler: aaGetAnalyzer},
			{Method: "DELETE", Pattern: "/analyzer/{analyzerName}", Op: "DeleteAnalyzer", Handler: aaDeleteAnalyzer},
		},
	}
}

type accessAnalyzerState struct {
	analyzers []*aaAnalyzer
}

type aaAnalyzer struct {
	ARN, Name, Type string
	Tags            map[string]string
	Created         time.Time
}

func aaState(r *request) *accessAnalyzerState {
	return regionData(r.Account, r.Region, "access-analyzer", func() *accessAnalyzerState { return &accessAnalyzerState{} })
}

var aaNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,254}$`)

func aaCreateAnalyzer(req *request) (any, error) {
	var in struct {
		AnalyzerName string            `json:"analyzerName"`
		Type         string            `json:"type"`
		Tags         map[string]string `json:"tags"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !aaNameRE.MatchString(in.AnalyzerName) {
		return nil, errBadRequest("ValidationException", "1 validation error detected: Value '%s' at 'analyzerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z][A-Za-z0-9_.-]*", in.AnalyzerName).with("reason", "fieldValidationFailed")
	}
	switch in.Type {
	case "ACCOUNT", "ORGANIZATION", "ACCOUNT_UNUSED_ACCESS", "ORGANIZATION_UNUSED_ACCESS":
	default:
		return nil, errBadRequest("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [ACCOUNT, ORGANIZATION, ACCOUNT_UNUSED_ACCESS, ORGANIZATION_UNUSED_ACCESS]", in.Type).with("reason", "fieldValidationFailed")
	}
	st := aaState(req)
	for _, a := range st.analyzers {
		if a.Name == in.AnalyzerName {
			return nil, errConflict("ConflictException", "Analyzer with name %s already exists", in.AnalyzerName).
				with("resourceId", in.AnalyzerName).with("resourceType", "Analyzer")
		}
	}
	a := &aaAnalyzer{
		ARN:  fmt.Sprintf("arn:aws:access-analyzer:%s:%s:analyzer/%s", req.Region, req.Account.ID, in.AnalyzerName),
		Name: in.AnalyzerName, Type: in.Type, Tags: in.Tags, Created: req.srv.now().UTC(),
	}
	st.analyzers = append(st.analyzers, a)
	return map[string]any{"arn": a.ARN}, nil
}

func aaSummary(a *aaAnalyzer) map[string]any {
	tags := a.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"arn": a.ARN, "name": a.Name, "type": a.Type, "status": "ACTIVE", "tags": tags,
		"createdAt": a.Created.Format(time.RFC3339),
	}
}

func aaListAnalyzers(req *request) (any, error) {
	q := req.HTTP.URL.Query()
	max := 0
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errBadRequest("ValidationException", "Invalid maxResults")
		}
		max = n
	}
	// ListAnalyzers accepts any positive maxResults; the service caps pages.
	limit, err := req.pageLimit(max, 100, 0)
	if err != nil {
		return nil, err
	}
	var list []*aaAnalyzer
	for _, a := range aaState(req).analyzers {
		if t := q.Get("type"); t == "" || a.Type == t {
			list = append(list, a)
		}
	}
	page, next, err := paginate(list, q.Get("nextToken"), limit,
		errBadRequest("ValidationException", "Invalid pagination token").with("reason", "other"))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range page {
		out = append(out, aaSummary(a))
	}
	res := map[string]any{"analyzers": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

func aaFind(req *request) (*aaAnalyzer, int, error) {
	name := req.Path["analyzerName"]
	for i, a := range aaState(req).analyzers {
		if a.Name == name {
			return a, i, nil
		}
	}
	return nil, 0, errNotFound("ResourceNotFoundException", "Analyzer %s not found", name).
		with("resourceId", name).with("resourceType", "Analyzer")
}

func aaGetAnalyzer(req *request) (any, error) {
	a, _, err := aaFind(req)
	if err != nil {
		return nil, err
	}
	return map[string]any{"analyzer": aaSummary(a)}, nil
}

func aaDeleteAnalyzer(req *request) (any, error) {
	_, i, err := aaFind(req)
	if err != nil {
		return nil, err
	}
	st := aaState(req)
	st.analyzers = append(st.analyzers[:i], st.analyzers[i+1:]...)
	return nil, nil
}
