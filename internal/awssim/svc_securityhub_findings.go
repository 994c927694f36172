package awssim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Findings that finding providers import (BatchImportFindings) and that
// customers update (BatchUpdateFindings), stored per account and region
// next to the control findings svc_securityhub.go computes. GetFindings
// answers with both.
//
// The rules modelled here, from the Security Hub API reference and user
// guide (BatchImportFindings, BatchUpdateFindings, FindingProviderFields,
// Severity, Workflow, "Integrating Security Hub CSPM with custom products"):
//
//   - The caller must be the finding's account: the default product ARN
//     arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default of the
//     calling account and AwsAccountId equal to it. Any other account or
//     product is refused for the whole call with AccessDeniedException
//     (HTTP 403, "not authorized to perform: securityhub:BatchImportFindings
//     on resource: <product ARN>"), as AWS does (AWS support's answer in
//     prowler-cloud/prowler#867). The simulator allow-lists no partner
//     products.
//   - At most 100 findings per call (InvalidInputException otherwise);
//     findings that break the ASFF schema are reported one by one in
//     FailedFindings with ErrorCode InvalidInput and the schema message,
//     the others are imported.
//   - A finding is identified by Id and ProductArn; importing it again
//     updates it. After creation, an import never changes Note,
//     UserDefinedFields, VerificationState or Workflow; it changes
//     Confidence, Criticality, RelatedFindings, Severity and Types only
//     until a BatchUpdateFindings call set them, and always updates
//     FindingProviderFields (filled from the top-level attributes when the
//     import carries none).
//   - The workflow status goes back from NOTIFIED or RESOLVED to NEW when an
//     import changes RecordState from ARCHIVED to ACTIVE or
//     Compliance.Status from PASSED to WARNING, FAILED or NOT_AVAILABLE.
//   - BatchUpdateFindings updates up to 100 findings; unknown or duplicated
//     identifiers come back in UnprocessedFindings (FindingNotFound,
//     DuplicatedFindingIdentifier). It does not change UpdatedAt.

// shMaxFindingBytes is the largest finding Security Hub accepts ("The
// maximum allowed size for a finding is 240 Kb").
const shMaxFindingBytes = 240 * 1024

// shImported is one imported finding.
type shImported struct {
	f shFinding
	// customer holds the top-level attributes BatchUpdateFindings set,
	// which later imports leave alone.
	customer map[string]bool
}

// shProviderAttrs are the attributes finding providers own through
// FindingProviderFields and customers through BatchUpdateFindings.
var shProviderAttrs = []string{"Confidence", "Criticality", "RelatedFindings", "Severity", "Types"}

// shCustomerAttrs are never changed by an import of an existing finding.
var shCustomerAttrs = []string{"Note", "UserDefinedFields", "VerificationState", "Workflow", "WorkflowState"}

