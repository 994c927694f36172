package awssim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// GuardDuty (REST-JSON): one detector per account and region.
func guardDutyService() *service {
	return &service{
		Name:     "guardduty",
		Protocol: protoRESTJSON,
		Routes: []route{
			{Method: "POST", Pattern: "/detector", Op: "CreateDetector", Handler: gdCreateDetector},
			{Method: "GET", Pattern: "/detector", Op: "ListDetectors", Handler: gdListDetectors},
			{Method: "GET", Pattern: "/detector/{detectorId}", Op: "GetDetector", Handler: gdGetDetector},
			{Method: "POST", Pattern: "/detector/{detectorId}", Op: "UpdateDetector", Handler: gdUpdateDetector},
			{Method: "DELETE", Pattern: "/detector/{detectorId}", Op: "DeleteDetector", Handler: gdDeleteDetector},
		},
	}
}

type guardDutyState struct {
	detectors []*gdDetector // at most one: GuardDuty allows one per region
}

type gdDetector struct {
	ID        string
	Enabled   bool
	Frequency string
	Features  []gdFeature
	Tags      map[string]string
	Created   time.Time
	Updated   time.Time
}

type gdFeature struct {
	Name    string
	Status  string
	Updated time.Time
}

func gdState(r *request) *guardDutyState {
	return regionData(r.Account, r.Region, "guardduty", func() *guardDutyState { return &guardDutyState{} })
}

// gdDefaultFeatures are the protection plans a new detector gets when the
// request names none.
var gdDefaultFeatures = []string{"CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS", "S3_DATA_EVENTS", "EKS_AUDIT_LOGS",
	"EBS_MALWARE_PROTECTION", "RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS"}

type gdFeatureInput struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

func gdValidFrequency(f string) bool {
	return f == "FIFTEEN_MINUTES" || f == "ONE_HOUR" || f == "SIX_HOURS"
}

