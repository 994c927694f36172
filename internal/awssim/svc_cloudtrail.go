package awssim

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// CloudTrail (JSON 1.1, CloudTrail_20131101). Trails live in their home
// region; multi-region trails show up in every region ("shadow trails") and
// organization trails of the management account in every member account.
func cloudTrailService() *service {
	return &service{
		Name:         "cloudtrail",
		Protocol:     protoJSON11,
		TargetPrefix: "CloudTrail_20131101",
		Ops: map[string]operation{
			"CreateTrail":       ctCreateTrail,
			"UpdateTrail":       ctUpdateTrail,
			"DeleteTrail":       ctDeleteTrail,
			"DescribeTrails":    ctDescribeTrails,
			"GetTrailStatus":    ctGetTrailStatus,
			"StartLogging":      ctSetLogging(true),
			"StopLogging":       ctSetLogging(false),
			"PutEventSelectors": ctPutEventSelectors,
			"GetEventSelectors": ctGetEventSelectors,
		},
	}
}

type cloudTrailState struct {
	trails []*ctTrail
}

type ctTrail struct {
	Name, ARN, HomeRegion, Account string
	S3BucketName, S3KeyPrefix      string
	SNSTopicName, SNSTopicARN      string
	IncludeGlobal                  bool
	MultiRegion                    bool
	Organization                   bool
	LogFileValidation              bool
	CloudWatchLogsLogGroupArn      string
	CloudWatchLogsRoleArn          string
	KMSKeyID                       string
	Logging                        bool
	StartTime, StopTime            time.Time
	EventSelectors                 []map[string]any
	AdvancedEventSelectors         []map[string]any
	CustomSelectors                bool
}

func ctStateOf(a *account, region string) *cloudTrailState {
	return regionData(a, region, "cloudtrail", func() *cloudTrailState { return &cloudTrailState{} })
}

// ctAllTrails lists every trail an account owns, in all regions, in a stable
// order.
func ctAllTrails(a *account) []*ctTrail {
	var out []*ctTrail
	for _, r := range sortedKeys(a.regions) {
		if v, ok := a.regions[r]["cloudtrail"]; ok {
			out = append(out, v.(*cloudTrailState).trails...)
		}
	}
	return out
}

// ctTrailsApplying returns the trails that record region for account a: its
// own trails homed there, its multi-region trails, and the management
// account's organization trails.
func ctTrailsApplying(s *Server, a *account, region string) []*ctTrail {
	var out []*ctTrail
	for _, t := range ctAllTrails(a) {
		if t.HomeRegion == region || t.MultiRegion {
			out = append(out, t)
		}
	}
	if mgmt := s.accounts[s.org.MasterID]; mgmt != nil && mgmt != a {
		for _, t := range ctAllTrails(mgmt) {
			if t.Organization && (t.HomeRegion == region || t.MultiRegion) {
				out = append(out, t)
			}
		}
	}
	return out
}

var ctNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$`)

// ctFind resolves a trail name or ARN among the trails visible to the
// caller in its region; ctMutable then checks that a change comes from the
// trail's home region and account.
func ctFind(req *request, nameOrARN string) (*ctTrail, error) {
	if nameOrARN == "" {
		return nil, errBadRequest("InvalidTrailNameException", "Trail name cannot be empty")
	}
	for _, t := range ctTrailsApplying(req.srv, req.Account, req.Region) {
		if t.ARN == nameOrARN || (t.Name == nameOrARN && t.Account == req.Account.ID) {
			return t, nil
		}
	}
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nil, errBadRequest("TrailNotFoundException", "Unknown trail: %s for the user: %s", nameOrARN, req.Account.ID)
	}
	return nil, errBadRequest("TrailNotFoundException", "Unknown trail: arn:aws:cloudtrail:%s:%s:trail/%s for the user: %s", req.Region, req.Account.ID, nameOrARN, req.Account.ID)
}

func ctMutable(req *request, t *ctTrail) error {
	if t.Account != req.Account.ID {
		return errBadRequest("OperationNotPermittedException", "You cannot modify an organization trail from a member account.")
	}
	if t.HomeRegion != req.Region {
		return errBadRequest("InvalidHomeRegionException", "This operation must be called from the trail's home region %s.", t.HomeRegion)
	}
	return nil
}

type ctTrailInput struct {
	Name                       string  `json:"Name"`
	S3BucketName               *string `json:"S3BucketName"`
	S3KeyPrefix                *string `json:"S3KeyPrefix"`
	SnsTopicName               *string `json:"SnsTopicName"`
	IncludeGlobalServiceEvents *bool   `json:"IncludeGlobalServiceEvents"`
	IsMultiRegionTrail         *bool   `json:"IsMultiRegionTrail"`
	EnableLogFileValidation    *bool   `json:"EnableLogFileValidation"`
	CloudWatchLogsLogGroupArn  *string `json:"CloudWatchLogsLogGroupArn"`
	CloudWatchLogsRoleArn      *string `json:"CloudWatchLogsRoleArn"`
	KmsKeyId                   *string `json:"KmsKeyId"`
	IsOrganizationTrail        *bool   `json:"IsOrganizationTrail"`
}

// ctApply validates and applies in to t (both CreateTrail and UpdateTrail).
func ctApply(req *request, t *ctTrail, in *ctTrailInput) error {
	s := req.srv
	if in.S3BucketName != nil {
		_, b := s.findBucket(*in.S3BucketName)
		if b == nil {
			return errBadRequest("S3BucketDoesNotExistException", "S3 bucket %s does not exist.", *in.S3BucketName)
		}
		if !strings.Contains(b.Policy, "cloudtrail.amazonaws.com") {
			return errBadRequest("InsufficientS3BucketPolicyException", "Incorrect S3 bucket policy is detected for bucket: %s", *in.S3BucketName)
		}
		t.S3BucketName = *in.S3BucketName
	}
	if in.S3KeyPrefix != nil {
		t.S3KeyPrefix = *in.S3KeyPrefix
	}
	if in.SnsTopicName != nil {
		t.SNSTopicName = *in.SnsTopicName
		t.SNSTopicARN = ""
		if *in.SnsTopicName != "" {
			t.SNSTopicARN = *in.SnsTopicName
			if !strings.HasPrefix(t.SNSTopicARN, "arn:") {
				t.SNSTopicARN = fmt.Sprintf("arn:aws:sns:%s:%s:%s", t.HomeRegion, t.Account, *in.SnsTopicName)
			}
		}
	}
	if in.IncludeGlobalServiceEvents != nil {
		t.IncludeGlobal = *in.IncludeGlobalServiceEvents
	}
	if in.IsMultiRegionTrail != nil {
		t.MultiRegion = *in.IsMultiRegionTrail
	}
	if t.MultiRegion && !t.IncludeGlobal {
		return errBadRequest("InvalidParameterCombinationException", "Multi-Region trail must include global service events.")
	}
	if in.EnableLogFileValidation != nil {
		t.LogFileValidation = *in.EnableLogFileValidation
	}
	if in.IsOrganizationTrail != nil {
		if *in.IsOrganizationTrail && req.Account.ID != s.org.MasterID {
			return errBadRequest("NotOrganizationMasterAccountException",
				"The request was rejected because you are not the management account of your organization.")
		}
		t.Organization = *in.IsOrganizationTrail
	}
	if in.CloudWatchLogsLogGroupArn != nil {
		t.CloudWatchLogsLogGroupArn = *in.CloudWatchLogsLogGroupArn
	}
	if in.CloudWatchLogsRoleArn != nil {
		t.CloudWatchLogsRoleArn = *in.CloudWatchLogsRoleArn
	}
	if (t.CloudWatchLogsLogGroupArn == "") != (t.CloudWatchLogsRoleArn == "") {
		return errBadRequest("InvalidCloudWatchLogsLogGroupArnException", "You must specify a log group and a role ARN.")
	}
	if t.CloudWatchLogsLogGroupArn != "" {
		if !logsGroupExists(s, t.CloudWatchLogsLogGroupArn) {
			return errBadRequest("InvalidCloudWatchLogsLogGroupArnException", "Access denied. Verify in IAM that the role has adequate permissions, or the log group %s does not exist.", t.CloudWatchLogsLogGroupArn)
		}
		if roleByARN(s, t.CloudWatchLogsRoleArn) == nil {
			return errBadRequest("InvalidCloudWatchLogsRoleArnException", "Role %s does not exist.", t.CloudWatchLogsRoleArn)
		}
		// CloudTrail assumes the role to check it; a role or policy
		// written a moment ago fails that check (consistency.go).
		switch v := s.roleSeen(t.CloudWatchLogsRoleArn); {
		case v.role == nil || !v.trustSettled:
			return errBadRequest("InvalidCloudWatchLogsRoleArnException", "Access denied. Check the trust relationships for your role.")
		case !v.permsSettled:
			return errBadRequest("InvalidCloudWatchLogsLogGroupArnException", "Access denied. Check the permissions for your role.")
		}
	}
	if in.KmsKeyId != nil {
		if *in.KmsKeyId != "" {
			k, settled := kmsSeen(s, req.Account, req.Region, *in.KmsKeyId)
			if k == nil {
				return errBadRequest("KmsKeyNotFoundException", "KMS key not found: %s", *in.KmsKeyId)
			}
			if k.State == "Disabled" {
				return errBadRequest("KmsKeyDisabledException", "KMS key is disabled: %s", *in.KmsKeyId)
			}
			if !settled {
				bucket := t.S3BucketName
				return errBadRequest("InsufficientEncryptionPolicyException", "Insufficient permissions to access S3 bucket %s or KMS key %s.", bucket, k.ARN)
			}
			t.KMSKeyID = k.ARN
		} else {
			t.KMSKeyID = ""
		}
	}
	return nil
}

// roleByARN finds an IAM role in any account by ARN (including path).
func roleByARN(s *Server, arn string) *iamRole {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "role/") {
		return nil
	}
	a := s.accounts[parts[4]]
	if a == nil {
		return nil
	}
	name := parts[5][strings.LastIndex(parts[5], "/")+1:]
	if r := a.roles[name]; r != nil && r.ARN == arn {
		return r
	}
	return nil
}

func ctTrailOut(t *ctTrail) map[string]any {
	out := map[string]any{
		"Name": t.Name, "TrailARN": t.ARN, "HomeRegion": t.HomeRegion,
		"IncludeGlobalServiceEvents": t.IncludeGlobal, "IsMultiRegionTrail": t.MultiRegion,
		"IsOrganizationTrail": t.Organization, "LogFileValidationEnabled": t.LogFileValidation,
		"HasCustomEventSelectors": t.CustomSelectors, "HasInsightSelectors": false,
	}
	opt := map[string]string{
		"S3BucketName": t.S3BucketName, "S3KeyPrefix": t.S3KeyPrefix, "SnsTopicName": t.SNSTopicName,
		"SnsTopicARN": t.SNSTopicARN, "CloudWatchLogsLogGroupArn": t.CloudWatchLogsLogGroupArn,
		"CloudWatchLogsRoleArn": t.CloudWatchLogsRoleArn, "KmsKeyId": t.KMSKeyID,
	}
	for k, v := range opt {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func ctCreateTrail(req *request) (any, error) {
	var in ctTrailInput
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !ctNameRE.MatchString(in.Name) || strings.Contains(in.Name, "..") {
		return nil, errBadRequest("InvalidTrailNameException", "Trail name must starts with a letter or number, and be between 3 and 128 characters long.")
	}
	if in.S3BucketName == nil || *in.S3BucketName == "" {
		return nil, errBadRequest("InvalidParameterException", "S3BucketName is required.")
	}
	for _, t := range ctAllTrails(req.Account) {
		if t.Name == in.Name {
			return nil, errBadRequest("TrailAlreadyExistsException", "Trail %s already exists for customer: %s", in.Name, req.Account.ID)
		}
	}
	st := ctStateOf(req.Account, req.Region)
	if len(st.trails) >= 5 {
		return nil, errBadRequest("MaximumNumberOfTrailsExceededException", "User: %s already has 5 trails in %s.", req.Account.ID, req.Region)
	}
	t := &ctTrail{
		Name: in.Name, HomeRegion: req.Region, Account: req.Account.ID, IncludeGlobal: true,
		ARN: fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", req.Region, req.Account.ID, in.Name),
		EventSelectors: []map[string]any{{
			"ReadWriteType": "All", "IncludeManagementEvents": true,
			"DataResources": []any{}, "ExcludeManagementEventSources": []any{},
		}},
	}
	if err := ctApply(req, t, &in); err != nil {
		return nil, err
	}
	st.trails = append(st.trails, t)
	out := ctTrailOut(t)
	delete(out, "HomeRegion")
	delete(out, "HasCustomEventSelectors")
	delete(out, "HasInsightSelectors")
	return out, nil
}

func ctUpdateTrail(req *request) (any, error) {
	var in ctTrailInput
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := ctFind(req, in.Name)
	if err != nil {
		return nil, err
	}
	if err := ctMutable(req, t); err != nil {
		return nil, err
	}
	// Validate on a copy so a refused update changes nothing.
	c := *t
	if err := ctApply(req, &c, &in); err != nil {
		return nil, err
	}
	*t = c
	out := ctTrailOut(t)
	delete(out, "HomeRegion")
	delete(out, "HasCustomEventSelectors")
	delete(out, "HasInsightSelectors")
	return out, nil
}

func ctDeleteTrail(req *request) (any, error) {
	var in struct{ Name string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := ctFind(req, in.Name)
	if err != nil {
		return nil, err
	}
	if err := ctMutable(req, t); err != nil {
		return nil, err
	}
	st := ctStateOf(req.Account, req.Region)
	for i, x := range st.trails {
		if x == t {
			st.trails = append(st.trails[:i], st.trails[i+1:]...)
			break
		}
	}
	return map[string]any{}, nil
}

func ctDescribeTrails(req *request) (any, error) {
	var in struct {
		TrailNameList       []string `json:"trailNameList"`
		IncludeShadowTrails *bool    `json:"includeShadowTrails"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	shadows := in.IncludeShadowTrails == nil || *in.IncludeShadowTrails
	list := []map[string]any{}
	for _, t := range ctTrailsApplying(req.srv, req.Account, req.Region) {
		shadow := t.HomeRegion != req.Region || t.Account != req.Account.ID
		if shadow && !shadows {
			continue
		}
		if len(in.TrailNameList) > 0 {
			match := false
			for _, n := range in.TrailNameList {
				if n == t.ARN || (n == t.Name && t.Account == req.Account.ID) {
					match = true
				}
			}
			if !match {
				continue
			}
		}
		list = append(list, ctTrailOut(t))
	}
	return map[string]any{"trailList": list}, nil
}

