package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// SSM (JSON 1.1, AmazonSSM): Automation documents and executions.
//
// StartAutomationExecution runs the document to completion before it
// answers (AWS runs it asynchronously; clients polling GetAutomationExecution
// see the terminal status at once). Steps run as the document's
// AutomationAssumeRole, which must exist in the account and trust
// ssm.amazonaws.com; the API calls they make go through the simulated
// services' own operations and are recorded in the call log with the role
// session as principal (session name = execution ID).
//
// Supported: the AWS-owned AWS-DisablePublicAccessForSecurityGroup, AWS-EnableS3BucketEncryption and
// AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules, and custom
// schemaVersion 0.3 documents whose mainSteps are aws:executeAwsApi calls to
// ec2 DescribeSecurityGroups, RevokeSecurityGroupIngress and
// RevokeSecurityGroupEgress (plus aws:sleep as a no-op). Other actions fail
// the step.
func ssmService() *service {
	return &service{
		Name:         "ssm",
		Protocol:     protoJSON11,
		TargetPrefix: "AmazonSSM",
		Ops: map[string]operation{
			"CreateDocument":               ssmCreateDocument,
			"DescribeDocument":             ssmDescribeDocument,
			"GetDocument":                  ssmGetDocument,
			"UpdateDocument":               ssmUpdateDocument,
			"UpdateDocumentDefaultVersion": ssmUpdateDocumentDefaultVersion,
			"StartAutomationExecution":     ssmStartAutomationExecution,
			"GetAutomationExecution":       ssmGetAutomationExecution,
			"DescribeAutomationExecutions": ssmDescribeAutomationExecutions,
		},
	}
}

type ssmState struct {
	docs  []*ssmDoc
	execs []*ssmExec
}

type ssmDoc struct {
	Name, Type, Owner, TargetType string
	Versions                      []*ssmDocVersion
	Default                       int // 1-based
	Tags                          []map[string]string
	builtin                       func(x *ssmRun) error
}

type ssmDocVersion struct {
	Content, Format, VersionName string
	Created                      time.Time
	doc                          map[string]any
}

type ssmExec struct {
	ID, DocumentName, DocumentVersion, Status, FailureMessage, ExecutedBy string
	Start, End                                                            time.Time
	Parameters                                                            map[string][]string
	Outputs                                                               map[string][]string
	Steps                                                                 []map[string]any
}

func ssmStateOf(a *account, region string) *ssmState {
	return regionData(a, region, "ssm", func() *ssmState { return &ssmState{} })
}

// ssmBuiltins are the AWS-owned documents the simulator can run.
var ssmBuiltins = map[string]struct {
	content string
	run     func(x *ssmRun) error
}{
	"AWS-DisablePublicAccessForSecurityGroup": {
		content: `{"schemaVersion":"0.3","description":"Disables public SSH and RDP access (0.0.0.0/0 and ::/0 on ports 22 and 3389) for a security group.","assumeRole":"{{ AutomationAssumeRole }}","parameters":{"GroupId":{"type":"String","description":"(Required) The ID of the security group."},"AutomationAssumeRole":{"type":"String","description":"(Optional) The role that allows Automation to perform the actions on your behalf.","default":""}},"mainSteps":[{"name":"DisablePublicAccessForSecurityGroup","action":"aws:executeScript","onFailure":"Abort","isEnd":true}]}`,
		run:     ssmDisablePublicAccess,
	},
	"AWS-EnableS3BucketEncryption": {
		content: `{"schemaVersion":"0.3","description":"Enables server-side encryption on an S3 bucket.","assumeRole":"{{ AutomationAssumeRole }}","parameters":{"BucketName":{"type":"String","description":"(Required) The name of the S3 bucket."},"SSEAlgorithm":{"type":"String","description":"(Optional) AES256 or aws:kms.","default":"AES256"},"AutomationAssumeRole":{"type":"String","description":"(Optional) The role that allows Automation to perform the actions on your behalf.","default":""}},"mainSteps":[{"name":"PutBucketEncryption","action":"aws:executeAwsApi","onFailure":"Abort","isEnd":true}]}`,
		run:     ssmEnableS3BucketEncryption,
	},
	"AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules": {
		content: `{"schemaVersion":"0.3","description":"Removes all inbound and outbound rules from the default security group of a VPC.","assumeRole":"{{ AutomationAssumeRole }}","parameters":{"GroupId":{"type":"String","description":"(Required) The ID of the default security group."},"AutomationAssumeRole":{"type":"String","description":"(Required) The ARN of the role that allows Automation to perform the actions on your behalf."}},"mainSteps":[{"name":"RemoveRulesFromDefaultSecurityGroup","action":"aws:executeScript","onFailure":"Abort","isEnd":true}]}`,
		run:     ssmRemoveDefaultSGRules,
	},
}