var (
	shSeverityLabels      = []string{"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	shWorkflowStatuses    = []string{"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}
	shRecordStates        = []string{"ACTIVE", "ARCHIVED"}
	shComplianceStatuses  = []string{"PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"}
	shVerificationStates  = []string{"UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE"}
	shTypeNamespaces      = []string{"Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors", "Sensitive Data Identifications"}
	shAccountIDPattern    = regexp.MustCompile(`^[0-9]{12}$`)
	shProductARNPattern   = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):securityhub:([a-z0-9-]*):([0-9]*):product/([^/]+)/([^/]+)$`)
	shNonEmptyStringLimit = map[string]int{"Id": 512, "GeneratorId": 512, "Title": 256, "Description": 1024}
)

func shKey(productARN, id string) string { return productARN + "\x00" + id }

func (st *securityHubState) findImported(productARN, id string) *shImported {
	if i, ok := st.importedIdx[shKey(productARN, id)]; ok {
		return st.imported[i]
	}
	return nil
}

// importedFindings returns the imported findings in import order (the
// stored maps: callers copy what they hand out).
func (st *securityHubState) importedFindings() []shFinding {
	out := make([]shFinding, 0, len(st.imported))
	for _, x := range st.imported {
		out = append(out, x.f)
	}
	return out
}

func shBatchImportFindings(req *request) (any, error) {
	var in struct{ Findings []map[string]any }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	switch n := len(in.Findings); {
	case n == 0:
		return nil, errBadRequest("InvalidInputException", "Findings must contain at least 1 finding")
	case n > 100:
		return nil, errBadRequest("InvalidInputException", "Findings must contain at most 100 findings per request, got %d", n)
	}
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	caller := req.Account.ID
	// Who may import is decided for the whole call before any finding is
	// looked at.
	for _, f := range in.Findings {
		product, _ := f["ProductArn"].(string)
		if product == "" {
			continue // a schema error of that finding
		}
		m := shProductARNPattern.FindStringSubmatch(product)
		if m == nil || m[2] != req.Region {
			return nil, errBadRequest("InvalidInputException", "Invalid ProductArn %q: not a Security Hub product ARN in Region %s", product, req.Region)
		}
		account, _ := f["AwsAccountId"].(string)
		defaultProduct := m[3] == caller && m[4] == caller && m[5] == "default"
		if !defaultProduct || (account != "" && account != caller) {
			return nil, errForbidden("AccessDeniedException", "User: %s is not authorized to perform: securityhub:BatchImportFindings on resource: %s", req.Caller.ARN, product)
		}
	}
	failed := []map[string]string{}
	success := 0
	for _, f := range in.Findings {
		id, _ := f["Id"].(string)
		if msg := shValidateFinding(f); msg != "" {
			failed = append(failed, map[string]string{"Id": id, "ErrorCode": "InvalidInput",
				"ErrorMessage": "Finding does not adhere to Amazon Finding Format. " + msg})
			continue
		}
		if body, _ := json.Marshal(f); len(body) > shMaxFindingBytes {
			failed = append(failed, map[string]string{"Id": id, "ErrorCode": "FindingSizeExceeded",
				"ErrorMessage": fmt.Sprintf("Finding size exceeded 240 KB (%d bytes)", len(body))})
			continue
		}
		st.upsert(req, shFinding(f))
		success++
	}
	return map[string]any{"FailedCount": len(failed), "SuccessCount": success, "FailedFindings": failed}, nil
}

// shValidateFinding checks a finding against the ASFF's required
// attributes and value constraints; the message reads like Security Hub's
// JSON-schema messages ("data should have required property 'Severity'").
func shValidateFinding(f map[string]any) string {
	for _, k := range []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "UpdatedAt", "Severity", "Title", "Description", "Resources"} {
		if _, ok := f[k]; !ok {
			return fmt.Sprintf("data should have required property '%s'", k)
		}
	}
	if v, _ := f["SchemaVersion"].(string); v != "2018-10-08" {
		return "data.SchemaVersion should be equal to one of the allowed values"
	}
	for k, limit := range shNonEmptyStringLimit {
		v, ok := f[k].(string)
		if !ok || strings.TrimSpace(v) == "" {
			return fmt.Sprintf("data.%s should NOT be shorter than 1 characters", k)
		}
		if len(v) > limit {
			return fmt.Sprintf("data.%s should NOT be longer than %d characters", k, limit)
		}
	}
	if v, _ := f["AwsAccountId"].(string); !shAccountIDPattern.MatchString(v) {
		return `data.AwsAccountId should match pattern "^[0-9]{12}$"`
	}
	for _, k := range []string{"CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"} {
		if v, ok := f[k]; ok {
			s, _ := v.(string)
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return fmt.Sprintf(`data.%s should match format "date-time"`, k)
			}
		}
	}
	if msg := shValidateTypes("data.Types", f["Types"], true); msg != "" {
		return msg
	}
	if msg := shValidateSeverity("data.Severity", f["Severity"]); msg != "" {
		return msg
	}
	res, _ := f["Resources"].([]any)
	if len(res) < 1 || len(res) > 32 {
		return "data.Resources should NOT have fewer than 1 items or more than 32 items"
	}
	for i, r := range res {
		m, _ := r.(map[string]any)
		for _, k := range []string{"Type", "Id"} {
			if s, _ := m[k].(string); strings.TrimSpace(s) == "" {
				return fmt.Sprintf("data.Resources[%d] should have required property '%s'", i, k)
			}
		}
	}
	if v, ok := f["RecordState"]; ok && !slices.Contains(shRecordStates, shString(v)) {
		return "data.RecordState should be equal to one of the allowed values"
	}
	if v, ok := f["Workflow"]; ok {
		if s := shString(shField(v, "Status")); s != "" && !slices.Contains(shWorkflowStatuses, s) {
			return "data.Workflow.Status should be equal to one of the allowed values"
		}
	}
	if v, ok := f["VerificationState"]; ok && !slices.Contains(shVerificationStates, shString(v)) {
		return "data.VerificationState should be equal to one of the allowed values"
	}
	for _, k := range []string{"Confidence", "Criticality"} {
		if v, ok := f[k]; ok {
			if n, isNum := v.(float64); !isNum || n < 0 || n > 100 || n != float64(int(n)) {
				return fmt.Sprintf("data.%s should be an integer between 0 and 100", k)
			}
		}
	}
	if v, ok := f["Compliance"]; ok {
		c, _ := v.(map[string]any)
		if s, has := c["Status"]; has && !slices.Contains(shComplianceStatuses, shString(s)) {
			return "data.Compliance.Status should be equal to one of the allowed values"
		}
		if rr, has := c["RelatedRequirements"]; has {
			list, _ := rr.([]any)
			if len(list) > 32 {
				return "data.Compliance.RelatedRequirements should NOT have more than 32 items"
			}
		}
	}
	if v, ok := f["Remediation"]; ok {
		if text, has := shField(shField(v, "Recommendation"), "Text").(string); has && (text == "" || len(text) > 512) {
			return "data.Remediation.Recommendation.Text should NOT be shorter than 1 characters or longer than 512 characters"
		}
	}
	if v, ok := f["ProductFields"]; ok {
		m, isMap := v.(map[string]any)
		if !isMap || len(m) > 50 {
			return "data.ProductFields should be an object with at most 50 properties"
		}
		for k, x := range m {
			if _, isStr := x.(string); !isStr || len(k) > 128 {
				return fmt.Sprintf("data.ProductFields['%s'] should be a string with a key of at most 128 characters", k)
			}
		}
	}
	if v, ok := f["FindingProviderFields"]; ok {
		if sev, has := shField(v, "Severity").(map[string]any); has {
			if l, hasLabel := sev["Label"]; hasLabel && !slices.Contains(shSeverityLabels, shString(l)) {
				return "data.FindingProviderFields.Severity.Label should be equal to one of the allowed values"
			}
		}
		if t := shField(v, "Types"); t != nil {
			if msg := shValidateTypes("data.FindingProviderFields.Types", t, false); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// shValidateTypes checks "namespace/category/classifier" finding types.
func shValidateTypes(at string, v any, required bool) string {
	list, ok := v.([]any)
	if !ok || (required && len(list) == 0) || len(list) > 50 {
		return at + " should be an array of 1 to 50 items"
	}
	for i, x := range list {
		s, _ := x.(string)
		parts := strings.Split(s, "/")
		if len(parts) > 3 || !slices.Contains(shTypeNamespaces, parts[0]) || slices.Contains(parts, "") {
			return fmt.Sprintf("%s[%d] should match pattern \"namespace/category/classifier\" with a namespace of %s", at, i, strings.Join(shTypeNamespaces, ", "))
		}
	}
	return ""
}

// shValidateSeverity: Label or Normalized must be set ("If neither
// attribute is populated, then the finding is invalid").
func shValidateSeverity(at string, v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return at + " should be object"
	}
	label, hasLabel := m["Label"]
	norm, hasNorm := m["Normalized"]
	if !hasLabel && !hasNorm {
		return at + " should match some schema in anyOf (Label or Normalized)"
	}
	if hasLabel && !slices.Contains(shSeverityLabels, shString(label)) {
		return at + ".Label should be equal to one of the allowed values"
	}
	if hasNorm {
		if n, isNum := norm.(float64); !isNum || n < 0 || n > 100 {
			return at + ".Normalized should be an integer between 0 and 100"
		}
	}
	return ""
}

// shNormalizeSeverity fills the Label from Normalized or the other way
// round, as Security Hub does (API reference, Severity).
func shNormalizeSeverity(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	label, hasLabel := m["Label"].(string)
	norm, hasNorm := m["Normalized"].(float64)
	switch {
	case hasLabel && !hasNorm:
		m["Normalized"] = float64(map[string]int{"INFORMATIONAL": 0, "LOW": 1, "MEDIUM": 40, "HIGH": 70, "CRITICAL": 90}[label])
	case hasNorm && !hasLabel:
		switch {
		case norm == 0:
			m["Label"] = "INFORMATIONAL"
		case norm < 40:
			m["Label"] = "LOW"
		case norm < 70:
			m["Label"] = "MEDIUM"
		case norm < 90:
			m["Label"] = "HIGH"
		default:
			m["Label"] = "CRITICAL"
		}
	}
}

// upsert stores a valid finding, new or the update of an existing one.
func (st *securityHubState) upsert(req *request, f shFinding) {
	product, id := f["ProductArn"].(string), f["Id"].(string)
	f["Region"] = req.Region
	f["ProcessedAt"] = req.srv.now().UTC().Format(time.RFC3339Nano)
	shNormalizeSeverity(f["Severity"])
	if _, ok := f["RecordState"]; !ok {
		f["RecordState"] = "ACTIVE"
	}
	// The provider's own values of the attributes customers may change.
	fpf, _ := f["FindingProviderFields"].(map[string]any)
	if fpf == nil {
		fpf = map[string]any{}
	}
	for _, k := range shProviderAttrs {
		if _, ok := fpf[k]; !ok {
			if v, has := f[k]; has {
				fpf[k] = shCopy(v)
			}
		}
	}
	// FindingProviderSeverity holds Label and Original only.
	if sev, ok := fpf["Severity"].(map[string]any); ok {
		delete(sev, "Normalized")
		delete(sev, "Product")
	}
	f["FindingProviderFields"] = fpf

	old := st.findImported(product, id)
	if old == nil {
		if shString(shField(f["Workflow"], "Status")) == "" {
			f["Workflow"] = map[string]any{"Status": "NEW"}
		}
		f["WorkflowState"] = "NEW"
		if _, ok := f["CompanyName"]; !ok {
			f["CompanyName"] = "Personal"
		}
		if _, ok := f["ProductName"]; !ok {
			f["ProductName"] = "Default"
		}
		shStampProductFields(f)
		if st.importedIdx == nil {
			st.importedIdx = map[string]int{}
		}
		st.importedIdx[shKey(product, id)] = len(st.imported)
		st.imported = append(st.imported, &shImported{f: f, customer: map[string]bool{}})
		return
	}
	prev := old.f
	for _, k := range shCustomerAttrs {
		if v, ok := prev[k]; ok {
			f[k] = v
		} else {
			delete(f, k)
		}
	}
	for _, k := range shProviderAttrs {
		switch {
		case old.customer[k]:
			f[k] = prev[k]
		case fpf[k] != nil:
			f[k] = shCopy(fpf[k])
		}
	}
	shNormalizeSeverity(f["Severity"])
	for _, k := range []string{"CompanyName", "ProductName"} {
		if _, ok := f[k]; !ok {
			f[k] = prev[k]
		}
	}
	status := shString(shField(prev["Workflow"], "Status"))
	reopened := shString(prev["RecordState"]) == "ARCHIVED" && shString(f["RecordState"]) == "ACTIVE"
	newCompliance := shString(shField(f["Compliance"], "Status"))
	regressed := shString(shField(prev["Compliance"], "Status")) == "PASSED" &&
		(newCompliance == "WARNING" || newCompliance == "FAILED" || newCompliance == "NOT_AVAILABLE")
	if (status == "NOTIFIED" || status == "RESOLVED") && (reopened || regressed) {
		f["Workflow"] = map[string]any{"Status": "NEW"}
		f["WorkflowState"] = "NEW"
	}
	shStampProductFields(f)
	old.f = f
}

// shStampProductFields adds the product fields Security Hub sets itself.
func shStampProductFields(f shFinding) {
	pf, _ := f["ProductFields"].(map[string]any)
	if pf == nil {
		pf = map[string]any{}
	}
	pf["aws/securityhub/FindingId"] = shString(f["ProductArn"]) + "/" + shString(f["Id"])
	pf["aws/securityhub/ProductName"] = shString(f["ProductName"])
	pf["aws/securityhub/CompanyName"] = shString(f["CompanyName"])
	f["ProductFields"] = pf
}

func shBatchUpdateFindings(req *request) (any, error) {
	var in struct {
		FindingIdentifiers []struct{ Id, ProductArn string }
		Note               *struct{ Text, UpdatedBy string }
		Severity           map[string]any
		VerificationState  *string
		Confidence         *float64
		Criticality        *float64
		Types              []any
		UserDefinedFields  map[string]string
		Workflow           *struct{ Status string }
		RelatedFindings    []any
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if n := len(in.FindingIdentifiers); n < 1 || n > 100 {
		return nil, errBadRequest("InvalidInputException", "FindingIdentifiers must contain 1 to 100 items, got %d", n)
	}
	switch {
	case in.Workflow != nil && !slices.Contains(shWorkflowStatuses, in.Workflow.Status):
		return nil, errBadRequest("InvalidInputException", "Invalid Workflow.Status %q: valid values are %s", in.Workflow.Status, strings.Join(shWorkflowStatuses, ", "))
	case in.VerificationState != nil && !slices.Contains(shVerificationStates, *in.VerificationState):
		return nil, errBadRequest("InvalidInputException", "Invalid VerificationState %q", *in.VerificationState)
	case in.Confidence != nil && (*in.Confidence < 0 || *in.Confidence > 100):
		return nil, errBadRequest("InvalidInputException", "Confidence must be between 0 and 100")
	case in.Criticality != nil && (*in.Criticality < 0 || *in.Criticality > 100):
		return nil, errBadRequest("InvalidInputException", "Criticality must be between 0 and 100")
	case in.Note != nil && (strings.TrimSpace(in.Note.Text) == "" || len(in.Note.Text) > 512 || strings.TrimSpace(in.Note.UpdatedBy) == "" || len(in.Note.UpdatedBy) > 512):
		return nil, errBadRequest("InvalidInputException", "Note.Text and Note.UpdatedBy must hold 1 to 512 characters")
	}
	if in.Severity != nil {
		if msg := shValidateSeverity("Severity", in.Severity); msg != "" {
			return nil, errBadRequest("InvalidInputException", "Invalid %s", msg)
		}
	}
	if in.Types != nil {
		if msg := shValidateTypes("Types", in.Types, true); msg != "" {
			return nil, errBadRequest("InvalidInputException", "Invalid %s", msg)
		}
	}
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for _, fi := range in.FindingIdentifiers {
		seen[shKey(fi.ProductArn, fi.Id)]++
	}
	processed, unprocessed := []map[string]string{}, []map[string]any{}
	reject := func(id, product, code, msg string) {
		unprocessed = append(unprocessed, map[string]any{
			"FindingIdentifier": map[string]string{"Id": id, "ProductArn": product}, "ErrorCode": code, "ErrorMessage": msg})
	}
	now := req.srv.now().UTC().Format(time.RFC3339Nano)
	for _, fi := range in.FindingIdentifiers {
		if seen[shKey(fi.ProductArn, fi.Id)] > 1 {
			reject(fi.Id, fi.ProductArn, "DuplicatedFindingIdentifier", "Finding Identifier is duplicated")
			continue
		}
		x := st.findImported(fi.ProductArn, fi.Id)
		if x == nil {
			reject(fi.Id, fi.ProductArn, "FindingNotFound", "Finding Not Found")
			continue
		}
		f := x.f
		if in.Note != nil {
			f["Note"] = map[string]any{"Text": in.Note.Text, "UpdatedBy": in.Note.UpdatedBy, "UpdatedAt": now}
		}
		if in.Workflow != nil {
			f["Workflow"] = map[string]any{"Status": in.Workflow.Status}
		}
		if in.VerificationState != nil {
			f["VerificationState"] = *in.VerificationState
		}
		if in.UserDefinedFields != nil {
			udf := map[string]any{}
			for k, v := range in.UserDefinedFields {
				udf[k] = v
			}
			f["UserDefinedFields"] = udf
		}
		set := func(k string, v any) {
			f[k] = v
			x.customer[k] = true
		}
		if in.Severity != nil {
			sev := maps.Clone(in.Severity)
			shNormalizeSeverity(sev)
			set("Severity", sev)
		}
		if in.Confidence != nil {
			set("Confidence", *in.Confidence)
		}
		if in.Criticality != nil {
			set("Criticality", *in.Criticality)
		}
		if in.Types != nil {
			set("Types", shCopy(in.Types))
		}
		if in.RelatedFindings != nil {
			set("RelatedFindings", shCopy(in.RelatedFindings))
		}
		processed = append(processed, map[string]string{"Id": fi.Id, "ProductArn": fi.ProductArn})
	}
	return map[string]any{"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}, nil
}

// shField is m[k] when v is a JSON object.
func shField(v any, k string) any {
	switch m := v.(type) {
	case map[string]any:
		return m[k]
	case shFinding:
		return m[k]
	case map[string]string:
		if s, ok := m[k]; ok {
			return s
		}
	}
	return nil
}

func shString(v any) string {
	s, _ := v.(string)
	return s
}

// shValues collects the strings at path in a finding, across arrays
// (Resources[].Id): a filter matches when any of them does.
func shValues(v any, path []string) []string {
	if len(path) == 0 {
		switch x := v.(type) {
		case string:
			return []string{x}
		case []string:
			return x
		case []any:
			var out []string
			for _, e := range x {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
		return nil
	}
	var out []string
	switch x := v.(type) {
	case shFinding:
		return shValues(x[path[0]], path[1:])
	case map[string]any:
		return shValues(x[path[0]], path[1:])
	case map[string]string:
		if s, ok := x[path[0]]; ok && len(path) == 1 {
			return []string{s}
		}
	case []map[string]string:
		for _, e := range x {
			out = append(out, shValues(e, path)...)
		}
	case []map[string]any:
		for _, e := range x {
			out = append(out, shValues(e, path)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, shValues(e, path)...)
		}
	}
	return out
}

// shCopy deep-copies decoded JSON (and the computed findings' maps).
func shCopy(v any) any {
	switch x := v.(type) {
	case shFinding:
		return shFinding(shCopy(map[string]any(x)).(map[string]any))
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = shCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = shCopy(e)
		}
		return s
	case map[string]string:
		return maps.Clone(x)
	case []string:
		return slices.Clone(x)
	case []map[string]string:
		s := make([]map[string]string, len(x))
		for i, e := range x {
			s[i] = maps.Clone(e)
		}
		return s
	}
	return v
}

// shFilterPaths are the string filters of GetFindings the simulator
// supports, as paths into the finding.
var shFilterPaths = map[string][]string{
	"Id":                              {"Id"},
	"ProductArn":                      {"ProductArn"},
	"GeneratorId":                     {"GeneratorId"},
	"AwsAccountId":                    {"AwsAccountId"},
	"Region":                          {"Region"},
	"ProductName":                     {"ProductName"},
	"CompanyName":                     {"CompanyName"},
	"Type":                            {"Types"},
	"Title":                           {"Title"},
	"Description":                     {"Description"},
	"RecordState":                     {"RecordState"},
	"SeverityLabel":                   {"Severity", "Label"},
	"ComplianceStatus":                {"Compliance", "Status"},
	"ComplianceSecurityControlId":     {"Compliance", "SecurityControlId"},
	"ComplianceAssociatedStandardsId": {"Compliance", "AssociatedStandards", "StandardsId"},
	"WorkflowStatus":                  {"Workflow", "Status"},
	"WorkflowState":                   {"WorkflowState"},
	"VerificationState":               {"VerificationState"},
	"ResourceType":                    {"Resources", "Type"},
	"ResourceId":                      {"Resources", "Id"},
	"ResourceRegion":                  {"Resources", "Region"},
	"NoteText":                        {"Note", "Text"},
}

// shMapFilterFields are the map filters (Key, Value, Comparison).
var shMapFilterFields = map[string]string{"ProductFields": "ProductFields", "UserDefinedFields": "UserDefinedFields"}

// shFilterValues returns the values a filter of field compares, and
// whether the simulator supports that field.
func shFilterValues(f shFinding, field string, flt shStringFilter) ([]string, bool) {
	if p, ok := shFilterPaths[field]; ok {
		return shValues(f, p), true
	}
	if m, ok := shMapFilterFields[field]; ok {
		return shValues(f, []string{m, flt.Key}), true
	}
	return nil, false
}

// shValidFilters checks the filters of a GetFindings call.
func shValidFilters(filters map[string][]shStringFilter) error {
	for field, list := range filters {
		_, str := shFilterPaths[field]
		_, isMap := shMapFilterFields[field]
		if !str && !isMap {
			return errBadRequest("InvalidInputException", "The simulator does not support the finding filter %s", field)
		}
		for _, flt := range list {
			valid := []string{"", "EQUALS", "PREFIX", "NOT_EQUALS", "PREFIX_NOT_EQUALS", "CONTAINS", "NOT_CONTAINS"}
			if isMap {
				valid = []string{"", "EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS"}
				if flt.Key == "" {
					return errBadRequest("InvalidInputException", "Filter %s requires a Key", field)
				}
			}
			if !slices.Contains(valid, flt.Comparison) {
				return newError(http.StatusBadRequest, "InvalidInputException", "Invalid Comparison %q for filter %s", flt.Comparison, field)
			}
		}
	}
	return nil
}
