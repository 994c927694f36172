package activities

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/orgguard/orgguard/internal/secexport"
)

// Permissioned is implemented by guardrail kinds that declare the IAM
// actions they call. The deploy/iam policies are generated from these lists
// (go test ./activities -run TestIAMPolicies -update), and a test checks them
// against the simulator's call log, so the list and the code cannot drift.
type Permissioned interface {
	Permissions() []string
}

// managementKinds run with the management account's credentials
// (Organizations); every other kind runs as the member role.
var managementKinds = map[string]bool{"scp": true}

// discoveryPermissions are what DiscoverAccounts (and NotifyApprovers and
// NotifyEvent) call.
var discoveryPermissions = []string{
	"organizations:DescribeOrganization",
	"organizations:ListRoots",
	"organizations:ListAccountsForParent",
	"organizations:ListOrganizationalUnitsForParent",
	"organizations:ListTagsForResource",
	// NotifyApprovers and NotifyEvent publish to the policy's SNS topic and
	// to the worker's SNS destinations (docs/notifications.md).
	"sns:Publish",
}

// passRoleServices are the services orgguard passes roles to: CloudTrail
// (CloudWatch Logs delivery), AWS Config (recorder), SSM (remediation
// automation), VPC flow logs (CloudWatch Logs delivery).
var passRoleServices = []string{"cloudtrail.amazonaws.com", "config.amazonaws.com", "ssm.amazonaws.com", "vpc-flow-logs.amazonaws.com"}

// serviceLinkedRoles are the service-linked roles orgguard may create.
var serviceLinkedRoles = []string{"config.amazonaws.com", "remediation.config.amazonaws.com", "securityhub.amazonaws.com", "guardduty.amazonaws.com", "access-analyzer.amazonaws.com"}

// PolicyDocument is an IAM policy document.
type PolicyDocument struct {
	Version   string            `json:"Version"`
	Statement []PolicyStatement `json:"Statement"`
}

// PolicyStatement is one statement of a PolicyDocument.
type PolicyStatement struct {
	Sid       string                    `json:"Sid"`
	Effect    string                    `json:"Effect"`
	Action    []string                  `json:"Action"`
	Resource  string                    `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// Actions returns every action the document allows.
func (d PolicyDocument) Actions() []string {
	var out []string
	for _, s := range d.Statement {
		out = append(out, s.Action...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Allows reports whether the document allows action (exact name or a
// "service:Prefix*" wildcard).
func (d PolicyDocument) Allows(action string) bool {
	for _, s := range d.Statement {
		for _, a := range s.Action {
			if strings.EqualFold(a, action) {
				return true
			}
			if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(strings.ToLower(action), strings.ToLower(p)) {
				return true
			}
		}
	}
	return false
}

// JSON renders the document as the file deploy/iam holds.
func (d PolicyDocument) JSON() []byte {
	b, _ := json.MarshalIndent(d, "", "  ")
	return append(b, '\n')
}

// KindPermissions returns the actions each registered kind declares, by key.
func (a *Activities) KindPermissions() map[string][]string {
	out := map[string][]string{}
	for key, k := range a.kinds {
		if p, ok := k.(Permissioned); ok {
			out[key] = sortedStrings(p.Permissions())
		}
	}
	return out
}

// Policies builds the least-privilege policies of the member role (every kind
// but the organization-wide ones) and of the management role (discovery,
// organization-wide kinds, and assuming memberRole in every account).
func (a *Activities) Policies(memberRole string) (member, management PolicyDocument) {
	var mem, mgmt []string
	mgmt = append(mgmt, discoveryPermissions...)
	mem = append(mem, preflightPermissions...)
	// The Security Hub export (orgguard report --export securityhub)
	// imports each account's findings as that account's member role.
	mem = append(mem, secexport.Permissions...)
	for key, actions := range a.KindPermissions() {
		if managementKinds[key] {
			mgmt = append(mgmt, actions...)
		} else {
			mem = append(mem, actions...)
		}
	}
	member = buildPolicy(mem)
	management = buildPolicy(mgmt)
	management.Statement = append(management.Statement, PolicyStatement{
		Sid: "AssumeMemberRole", Effect: "Allow", Action: []string{"sts:AssumeRole", "sts:SetSourceIdentity"},
		Resource: "arn:aws:iam::*:role/" + memberRole,
	})
	return member, management
}

func buildPolicy(actions []string) PolicyDocument {
	sort.Strings(actions)
	actions = slices.Compact(actions)
	var plain []string
	var passRole, slr bool
	for _, a := range actions {
		switch a {
		case "iam:PassRole":
			passRole = true
		case "iam:CreateServiceLinkedRole":
			slr = true
		default:
			plain = append(plain, a)
		}
	}
	doc := PolicyDocument{Version: "2012-10-17"}
	// One statement per service keeps the files readable and diffs small.
	bySvc := map[string][]string{}
	for _, a := range plain {
		svc, _, _ := strings.Cut(a, ":")
		bySvc[svc] = append(bySvc[svc], a)
	}
	for _, svc := range sortedKeysOf(bySvc) {
		doc.Statement = append(doc.Statement, PolicyStatement{Sid: sid(svc), Effect: "Allow", Action: bySvc[svc], Resource: "*"})
	}
	if passRole {
		doc.Statement = append(doc.Statement, PolicyStatement{
			Sid: "PassRoleToServices", Effect: "Allow", Action: []string{"iam:PassRole"}, Resource: "*",
			Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": passRoleServices}},
		})
	}
	if slr {
		doc.Statement = append(doc.Statement, PolicyStatement{
			Sid: "CreateServiceLinkedRoles", Effect: "Allow", Action: []string{"iam:CreateServiceLinkedRole"}, Resource: "*",
			Condition: map[string]map[string]any{"StringEquals": {"iam:AWSServiceName": serviceLinkedRoles}},
		})
	}
	return doc
}

func sid(svc string) string {
	var b strings.Builder
	up := true
	for _, r := range svc {
		if r == '-' {
			up = true
			continue
		}
		if up {
			b.WriteString(strings.ToUpper(string(r)))
			up = false
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// IAMAction maps a logged API call (the SigV4 signing name and operation) to
// the IAM action that authorises it. Most are "<service>:<Operation>"; the
// exceptions are where AWS named the action differently from the operation.
func IAMAction(signingName, operation string, params map[string]string) string {
	svc := signingName
	switch signingName {
	case "monitoring":
		svc = "cloudwatch"
	case "s3":
		_, bucket := params["Bucket"]
		switch operation {
		case "GetBucketEncryption":
			return "s3:GetEncryptionConfiguration"
		case "PutBucketEncryption":
			return "s3:PutEncryptionConfiguration"
		case "ListBuckets":
			return "s3:ListAllMyBuckets"
		case "HeadBucket":
			return "s3:ListBucket"
		case "GetBucketLifecycleConfiguration":
			return "s3:GetLifecycleConfiguration"
		case "PutBucketLifecycleConfiguration":
			return "s3:PutLifecycleConfiguration"
		case "GetPublicAccessBlock":
			if bucket {
				return "s3:GetBucketPublicAccessBlock"
			}
			return "s3:GetAccountPublicAccessBlock"
		case "PutPublicAccessBlock", "DeletePublicAccessBlock":
			if bucket {
				return "s3:PutBucketPublicAccessBlock"
			}
			return "s3:PutAccountPublicAccessBlock"
		}
	}
	return svc + ":" + operation
}