// ssmFindDocument finds an AWS-owned or the account's own document.
func ssmFindDocument(s *Server, a *account, region, name string) *ssmDoc {
	if b, ok := ssmBuiltins[name]; ok {
		d := &ssmDoc{Name: name, Type: "Automation", Owner: "Amazon", Default: 1, builtin: b.run,
			Versions: []*ssmDocVersion{{Content: b.content, Format: "JSON", Created: time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC)}}}
		json.Unmarshal([]byte(b.content), &d.Versions[0].doc)
		return d
	}
	for _, d := range ssmStateOf(a, region).docs {
		if d.Name == name {
			return d
		}
	}
	return nil
}

var ssmDocNameRE = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{3,128}$`)

// ssmParseContent parses and validates document content.
func ssmParseContent(content, format, docType string) (map[string]any, error) {
	var doc map[string]any
	var err error
	if format == "YAML" {
		err = yaml.Unmarshal([]byte(content), &doc)
	} else {
		err = json.Unmarshal([]byte(content), &doc)
	}
	if err != nil || doc == nil {
		return nil, errBadRequest("InvalidDocumentContent", "The content for the document is not valid.")
	}
	if docType == "Automation" {
		if doc["schemaVersion"] != "0.3" {
			return nil, errBadRequest("InvalidDocumentSchemaVersion", "Automation documents must use schemaVersion 0.3.")
		}
		steps, _ := doc["mainSteps"].([]any)
		if len(steps) == 0 {
			return nil, errBadRequest("InvalidDocumentContent", "Document must contain at least one step in mainSteps.")
		}
		for _, s := range steps {
			m, _ := s.(map[string]any)
			if n, _ := m["name"].(string); n == "" {
				return nil, errBadRequest("InvalidDocumentContent", "Each step must have a name.")
			}
			if a, _ := m["action"].(string); !strings.HasPrefix(a, "aws:") {
				return nil, errBadRequest("InvalidDocumentContent", "Step %v has an invalid action.", m["name"])
			}
		}
	}
	return doc, nil
}

func ssmHash(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

func ssmDescription(d *ssmDoc, v int) map[string]any {
	ver := d.Versions[v-1]
	out := map[string]any{
		"Name": d.Name, "Owner": d.Owner, "CreatedDate": epoch(ver.Created), "Status": "Active",
		"DocumentVersion": strconv.Itoa(v), "DocumentType": d.Type, "DocumentFormat": ver.Format,
		"LatestVersion": strconv.Itoa(len(d.Versions)), "DefaultVersion": strconv.Itoa(d.Default),
		"Hash": ssmHash(ver.Content), "HashType": "Sha256", "PlatformTypes": []string{"Windows", "Linux", "MacOS"},
		"Tags": d.Tags,
	}
	if d.Tags == nil {
		out["Tags"] = []any{}
	}
	if d.TargetType != "" {
		out["TargetType"] = d.TargetType
	}
	if ver.VersionName != "" {
		out["VersionName"] = ver.VersionName
	}
	if sv, ok := ver.doc["schemaVersion"].(string); ok {
		out["SchemaVersion"] = sv
	}
	if desc, ok := ver.doc["description"].(string); ok {
		out["Description"] = desc
	}
	var params []map[string]any
	if ps, ok := ver.doc["parameters"].(map[string]any); ok {
		for _, name := range sortedKeys(ps) {
			p, _ := ps[name].(map[string]any)
			e := map[string]any{"Name": name, "Type": p["type"]}
			if d, ok := p["description"].(string); ok {
				e["Description"] = d
			}
			if dv, ok := p["default"]; ok {
				e["DefaultValue"] = fmt.Sprint(dv)
			}
			params = append(params, e)
		}
	}
	if params != nil {
		out["Parameters"] = params
	}
	return out
}

func ssmCreateDocument(req *request) (any, error) {
	var in struct {
		Content, Name, DocumentType, DocumentFormat, VersionName, TargetType string
		Tags                                                                 []map[string]string
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !ssmDocNameRE.MatchString(in.Name) || strings.HasPrefix(in.Name, "AWS") || strings.HasPrefix(in.Name, "Amazon") {
		return nil, errBadRequest("ValidationException", "Document name %q is not valid: it must match [a-zA-Z0-9_\\-.]{3,128} and must not start with aws, amazon or amzn.", in.Name)
	}
	if in.DocumentType == "" {
		in.DocumentType = "Command"
	}
	if in.DocumentFormat == "" {
		in.DocumentFormat = "JSON"
	}
	if in.DocumentFormat != "JSON" && in.DocumentFormat != "YAML" {
		return nil, errBadRequest("InvalidDocumentContent", "Unsupported document format %s", in.DocumentFormat)
	}
	doc, err := ssmParseContent(in.Content, in.DocumentFormat, in.DocumentType)
	if err != nil {
		return nil, err
	}
	if ssmFindDocument(req.srv, req.Account, req.Region, in.Name) != nil {
		return nil, errBadRequest("DocumentAlreadyExists", "Document with same name %s already exists", in.Name)
	}
	d := &ssmDoc{Name: in.Name, Type: in.DocumentType, Owner: req.Account.ID, Default: 1, Tags: in.Tags, TargetType: in.TargetType,
		Versions: []*ssmDocVersion{{Content: in.Content, Format: in.DocumentFormat, VersionName: in.VersionName, Created: req.srv.now(), doc: doc}}}
	st := ssmStateOf(req.Account, req.Region)
	st.docs = append(st.docs, d)
	return map[string]any{"DocumentDescription": ssmDescription(d, 1)}, nil
}

// ssmVersion resolves DocumentVersion ("", "$DEFAULT", "$LATEST" or a number).
func ssmVersion(d *ssmDoc, v string) (int, error) {
	switch v {
	case "", "$DEFAULT":
		return d.Default, nil
	case "$LATEST":
		return len(d.Versions), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > len(d.Versions) {
		return 0, errBadRequest("InvalidDocumentVersion", "The document version is not valid or does not exist.")
	}
	return n, nil
}

func ssmDocArg(req *request, name, version string) (*ssmDoc, int, error) {
	d := ssmFindDocument(req.srv, req.Account, req.Region, name)
	if d == nil {
		return nil, 0, errBadRequest("InvalidDocument", "Document with name %s does not exist.", name)
	}
	v, err := ssmVersion(d, version)
	return d, v, err
}

func ssmDescribeDocument(req *request) (any, error) {
	var in struct{ Name, DocumentVersion string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	d, v, err := ssmDocArg(req, in.Name, in.DocumentVersion)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Document": ssmDescription(d, v)}, nil
}

func ssmGetDocument(req *request) (any, error) {
	var in struct{ Name, DocumentVersion, DocumentFormat string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	d, v, err := ssmDocArg(req, in.Name, in.DocumentVersion)
	if err != nil {
		return nil, err
	}
	ver := d.Versions[v-1]
	content, format := ver.Content, ver.Format
	if in.DocumentFormat != "" && in.DocumentFormat != format {
		var b []byte
		if in.DocumentFormat == "YAML" {
			b, err = yaml.Marshal(ver.doc)
		} else {
			b, err = json.Marshal(ver.doc)
		}
		if err != nil {
			return nil, errBadRequest("InvalidDocumentContent", "cannot convert document")
		}
		content, format = string(b), in.DocumentFormat
	}
	out := map[string]any{
		"Name": d.Name, "CreatedDate": epoch(ver.Created), "DocumentVersion": strconv.Itoa(v), "Status": "Active",
		"Content": content, "DocumentType": d.Type, "DocumentFormat": format,
	}
	if ver.VersionName != "" {
		out["VersionName"] = ver.VersionName
	}
	return out, nil
}

func ssmUpdateDocument(req *request) (any, error) {
	var in struct{ Content, Name, DocumentVersion, DocumentFormat, VersionName string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	d := ssmFindDocument(req.srv, req.Account, req.Region, in.Name)
	if d == nil {
		return nil, errBadRequest("InvalidDocument", "Document with name %s does not exist.", in.Name)
	}
	if d.Owner == "Amazon" {
		return nil, errBadRequest("InvalidDocumentOperation", "You can't update AWS-owned documents.")
	}
	if in.DocumentVersion != "" && in.DocumentVersion != "$LATEST" && in.DocumentVersion != strconv.Itoa(len(d.Versions)) {
		return nil, errBadRequest("InvalidDocumentVersion", "The document version is not valid or does not exist.")
	}
	if in.DocumentFormat == "" {
		in.DocumentFormat = "JSON"
	}
	doc, err := ssmParseContent(in.Content, in.DocumentFormat, d.Type)
	if err != nil {
		return nil, err
	}
	for _, v := range d.Versions {
		if ssmHash(v.Content) == ssmHash(in.Content) {
			return nil, errBadRequest("DuplicateDocumentContent", "The content of the association document matches another document. Change the content of the document and try again.")
		}
	}
	d.Versions = append(d.Versions, &ssmDocVersion{Content: in.Content, Format: in.DocumentFormat, VersionName: in.VersionName, Created: req.srv.now(), doc: doc})
	return map[string]any{"DocumentDescription": ssmDescription(d, len(d.Versions))}, nil
}

func ssmUpdateDocumentDefaultVersion(req *request) (any, error) {
	var in struct{ Name, DocumentVersion string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	d, v, err := ssmDocArg(req, in.Name, in.DocumentVersion)
	if err != nil {
		return nil, err
	}
	if d.Owner == "Amazon" {
		return nil, errBadRequest("InvalidDocumentOperation", "You can't update AWS-owned documents.")
	}
	d.Default = v
	return map[string]any{"Description": map[string]any{"Name": d.Name, "DefaultVersion": strconv.Itoa(v)}}, nil
}

func ssmStartAutomationExecution(req *request) (any, error) {
	var in struct {
		DocumentName, DocumentVersion string
		Parameters                    map[string][]string
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	x, err := ssmStartAutomation(req, in.DocumentName, in.DocumentVersion, in.Parameters)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AutomationExecutionId": x.ID}, nil
}

// ssmRun is one automation execution in progress.
type ssmRun struct {
	req     *request
	exec    *ssmExec
	as      *principal
	params  map[string]any // resolved document parameters
	outputs map[string]any // "Step.Output" -> value
}

// ssmStartAutomation validates and runs a document (for
// StartAutomationExecution and Config remediation). Errors are returned only
// for requests AWS refuses outright; failures while running end up in the
// execution's status.
func ssmStartAutomation(req *request, name, version string, params map[string][]string) (*ssmExec, error) {
	d := ssmFindDocument(req.srv, req.Account, req.Region, name)
	if d == nil || d.Type != "Automation" {
		return nil, errBadRequest("AutomationDefinitionNotFoundException", "Automation definition %s not found.", name)
	}
	v, err := ssmVersion(d, version)
	if err != nil {
		return nil, errBadRequest("AutomationDefinitionVersionNotFoundException", "Automation definition %s version %s not found.", name, version)
	}
	doc := d.Versions[v-1].doc
	resolved, err := ssmResolveParams(doc, params)
	if err != nil {
		return nil, err
	}
	s := req.srv
	h := s.randomID(32, lowerHex)
	x := &ssmExec{
		ID:           h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:],
		DocumentName: name, DocumentVersion: strconv.Itoa(v), Status: "InProgress",
		Start: s.now(), Parameters: params, ExecutedBy: req.Caller.ARN, Outputs: map[string][]string{},
	}
	if x.Parameters == nil {
		x.Parameters = map[string][]string{}
	}
	st := ssmStateOf(req.Account, req.Region)
	st.execs = append(st.execs, x)
	run := &ssmRun{req: req, exec: x, params: resolved, outputs: map[string]any{}}
	if err := run.assume(doc); err != nil {
		x.Status, x.FailureMessage = "Failed", err.Error()
	} else if d.builtin != nil {
		step := run.step("DisablePublicAccessForSecurityGroup", "aws:executeScript")
		if steps, _ := doc["mainSteps"].([]any); len(steps) > 0 {
			m, _ := steps[0].(map[string]any)
			step["StepName"] = m["name"]
		}
		run.finish(step, d.builtin(run))
	} else {
		run.runSteps(doc)
	}
	if x.Status == "InProgress" {
		x.Status = "Success"
	}
	x.End = s.now()
	return x, nil
}

// ssmResolveParams applies defaults and checks required parameters.
func ssmResolveParams(doc map[string]any, given map[string][]string) (map[string]any, error) {
	decl, _ := doc["parameters"].(map[string]any)
	out := map[string]any{}
	for k := range given {
		if _, ok := decl[k]; !ok {
			return nil, errBadRequest("InvalidAutomationExecutionParametersException", "Parameter \"%s\" is not defined in the document.", k)
		}
	}
	for _, name := range sortedKeys(decl) {
		p, _ := decl[name].(map[string]any)
		typ, _ := p["type"].(string)
		vals, ok := given[name]
		if !ok {
			def, has := p["default"]
			if !has {
				return nil, errBadRequest("InvalidAutomationExecutionParametersException", "Parameter \"%s\" is required but not provided.", name)
			}
			out[name] = def
			continue
		}
		switch typ {
		case "StringList":
			l := make([]any, len(vals))
			for i, v := range vals {
				l[i] = v
			}
			out[name] = l
		case "Integer":
			n, err := strconv.Atoi(first(vals))
			if err != nil {
				return nil, errBadRequest("InvalidAutomationExecutionParametersException", "Parameter \"%s\" must be an Integer.", name)
			}
			out[name] = n
		case "Boolean":
			out[name] = first(vals) == "true"
		default:
			out[name] = first(vals)
		}
	}
	return out, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// assume resolves the document's assumeRole. Without one, steps run as the
// caller.
func (x *ssmRun) assume(doc map[string]any) error {
	req := x.req
	roleARN := ""
	if ar, ok := doc["assumeRole"].(string); ok {
		v, err := x.resolve(ar)
		if err != nil {
			return err
		}
		roleARN, _ = v.(string)
	}
	if roleARN == "" {
		x.as = req.Caller
		return nil
	}
	role := roleByARN(req.srv, roleARN)
	if role != nil && !req.srv.roleSeen(roleARN).usable() {
		// Created or changed a moment ago (consistency.go).
		//lint:ignore ST1005 this is AWS's own message text, shown as the execution's failure
		return fmt.Errorf("The defined assume role is unable to be assumed.")
	}
	if role == nil || role.ARN != roleARN || !strings.Contains(roleARN, ":"+req.Account.ID+":") {
		//lint:ignore ST1005 this is AWS's own message text, shown as the execution's failure
		return fmt.Errorf("The defined assume role is unable to be assumed. (%s does not exist in account %s)", roleARN, req.Account.ID)
	}
	if !slices.Contains(role.TrustedPrincipals, "ssm.amazonaws.com") {
		//lint:ignore ST1005 this is AWS's own message text, shown as the execution's failure
		return fmt.Errorf("The defined assume role is unable to be assumed. (%s does not trust ssm.amazonaws.com)", roleARN)
	}
	x.as = &principal{
		AccountID: req.Account.ID, RoleName: role.Name, RoleARN: role.ARN, SessionName: x.exec.ID,
		ARN:    fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", req.Account.ID, role.Name, x.exec.ID),
		UserID: role.ID + ":" + x.exec.ID,
	}
	return nil
}

var ssmTemplateRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_:.\-]+)\s*\}\}`)

