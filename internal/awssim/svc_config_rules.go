package awssim

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

// Evaluators for the AWS Config managed rules orgguard's baseline uses. They
// run against the simulator's current state whenever compliance is read, so
// fixing a resource (through any API) changes the result at once.

// cfgEvaluation is one resource's result for a rule.
type cfgEvaluation struct {
	ResourceType, ResourceID string
	Compliance               string // COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE
	Annotation               string
}

// cfgEvaluator evaluates a rule with its InputParameters in one account and
// region. A nil evaluator (unknown or custom rule) yields no results, which
// Config reports as INSUFFICIENT_DATA.
type cfgEvaluator func(s *Server, a *account, region string, params map[string]string) []cfgEvaluation

var cfgEvaluators = map[string]cfgEvaluator{
	"VPC_DEFAULT_SECURITY_GROUP_CLOSED":              evalDefaultSGClosed,
	"INCOMING_SSH_DISABLED":                          evalOpenPorts(func(map[string]string) []int { return []int{22} }),
	"RESTRICTED_INCOMING_TRAFFIC":                    evalOpenPorts(restrictedCommonPorts),
	"IAM_PASSWORD_POLICY":                            evalPasswordPolicy,
	"IAM_USER_UNUSED_CREDENTIALS_CHECK":              evalUnusedCredentials,
	"ACCESS_KEYS_ROTATED":                            evalAccessKeysRotated,
	"MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS":             evalConsoleMFA,
	"ROOT_ACCOUNT_MFA_ENABLED":                       evalRootMFA,
	"IAM_ROOT_ACCESS_KEY_CHECK":                      evalRootKeys,
	"S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED":       evalBucketEncryption,
	"S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC": evalAccountPAB,
	"S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS":          evalAccountPAB,
	"EC2_EBS_ENCRYPTION_BY_DEFAULT":                  evalEBSDefault,
	"EC2_IMDSV2_CHECK":                               evalIMDSv2,
	"CMK_BACKING_KEY_ROTATION_ENABLED":               evalKeyRotation,
	"VPC_FLOW_LOGS_ENABLED":                          evalFlowLogs,
	"CLOUD_TRAIL_ENABLED":                            evalCloudTrail(false),
	"MULTI_REGION_CLOUD_TRAIL_ENABLED":               evalCloudTrail(true),
	"GUARDDUTY_ENABLED_CENTRALIZED":                  evalGuardDuty,
	// No CloudFormation stacks are simulated: the rule has nothing to
	// evaluate and reports INSUFFICIENT_DATA.
	"CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK": nil,
}

// cfgResourceTypes is the resource type each evaluator reports, used to apply
// a rule's Scope.ComplianceResourceTypes.
func cfgEC2(a *account, region string) *ec2State { return regionData(a, region, "ec2", newEC2State) }

func cfgIAM(a *account) *iamState { return accountData(a, "iam", newIAMState) }

func account1(a *account, ok bool, good, bad string) []cfgEvaluation {
	e := cfgEvaluation{ResourceType: "AWS::::Account", ResourceID: a.ID, Compliance: "COMPLIANT"}
	if !ok {
		e.Compliance, e.Annotation = "NON_COMPLIANT", bad
	} else {
		e.Annotation = good
	}
	return []cfgEvaluation{e}
}

func evalDefaultSGClosed(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	var out []cfgEvaluation
	for _, g := range cfgEC2(a, region).groups {
		if g.Name != "default" {
			continue
		}
		e := cfgEvaluation{ResourceType: "AWS::EC2::SecurityGroup", ResourceID: g.ID, Compliance: "COMPLIANT"}
		if len(g.Ingress)+len(g.Egress) > 0 {
			e.Compliance = "NON_COMPLIANT"
			e.Annotation = "The default security group has inbound or outbound rules."
		}
		out = append(out, e)
	}
	return out
}

func restrictedCommonPorts(p map[string]string) []int {
	ports := []int{20, 21, 3389, 3306, 4333}
	for i := range ports {
		if v, err := strconv.Atoi(p["blockedPort"+strconv.Itoa(i+1)]); err == nil {
			ports[i] = v
		}
	}
	return ports
}

// evalOpenPorts flags security groups whose ingress opens any of the ports
// (TCP or all traffic) to 0.0.0.0/0 or ::/0.
func evalOpenPorts(ports func(map[string]string) []int) cfgEvaluator {
	return func(s *Server, a *account, region string, p map[string]string) []cfgEvaluation {
		blocked := ports(p)
		var out []cfgEvaluation
		for _, g := range cfgEC2(a, region).groups {
			e := cfgEvaluation{ResourceType: "AWS::EC2::SecurityGroup", ResourceID: g.ID, Compliance: "COMPLIANT"}
			for _, r := range g.Ingress {
				if r.CIDR != "0.0.0.0/0" && r.IPv6 != "::/0" {
					continue
				}
				if r.Protocol != "-1" && r.Protocol != "tcp" {
					continue
				}
				for _, port := range blocked {
					if r.Protocol == "-1" || (r.From <= port && port <= r.To) {
						e.Compliance = "NON_COMPLIANT"
						e.Annotation = "Port " + strconv.Itoa(port) + " is open to the internet."
					}
				}
			}
			out = append(out, e)
		}
		return out
	}
}

