package awssim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// EventBridge (JSON 1.1, AWSEvents, signing name "events", regional): rules
// on the default event bus and their targets. Rules are stored, never
// evaluated: no event is delivered.
//
// Operations: PutRule, DescribeRule, ListRules, DeleteRule, PutTargets,
// ListTargetsByRule, RemoveTargets.
func eventsService() *service {
	return &service{
		Name:         "events",
		Protocol:     protoJSON11,
		TargetPrefix: "AWSEvents",
		Ops: map[string]operation{
			"PutRule":           eventsPutRule,
			"DescribeRule":      eventsDescribeRule,
			"ListRules":         eventsListRules,
			"DeleteRule":        eventsDeleteRule,
			"PutTargets":        eventsPutTargets,
			"ListTargetsByRule": eventsListTargetsByRule,
			"RemoveTargets":     eventsRemoveTargets,
		},
	}
}

// eventsMaxTargets is AWS's quota of targets per rule.
const eventsMaxTargets = 5

type eventsState struct {
	rules []*eventsRule
}

type eventsRule struct {
	Name, ARN, EventPattern, ScheduleExpression, State, Description, RoleARN string
	Tags                                                                     []map[string]any
	// Targets keep every member the client sent, in the order first put.
	Targets []map[string]any
}

func eventsStateOf(r *request) *eventsState {
	return regionData(r.Account, r.Region, "events", func() *eventsState { return &eventsState{} })
}

func (st *eventsState) find(name string) *eventsRule {
	for _, ru := range st.rules {
		if ru.Name == name {
			return ru
		}
	}
	return nil
}

var (
	eventsRuleNameRE = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)
	eventsTargetIDRE = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)
)

func eventsValidation(format string, args ...any) *apiError {
	return errBadRequest("ValidationException", format, args...)
}

// eventsBus accepts only the default event bus (by name or ARN).
func eventsBus(r *request, bus string) error {
	if bus == "" || bus == "default" || bus == fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", r.Region, r.Account.ID) {
		return nil
	}
	return errBadRequest("ResourceNotFoundException", "Event bus %s does not exist.", bus)
}

func eventsRuleNotFound(name string) *apiError {
	return errBadRequest("ResourceNotFoundException", "Rule %s does not exist on EventBus default.", name)
}

// ruleFor returns the named rule of the default bus.
func eventsRuleFor(r *request, name, bus string) (*eventsRule, error) {
	if err := eventsBus(r, bus); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, eventsValidation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	ru := eventsStateOf(r).find(name)
	if ru == nil {
		return nil, eventsRuleNotFound(name)
	}
	return ru, nil
}

