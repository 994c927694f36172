package awssim

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// AWS Config (JSON 1.1, StarlingDoveService): recorder, delivery channel,
// rules evaluated against the simulator's state (svc_config_rules.go; live,
// or one consistency delay late with eventual consistency on:
// cfgVisibleResults), StartConfigRulesEvaluation, remediation
// configurations run through SSM Automation.
func configService() *service {
	return &service{
		Name:         "config",
		Protocol:     protoJSON11,
		TargetPrefix: "StarlingDoveService",
		Ops: map[string]operation{
			"PutConfigurationRecorder":            cfgPutRecorder,
			"DescribeConfigurationRecorders":      cfgDescribeRecorders,
			"DescribeConfigurationRecorderStatus": cfgDescribeRecorderStatus,
			"DeleteConfigurationRecorder":         cfgDeleteRecorder,
			"StartConfigurationRecorder":          cfgSetRecording(true),
			"StopConfigurationRecorder":           cfgSetRecording(false),
			"PutDeliveryChannel":                  cfgPutDeliveryChannel,
			"DescribeDeliveryChannels":            cfgDescribeDeliveryChannels,
			"DeleteDeliveryChannel":               cfgDeleteDeliveryChannel,
			"PutConfigRule":                       cfgPutConfigRule,
			"DescribeConfigRules":                 cfgDescribeConfigRules,
			"DeleteConfigRule":                    cfgDeleteConfigRule,
			"PutRemediationConfigurations":        cfgPutRemediations,
			"DescribeRemediationConfigurations":   cfgDescribeRemediations,
			"DeleteRemediationConfiguration":      cfgDeleteRemediation,
			"DescribeComplianceByConfigRule":      cfgDescribeComplianceByRule,
			"GetComplianceDetailsByConfigRule":    cfgGetComplianceDetails,
			"StartConfigRulesEvaluation":          cfgStartEvaluation,
			"StartRemediationExecution":           cfgStartRemediation,
			"DescribeRemediationExecutionStatus":  cfgDescribeRemediationStatus,
		},
	}
}

type configState struct {
	recorder     *cfgRecorder
	recording    bool
	lastStart    time.Time
	lastStop     time.Time
	channel      *cfgChannel
	rules        []*cfgRule
	remediations []*cfgRemediation
	// remExecs are remediation executions by rule and resource, in start
	// order.
	remExecs []*cfgRemExec
}

type cfgRemExec struct {
	Rule, ResourceType, ResourceID string
	State                          string // SUCCEEDED or FAILED
	Attempts                       int
	Invoked, Updated               time.Time
	Steps                          []map[string]any
}

type cfgRecorder struct {
	ARN            string         `json:"arn"`
	Name           string         `json:"name"`
	RoleARN        string         `json:"roleARN"`
	RecordingGroup map[string]any `json:"recordingGroup"`
	RecordingMode  map[string]any `json:"recordingMode"`
	RecordingScope string         `json:"recordingScope"`
}

type cfgChannel struct {
	Name                             string         `json:"name"`
	S3BucketName                     string         `json:"s3BucketName,omitempty"`
	S3KeyPrefix                      string         `json:"s3KeyPrefix,omitempty"`
	S3KmsKeyArn                      string         `json:"s3KmsKeyArn,omitempty"`
	SnsTopicARN                      string         `json:"snsTopicARN,omitempty"`
	ConfigSnapshotDeliveryProperties map[string]any `json:"configSnapshotDeliveryProperties,omitempty"`
}

type cfgSource struct {
	Owner            string           `json:"Owner"`
	SourceIdentifier string           `json:"SourceIdentifier,omitempty"`
	SourceDetails    []map[string]any `json:"SourceDetails,omitempty"`
}

type cfgScope struct {
	ComplianceResourceTypes []string `json:"ComplianceResourceTypes,omitempty"`
	TagKey                  string   `json:"TagKey,omitempty"`
	TagValue                string   `json:"TagValue,omitempty"`
	ComplianceResourceID    string   `json:"ComplianceResourceId,omitempty"`
}

type cfgRule struct {
	ConfigRuleName            string    `json:"ConfigRuleName"`
	ConfigRuleArn             string    `json:"ConfigRuleArn"`
	ConfigRuleId              string    `json:"ConfigRuleId"`
	Description               string    `json:"Description,omitempty"`
	Scope                     *cfgScope `json:"Scope,omitempty"`
	Source                    cfgSource `json:"Source"`
	InputParameters           string    `json:"InputParameters,omitempty"`
	MaximumExecutionFrequency string    `json:"MaximumExecutionFrequency,omitempty"`
	ConfigRuleState           string    `json:"ConfigRuleState"`
	EvaluationModes           []any     `json:"EvaluationModes,omitempty"`

	// Asynchronous evaluation with eventual consistency on
	// (cfgVisibleResults): when the running evaluation started (zero: none
	// running), and the results of the last one that completed.
	evalStarted time.Time
	evaluated   bool
	results     []cfgEvaluation
	resultsAt   time.Time
}