func gdCreateDetector(req *request) (any, error) {
	var in struct {
		Enable                     *bool             `json:"enable"`
		FindingPublishingFrequency string            `json:"findingPublishingFrequency"`
		Features                   []gdFeatureInput  `json:"features"`
		Tags                       map[string]string `json:"tags"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.Enable == nil {
		return nil, errBadRequest("BadRequestException", "The request is rejected because an invalid or out-of-range value is specified as an input parameter.").with("Type", "InvalidInputException")
	}
	st := gdState(req)
	if len(st.detectors) > 0 {
		return nil, errBadRequest("BadRequestException", "The request is rejected because a detector already exists for the current account.")
	}
	if in.FindingPublishingFrequency == "" {
		in.FindingPublishingFrequency = "SIX_HOURS"
	}
	if !gdValidFrequency(in.FindingPublishingFrequency) {
		return nil, errBadRequest("BadRequestException", "The request is rejected because an invalid or out-of-range value is specified as an input parameter.")
	}
	now := req.srv.now().UTC()
	d := &gdDetector{
		ID: req.srv.randomID(32, lowerHex), Enabled: *in.Enable, Frequency: in.FindingPublishingFrequency,
		Tags: in.Tags, Created: now, Updated: now,
	}
	for _, n := range gdDefaultFeatures {
		d.Features = append(d.Features, gdFeature{Name: n, Status: "ENABLED", Updated: now})
	}
	if err := gdApplyFeatures(d, in.Features, now); err != nil {
		return nil, err
	}
	st.detectors = append(st.detectors, d)
	return map[string]any{"detectorId": d.ID}, nil
}

func gdApplyFeatures(d *gdDetector, in []gdFeatureInput, now time.Time) error {
	for _, f := range in {
		if f.Status != "ENABLED" && f.Status != "DISABLED" {
			return errBadRequest("BadRequestException", "The request is rejected because an invalid or out-of-range value is specified as an input parameter.")
		}
		found := false
		for i := range d.Features {
			if d.Features[i].Name == f.Name {
				d.Features[i].Status, d.Features[i].Updated = f.Status, now
				found = true
			}
		}
		if !found {
			d.Features = append(d.Features, gdFeature{Name: f.Name, Status: f.Status, Updated: now})
		}
	}
	return nil
}

func gdListDetectors(req *request) (any, error) {
	q := req.HTTP.URL.Query()
	max := 0
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errBadRequest("BadRequestException", "The request is rejected because an invalid or out-of-range value is specified as an input parameter.")
		}
		max = n
	}
	limit, err := req.pageLimit(max, 50, 50)
	if err != nil {
		return nil, errBadRequest("BadRequestException", "The request is rejected because an invalid or out-of-range value is specified as an input parameter.")
	}
	ids := []string{}
	for _, d := range gdState(req).detectors {
		ids = append(ids, d.ID)
	}
	page, next, err := paginate(ids, q.Get("nextToken"), limit,
		errBadRequest("BadRequestException", "The request is rejected because an invalid or out-of-range value is specified as an input parameter."))
	if err != nil {
		return nil, err
	}
	out := map[string]any{"detectorIds": page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func gdFind(req *request) (*gdDetector, int, error) {
	id := req.Path["detectorId"]
	for i, d := range gdState(req).detectors {
		if d.ID == id {
			return d, i, nil
		}
	}
	return nil, 0, errBadRequest("BadRequestException",
		"The request is rejected because the input detectorId is not owned by the current account.").with("Type", "InvalidInputException")
}

const gdTimeFormat = "2006-01-02T15:04:05.000Z"

func gdGetDetector(req *request) (any, error) {
	d, _, err := gdFind(req)
	if err != nil {
		return nil, err
	}
	status := "DISABLED"
	if d.Enabled {
		status = "ENABLED"
	}
	features := []map[string]any{}
	for _, f := range d.Features {
		features = append(features, map[string]any{
			"name": f.Name, "status": f.Status, "updatedAt": float64(f.Updated.Unix()),
		})
	}
	tags := d.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"createdAt":                  d.Created.Format(gdTimeFormat),
		"updatedAt":                  d.Updated.Format(gdTimeFormat),
		"findingPublishingFrequency": d.Frequency,
		"serviceRole":                fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty", req.Account.ID),
		"status":                     status,
		"features":                   features,
		"tags":                       tags,
	}, nil
}

func gdUpdateDetector(req *request) (any, error) {
	d, _, err := gdFind(req)
	if err != nil {
		return nil, err
	}
	var in struct {
		Enable                     *bool            `json:"enable"`
		FindingPublishingFrequency string           `json:"findingPublishingFrequency"`
		Features                   []gdFeatureInput `json:"features"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.FindingPublishingFrequency != "" && !gdValidFrequency(in.FindingPublishingFrequency) {
		return nil, errBadRequest("BadRequestException", "The request is rejected because an invalid or out-of-range value is specified as an input parameter.")
	}
	now := req.srv.now().UTC()
	if err := gdApplyFeatures(d, in.Features, now); err != nil {
		return nil, err
	}
	if in.Enable != nil {
		d.Enabled = *in.Enable
	}
	if in.FindingPublishingFrequency != "" {
		d.Frequency = in.FindingPublishingFrequency
	}
	d.Updated = now
	return map[string]any{}, nil
}

func gdDeleteDetector(req *request) (any, error) {
	_, i, err := gdFind(req)
	if err != nil {
		return nil, err
	}
	st := gdState(req)
	st.detectors = append(st.detectors[:i], st.detectors[i+1:]...)
	return &restResponse{Status: http.StatusOK, Body: map[string]any{}}, nil
}

// gdEnabledDetector reports whether the account has an enabled detector in
// region (for Security Hub findings and Config).
func gdEnabledDetector(a *account, region string) bool {
	st := regionData(a, region, "guardduty", func() *guardDutyState { return &guardDutyState{} })
	for _, d := range st.detectors {
		if d.Enabled {
			return true
		}
	}
	return false
}
