package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Security Hub (REST-JSON, signing name "securityhub"). Control findings are
// not stored: GetFindings evaluates each enabled control against the
// account's current state with the Config rule evaluators
// (svc_config_rules.go), so a fixed resource's finding turns PASSED at once.
// Each standard carries a subset of its real controls: the ones orgguard's
// baseline maps to. Findings imported by finding providers are stored
// (svc_securityhub_findings.go) and returned after the control findings.
func securityHubService() *service {
	return &service{
		Name:     "securityhub",
		Protocol: protoRESTJSON,
		// Security Hub throttles with LimitExceededException, HTTP 429 ("...
		// beyond the current account or throttling limits"; no
		// TooManyRequestsException in its model).
		Codes: errorCodes{Internal: "InternalException", Validation: "InvalidInputException",
			Throttling: "LimitExceededException", ThrottlingStatus: 429},
		Routes: []route{
			{Method: "POST", Pattern: "/accounts", Op: "EnableSecurityHub", Handler: shEnable},
			{Method: "GET", Pattern: "/accounts", Op: "DescribeHub", Handler: shDescribeHub},
			{Method: "DELETE", Pattern: "/accounts", Op: "DisableSecurityHub", Handler: shDisable},
			{Method: "POST", Pattern: "/standards/get", Op: "GetEnabledStandards", Handler: shGetEnabledStandards},
			{Method: "POST", Pattern: "/standards/register", Op: "BatchEnableStandards", Handler: shBatchEnableStandards},
			{Method: "POST", Pattern: "/standards/deregister", Op: "BatchDisableStandards", Handler: shBatchDisableStandards},
			{Method: "GET", Pattern: "/standards", Op: "DescribeStandards", Handler: shDescribeStandards},
			{Method: "GET", Pattern: "/standards/controls/{StandardsSubscriptionArn+}", Op: "DescribeStandardsControls", Handler: shDescribeStandardsControls},
			{Method: "PATCH", Pattern: "/standards/control/{StandardsControlArn+}", Op: "UpdateStandardsControl", Handler: shUpdateStandardsControl},
			{Method: "POST", Pattern: "/findings/import", Op: "BatchImportFindings", Handler: shBatchImportFindings},
			{Method: "PATCH", Pattern: "/findings/batchupdate", Op: "BatchUpdateFindings", Handler: shBatchUpdateFindings},
			{Method: "POST", Pattern: "/findings", Op: "GetFindings", Handler: shGetFindings},
		},
	}
}

// shSecurityControl is one Security Hub security control and the check
// behind it.
type shSecurityControl struct {
	Title, Severity string
	Rule            string            // Config rule identifier whose evaluator decides
	Params          map[string]string // its parameters
	eval            cfgEvaluator      // or a direct evaluator
}