func (x *ssmRun) lookup(name string) (any, bool) {
	switch name {
	case "automation:EXECUTION_ID":
		return x.exec.ID, true
	case "global:ACCOUNT_ID":
		return x.req.Account.ID, true
	case "global:REGION":
		return x.req.Region, true
	case "global:AWS_PARTITION":
		return "aws", true
	}
	if v, ok := x.params[name]; ok {
		return v, true
	}
	v, ok := x.outputs[name]
	return v, ok
}

// resolve substitutes {{ Param }} and {{ Step.Output }} references. A string
// that is exactly one reference takes the referenced value (list, map, ...).
func (x *ssmRun) resolve(v any) (any, error) {
	switch t := v.(type) {
	case string:
		if m := ssmTemplateRE.FindStringSubmatch(t); m != nil && strings.TrimSpace(t) == m[0] {
			val, ok := x.lookup(m[1])
			if !ok {
				return nil, fmt.Errorf("unresolved reference {{ %s }}", m[1])
			}
			return val, nil
		}
		var bad error
		out := ssmTemplateRE.ReplaceAllStringFunc(t, func(s string) string {
			name := ssmTemplateRE.FindStringSubmatch(s)[1]
			val, ok := x.lookup(name)
			if !ok {
				bad = fmt.Errorf("unresolved reference {{ %s }}", name)
				return s
			}
			return fmt.Sprint(val)
		})
		return out, bad
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := x.resolve(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			r, err := x.resolve(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func (x *ssmRun) step(name, action string) map[string]any {
	now := x.req.srv.now()
	return map[string]any{
		"StepName": name, "Action": action, "ExecutionStartTime": epoch(now), "StepStatus": "InProgress",
		"StepExecutionId": x.req.srv.randomID(8, lowerHex) + "-" + x.req.srv.randomID(4, lowerHex) + "-" + x.req.srv.randomID(4, lowerHex) + "-" + x.req.srv.randomID(4, lowerHex) + "-" + x.req.srv.randomID(12, lowerHex),
		"OnFailure":       "Abort", "MaxAttempts": 1, "IsCritical": true,
	}
}

// finish records a step's end; a failed step fails the execution.
func (x *ssmRun) finish(step map[string]any, err error) {
	step["ExecutionEndTime"] = epoch(x.req.srv.now())
	if err != nil {
		step["StepStatus"] = "Failed"
		step["FailureMessage"] = err.Error()
		x.exec.Status = "Failed"
		x.exec.FailureMessage = fmt.Sprintf("Step fails when it is Executing. Fail to execute step %v. %s", step["StepName"], err)
	} else {
		step["StepStatus"] = "Success"
	}
	x.exec.Steps = append(x.exec.Steps, step)
}

func (x *ssmRun) runSteps(doc map[string]any) {
	steps, _ := doc["mainSteps"].([]any)
	for _, raw := range steps {
		m, _ := raw.(map[string]any)
		name, _ := m["name"].(string)
		action, _ := m["action"].(string)
		step := x.step(name, action)
		var err error
		switch action {
		case "aws:executeAwsApi":
			err = x.executeAwsAPI(name, m, step)
		case "aws:sleep":
		default:
			err = fmt.Errorf("the simulator does not support action %s", action)
		}
		x.finish(step, err)
		if err != nil {
			return
		}
		if end, _ := m["isEnd"].(bool); end {
			return
		}
	}
}

func (x *ssmRun) executeAwsAPI(name string, m map[string]any, step map[string]any) error {
	rawInputs, _ := m["inputs"].(map[string]any)
	resolved, err := x.resolve(rawInputs)
	if err != nil {
		return err
	}
	inputs := resolved.(map[string]any)
	service, _ := inputs["Service"].(string)
	api, _ := inputs["Api"].(string)
	params := map[string]any{}
	for k, v := range inputs {
		if k != "Service" && k != "Api" {
			params[k] = v
		}
	}
	step["Inputs"] = map[string]string{"Service": strconv.Quote(service), "Api": strconv.Quote(api)}
	resp, err := x.callAPI(service, api, params)
	if err != nil {
		return err
	}
	outs, _ := m["outputs"].([]any)
	stepOut := map[string][]string{}
	for _, o := range outs {
		om, _ := o.(map[string]any)
		oname, _ := om["Name"].(string)
		sel, _ := om["Selector"].(string)
		val, ok := jsonSelect(resp, sel)
		if !ok {
			continue
		}
		x.outputs[name+"."+oname] = val
		b, _ := json.Marshal(val)
		stepOut[oname] = []string{string(b)}
	}
	if len(stepOut) > 0 {
		step["Outputs"] = stepOut
	}
	return nil
}

// jsonSelect evaluates the "$.A.B[0].C" selectors of executeAwsApi outputs.
func jsonSelect(v any, sel string) (any, bool) {
	sel = strings.TrimPrefix(strings.TrimPrefix(sel, "$"), ".")
	if sel == "" {
		return v, true
	}
	for _, part := range strings.Split(sel, ".") {
		key := part
		var idx []int
		for strings.HasSuffix(key, "]") {
			open := strings.LastIndex(key, "[")
			if open < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(key[open+1 : len(key)-1])
			if err != nil {
				return nil, false
			}
			idx = append([]int{n}, idx...)
			key = key[:open]
		}
		if key != "" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[key]; !ok {
				return nil, false
			}
		}
		for _, i := range idx {
			l, ok := v.([]any)
			if !ok || i < 0 || i >= len(l) {
				return nil, false
			}
			v = l[i]
		}
	}
	return v, true
}

// ec2QueryNames maps API member names (as executeAwsApi and boto3 use them)
// to EC2 Query parameter names where they differ.
var ec2QueryNames = map[string]string{
	"GroupIds": "GroupId", "GroupNames": "GroupName", "UserIdGroupPairs": "Groups",
	"Filters": "Filter", "Values": "Value", "SecurityGroupRuleIds": "SecurityGroupRuleId",
}

func ec2Flatten(prefix string, v any, out url.Values) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			name := k
			if q, ok := ec2QueryNames[k]; ok {
				name = q
			}
			if prefix != "" {
				name = prefix + "." + name
			}
			ec2Flatten(name, e, out)
		}
	case []any:
		for i, e := range t {
			ec2Flatten(prefix+"."+strconv.Itoa(i+1), e, out)
		}
	case []string:
		for i, e := range t {
			out.Set(prefix+"."+strconv.Itoa(i+1), e)
		}
	case nil:
	case float64:
		out.Set(prefix, strconv.FormatFloat(t, 'f', -1, 64))
	default:
		out.Set(prefix, fmt.Sprint(t))
	}
}