type cfgRemediation struct {
	ConfigRuleName           string                    `json:"ConfigRuleName"`
	TargetType               string                    `json:"TargetType"`
	TargetId                 string                    `json:"TargetId"`
	TargetVersion            string                    `json:"TargetVersion,omitempty"`
	Parameters               map[string]cfgRemParamVal `json:"Parameters,omitempty"`
	ResourceType             string                    `json:"ResourceType,omitempty"`
	Automatic                bool                      `json:"Automatic"`
	ExecutionControls        map[string]any            `json:"ExecutionControls,omitempty"`
	MaximumAutomaticAttempts int                       `json:"MaximumAutomaticAttempts,omitempty"`
	RetryAttemptSeconds      int                       `json:"RetryAttemptSeconds,omitempty"`
	Arn                      string                    `json:"Arn,omitempty"`
	CreatedByService         string                    `json:"CreatedByService,omitempty"`
}

type cfgRemParamVal struct {
	ResourceValue *struct {
		Value string `json:"Value"`
	} `json:"ResourceValue,omitempty"`
	StaticValue *struct {
		Values []string `json:"Values"`
	} `json:"StaticValue,omitempty"`
}

func cfgState(r *request) *configState {
	return regionData(r.Account, r.Region, "config", func() *configState { return &configState{} })
}

var cfgNameRE = regexp.MustCompile(`^[^\s]{1,256}$`)