var shSecurityControls = map[string]shSecurityControl{
	"CloudTrail.1": {Title: "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read and write management events", Severity: "HIGH", Rule: "MULTI_REGION_CLOUD_TRAIL_ENABLED"},
	"CloudWatch.1": {Title: "A log metric filter and alarm should exist for usage of the \"root\" user", Severity: "LOW", eval: shRootActivityFilter},
	"Config.1":     {Title: "AWS Config should be enabled and use the service-linked role for resource recording", Severity: "MEDIUM", eval: shConfigEnabled},
	"EC2.2":        {Title: "VPC default security groups should not allow inbound or outbound traffic", Severity: "HIGH", Rule: "VPC_DEFAULT_SECURITY_GROUP_CLOSED"},
	"EC2.6":        {Title: "VPC flow logging should be enabled in all VPCs", Severity: "MEDIUM", Rule: "VPC_FLOW_LOGS_ENABLED", Params: map[string]string{"trafficType": "REJECT"}},
	"EC2.7":        {Title: "EBS default encryption should be enabled", Severity: "MEDIUM", Rule: "EC2_EBS_ENCRYPTION_BY_DEFAULT"},
	"EC2.8":        {Title: "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)", Severity: "HIGH", Rule: "EC2_IMDSV2_CHECK"},
	"EC2.13":       {Title: "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 22", Severity: "HIGH", Rule: "INCOMING_SSH_DISABLED"},
	"EC2.14":       {Title: "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 3389", Severity: "HIGH", eval: evalOpenPorts(func(map[string]string) []int { return []int{3389} })},
	"GuardDuty.1":  {Title: "GuardDuty should be enabled", Severity: "HIGH", Rule: "GUARDDUTY_ENABLED_CENTRALIZED"},
	"IAM.3":        {Title: "IAM users' access keys should be rotated every 90 days or less", Severity: "MEDIUM", Rule: "ACCESS_KEYS_ROTATED"},
	"IAM.4":        {Title: "IAM root user access key should not exist", Severity: "CRITICAL", Rule: "IAM_ROOT_ACCESS_KEY_CHECK"},
	"IAM.6":        {Title: "Hardware MFA should be enabled for the root user", Severity: "CRITICAL", Rule: "ROOT_ACCOUNT_MFA_ENABLED"},
	"IAM.7":        {Title: "Password policies for IAM users should have strong configurations", Severity: "LOW", Rule: "IAM_PASSWORD_POLICY"},
	"IAM.8":        {Title: "Unused IAM user credentials should be removed", Severity: "MEDIUM", Rule: "IAM_USER_UNUSED_CREDENTIALS_CHECK"},
	"IAM.9":        {Title: "MFA should be enabled for the root user", Severity: "CRITICAL", Rule: "ROOT_ACCOUNT_MFA_ENABLED"},
	"IAM.28":       {Title: "IAM Access Analyzer external access analyzer should be enabled", Severity: "HIGH", eval: shAnalyzerEnabled},
	"KMS.4":        {Title: "AWS KMS key rotation should be enabled", Severity: "MEDIUM", Rule: "CMK_BACKING_KEY_ROTATION_ENABLED"},
	"S3.1":         {Title: "S3 general purpose buckets should have block public access settings enabled", Severity: "MEDIUM", Rule: "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC"},
}

// shStandard is a standard: its ARN path, name and controls as
// (standard control ID, security control ID) pairs.
type shStandard struct {
	Path, Name, Description string
	Ruleset, Default        bool // Ruleset: the legacy "ruleset" ARN without region
	Controls                [][2]string
}