// callAPI runs one API call of an automation through the simulated service
// as the automation's principal and logs it.
func (x *ssmRun) callAPI(svcName, api string, params map[string]any) (map[string]any, error) {
	s := x.req.srv
	if strings.ToLower(svcName) != "ec2" {
		return nil, fmt.Errorf("the simulator does not support aws:executeAwsApi service %s", svcName)
	}
	var svc *service
	for _, c := range s.byName["ec2"] {
		svc = c
	}
	var h operation
	if svc != nil {
		h = svc.Ops[api]
	}
	switch api {
	case "DescribeSecurityGroups", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
		"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress":
	default:
		h = nil
	}
	if h == nil {
		return nil, fmt.Errorf("the simulator does not support aws:executeAwsApi ec2 %s", api)
	}
	form := url.Values{}
	ec2Flatten("", params, form)
	form.Set("Action", api)
	sub := &request{srv: s, svc: svc, Op: api, Caller: x.as, Account: x.req.Account, Region: x.req.Region,
		HTTP: x.req.HTTP, Form: form}
	_, err := h(sub)
	call := Call{Service: "ec2", Operation: api, Region: x.req.Region, AccountID: x.as.AccountID,
		Principal: x.as.ARN, SessionName: x.as.SessionName, SourceIdentity: x.as.SourceIdentity}
	if err != nil {
		ae := asAPIError(err, svc.Codes.Internal)
		call.ErrorCode = ae.Code
		s.logCallLocked(&call, sub)
		//lint:ignore ST1005 this is AWS's own message text, shown as the execution's failure
		return nil, fmt.Errorf("An error occurred (%s) when calling the %s operation: %s", ae.Code, api, ae.Message)
	}
	s.logCallLocked(&call, sub)
	if api != "DescribeSecurityGroups" {
		return map[string]any{"Return": true}, nil
	}
	st := regionData(x.req.Account, x.req.Region, "ec2", newEC2State)
	ids := listValues(form, "GroupId")
	groups := []any{}
	for _, g := range st.groups {
		if len(ids) == 0 || slices.Contains(ids, g.ID) {
			groups = append(groups, ec2GroupJSON(g))
		}
	}
	return map[string]any{"SecurityGroups": groups}, nil
}