func ctGetTrailStatus(req *request) (any, error) {
	var in struct{ Name string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := ctFind(req, in.Name)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"IsLogging": t.Logging}
	if !t.StartTime.IsZero() {
		out["StartLoggingTime"] = epoch(t.StartTime)
		out["TimeLoggingStarted"] = t.StartTime.UTC().Format(time.RFC3339)
		if t.Logging {
			out["LatestDeliveryTime"] = epoch(req.srv.now())
			out["LatestDeliveryAttemptTime"] = req.srv.now().UTC().Format(time.RFC3339)
			out["LatestDeliveryAttemptSucceeded"] = req.srv.now().UTC().Format(time.RFC3339)
		}
	}
	if !t.StopTime.IsZero() {
		out["StopLoggingTime"] = epoch(t.StopTime)
		out["TimeLoggingStopped"] = t.StopTime.UTC().Format(time.RFC3339)
	}
	return out, nil
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func ctSetLogging(on bool) operation {
	return func(req *request) (any, error) {
		var in struct{ Name string }
		if err := req.decodeJSON(&in); err != nil {
			return nil, err
		}
		t, err := ctFind(req, in.Name)
		if err != nil {
			return nil, err
		}
		if err := ctMutable(req, t); err != nil {
			return nil, err
		}
		if t.Logging != on {
			t.Logging = on
			if on {
				t.StartTime = req.srv.now()
			} else {
				t.StopTime = req.srv.now()
			}
		}
		return map[string]any{}, nil
	}
}

func ctPutEventSelectors(req *request) (any, error) {
	var in struct {
		TrailName              string           `json:"TrailName"`
		EventSelectors         []map[string]any `json:"EventSelectors"`
		AdvancedEventSelectors []map[string]any `json:"AdvancedEventSelectors"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := ctFind(req, in.TrailName)
	if err != nil {
		return nil, err
	}
	if err := ctMutable(req, t); err != nil {
		return nil, err
	}
	if (in.EventSelectors == nil) == (in.AdvancedEventSelectors == nil) {
		return nil, errBadRequest("InvalidParameterCombinationException", "You must specify either EventSelectors or AdvancedEventSelectors, but not both.")
	}
	if len(in.EventSelectors) > 5 {
		return nil, errBadRequest("InvalidEventSelectorsException", "You can specify up to 5 event selectors per trail.")
	}
	for _, es := range in.EventSelectors {
		if _, ok := es["ReadWriteType"]; !ok {
			es["ReadWriteType"] = "All"
		}
		if _, ok := es["IncludeManagementEvents"]; !ok {
			es["IncludeManagementEvents"] = true
		}
		if _, ok := es["DataResources"]; !ok {
			es["DataResources"] = []any{}
		}
		switch es["ReadWriteType"] {
		case "All", "ReadOnly", "WriteOnly":
		default:
			return nil, errBadRequest("InvalidEventSelectorsException", "Invalid ReadWriteType %v", es["ReadWriteType"])
		}
	}
	t.EventSelectors, t.AdvancedEventSelectors = in.EventSelectors, in.AdvancedEventSelectors
	t.CustomSelectors = true
	return ctSelectorsOut(t), nil
}

func ctSelectorsOut(t *ctTrail) map[string]any {
	out := map[string]any{"TrailARN": t.ARN}
	if t.AdvancedEventSelectors != nil {
		out["AdvancedEventSelectors"] = t.AdvancedEventSelectors
	} else {
		out["EventSelectors"] = t.EventSelectors
	}
	return out
}

func ctGetEventSelectors(req *request) (any, error) {
	var in struct{ TrailName string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := ctFind(req, in.TrailName)
	if err != nil {
		return nil, err
	}
	return ctSelectorsOut(t), nil
}