var shStandards = []shStandard{
	{Path: "aws-foundational-security-best-practices/v/1.0.0", Name: "AWS Foundational Security Best Practices v1.0.0", Default: true,
		Description: "The AWS Foundational Security Best Practices standard is a set of automated security checks that detect when AWS accounts and deployed resources do not align to security best practices.",
		Controls:    ids("CloudTrail.1", "Config.1", "EC2.2", "EC2.6", "EC2.7", "EC2.8", "EC2.13", "EC2.14", "GuardDuty.1", "IAM.3", "IAM.4", "IAM.6", "IAM.7", "IAM.8", "IAM.28", "KMS.4", "S3.1")},
	{Path: "cis-aws-foundations-benchmark/v/1.2.0", Name: "CIS AWS Foundations Benchmark v1.2.0", Ruleset: true, Default: true,
		Description: "The Center for Internet Security (CIS) AWS Foundations Benchmark v1.2.0 is a set of security configuration best practices for AWS.",
		Controls: [][2]string{{"1.3", "IAM.8"}, {"1.4", "IAM.3"}, {"1.9", "IAM.7"}, {"1.12", "IAM.4"}, {"1.13", "IAM.9"}, {"2.1", "CloudTrail.1"},
			{"2.5", "Config.1"}, {"2.8", "KMS.4"}, {"2.9", "EC2.6"}, {"3.3", "CloudWatch.1"}, {"4.1", "EC2.13"}, {"4.2", "EC2.14"}, {"4.3", "EC2.2"}}},
	{Path: "cis-aws-foundations-benchmark/v/1.4.0", Name: "CIS AWS Foundations Benchmark v1.4.0",
		Description: "The Center for Internet Security (CIS) AWS Foundations Benchmark v1.4.0 is a set of security configuration best practices for AWS.",
		Controls: [][2]string{{"1.4", "IAM.4"}, {"1.6", "IAM.6"}, {"1.8", "IAM.7"}, {"1.12", "IAM.8"}, {"1.14", "IAM.3"}, {"2.1.5.1", "S3.1"},
			{"2.2.1", "EC2.7"}, {"3.1", "CloudTrail.1"}, {"3.5", "Config.1"}, {"3.8", "KMS.4"}, {"3.9", "EC2.6"}, {"4.3", "CloudWatch.1"}, {"5.3", "EC2.2"}}},
	{Path: "cis-aws-foundations-benchmark/v/3.0.0", Name: "CIS AWS Foundations Benchmark v3.0.0",
		Description: "The Center for Internet Security (CIS) AWS Foundations Benchmark v3.0.0 is a set of security configuration best practices for AWS.",
		Controls: [][2]string{{"1.4", "IAM.4"}, {"1.5", "IAM.9"}, {"1.8", "IAM.7"}, {"1.12", "IAM.8"}, {"1.14", "IAM.3"}, {"1.20", "IAM.28"}, {"2.1.4", "S3.1"},
			{"2.2.1", "EC2.7"}, {"3.1", "CloudTrail.1"}, {"3.3", "Config.1"}, {"3.6", "KMS.4"}, {"3.7", "EC2.6"}, {"5.4", "EC2.2"}, {"5.6", "EC2.8"}}},
	{Path: "pci-dss/v/3.2.1", Name: "PCI DSS v3.2.1",
		Description: "The Payment Card Industry Data Security Standard (PCI DSS) v3.2.1 is an information security standard for entities that store, process, and/or transmit cardholder data.",
		Controls: [][2]string{{"PCI.CloudTrail.4", "CloudTrail.1"}, {"PCI.Config.1", "Config.1"}, {"PCI.EC2.2", "EC2.2"}, {"PCI.EC2.5", "EC2.13"},
			{"PCI.EC2.6", "EC2.6"}, {"PCI.GuardDuty.1", "GuardDuty.1"}, {"PCI.IAM.4", "IAM.6"}, {"PCI.IAM.8", "IAM.7"}, {"PCI.KMS.1", "KMS.4"}}},
	{Path: "pci-dss/v/4.0.1", Name: "PCI DSS v4.0.1",
		Description: "The Payment Card Industry Data Security Standard (PCI DSS) v4.0.1 provides a framework of rules and guidelines for safely handling credit and debit card information.",
		Controls:    ids("CloudTrail.1", "Config.1", "EC2.2", "EC2.13", "EC2.14", "GuardDuty.1", "IAM.3", "IAM.7", "IAM.8", "KMS.4", "S3.1")},
	{Path: "nist-800-53/v/5.0.0", Name: "NIST Special Publication 800-53 Revision 5",
		Description: "NIST SP 800-53 Rev. 5 is a cybersecurity and compliance framework developed by the National Institute of Standards and Technology.",
		Controls:    ids("CloudTrail.1", "Config.1", "EC2.2", "EC2.6", "EC2.7", "EC2.8", "EC2.13", "EC2.14", "GuardDuty.1", "IAM.3", "IAM.4", "IAM.6", "IAM.7", "IAM.8", "KMS.4", "S3.1")},
}

func ids(sc ...string) [][2]string {
	out := make([][2]string, len(sc))
	for i, s := range sc {
		out[i] = [2]string{s, s}
	}
	return out
}

func (st *shStandard) arn(region string) string {
	if st.Ruleset {
		return "arn:aws:securityhub:::ruleset/" + st.Path
	}
	return "arn:aws:securityhub:" + region + "::standards/" + st.Path
}

func shStandardByARN(arn, region string) *shStandard {
	for i := range shStandards {
		if shStandards[i].arn(region) == arn {
			return &shStandards[i]
		}
	}
	return nil
}

type securityHubState struct {
	enabled    bool
	subscribed time.Time
	generator  string
	subs       []*shSubscription
	// imported findings in import order, indexed by shKey(ProductArn, Id).
	imported    []*shImported
	importedIdx map[string]int
}

type shSubscription struct {
	std      *shStandard
	arn      string
	disabled map[string]shDisabled // standard control ID -> reason
}

type shDisabled struct {
	Reason string
	At     time.Time
}

func shStateOf(a *account, region string) *securityHubState {
	return regionData(a, region, "securityhub", func() *securityHubState { return &securityHubState{} })
}