// ec2GroupJSON renders a security group as the AWS JSON APIs (and boto3)
// show it.
func ec2GroupJSON(g *ec2Group) map[string]any {
	perms := func(rules []*ec2Rule) []any {
		out := []any{}
		for _, p := range permissions(rules) {
			m := map[string]any{"IpProtocol": p.IPProtocol}
			if p.FromPort != nil {
				m["FromPort"], m["ToPort"] = float64(*p.FromPort), float64(*p.ToPort)
			}
			ranges, v6, pairs, pls := []any{}, []any{}, []any{}, []any{}
			for _, r := range p.IPRanges {
				e := map[string]any{"CidrIp": r.CIDR}
				if r.Description != "" {
					e["Description"] = r.Description
				}
				ranges = append(ranges, e)
			}
			for _, r := range p.IPv6Ranges {
				e := map[string]any{"CidrIpv6": r.CIDR}
				if r.Description != "" {
					e["Description"] = r.Description
				}
				v6 = append(v6, e)
			}
			for _, r := range p.Groups {
				e := map[string]any{"GroupId": r.GroupID, "UserId": r.UserID}
				if r.Description != "" {
					e["Description"] = r.Description
				}
				pairs = append(pairs, e)
			}
			for _, r := range p.PrefixList {
				pls = append(pls, map[string]any{"PrefixListId": r.ID})
			}
			m["IpRanges"], m["Ipv6Ranges"], m["UserIdGroupPairs"], m["PrefixListIds"] = ranges, v6, pairs, pls
			out = append(out, m)
		}
		return out
	}
	return map[string]any{
		"GroupId": g.ID, "GroupName": g.Name, "Description": g.Description, "VpcId": g.VPCID, "OwnerId": g.OwnerID,
		"IpPermissions": perms(g.Ingress), "IpPermissionsEgress": perms(g.Egress),
	}
}