func paramInt(p map[string]string, key string, def int) int {
	if v, err := strconv.Atoi(p[key]); err == nil {
		return v
	}
	return def
}

func paramBool(p map[string]string, key string) bool {
	v, ok := p[key]
	return !ok || v == "true"
}

func evalPasswordPolicy(s *Server, a *account, region string, p map[string]string) []cfgEvaluation {
	pp := cfgIAM(a).passwordPolicy
	if pp == nil {
		return account1(a, false, "", "No password policy is set.")
	}
	ok := pp.MinimumPasswordLength >= paramInt(p, "MinimumPasswordLength", 14) &&
		(!paramBool(p, "RequireUppercaseCharacters") || pp.RequireUppercaseCharacters) &&
		(!paramBool(p, "RequireLowercaseCharacters") || pp.RequireLowercaseCharacters) &&
		(!paramBool(p, "RequireSymbols") || pp.RequireSymbols) &&
		(!paramBool(p, "RequireNumbers") || pp.RequireNumbers) &&
		pp.PasswordReusePrevention >= paramInt(p, "PasswordReusePrevention", 24) &&
		pp.MaxPasswordAge > 0 && pp.MaxPasswordAge <= paramInt(p, "MaxPasswordAge", 90)
	return account1(a, ok, "", "The password policy does not meet the rule's parameters.")
}

func olderThan(now time.Time, t time.Time, days int) bool {
	return now.Sub(t) > time.Duration(days)*24*time.Hour
}

func evalUnusedCredentials(s *Server, a *account, region string, p map[string]string) []cfgEvaluation {
	max := paramInt(p, "maxCredentialUsageAge", 90)
	now := s.now()
	var out []cfgEvaluation
	for _, u := range cfgIAM(a).users {
		e := cfgEvaluation{ResourceType: "AWS::IAM::User", ResourceID: u.ID, Compliance: "COMPLIANT"}
		stale := func(created time.Time, last *time.Time) bool {
			if last != nil {
				return olderThan(now, *last, max)
			}
			return olderThan(now, created, max)
		}
		if u.PasswordEnabled && stale(u.PasswordCreated, u.PasswordLastUsed) {
			e.Compliance, e.Annotation = "NON_COMPLIANT", "The console password has not been used within the last "+strconv.Itoa(max)+" days."
		}
		for _, k := range u.Keys {
			if k.Status == "Active" && stale(k.Created, k.LastUsed) {
				e.Compliance, e.Annotation = "NON_COMPLIANT", "Access key "+k.ID+" has not been used within the last "+strconv.Itoa(max)+" days."
			}
		}
		out = append(out, e)
	}
	return out
}

func evalAccessKeysRotated(s *Server, a *account, region string, p map[string]string) []cfgEvaluation {
	max := paramInt(p, "maxAccessKeyAge", 90)
	now := s.now()
	var out []cfgEvaluation
	for _, u := range cfgIAM(a).users {
		e := cfgEvaluation{ResourceType: "AWS::IAM::User", ResourceID: u.ID, Compliance: "COMPLIANT"}
		for _, k := range u.Keys {
			if k.Status == "Active" && olderThan(now, k.Created, max) {
				e.Compliance, e.Annotation = "NON_COMPLIANT", "Access key "+k.ID+" is older than "+strconv.Itoa(max)+" days."
			}
		}
		out = append(out, e)
	}
	return out
}

func evalConsoleMFA(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	var out []cfgEvaluation
	for _, u := range cfgIAM(a).users {
		e := cfgEvaluation{ResourceType: "AWS::IAM::User", ResourceID: u.ID, Compliance: "COMPLIANT"}
		if u.PasswordEnabled && len(u.MFASerials) == 0 {
			e.Compliance = "NON_COMPLIANT"
		}
		out = append(out, e)
	}
	return out
}

func evalRootMFA(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	return account1(a, cfgIAM(a).rootMFA, "", "The root user does not have MFA enabled.")
}

func evalRootKeys(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	return account1(a, !cfgIAM(a).rootKeys, "", "The root user has access keys.")
}

func evalBucketEncryption(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	var out []cfgEvaluation
	for _, b := range s3BucketsSorted(a) {
		if b.Region != region {
			continue
		}
		e := cfgEvaluation{ResourceType: "AWS::S3::Bucket", ResourceID: b.Name, Compliance: "COMPLIANT"}
		if b.Encryption == nil {
			e.Compliance, e.Annotation = "NON_COMPLIANT", "Default encryption is not enabled."
		}
		out = append(out, e)
	}
	return out
}

func evalAccountPAB(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	return account1(a, s3StateOf(a).accountPAB.all(), "", "The account-level S3 public access block is not fully enabled.")
}

func evalEBSDefault(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	return account1(a, cfgEC2(a, region).ebsEncryptionByDefault, "", "EBS encryption by default is disabled.")
}