func shHub(req *request) (*securityHubState, error) {
	st := shStateOf(req.Account, req.Region)
	if !st.enabled {
		return nil, newError(http.StatusUnauthorized, "InvalidAccessException",
			"Account %s is not subscribed to AWS Security Hub", req.Account.ID)
	}
	return st, nil
}

func shHubARN(req *request) string {
	return fmt.Sprintf("arn:aws:securityhub:%s:%s:hub/default", req.Region, req.Account.ID)
}

func shSubscribe(req *request, st *securityHubState, std *shStandard) *shSubscription {
	for _, s := range st.subs {
		if s.std == std {
			return s
		}
	}
	s := &shSubscription{std: std, disabled: map[string]shDisabled{},
		arn: fmt.Sprintf("arn:aws:securityhub:%s:%s:subscription/%s", req.Region, req.Account.ID, std.Path)}
	st.subs = append(st.subs, s)
	return s
}

func shEnable(req *request) (any, error) {
	var in struct {
		EnableDefaultStandards  *bool  `json:"EnableDefaultStandards"`
		ControlFindingGenerator string `json:"ControlFindingGenerator"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st := shStateOf(req.Account, req.Region)
	if st.enabled {
		return nil, errConflict("ResourceConflictException", "Account %s is already subscribed to Security Hub", req.Account.ID)
	}
	switch in.ControlFindingGenerator {
	case "":
		in.ControlFindingGenerator = "SECURITY_CONTROL"
	case "SECURITY_CONTROL", "STANDARD_CONTROL":
	default:
		return nil, errBadRequest("InvalidInputException", "Invalid ControlFindingGenerator %s", in.ControlFindingGenerator)
	}
	st.enabled, st.subscribed, st.generator = true, req.srv.now(), in.ControlFindingGenerator
	if in.EnableDefaultStandards == nil || *in.EnableDefaultStandards {
		for i := range shStandards {
			if shStandards[i].Default {
				shSubscribe(req, st, &shStandards[i])
			}
		}
	}
	return map[string]any{}, nil
}

func shDescribeHub(req *request) (any, error) {
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	if arn := req.HTTP.URL.Query().Get("HubArn"); arn != "" && arn != shHubARN(req) {
		return nil, errNotFound("ResourceNotFoundException", "Hub %s not found", arn)
	}
	return map[string]any{
		"HubArn": shHubARN(req), "SubscribedAt": st.subscribed.UTC().Format(time.RFC3339Nano),
		"AutoEnableControls": true, "ControlFindingGenerator": st.generator,
	}, nil
}

func shDisable(req *request) (any, error) {
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	*st = securityHubState{}
	return map[string]any{}, nil
}

func shSubscriptionOut(s *shSubscription, req *request, status string) map[string]any {
	return map[string]any{
		"StandardsSubscriptionArn": s.arn, "StandardsArn": s.std.arn(req.Region), "StandardsInput": map[string]string{},
		"StandardsStatus": status, "StandardsControlsUpdatable": "READY_FOR_UPDATES",
	}
}

func shGetEnabledStandards(req *request) (any, error) {
	var in struct {
		StandardsSubscriptionArns []string
		MaxResults                int
		NextToken                 string
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	limit, err := req.pageLimit(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	var list []*shSubscription
	for _, s := range st.subs {
		if len(in.StandardsSubscriptionArns) == 0 || slices.Contains(in.StandardsSubscriptionArns, s.arn) {
			list = append(list, s)
		}
	}
	page, next, err := paginate(list, in.NextToken, limit, errBadRequest("InvalidInputException", "Invalid NextToken"))
	if err != nil {
		return nil, err
	}
	subs := []map[string]any{}
	for _, s := range page {
		subs = append(subs, shSubscriptionOut(s, req, "READY"))
	}
	out := map[string]any{"StandardsSubscriptions": subs}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func shBatchEnableStandards(req *request) (any, error) {
	var in struct {
		StandardsSubscriptionRequests []struct{ StandardsArn string }
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	if n := len(in.StandardsSubscriptionRequests); n < 1 || n > 25 {
		return nil, errBadRequest("InvalidInputException", "StandardsSubscriptionRequests must hold 1 to 25 items")
	}
	var stds []*shStandard
	for _, r := range in.StandardsSubscriptionRequests {
		std := shStandardByARN(r.StandardsArn, req.Region)
		if std == nil {
			return nil, errBadRequest("InvalidInputException", "Invalid StandardsArn: %s", r.StandardsArn)
		}
		stds = append(stds, std)
	}
	subs := []map[string]any{}
	for _, std := range stds {
		subs = append(subs, shSubscriptionOut(shSubscribe(req, st, std), req, "PENDING"))
	}
	return map[string]any{"StandardsSubscriptions": subs}, nil
}

func shBatchDisableStandards(req *request) (any, error) {
	var in struct{ StandardsSubscriptionArns []string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	if n := len(in.StandardsSubscriptionArns); n < 1 || n > 25 {
		return nil, errBadRequest("InvalidInputException", "StandardsSubscriptionArns must hold 1 to 25 items")
	}
	subs := []map[string]any{}
	for _, arn := range in.StandardsSubscriptionArns {
		i := slices.IndexFunc(st.subs, func(s *shSubscription) bool { return s.arn == arn })
		if i < 0 {
			return nil, errBadRequest("InvalidInputException", "Invalid StandardsSubscriptionArn: %s", arn)
		}
		subs = append(subs, shSubscriptionOut(st.subs[i], req, "DELETING"))
		st.subs = slices.Delete(st.subs, i, i+1)
	}
	return map[string]any{"StandardsSubscriptions": subs}, nil
}

func shQueryPage(req *request) (int, string, error) {
	q := req.HTTP.URL.Query()
	max := 0
	if v := q.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, "", errBadRequest("InvalidInputException", "Invalid MaxResults")
		}
		max = n
	}
	limit, err := req.pageLimit(max, 100, 100)
	return limit, q.Get("NextToken"), err
}

func shDescribeStandards(req *request) (any, error) {
	limit, token, err := shQueryPage(req)
	if err != nil {
		return nil, err
	}
	all := make([]*shStandard, len(shStandards))
	for i := range shStandards {
		all[i] = &shStandards[i]
	}
	page, next, err := paginate(all, token, limit, errBadRequest("InvalidInputException", "Invalid NextToken"))
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, std := range page {
		list = append(list, map[string]any{
			"StandardsArn": std.arn(req.Region), "Name": std.Name, "Description": std.Description,
			"EnabledByDefault": std.Default, "StandardsManagedBy": map[string]string{"Company": "AWS", "Product": "Security Hub"},
		})
	}
	out := map[string]any{"Standards": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *shSubscription) controlARN(req *request, controlID string) string {
	return fmt.Sprintf("arn:aws:securityhub:%s:%s:control/%s/%s", req.Region, req.Account.ID, s.std.Path, controlID)
}

func shDescribeStandardsControls(req *request) (any, error) {
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	arn := req.Path["StandardsSubscriptionArn"]
	i := slices.IndexFunc(st.subs, func(s *shSubscription) bool { return s.arn == arn })
	if i < 0 {
		return nil, errNotFound("ResourceNotFoundException", "Subscription %s not found", arn)
	}
	sub := st.subs[i]
	limit, token, err := shQueryPage(req)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(sub.std.Controls, token, limit, errBadRequest("InvalidInputException", "Invalid NextToken"))
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, c := range page {
		sc := shSecurityControls[c[1]]
		ctl := map[string]any{
			"StandardsControlArn": sub.controlARN(req, c[0]), "ControlId": c[0], "Title": sc.Title, "Description": sc.Title,
			"SeverityRating": sc.Severity, "ControlStatus": "ENABLED", "RelatedRequirements": []string{},
			"RemediationUrl":         "https://docs.aws.amazon.com/console/securityhub/" + c[1] + "/remediation",
			"ControlStatusUpdatedAt": st.subscribed.UTC().Format(time.RFC3339Nano),
		}
		if d, ok := sub.disabled[c[0]]; ok {
			ctl["ControlStatus"], ctl["DisabledReason"] = "DISABLED", d.Reason
			ctl["ControlStatusUpdatedAt"] = d.At.UTC().Format(time.RFC3339Nano)
		}
		list = append(list, ctl)
	}
	out := map[string]any{"Controls": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func shUpdateStandardsControl(req *request) (any, error) {
	var in struct{ ControlStatus, DisabledReason string }
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	arn := req.Path["StandardsControlArn"]
	for _, sub := range st.subs {
		for _, c := range sub.std.Controls {
			if sub.controlARN(req, c[0]) != arn {
				continue
			}
			switch in.ControlStatus {
			case "ENABLED":
				delete(sub.disabled, c[0])
			case "DISABLED":
				if in.DisabledReason == "" {
					return nil, errBadRequest("InvalidInputException", "DisabledReason is required when ControlStatus is DISABLED")
				}
				sub.disabled[c[0]] = shDisabled{Reason: in.DisabledReason, At: req.srv.now()}
			default:
				return nil, errBadRequest("InvalidInputException", "Invalid ControlStatus %q", in.ControlStatus)
			}
			return map[string]any{}, nil
		}
	}
	return nil, errNotFound("ResourceNotFoundException", "Control %s not found", arn)
}

// shFinding is one computed finding.
type shFinding map[string]any

func shFindings(req *request, st *securityHubState) []shFinding {
	type assoc struct {
		standards []string // standards ARNs that enable the control
	}
	s, a, region := req.srv, req.Account, req.Region
	now := s.now().UTC().Format(time.RFC3339Nano)
	created := st.subscribed.UTC().Format(time.RFC3339Nano)
	var out []shFinding
	mk := func(id, generator, scID string, std []string, sc shSecurityControl, e cfgEvaluation, fields map[string]string) shFinding {
		status := "PASSED"
		if e.Compliance == "NON_COMPLIANT" {
			status = "FAILED"
		}
		label := sc.Severity
		if status == "PASSED" {
			label = "INFORMATIONAL"
		}
		norm := map[string]int{"INFORMATIONAL": 0, "LOW": 1, "MEDIUM": 40, "HIGH": 70, "CRITICAL": 90}[label]
		stds := []map[string]string{}
		for _, x := range std {
			stds = append(stds, map[string]string{"StandardsId": strings.TrimPrefix(strings.TrimPrefix(x, "arn:aws:securityhub:::"), "arn:aws:securityhub:"+region+"::")})
		}
		workflow := "NEW"
		if status == "PASSED" {
			workflow = "RESOLVED"
		}
		return shFinding{
			"SchemaVersion": "2018-10-08", "Id": id, "GeneratorId": generator,
			"ProductArn":  fmt.Sprintf("arn:aws:securityhub:%s::product/aws/securityhub", region),
			"ProductName": "Security Hub", "CompanyName": "AWS", "Region": region, "AwsAccountId": a.ID,
			"Types":           []string{"Software and Configuration Checks/Industry and Regulatory Standards"},
			"FirstObservedAt": created, "LastObservedAt": now, "CreatedAt": created, "UpdatedAt": now,
			"Severity": map[string]any{"Label": label, "Normalized": norm, "Original": label},
			"Title":    sc.Title, "Description": sc.Title,
			"Remediation": map[string]any{"Recommendation": map[string]string{"Text": "For information on how to correct this issue, consult the AWS Security Hub controls documentation.",
				"Url": "https://docs.aws.amazon.com/console/securityhub/" + scID + "/remediation"}},
			"ProductFields": fields,
			"Resources": []map[string]string{{"Type": shResourceType(e.ResourceType), "Id": shResourceID(a, region, e),
				"Partition": "aws", "Region": region}},
			"Compliance":    map[string]any{"Status": status, "SecurityControlId": scID, "AssociatedStandards": stds},
			"WorkflowState": "NEW", "Workflow": map[string]string{"Status": workflow}, "RecordState": "ACTIVE",
		}
	}
	if st.generator == "SECURITY_CONTROL" {
		enabled := map[string]*assoc{}
		var order []string
		for _, sub := range st.subs {
			for _, c := range sub.std.Controls {
				if _, off := sub.disabled[c[0]]; off {
					continue
				}
				x := enabled[c[1]]
				if x == nil {
					x = &assoc{}
					enabled[c[1]] = x
					order = append(order, c[1])
				}
				x.standards = append(x.standards, sub.std.arn(region))
			}
		}
		for _, scID := range order {
			sc := shSecurityControls[scID]
			for _, e := range shEvaluate(s, a, region, sc) {
				id := fmt.Sprintf("arn:aws:securityhub:%s:%s:security-control/%s/finding/%s", region, a.ID, scID, shUUID(a.ID, region, scID, e.ResourceID))
				out = append(out, mk(id, "security-control/"+scID, scID, enabled[scID].standards, sc, e,
					map[string]string{"RelatedAWSResources:0/name": "securityhub-" + strings.ToLower(strings.ReplaceAll(scID, ".", "-")), "aws/securityhub/ProductName": "Security Hub", "aws/securityhub/CompanyName": "AWS"}))
			}
		}
	} else {
		for _, sub := range st.subs {
			for _, c := range sub.std.Controls {
				if _, off := sub.disabled[c[0]]; off {
					continue
				}
				sc := shSecurityControls[c[1]]
				gen := sub.std.Path + "/" + c[0]
				if sub.std.Ruleset {
					gen = "arn:aws:securityhub:::ruleset/" + sub.std.Path + "/rule/" + c[0]
				}
				for _, e := range shEvaluate(s, a, region, sc) {
					id := fmt.Sprintf("%s/finding/%s", sub.arn, shUUID(a.ID, region, sub.std.Path, c[0], e.ResourceID))
					out = append(out, mk(id, gen, c[1], []string{sub.std.arn(region)}, sc, e,
						map[string]string{"StandardsArn": sub.std.arn(region), "StandardsSubscriptionArn": sub.arn, "ControlId": c[0],
							"StandardsControlArn": sub.controlARN(req, c[0]), "aws/securityhub/ProductName": "Security Hub"}))
				}
			}
		}
	}
	return out
}

func shEvaluate(s *Server, a *account, region string, sc shSecurityControl) []cfgEvaluation {
	if sc.eval != nil {
		return sc.eval(s, a, region, sc.Params)
	}
	if ev := cfgEvaluators[sc.Rule]; ev != nil {
		p := sc.Params
		if p == nil {
			p = map[string]string{}
		}
		return ev(s, a, region, p)
	}
	return nil
}

func shUUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "|")))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// shResourceType converts a CloudFormation resource type to Security Hub's
// ("AWS::EC2::SecurityGroup" -> "AwsEc2SecurityGroup").
func shResourceType(t string) string {
	switch t {
	case "AWS::::Account":
		return "AwsAccount"
	case "AWS::EC2::SecurityGroup":
		return "AwsEc2SecurityGroup"
	case "AWS::EC2::VPC":
		return "AwsEc2Vpc"
	case "AWS::EC2::Instance":
		return "AwsEc2Instance"
	case "AWS::IAM::User":
		return "AwsIamUser"
	case "AWS::S3::Bucket":
		return "AwsS3Bucket"
	case "AWS::KMS::Key":
		return "AwsKmsKey"
	}
	return "Other"
}

func shResourceID(a *account, region string, e cfgEvaluation) string {
	switch e.ResourceType {
	case "AWS::::Account":
		return "AWS::::Account:" + a.ID
	case "AWS::EC2::SecurityGroup":
		return fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, a.ID, e.ResourceID)
	case "AWS::EC2::VPC":
		return fmt.Sprintf("arn:aws:ec2:%s:%s:vpc/%s", region, a.ID, e.ResourceID)
	case "AWS::EC2::Instance":
		return fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", region, a.ID, e.ResourceID)
	case "AWS::S3::Bucket":
		return "arn:aws:s3:::" + e.ResourceID
	case "AWS::KMS::Key":
		return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, a.ID, e.ResourceID)
	case "AWS::IAM::User":
		for _, u := range cfgIAM(a).users {
			if u.ID == e.ResourceID {
				return fmt.Sprintf("arn:aws:iam::%s:user/%s", a.ID, u.Name)
			}
		}
	}
	return e.ResourceID
}

func shConfigEnabled(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	st := regionData(a, region, "config", func() *configState { return &configState{} })
	ok := st.recorder != nil && st.recording && strings.Contains(st.recorder.RoleARN, "/aws-service-role/config.amazonaws.com/")
	return account1(a, ok, "", "AWS Config is not recording with the service-linked role.")
}

func shAnalyzerEnabled(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	st := regionData(a, region, "access-analyzer", func() *accessAnalyzerState { return &accessAnalyzerState{} })
	ok := slices.ContainsFunc(st.analyzers, func(x *aaAnalyzer) bool { return x.Type == "ACCOUNT" || x.Type == "ORGANIZATION" })
	return account1(a, ok, "", "No external access analyzer is enabled.")
}

// shRootActivityFilter checks for the CIS root-activity metric filter on the
// log group of a logging multi-Region trail.
func shRootActivityFilter(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	ok := false
	for _, t := range ctTrailsApplying(s, a, region) {
		if !t.Logging || !t.MultiRegion || t.CloudWatchLogsLogGroupArn == "" {
			continue
		}
		parts := strings.SplitN(strings.TrimSuffix(t.CloudWatchLogsLogGroupArn, ":*"), ":", 7)
		if len(parts) != 7 || s.accounts[parts[4]] == nil {
			continue
		}
		g := logsStateOf(s.accounts[parts[4]], parts[3]).find(parts[6])
		if g == nil {
			continue
		}
		for _, f := range g.Filters {
			p := strings.ReplaceAll(f.Pattern, " ", "")
			if !strings.Contains(p, `$.userIdentity.type="Root"`) || !strings.Contains(p, `$.userIdentity.invokedByNOTEXISTS`) {
				continue
			}
			for _, tr := range f.Transformations {
				ns, _ := tr["metricNamespace"].(string)
				name, _ := tr["metricName"].(string)
				if cwAlarmOnMetric(s.accounts[parts[4]], parts[3], ns, name) {
					ok = true
				}
			}
		}
	}
	return account1(a, ok, "", "No metric filter and alarm for root user activity on a multi-Region trail's log group.")
}

// shStringFilter is one StringFilter (or MapFilter, with Key) of GetFindings.
type shStringFilter struct {
	Key        string
	Value      string
	Comparison string
}

func (f shStringFilter) match(v string) bool {
	switch f.Comparison {
	case "EQUALS", "":
		return v == f.Value
	case "PREFIX":
		return strings.HasPrefix(v, f.Value)
	case "NOT_EQUALS":
		return v != f.Value
	case "PREFIX_NOT_EQUALS":
		return !strings.HasPrefix(v, f.Value)
	case "CONTAINS":
		return strings.Contains(v, f.Value)
	case "NOT_CONTAINS":
		return !strings.Contains(v, f.Value)
	}
	return false
}

func shGetFindings(req *request) (any, error) {
	var in struct {
		Filters    map[string][]shStringFilter
		MaxResults int
		NextToken  string
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	st, err := shHub(req)
	if err != nil {
		return nil, err
	}
	limit, err := req.pageLimit(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	if err := shValidFilters(in.Filters); err != nil {
		return nil, err
	}
	var list []shFinding
	for _, f := range append(shFindings(req, st), st.importedFindings()...) {
		ok := true
		for k, filters := range in.Filters {
			// Filters of one field: EQUALS/PREFIX/CONTAINS are ORed,
			// negative comparisons ANDed, as in Security Hub.
			pos, posMatch := false, false
			for _, flt := range filters {
				vals, _ := shFilterValues(f, k, flt)
				neg := strings.HasPrefix(flt.Comparison, "NOT_") || flt.Comparison == "PREFIX_NOT_EQUALS"
				hit := slices.ContainsFunc(vals, flt.match)
				if neg {
					ok = ok && slices.IndexFunc(vals, func(v string) bool { return !flt.match(v) }) < 0
				} else {
					pos = true
					posMatch = posMatch || hit
				}
			}
			if pos && !posMatch {
				ok = false
			}
		}
		if ok {
			list = append(list, f)
		}
	}
	page, next, err := paginate(list, in.NextToken, limit, errBadRequest("InvalidInputException", "Invalid NextToken"))
	if err != nil {
		return nil, err
	}
	// The answer is encoded after the server lock is released: copies.
	found := make([]shFinding, len(page))
	for i, f := range page {
		found[i] = shCopy(f).(shFinding)
	}
	out := map[string]any{"Findings": found}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}