// revokeRules revokes exactly the given rules of a group through the EC2
// API, one permission per call as the AWS scripts do.
func (x *ssmRun) revokeRules(g *ec2Group, rules []*ec2Rule, egress bool) error {
	api := "RevokeSecurityGroupIngress"
	if egress {
		api = "RevokeSecurityGroupEgress"
	}
	perms, _ := ec2GroupJSON(&ec2Group{Ingress: rules})["IpPermissions"].([]any)
	if len(perms) == 0 {
		return nil
	}
	_, err := x.callAPI("ec2", api, map[string]any{"GroupId": g.ID, "IpPermissions": perms})
	return err
}

func (x *ssmRun) groupParam() (*ec2Group, error) {
	id, _ := x.params["GroupId"].(string)
	if _, err := x.callAPI("ec2", "DescribeSecurityGroups", map[string]any{"GroupIds": []any{id}}); err != nil {
		return nil, err
	}
	return regionData(x.req.Account, x.req.Region, "ec2", newEC2State).group(id), nil
}

// ssmDisablePublicAccess is AWS-DisablePublicAccessForSecurityGroup: revoke
// ingress from 0.0.0.0/0 and ::/0 that reaches port 22 or 3389.
func ssmDisablePublicAccess(x *ssmRun) error {
	g, err := x.groupParam()
	if err != nil {
		return err
	}
	var open []*ec2Rule
	for _, r := range g.Ingress {
		if r.CIDR != "0.0.0.0/0" && r.IPv6 != "::/0" {
			continue
		}
		if r.Protocol == "-1" || (r.Protocol == "tcp" && ((r.From <= 22 && 22 <= r.To) || (r.From <= 3389 && 3389 <= r.To))) {
			open = append(open, r)
		}
	}
	return x.revokeRules(g, open, false)
}