func cfgPutRecorder(req *request) (any, error) {
	var in struct {
		ConfigurationRecorder *cfgRecorder `json:"ConfigurationRecorder"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	rec := in.ConfigurationRecorder
	if rec == nil {
		return nil, errBadRequest("ValidationException", "1 validation error detected: Value null at 'configurationRecorder' failed to satisfy constraint: Member must not be null")
	}
	if rec.Name == "" {
		rec.Name = "default"
	}
	if !cfgNameRE.MatchString(rec.Name) {
		return nil, errBadRequest("InvalidConfigurationRecorderNameException", "The configuration recorder name '%s' is not valid.", rec.Name)
	}
	st := cfgState(req)
	if st.recorder != nil && st.recorder.Name != rec.Name {
		return nil, errBadRequest("MaxNumberOfConfigurationRecordersExceededException",
			"Failed to put configuration recorder '%s' because the maximum number of configuration recorders: 1 is reached.", rec.Name)
	}
	// A role created (or re-trusted) a moment ago cannot be assumed by
	// Config yet (consistency.go).
	if v := req.srv.roleSeen(rec.RoleARN); v.role == nil || !v.trustSettled || !strings.Contains(rec.RoleARN, ":"+req.Account.ID+":") {
		return nil, errBadRequest("InvalidRoleException", "The role '%s' does not exist or cannot be assumed by AWS Config.", rec.RoleARN)
	}
	if rec.RecordingGroup == nil {
		rec.RecordingGroup = map[string]any{"allSupported": true, "includeGlobalResourceTypes": false}
	}
	all, _ := rec.RecordingGroup["allSupported"].(bool)
	global, _ := rec.RecordingGroup["includeGlobalResourceTypes"].(bool)
	types, _ := rec.RecordingGroup["resourceTypes"].([]any)
	if all && len(types) > 0 {
		return nil, errBadRequest("InvalidRecordingGroupException", "The recording group provided is not valid: allSupported is true and resourceTypes is not empty.")
	}
	if global && !all {
		return nil, errBadRequest("InvalidRecordingGroupException", "The recording group provided is not valid: includeGlobalResourceTypes requires allSupported.")
	}
	if !all && len(types) == 0 {
		if ex, _ := rec.RecordingGroup["exclusionByResourceTypes"].(map[string]any); ex == nil {
			return nil, errBadRequest("InvalidRecordingGroupException", "The recording group provided is not valid: no resource types selected.")
		}
	}
	if _, ok := rec.RecordingGroup["recordingStrategy"]; !ok {
		strategy := "ALL_SUPPORTED_RESOURCE_TYPES"
		if !all {
			strategy = "INCLUSION_BY_RESOURCE_TYPES"
		}
		rec.RecordingGroup["recordingStrategy"] = map[string]any{"useOnly": strategy}
	}
	if rec.RecordingMode == nil {
		rec.RecordingMode = map[string]any{"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []any{}}
	}
	if st.recorder != nil {
		rec.ARN = st.recorder.ARN
	} else {
		rec.ARN = fmt.Sprintf("arn:aws:config:%s:%s:configuration-recorder/%s/%s", req.Region, req.Account.ID, rec.Name, req.srv.randomID(16, lowerAlnum))
	}
	rec.RecordingScope = "PAID"
	st.recorder = rec
	return map[string]any{}, nil
}

// cfgRecorderNamed checks the ConfigurationRecorderNames filter: naming a
// recorder that does not exist is an error.
func cfgRecorderNamed(st *configState, names []string) (bool, error) {
	for _, n := range names {
		if st.recorder == nil || st.recorder.Name != n {
			return false, errBadRequest("NoSuchConfigurationRecorderException", "Cannot find configuration recorder with the specified name '%s'.", n)
		}
	}
	return st.recorder != nil, nil
}

func cfgDescribeRecorders(req *request) (any, error) {
	var in struct{ ConfigurationRecorderNames []string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := cfgState(req)
	ok, err := cfgRecorderNamed(st, in.ConfigurationRecorderNames)
	if err != nil {
		return nil, err
	}
	list := []*cfgRecorder{}
	if ok {
		list = append(list, st.recorder)
	}
	return map[string]any{"ConfigurationRecorders": list}, nil
}

func cfgDescribeRecorderStatus(req *request) (any, error) {
	var in struct{ ConfigurationRecorderNames []string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := cfgState(req)
	ok, err := cfgRecorderNamed(st, in.ConfigurationRecorderNames)
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	if ok {
		s := map[string]any{"arn": st.recorder.ARN, "name": st.recorder.Name, "recording": st.recording}
		if !st.lastStart.IsZero() {
			s["lastStartTime"] = epoch(st.lastStart)
			s["lastStatus"] = "Success"
			s["lastStatusChangeTime"] = epoch(st.lastStart)
		} else {
			s["lastStatus"] = "Pending"
		}
		if !st.lastStop.IsZero() {
			s["lastStopTime"] = epoch(st.lastStop)
			if st.lastStop.After(st.lastStart) {
				s["lastStatusChangeTime"] = epoch(st.lastStop)
			}
		}
		list = append(list, s)
	}
	return map[string]any{"ConfigurationRecordersStatus": list}, nil
}

func cfgDeleteRecorder(req *request) (any, error) {
	var in struct{ ConfigurationRecorderName string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := cfgState(req)
	if _, err := cfgRecorderNamed(st, []string{in.ConfigurationRecorderName}); err != nil {
		return nil, err
	}
	st.recorder, st.recording = nil, false
	return map[string]any{}, nil
}

func cfgSetRecording(on bool) operation {
	return func(req *request) (any, error) {
		var in struct{ ConfigurationRecorderName string }
		if err := req.decodeJSON(&in); err != nil {
			return nil, err
		}
		st := cfgState(req)
		if _, err := cfgRecorderNamed(st, []string{in.ConfigurationRecorderName}); err != nil {
			return nil, err
		}
		if on && st.channel == nil {
			return nil, errBadRequest("NoAvailableDeliveryChannelException", "Delivery channel is not available to start configuration recorder.")
		}
		if st.recording != on {
			st.recording = on
			if on {
				st.lastStart = req.srv.now()
			} else {
				st.lastStop = req.srv.now()
			}
		}
		return map[string]any{}, nil
	}
}

func cfgPutDeliveryChannel(req *request) (any, error) {
	var in struct {
		DeliveryChannel *cfgChannel `json:"DeliveryChannel"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	ch := in.DeliveryChannel
	if ch == nil {
		return nil, errBadRequest("ValidationException", "1 validation error detected: Value null at 'deliveryChannel' failed to satisfy constraint: Member must not be null")
	}
	if ch.Name == "" {
		ch.Name = "default"
	}
	st := cfgState(req)
	if st.recorder == nil {
		return nil, errBadRequest("NoAvailableConfigurationRecorderException", "Configuration recorder is not available to put delivery channel.")
	}
	if st.channel != nil && st.channel.Name != ch.Name {
		return nil, errBadRequest("MaxNumberOfDeliveryChannelsExceededException",
			"Failed to put delivery channel '%s' because the maximum number of delivery channels: 1 is reached.", ch.Name)
	}
	if ch.S3BucketName == "" {
		return nil, errBadRequest("NoSuchBucketException", "Cannot find a S3 bucket with an empty bucket name.")
	}
	if _, b := req.srv.findBucket(ch.S3BucketName); b == nil {
		return nil, errBadRequest("NoSuchBucketException", "Cannot find a S3 bucket with name '%s'.", ch.S3BucketName)
	}
	if k, settled := kmsSeen(req.srv, req.Account, req.Region, ch.S3KmsKeyArn); ch.S3KmsKeyArn != "" && (k == nil || !settled) {
		return nil, errBadRequest("InvalidS3KmsKeyArnException", "The KMS key ARN '%s' is not valid.", ch.S3KmsKeyArn)
	}
	if ch.SnsTopicARN != "" && !strings.HasPrefix(ch.SnsTopicARN, "arn:aws:sns:") {
		return nil, errBadRequest("InvalidSNSTopicARNException", "The sns topic arn '%s' is not valid.", ch.SnsTopicARN)
	}
	if p := ch.ConfigSnapshotDeliveryProperties; p != nil {
		switch p["deliveryFrequency"] {
		case nil, "One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours":
		default:
			return nil, errBadRequest("ValidationException", "invalid deliveryFrequency %v", p["deliveryFrequency"])
		}
	}
	st.channel = ch
	return map[string]any{}, nil
}

func cfgDescribeDeliveryChannels(req *request) (any, error) {
	var in struct{ DeliveryChannelNames []string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := cfgState(req)
	for _, n := range in.DeliveryChannelNames {
		if st.channel == nil || st.channel.Name != n {
			return nil, errBadRequest("NoSuchDeliveryChannelException", "Cannot find delivery channel with specified name '%s'.", n)
		}
	}
	list := []*cfgChannel{}
	if st.channel != nil {
		list = append(list, st.channel)
	}
	return map[string]any{"DeliveryChannels": list}, nil
}

func cfgDeleteDeliveryChannel(req *request) (any, error) {
	var in struct{ DeliveryChannelName string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := cfgState(req)
	if st.channel == nil || st.channel.Name != in.DeliveryChannelName {
		return nil, errBadRequest("NoSuchDeliveryChannelException", "Cannot find delivery channel with specified name '%s'.", in.DeliveryChannelName)
	}
	if st.recording {
		return nil, errBadRequest("LastDeliveryChannelDeleteFailedException",
			"Failed to delete last specified delivery channel with name '%s', because there, because there is a running configuration recorder.", in.DeliveryChannelName)
	}
	st.channel = nil
	return map[string]any{}, nil
}

var managedRuleIDRE = regexp.MustCompile(`^[A-Z0-9_]{3,256}$`)

func (st *configState) rule(name string) *cfgRule {
	for _, r := range st.rules {
		if r.ConfigRuleName == name {
			return r
		}
	}
	return nil
}

func noSuchRule(name string) error {
	return errBadRequest("NoSuchConfigRuleException", "The ConfigRule '%s' provided in the request is invalid. Please check the configRule name.", name)
}

func cfgPutConfigRule(req *request) (any, error) {
	var in struct {
		ConfigRule *cfgRule `json:"ConfigRule"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	r := in.ConfigRule
	if r == nil {
		return nil, errBadRequest("ValidationException", "1 validation error detected: Value null at 'configRule' failed to satisfy constraint: Member must not be null")
	}
	st := cfgState(req)
	if st.recorder == nil {
		return nil, errBadRequest("NoAvailableConfigurationRecorderException",
			"Configuration recorder is not available to put config rule.")
	}
	switch r.Source.Owner {
	case "AWS":
		if !managedRuleIDRE.MatchString(r.Source.SourceIdentifier) {
			return nil, errBadRequest("InvalidParameterValueException", "The sourceIdentifier %s is invalid. Please refer to the documentation for a list of valid sourceIdentifiers that can be used when AWS is the Owner.", r.Source.SourceIdentifier)
		}
	case "CUSTOM_LAMBDA", "CUSTOM_POLICY":
	default:
		return nil, errBadRequest("ValidationException", "1 validation error detected: Value '%s' at 'configRule.source.owner' failed to satisfy constraint: Member must satisfy enum value set: [CUSTOM_POLICY, AWS, CUSTOM_LAMBDA]", r.Source.Owner)
	}
	if _, ok := parseInputParameters(r.InputParameters); !ok {
		return nil, errBadRequest("InvalidParameterValueException", "Invalid json %s passed in the InputParameters field", r.InputParameters)
	}
	// Putting a rule starts its evaluation; results of an earlier one stay
	// until it completes.
	if old := st.rule(r.ConfigRuleName); old != nil {
		r.ConfigRuleArn, r.ConfigRuleId = old.ConfigRuleArn, old.ConfigRuleId
		r.ConfigRuleState = "ACTIVE"
		r.evaluated, r.results, r.resultsAt = old.evaluated, old.results, old.resultsAt
		r.evalStarted = req.srv.now()
		*old = *r
		return map[string]any{}, nil
	}
	if r.ConfigRuleName == "" || len(r.ConfigRuleName) > 128 {
		return nil, errBadRequest("InvalidParameterValueException", "The ConfigRuleName is not valid.")
	}
	if len(st.rules) >= 1000 {
		return nil, errBadRequest("MaxNumberOfConfigRulesExceededException", "Failed to put config rule '%s' because the maximum number of config rules: 1000 is reached.", r.ConfigRuleName)
	}
	r.ConfigRuleId = "config-rule-" + req.srv.randomID(6, lowerAlnum)
	r.ConfigRuleArn = fmt.Sprintf("arn:aws:config:%s:%s:config-rule/%s", req.Region, req.Account.ID, r.ConfigRuleId)
	r.ConfigRuleState = "ACTIVE"
	r.evalStarted = req.srv.now()
	st.rules = append(st.rules, r)
	return map[string]any{}, nil
}

// cfgStartEvaluation is StartConfigRulesEvaluation: it starts an evaluation
// of each named rule, which completes after the consistency delay (at once
// without one).
func cfgStartEvaluation(req *request) (any, error) {
	var in struct{ ConfigRuleNames []string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if len(in.ConfigRuleNames) == 0 || len(in.ConfigRuleNames) > 25 {
		return nil, errBadRequest("InvalidParameterValueException", "ConfigRuleNames must hold 1 to 25 rule names")
	}
	st := cfgState(req)
	rules, err := cfgRulesNamed(st, in.ConfigRuleNames)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		cfgVisibleResults(req.srv, req.Account, req.Region, r)
		if !r.evalStarted.IsZero() {
			// "...thrown if an evaluation is in progress" (LimitExceededException,
			// StartConfigRulesEvaluation errors).
			return nil, errBadRequest("LimitExceededException", "An evaluation of the rule %s is in progress.", r.ConfigRuleName)
		}
	}
	for _, r := range rules {
		r.evalStarted = req.srv.now()
	}
	return map[string]any{}, nil
}

// cfgRulesNamed returns the named rules (all when names is empty) or
// NoSuchConfigRuleException.
func cfgRulesNamed(st *configState, names []string) ([]*cfgRule, error) {
	if len(names) == 0 {
		return st.rules, nil
	}
	var out []*cfgRule
	for _, n := range names {
		r := st.rule(n)
		if r == nil {
			return nil, noSuchRule(n)
		}
		out = append(out, r)
	}
	return out, nil
}

func cfgDescribeConfigRules(req *request) (any, error) {
	var in struct {
		ConfigRuleNames []string
		NextToken       string
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	rules, err := cfgRulesNamed(cfgState(req), in.ConfigRuleNames)
	if err != nil {
		return nil, err
	}
	limit, _ := req.pageLimit(0, 25, 0)
	page, next, err := paginate(rules, in.NextToken, limit, errBadRequest("InvalidNextTokenException", "The nextToken provided is invalid"))
	if err != nil {
		return nil, err
	}
	out := map[string]any{"ConfigRules": append([]*cfgRule{}, page...)}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func cfgDeleteConfigRule(req *request) (any, error) {
	var in struct{ ConfigRuleName string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := cfgState(req)
	i := slices.IndexFunc(st.rules, func(r *cfgRule) bool { return r.ConfigRuleName == in.ConfigRuleName })
	if i < 0 {
		return nil, noSuchRule(in.ConfigRuleName)
	}
	for _, rc := range st.remediations {
		if rc.ConfigRuleName == in.ConfigRuleName {
			return nil, errBadRequest("ResourceInUseException", "The rule %s has a remediation configuration; delete it first.", in.ConfigRuleName)
		}
	}
	st.rules = slices.Delete(st.rules, i, i+1)
	return map[string]any{}, nil
}

func cfgPutRemediations(req *request) (any, error) {
	var in struct {
		RemediationConfigurations []*cfgRemediation
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if len(in.RemediationConfigurations) == 0 || len(in.RemediationConfigurations) > 25 {
		return nil, errBadRequest("ValidationException", "RemediationConfigurations must hold 1 to 25 items")
	}
	st := cfgState(req)
	failed := []map[string]any{}
	for _, rc := range in.RemediationConfigurations {
		if st.rule(rc.ConfigRuleName) == nil {
			return nil, errBadRequest("InvalidParameterValueException", "The ConfigRule '%s' provided in the request does not exist.", rc.ConfigRuleName)
		}
		if rc.TargetType != "SSM_DOCUMENT" {
			return nil, errBadRequest("ValidationException", "1 validation error detected: Value '%s' at 'targetType' failed to satisfy constraint: Member must satisfy enum value set: [SSM_DOCUMENT]", rc.TargetType)
		}
		if ssmFindDocument(req.srv, req.Account, req.Region, rc.TargetId) == nil {
			return nil, errBadRequest("InvalidParameterValueException", "Document %s does not exist.", rc.TargetId)
		}
		if rc.Automatic && (rc.MaximumAutomaticAttempts == 0 || rc.RetryAttemptSeconds == 0) {
			// AWS defaults both for automatic remediation.
			if rc.MaximumAutomaticAttempts == 0 {
				rc.MaximumAutomaticAttempts = 5
			}
			if rc.RetryAttemptSeconds == 0 {
				rc.RetryAttemptSeconds = 60
			}
		}
		if rc.MaximumAutomaticAttempts > 25 || rc.RetryAttemptSeconds > 2678000 {
			return nil, errBadRequest("InvalidParameterValueException", "MaximumAutomaticAttempts must be 1-25 and RetryAttemptSeconds 1-2678000")
		}
		resourceParams := 0
		for _, p := range rc.Parameters {
			if p.ResourceValue != nil {
				resourceParams++
				if p.ResourceValue.Value != "RESOURCE_ID" {
					return nil, errBadRequest("InvalidParameterValueException", "ResourceValue must be RESOURCE_ID")
				}
			}
		}
		if resourceParams > 1 {
			return nil, errBadRequest("InvalidParameterValueException", "Only one parameter can take the resource ID.")
		}
		rc.Arn = fmt.Sprintf("arn:aws:config:%s:%s:remediation-configuration/%s/%s", req.Region, req.Account.ID, rc.ConfigRuleName, req.srv.randomID(36, lowerHex))
		replaced := false
		for i, old := range st.remediations {
			if old.ConfigRuleName == rc.ConfigRuleName && old.ResourceType == rc.ResourceType {
				rc.Arn = old.Arn
				st.remediations[i] = rc
				replaced = true
			}
		}
		if !replaced {
			st.remediations = append(st.remediations, rc)
		}
	}
	return map[string]any{"FailedBatches": failed}, nil
}

func cfgDescribeRemediations(req *request) (any, error) {
	var in struct{ ConfigRuleNames []string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	out := []*cfgRemediation{}
	for _, rc := range cfgState(req).remediations {
		if slices.Contains(in.ConfigRuleNames, rc.ConfigRuleName) {
			out = append(out, rc)
		}
	}
	return map[string]any{"RemediationConfigurations": out}, nil
}

func cfgDeleteRemediation(req *request) (any, error) {
	var in struct{ ConfigRuleName, ResourceType string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := cfgState(req)
	for i, rc := range st.remediations {
		if rc.ConfigRuleName == in.ConfigRuleName && (in.ResourceType == "" || rc.ResourceType == in.ResourceType) {
			st.remediations = slices.Delete(st.remediations, i, i+1)
			return map[string]any{}, nil
		}
	}
	return nil, errBadRequest("NoSuchRemediationConfigurationException",
		"No RemediationConfiguration for rule exists.")
}

// cfgRuleCompliance summarises a rule's evaluations the way Config does.
func cfgRuleCompliance(evals []cfgEvaluation) map[string]any {
	non, comp := 0, 0
	for _, e := range evals {
		switch e.Compliance {
		case "NON_COMPLIANT":
			non++
		case "COMPLIANT":
			comp++
		}
	}
	switch {
	case non > 0:
		capped := non
		if capped > 100 {
			capped = 100
		}
		return map[string]any{"ComplianceType": "NON_COMPLIANT",
			"ComplianceContributorCount": map[string]any{"CappedCount": capped, "CapExceeded": non > 100}}
	case comp > 0:
		return map[string]any{"ComplianceType": "COMPLIANT"}
	}
	return map[string]any{"ComplianceType": "INSUFFICIENT_DATA"}
}

func cfgDescribeComplianceByRule(req *request) (any, error) {
	var in struct {
		ConfigRuleNames []string
		ComplianceTypes []string
		NextToken       string
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	for _, t := range in.ComplianceTypes {
		if t != "COMPLIANT" && t != "NON_COMPLIANT" && t != "INSUFFICIENT_DATA" {
			return nil, errBadRequest("InvalidParameterValueException", "ComplianceType %s is not valid here", t)
		}
	}
	rules, err := cfgRulesNamed(cfgState(req), in.ConfigRuleNames)
	if err != nil {
		return nil, err
	}
	var list []map[string]any
	for _, r := range rules {
		cfgAutoRemediate(req, cfgState(req), r)
		c := cfgRuleCompliance(cfgVisibleResults(req.srv, req.Account, req.Region, r))
		if len(in.ComplianceTypes) > 0 && !slices.Contains(in.ComplianceTypes, c["ComplianceType"].(string)) {
			continue
		}
		list = append(list, map[string]any{"ConfigRuleName": r.ConfigRuleName, "Compliance": c})
	}
	limit, _ := req.pageLimit(0, 0, 0)
	page, next, err := paginate(list, in.NextToken, limit, errBadRequest("InvalidNextTokenException", "The nextToken provided is invalid"))
	if err != nil {
		return nil, err
	}
	out := map[string]any{"ComplianceByConfigRules": append([]map[string]any{}, page...)}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func cfgGetComplianceDetails(req *request) (any, error) {
	var in struct {
		ConfigRuleName  string
		ComplianceTypes []string
		Limit           int
		NextToken       string
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	r := cfgState(req).rule(in.ConfigRuleName)
	if r == nil {
		return nil, noSuchRule(in.ConfigRuleName)
	}
	cfgAutoRemediate(req, cfgState(req), r)
	types := in.ComplianceTypes
	if len(types) == 0 {
		types = []string{"COMPLIANT", "NON_COMPLIANT"}
	}
	for _, t := range types {
		if t != "COMPLIANT" && t != "NON_COMPLIANT" && t != "NOT_APPLICABLE" {
			return nil, errBadRequest("InvalidParameterValueException", "ComplianceType %s is not valid here", t)
		}
	}
	if in.Limit < 0 || in.Limit > 100 {
		return nil, errBadRequest("InvalidLimitException", "Limit must be between 0 and 100")
	}
	limit, _ := req.pageLimit(in.Limit, 10, 100)
	var evals []cfgEvaluation
	for _, e := range cfgVisibleResults(req.srv, req.Account, req.Region, r) {
		if slices.Contains(types, e.Compliance) {
			evals = append(evals, e)
		}
	}
	page, next, err := paginate(evals, in.NextToken, limit, errBadRequest("InvalidNextTokenException", "The nextToken provided is invalid"))
	if err != nil {
		return nil, err
	}
	now := epoch(req.srv.now())
	if !r.resultsAt.IsZero() {
		now = epoch(r.resultsAt)
	}
	results := []map[string]any{}
	for _, e := range page {
		res := map[string]any{
			"EvaluationResultIdentifier": map[string]any{
				"EvaluationResultQualifier": map[string]any{
					"ConfigRuleName": r.ConfigRuleName, "ResourceType": e.ResourceType, "ResourceId": e.ResourceID,
					"EvaluationMode": "DETECTIVE",
				},
				"OrderingTimestamp": now,
			},
			"ComplianceType": e.Compliance, "ResultRecordedTime": now, "ConfigRuleInvokedTime": now,
		}
		if e.Annotation != "" {
			res["Annotation"] = e.Annotation
		}
		results = append(results, res)
	}
	out := map[string]any{"EvaluationResults": results}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func cfgStartRemediation(req *request) (any, error) {
	var in struct {
		ConfigRuleName string
		ResourceKeys   []struct {
			ResourceType string `json:"resourceType"`
			ResourceID   string `json:"resourceId"`
		}
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := cfgState(req)
	if st.rule(in.ConfigRuleName) == nil {
		return nil, noSuchRule(in.ConfigRuleName)
	}
	if len(in.ResourceKeys) == 0 || len(in.ResourceKeys) > 100 {
		return nil, errBadRequest("InvalidParameterValueException", "ResourceKeys must hold 1 to 100 items")
	}
	var rc *cfgRemediation
	for _, x := range st.remediations {
		if x.ConfigRuleName == in.ConfigRuleName {
			rc = x
		}
	}
	if rc == nil {
		return nil, errBadRequest("NoSuchRemediationConfigurationException",
			"No RemediationConfiguration for rule exists.")
	}
	failed := []map[string]string{}
	msg := ""
	for _, k := range in.ResourceKeys {
		if err := cfgRemediate(req, st, rc, k.ResourceType, k.ResourceID); err != nil {
			failed = append(failed, map[string]string{"resourceType": k.ResourceType, "resourceId": k.ResourceID})
			msg = err.Error()
		}
	}
	out := map[string]any{"FailedItems": failed}
	if msg != "" {
		out["FailureMessage"] = msg
	}
	return out, nil
}

// cfgRemediate runs rc's SSM document for one resource and records the
// remediation execution. It fails only when the automation cannot start.
func cfgRemediate(req *request, st *configState, rc *cfgRemediation, resourceType, resourceID string) error {
	params := map[string][]string{}
	for name, p := range rc.Parameters {
		switch {
		case p.ResourceValue != nil:
			params[name] = []string{resourceID}
		case p.StaticValue != nil:
			params[name] = p.StaticValue.Values
		}
	}
	var rx *cfgRemExec
	for _, x := range st.remExecs {
		if x.Rule == rc.ConfigRuleName && x.ResourceType == resourceType && x.ResourceID == resourceID {
			rx = x
		}
	}
	now := req.srv.now()
	if rx == nil {
		rx = &cfgRemExec{Rule: rc.ConfigRuleName, ResourceType: resourceType, ResourceID: resourceID}
		st.remExecs = append(st.remExecs, rx)
	}
	rx.Attempts++
	rx.Invoked, rx.Updated = now, now
	x, err := ssmStartAutomation(req, rc.TargetId, rc.TargetVersion, params)
	if err != nil {
		rx.State = "FAILED"
		rx.Steps = []map[string]any{{"Name": "StartAutomationExecution", "State": "FAILED", "ErrorMessage": err.Error(), "StartTime": epoch(now), "StopTime": epoch(now)}}
		return err
	}
	rx.State = "SUCCEEDED"
	if x.Status != "Success" {
		rx.State = "FAILED"
	}
	rx.Steps = nil
	for _, step := range x.Steps {
		d := map[string]any{"Name": step["StepName"], "State": strings.ToUpper(fmt.Sprint(step["StepStatus"])),
			"StartTime": step["ExecutionStartTime"], "StopTime": step["ExecutionEndTime"]}
		if m, ok := step["FailureMessage"]; ok {
			d["ErrorMessage"] = m
		}
		rx.Steps = append(rx.Steps, d)
	}
	return nil
}

// cfgAutoRemediate is Config's automatic remediation: whenever a rule is
// evaluated (compliance is read), each non-compliant resource in scope of an
// Automatic remediation configuration is remediated, up to
// MaximumAutomaticAttempts times per resource. AWS waits
// RetryAttemptSeconds between attempts; the simulator retries at the next
// evaluation.
func cfgAutoRemediate(req *request, st *configState, r *cfgRule) {
	for _, rc := range st.remediations {
		if rc.ConfigRuleName != r.ConfigRuleName || !rc.Automatic {
			continue
		}
		max := rc.MaximumAutomaticAttempts
		if max == 0 {
			max = 5
		}
		for _, e := range cfgVisibleResults(req.srv, req.Account, req.Region, r) {
			if e.Compliance != "NON_COMPLIANT" || (rc.ResourceType != "" && rc.ResourceType != e.ResourceType) {
				continue
			}
			attempts := 0
			for _, x := range st.remExecs {
				if x.Rule == r.ConfigRuleName && x.ResourceType == e.ResourceType && x.ResourceID == e.ResourceID {
					attempts = x.Attempts
				}
			}
			if attempts < max {
				cfgRemediate(req, st, rc, e.ResourceType, e.ResourceID)
			}
		}
	}
}

func cfgDescribeRemediationStatus(req *request) (any, error) {
	var in struct {
		ConfigRuleName string
		ResourceKeys   []struct {
			ResourceType string `json:"resourceType"`
			ResourceID   string `json:"resourceId"`
		}
		Limit     int
		NextToken string
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := cfgState(req)
	if st.rule(in.ConfigRuleName) == nil {
		return nil, noSuchRule(in.ConfigRuleName)
	}
	limit, err := req.pageLimit(in.Limit, 0, 100)
	if err != nil {
		return nil, err
	}
	var list []*cfgRemExec
	for _, x := range st.remExecs {
		if x.Rule != in.ConfigRuleName {
			continue
		}
		match := len(in.ResourceKeys) == 0
		for _, k := range in.ResourceKeys {
			if k.ResourceType == x.ResourceType && k.ResourceID == x.ResourceID {
				match = true
			}
		}
		if match {
			list = append(list, x)
		}
	}
	page, next, err := paginate(list, in.NextToken, limit, errBadRequest("InvalidNextTokenException", "The nextToken provided is invalid"))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, x := range page {
		steps := x.Steps
		if steps == nil {
			steps = []map[string]any{}
		}
		out = append(out, map[string]any{
			"ResourceKey": map[string]string{"resourceType": x.ResourceType, "resourceId": x.ResourceID},
			"State":       x.State, "StepDetails": steps, "InvocationTime": epoch(x.Invoked), "LastUpdatedTime": epoch(x.Updated),
		})
	}
	res := map[string]any{"RemediationExecutionStatuses": out}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}