func evalIMDSv2(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	var out []cfgEvaluation
	for _, in := range cfgEC2(a, region).instances {
		e := cfgEvaluation{ResourceType: "AWS::EC2::Instance", ResourceID: in.ID, Compliance: "COMPLIANT"}
		if in.HTTPTokens != "required" {
			e.Compliance = "NON_COMPLIANT"
		}
		out = append(out, e)
	}
	return out
}

func evalFlowLogs(s *Server, a *account, region string, p map[string]string) []cfgEvaluation {
	st := cfgEC2(a, region)
	want := p["trafficType"]
	var out []cfgEvaluation
	for _, v := range st.vpcs {
		e := cfgEvaluation{ResourceType: "AWS::EC2::VPC", ResourceID: v.ID, Compliance: "NON_COMPLIANT",
			Annotation: "No flow log is enabled for the VPC."}
		for _, fl := range st.flowLogs {
			if fl.ResourceID == v.ID && (want == "" || fl.TrafficType == want || fl.TrafficType == "ALL") {
				e.Compliance, e.Annotation = "COMPLIANT", ""
			}
		}
		out = append(out, e)
	}
	return out
}

func evalCloudTrail(multiRegion bool) cfgEvaluator {
	return func(s *Server, a *account, region string, p map[string]string) []cfgEvaluation {
		ok := false
		for _, t := range ctTrailsApplying(s, a, region) {
			if !t.Logging || (multiRegion && !t.MultiRegion) {
				continue
			}
			if b := p["s3BucketName"]; b != "" && t.S3BucketName != b {
				continue
			}
			if v := p["snsTopicArn"]; v != "" && t.SNSTopicARN != v {
				continue
			}
			if v := p["cloudWatchLogsLogGroupArn"]; v != "" && t.CloudWatchLogsLogGroupArn != v {
				continue
			}
			ok = true
		}
		return account1(a, ok, "", "No logging CloudTrail trail matches the rule.")
	}
}

func evalGuardDuty(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	return account1(a, gdEnabledDetector(a, region), "", "GuardDuty is not enabled.")
}

// parseInputParameters reads a rule's InputParameters JSON object; values
// may be strings or other JSON scalars.
func parseInputParameters(s string) (map[string]string, bool) {
	out := map[string]string{}
	if s == "" {
		return out, true
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, false
	}
	for k, v := range raw {
		switch t := v.(type) {
		case string:
			out[k] = t
		default:
			b, _ := json.Marshal(t)
			out[k] = string(b)
		}
	}
	return out, true
}

// evaluateRule runs r's evaluator in the account and region and applies its
// scope.
func evaluateRule(s *Server, a *account, region string, r *cfgRule) []cfgEvaluation {
	if r.Source.Owner != "AWS" {
		return nil
	}
	ev := cfgEvaluators[r.Source.SourceIdentifier]
	if ev == nil {
		return nil
	}
	params, _ := parseInputParameters(r.InputParameters)
	var out []cfgEvaluation
	for _, e := range ev(s, a, region, params) {
		if sc := r.Scope; sc != nil {
			if len(sc.ComplianceResourceTypes) > 0 && !slices.Contains(sc.ComplianceResourceTypes, e.ResourceType) {
				continue
			}
			if sc.ComplianceResourceID != "" && sc.ComplianceResourceID != e.ResourceID {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func evalKeyRotation(s *Server, a *account, region string, _ map[string]string) []cfgEvaluation {
	var out []cfgEvaluation
	for _, k := range kmsStateOf(a, region).keys {
		if k.Manager != "CUSTOMER" || k.KeySpec != "SYMMETRIC_DEFAULT" || k.State != "Enabled" {
			continue
		}
		e := cfgEvaluation{ResourceType: "AWS::KMS::Key", ResourceID: k.ID, Compliance: "COMPLIANT"}
		if !k.Rotation {
			e.Compliance, e.Annotation = "NON_COMPLIANT", "Key rotation is not enabled."
		}
		out = append(out, e)
	}
	return out
}

// cfgVisibleResults is what Config reports for r. Without a consistency
// delay a rule is evaluated whenever it is read, so results follow the
// resources at once. With one, evaluations are asynchronous: an evaluation
// (started by PutConfigRule, StartConfigRulesEvaluation, or here when the
// resources no longer match the last results, as Config's change-triggered
// and periodic evaluations do) completes one delay after it started, and
// until then the last completed results stand; a rule never evaluated has
// none, which Config reports as INSUFFICIENT_DATA with no evaluation
// results.
func cfgVisibleResults(s *Server, a *account, region string, r *cfgRule) []cfgEvaluation {
	if s.consistencyDelay <= 0 {
		r.evalStarted = time.Time{}
		return evaluateRule(s, a, region, r)
	}
	if !r.evalStarted.IsZero() && s.settled(r.evalStarted) {
		r.results, r.evaluated = evaluateRule(s, a, region, r), true
		r.resultsAt = r.evalStarted.Add(s.consistencyDelay)
		r.evalStarted = time.Time{}
	}
	if r.evalStarted.IsZero() && r.evaluated && !slices.Equal(evaluateRule(s, a, region, r), r.results) {
		r.evalStarted = s.now()
	}
	return r.results
}