func eventsPutRule(r *request) (any, error) {
	var in struct {
		Name               string           `json:"Name"`
		ScheduleExpression string           `json:"ScheduleExpression"`
		EventPattern       string           `json:"EventPattern"`
		State              string           `json:"State"`
		Description        string           `json:"Description"`
		RoleArn            string           `json:"RoleArn"`
		Tags               []map[string]any `json:"Tags"`
		EventBusName       string           `json:"EventBusName"`
	}
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := eventsBus(r, in.EventBusName); err != nil {
		return nil, err
	}
	if !eventsRuleNameRE.MatchString(in.Name) {
		return nil, eventsValidation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", in.Name)
	}
	if in.EventPattern == "" && in.ScheduleExpression == "" {
		return nil, eventsValidation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if in.EventPattern != "" {
		var pat map[string]any
		if err := json.Unmarshal([]byte(in.EventPattern), &pat); err != nil || pat == nil {
			return nil, errBadRequest("InvalidEventPatternException", "Event pattern is not valid. Reason: Filter is not an object")
		}
	}
	if in.ScheduleExpression != "" && !strings.HasPrefix(in.ScheduleExpression, "rate(") && !strings.HasPrefix(in.ScheduleExpression, "cron(") {
		return nil, eventsValidation("Parameter ScheduleExpression is not valid.")
	}
	switch in.State {
	case "":
		in.State = "ENABLED"
	case "ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS":
	default:
		return nil, eventsValidation("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]", in.State)
	}
	st := eventsStateOf(r)
	ru := st.find(in.Name)
	if ru == nil {
		ru = &eventsRule{Name: in.Name, ARN: fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", r.Region, r.Account.ID, in.Name), Tags: in.Tags}
		st.rules = append(st.rules, ru)
	}
	// PutRule replaces the rule's settings; targets stay.
	ru.EventPattern, ru.ScheduleExpression, ru.State, ru.Description, ru.RoleARN = in.EventPattern, in.ScheduleExpression, in.State, in.Description, in.RoleArn
	return map[string]any{"RuleArn": ru.ARN}, nil
}

// out renders a rule as in ListRules; DescribeRule adds CreatedBy.
func (ru *eventsRule) out() map[string]any {
	m := map[string]any{"Name": ru.Name, "Arn": ru.ARN, "State": ru.State, "EventBusName": "default"}
	for k, v := range map[string]string{"EventPattern": ru.EventPattern, "ScheduleExpression": ru.ScheduleExpression,
		"Description": ru.Description, "RoleArn": ru.RoleARN} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func eventsDescribeRule(r *request) (any, error) {
	var in struct {
		Name         string `json:"Name"`
		EventBusName string `json:"EventBusName"`
	}
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	ru, err := eventsRuleFor(r, in.Name, in.EventBusName)
	if err != nil {
		return nil, err
	}
	m := ru.out()
	m["CreatedBy"] = r.Account.ID
	return m, nil
}

func eventsListRules(r *request) (any, error) {
	var in struct {
		NamePrefix   string `json:"NamePrefix"`
		EventBusName string `json:"EventBusName"`
		NextToken    string `json:"NextToken"`
		Limit        int    `json:"Limit"`
	}
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := eventsBus(r, in.EventBusName); err != nil {
		return nil, err
	}
	limit, err := r.pageLimit(in.Limit, 100, 100)
	if err != nil {
		return nil, err
	}
	var list []*eventsRule
	for _, ru := range eventsStateOf(r).rules {
		if strings.HasPrefix(ru.Name, in.NamePrefix) {
			list = append(list, ru)
		}
	}
	page, next, err := paginate(list, in.NextToken, limit, eventsValidation("The NextToken is invalid."))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, ru := range page {
		out = append(out, ru.out())
	}
	res := map[string]any{"Rules": out}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}

func eventsDeleteRule(r *request) (any, error) {
	var in struct {
		Name         string `json:"Name"`
		EventBusName string `json:"EventBusName"`
		Force        bool   `json:"Force"`
	}
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := eventsBus(r, in.EventBusName); err != nil {
		return nil, err
	}
	st := eventsStateOf(r)
	ru := st.find(in.Name)
	if ru == nil {
		// Deleting a rule that does not exist succeeds, as in AWS.
		return map[string]any{}, nil
	}
	if len(ru.Targets) > 0 {
		return nil, eventsValidation("Rule can't be deleted since it has targets.")
	}
	for i, x := range st.rules {
		if x == ru {
			st.rules = append(st.rules[:i], st.rules[i+1:]...)
			break
		}
	}
	return map[string]any{}, nil
}

func eventsPutTargets(r *request) (any, error) {
	var in struct {
		Rule         string           `json:"Rule"`
		EventBusName string           `json:"EventBusName"`
		Targets      []map[string]any `json:"Targets"`
	}
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	ru, err := eventsRuleFor(r, in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	if len(in.Targets) == 0 || len(in.Targets) > 10 {
		return nil, eventsValidation("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	for _, t := range in.Targets {
		id, _ := t["Id"].(string)
		arn, _ := t["Arn"].(string)
		if !eventsTargetIDRE.MatchString(id) {
			return nil, eventsValidation("1 validation error detected: Value '%s' at 'targets.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", id)
		}
		if !strings.HasPrefix(arn, "arn:") {
			return nil, eventsValidation("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", arn)
		}
	}
	added := 0
	for _, t := range in.Targets {
		if eventsTargetIndex(ru, t["Id"].(string)) < 0 {
			added++
		}
	}
	if len(ru.Targets)+added > eventsMaxTargets {
		return nil, errBadRequest("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
	}
	for _, t := range in.Targets {
		if i := eventsTargetIndex(ru, t["Id"].(string)); i >= 0 {
			ru.Targets[i] = t
		} else {
			ru.Targets = append(ru.Targets, t)
		}
	}
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, nil
}

func eventsTargetIndex(ru *eventsRule, id string) int {
	for i, t := range ru.Targets {
		if t["Id"] == id {
			return i
		}
	}
	return -1
}

func eventsListTargetsByRule(r *request) (any, error) {
	var in struct {
		Rule         string `json:"Rule"`
		EventBusName string `json:"EventBusName"`
		NextToken    string `json:"NextToken"`
		Limit        int    `json:"Limit"`
	}
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	ru, err := eventsRuleFor(r, in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	limit, err := r.pageLimit(in.Limit, 100, 100)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(ru.Targets, in.NextToken, limit, eventsValidation("The NextToken is invalid."))
	if err != nil {
		return nil, err
	}
	res := map[string]any{"Targets": append([]map[string]any{}, page...)}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}

func eventsRemoveTargets(r *request) (any, error) {
	var in struct {
		Rule         string   `json:"Rule"`
		EventBusName string   `json:"EventBusName"`
		Ids          []string `json:"Ids"`
		Force        bool     `json:"Force"`
	}
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	ru, err := eventsRuleFor(r, in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	if len(in.Ids) == 0 || len(in.Ids) > 100 {
		return nil, eventsValidation("1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and 100")
	}
	// Ids that are not targets of the rule are ignored, as in AWS.
	for _, id := range in.Ids {
		if i := eventsTargetIndex(ru, id); i >= 0 {
			ru.Targets = append(ru.Targets[:i], ru.Targets[i+1:]...)
		}
	}
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, nil
}