// ssmEnableS3BucketEncryption is AWS-EnableS3BucketEncryption: default
// encryption with SSEAlgorithm (AES256 unless given) on BucketName.
func ssmEnableS3BucketEncryption(x *ssmRun) error {
	name, _ := x.params["BucketName"].(string)
	algo, _ := x.params["SSEAlgorithm"].(string)
	if algo == "" {
		algo = "AES256"
	}
	if algo != "AES256" && algo != "aws:kms" {
		return fmt.Errorf("SSEAlgorithm %q: want AES256 or aws:kms", algo)
	}
	b, ok := s3StateOf(x.req.Account).buckets[name]
	if !ok {
		return fmt.Errorf("an error occurred (NoSuchBucket) when calling the PutBucketEncryption operation: the specified bucket %s does not exist", name)
	}
	b.Encryption = &s3SSEConfiguration{Rules: []s3SSERule{{Default: &s3SSEDefault{SSEAlgorithm: algo}}}}
	return nil
}

// ssmRemoveDefaultSGRules is AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules.
func ssmRemoveDefaultSGRules(x *ssmRun) error {
	g, err := x.groupParam()
	if err != nil {
		return err
	}
	if g.Name != "default" {
		return fmt.Errorf("security group %s is not a default security group", g.ID)
	}
	if err := x.revokeRules(g, slices.Clone(g.Ingress), false); err != nil {
		return err
	}
	return x.revokeRules(g, slices.Clone(g.Egress), true)
}

func ssmExecOut(x *ssmExec) map[string]any {
	out := map[string]any{
		"AutomationExecutionId": x.ID, "DocumentName": x.DocumentName, "DocumentVersion": x.DocumentVersion,
		"AutomationExecutionStatus": x.Status, "ExecutionStartTime": epoch(x.Start), "ExecutedBy": x.ExecutedBy,
		"Mode": "Auto", "Outputs": x.Outputs,
	}
	if !x.End.IsZero() {
		out["ExecutionEndTime"] = epoch(x.End)
	}
	if x.FailureMessage != "" {
		out["FailureMessage"] = x.FailureMessage
	}
	return out
}

func ssmGetAutomationExecution(req *request) (any, error) {
	var in struct{ AutomationExecutionId string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	for _, x := range ssmStateOf(req.Account, req.Region).execs {
		if x.ID == in.AutomationExecutionId {
			out := ssmExecOut(x)
			out["Parameters"] = x.Parameters
			steps := x.Steps
			if steps == nil {
				steps = []map[string]any{}
			}
			out["StepExecutions"] = steps
			out["StepExecutionsTruncated"] = false
			return map[string]any{"AutomationExecution": out}, nil
		}
	}
	return nil, errBadRequest("AutomationExecutionNotFoundException", "Automation execution %s not found.", in.AutomationExecutionId)
}

func ssmDescribeAutomationExecutions(req *request) (any, error) {
	var in struct {
		Filters []struct {
			Key    string
			Values []string
		}
		MaxResults int
		NextToken  string
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	limit, err := req.pageLimit(in.MaxResults, 50, 50)
	if err != nil {
		return nil, err
	}
	var list []*ssmExec
	execs := slices.Clone(ssmStateOf(req.Account, req.Region).execs)
	// Newest first, as AWS lists them.
	sort.SliceStable(execs, func(i, j int) bool { return execs[i].Start.After(execs[j].Start) })
	for _, x := range execs {
		ok := true
		for _, f := range in.Filters {
			if len(f.Values) == 0 {
				return nil, errBadRequest("InvalidFilterValue", "Filter %s has no values", f.Key)
			}
			switch f.Key {
			case "DocumentNamePrefix":
				ok = ok && slices.ContainsFunc(f.Values, func(p string) bool { return strings.HasPrefix(x.DocumentName, p) })
			case "ExecutionStatus":
				ok = ok && slices.Contains(f.Values, x.Status)
			case "ExecutionId":
				ok = ok && slices.Contains(f.Values, x.ID)
			case "AutomationType":
				ok = ok && slices.Contains(f.Values, "Local")
			default:
				return nil, errBadRequest("InvalidFilterKey", "The specified filter key %s is not supported.", f.Key)
			}
		}
		if ok {
			list = append(list, x)
		}
	}
	page, next, err := paginate(list, in.NextToken, limit, errBadRequest("InvalidNextToken", "The specified token is not valid."))
	if err != nil {
		return nil, err
	}
	meta := []map[string]any{}
	for _, x := range page {
		m := ssmExecOut(x)
		m["AutomationType"] = "Local"
		meta = append(meta, m)
	}
	out := map[string]any{"AutomationExecutionMetadataList": meta}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}
