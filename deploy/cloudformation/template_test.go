// Package cloudformation holds orgguard's CloudFormation templates; its
// tests parse them (short-form intrinsic tags included) and check what a
// deploy would otherwise find out late: required properties, references to
// undefined parameters or resources, and the security settings the evidence
// store depends on.
package cloudformation

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// node is a parsed template value: scalars keep their short-form tag
// (!Ref, !Sub, !GetAtt), maps keep their key order.
type node = yaml.Node

func loadTemplate(t *testing.T, path string) *node {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("%s: not a YAML mapping", path)
	}
	return doc.Content[0]
}

// get returns the value of key in a mapping node, or nil.
func get(n *node, key string) *node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// path follows keys through nested mappings.
func path(n *node, keys ...string) *node {
	for _, k := range keys {
		n = get(n, k)
	}
	return n
}

func keys(n *node) []string {
	var out []string
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			out = append(out, n.Content[i].Value)
		}
	}
	return out
}

// strs is a scalar or a sequence of scalars as strings.
func strs(n *node) []string {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
		return out
	}
	return nil
}

// tagged reports whether n is the short-form intrinsic tag with value v.
func tagged(n *node, tag, v string) bool {
	return n != nil && n.Tag == tag && n.Value == v
}

// requiredProperties are the properties CloudFormation requires per type
// (AWS resource and property types reference), and those this template
// must set for the evidence store to be what docs/evidence.md promises.
var requiredProperties = map[string][]string{
	"AWS::KMS::Key":           {"KeyPolicy", "EnableKeyRotation"},
	"AWS::KMS::Alias":         {"AliasName", "TargetKeyId"},
	"AWS::S3::Bucket":         {"ObjectLockEnabled", "ObjectLockConfiguration", "VersioningConfiguration", "BucketEncryption", "PublicAccessBlockConfiguration", "LifecycleConfiguration"},
	"AWS::S3::BucketPolicy":   {"Bucket", "PolicyDocument"},
	"AWS::IAM::ManagedPolicy": {"PolicyDocument"},
}

var subVarRE = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// checkRefs walks every value and reports references to names that are
// neither parameters, resources nor pseudo parameters: !Ref / Ref,
// !GetAtt / Fn::GetAtt (resources only) and ${...} in !Sub / Fn::Sub.
func checkRefs(errorf func(string, ...any), n *node, where string, params, resources map[string]bool) {
	isName := func(name string) bool {
		return params[name] || resources[name] || strings.HasPrefix(name, "AWS::")
	}
	checkGetAtt := func(target string) {
		res, attr, ok := strings.Cut(target, ".")
		if !ok || attr == "" || !resources[res] {
			errorf("%s: GetAtt %q does not name an attribute of a resource", where, target)
		}
	}
	checkSub := func(s string, local map[string]bool) {
		for _, m := range subVarRE.FindAllStringSubmatch(s, -1) {
			v := m[1]
			if local[v] {
				continue
			}
			if res, _, isAttr := strings.Cut(v, "."); isAttr {
				if !resources[res] {
					errorf("%s: ${%s} names no resource", where, v)
				}
			} else if !isName(v) {
				errorf("%s: ${%s} names no parameter or resource", where, v)
			}
		}
	}
	switch n.Tag {
	case "!Ref":
		if !isName(n.Value) {
			errorf("%s: !Ref %s names no parameter or resource", where, n.Value)
		}
		return
	case "!GetAtt":
		if n.Kind == yaml.SequenceNode {
			checkGetAtt(strings.Join(strs(n), "."))
		} else {
			checkGetAtt(n.Value)
		}
		return
	case "!Sub":
		if n.Kind == yaml.ScalarNode {
			checkSub(n.Value, nil)
			return
		}
		if n.Kind == yaml.SequenceNode && len(n.Content) == 2 {
			local := map[string]bool{}
			for _, k := range keys(n.Content[1]) {
				local[k] = true
			}
			checkSub(n.Content[0].Value, local)
			checkRefs(errorf, n.Content[1], where, params, resources)
			return
		}
		errorf("%s: malformed !Sub", where)
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			switch k {
			case "Ref":
				if !isName(v.Value) {
					errorf("%s: Ref %s names no parameter or resource", where, v.Value)
				}
				continue
			case "Fn::GetAtt":
				checkGetAtt(strings.Join(strs(v), "."))
				continue
			case "Fn::Sub":
				if v.Kind == yaml.ScalarNode {
					checkSub(v.Value, nil)
					continue
				}
			}
			checkRefs(errorf, v, where+"."+k, params, resources)
		}
		return
	}
	for _, c := range n.Content {
		checkRefs(errorf, c, where, params, resources)
	}
}

func TestEvidenceBucketTemplate(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t, "evidence-bucket.yaml")
	if v := get(tpl, "AWSTemplateFormatVersion"); v == nil || v.Value != "2010-09-09" {
		t.Errorf("AWSTemplateFormatVersion = %v", v)
	}

	params, resources := map[string]bool{}, map[string]bool{}
	for _, p := range keys(get(tpl, "Parameters")) {
		params[p] = true
		if typ := path(tpl, "Parameters", p, "Type"); typ == nil || typ.Value == "" {
			t.Errorf("parameter %s has no Type", p)
		}
	}
	res := get(tpl, "Resources")
	types := map[string]string{}
	for _, r := range keys(res) {
		if params[r] {
			t.Errorf("%s is both a parameter and a resource", r)
		}
		resources[r] = true
		typ := path(res, r, "Type")
		if typ == nil || !strings.HasPrefix(typ.Value, "AWS::") {
			t.Errorf("resource %s has no AWS:: Type", r)
			continue
		}
		types[r] = typ.Value
		want, known := requiredProperties[typ.Value]
		if !known {
			t.Errorf("resource %s: type %s is not checked by this test; add its required properties", r, typ.Value)
		}
		for _, p := range want {
			if path(res, r, "Properties", p) == nil {
				t.Errorf("resource %s (%s) lacks property %s", r, typ.Value, p)
			}
		}
	}
	for _, section := range []string{"Resources", "Outputs"} {
		for _, name := range keys(get(tpl, section)) {
			checkRefs(t.Errorf, get(get(tpl, section), name), section+"."+name, params, resources)
		}
	}
	for _, o := range keys(get(tpl, "Outputs")) {
		if path(tpl, "Outputs", o, "Value") == nil {
			t.Errorf("output %s has no Value", o)
		}
	}
	for _, want := range []string{"BucketName", "KeyArn"} {
		if path(tpl, "Outputs", want) == nil {
			t.Errorf("no output %s", want)
		}
	}
	for _, want := range []string{"ObjectLockMode", "RetentionDays", "WorkerRoleName", "KeyAdminPrincipalArn"} {
		if !params[want] {
			t.Errorf("no parameter %s", want)
		}
	}
	if got := strs(path(tpl, "Parameters", "ObjectLockMode", "AllowedValues")); !slices.Equal(got, []string{"GOVERNANCE", "COMPLIANCE"}) {
		t.Errorf("ObjectLockMode values = %q", got)
	}

	// Exactly one of each resource the store needs.
	byType := map[string][]string{}
	for r, typ := range types {
		byType[typ] = append(byType[typ], r)
	}
	for typ, want := range map[string]int{"AWS::S3::Bucket": 1, "AWS::KMS::Key": 1, "AWS::S3::BucketPolicy": 1, "AWS::IAM::ManagedPolicy": 1} {
		if len(byType[typ]) != want {
			t.Fatalf("%d %s resources, want %d", len(byType[typ]), typ, want)
		}
	}
	bucket := get(res, byType["AWS::S3::Bucket"][0])
	key := byType["AWS::KMS::Key"][0]
	bp := path(bucket, "Properties")

	// Object Lock with the parameterised mode and days, versioning on.
	if v := get(bp, "ObjectLockEnabled"); v == nil || v.Value != "true" {
		t.Error("ObjectLockEnabled is not true")
	}
	olc := path(bp, "ObjectLockConfiguration")
	if v := get(olc, "ObjectLockEnabled"); v == nil || v.Value != "Enabled" {
		t.Error("ObjectLockConfiguration.ObjectLockEnabled is not Enabled")
	}
	dr := path(olc, "Rule", "DefaultRetention")
	if !tagged(get(dr, "Mode"), "!Ref", "ObjectLockMode") || !tagged(get(dr, "Days"), "!Ref", "RetentionDays") || get(dr, "Years") != nil {
		t.Errorf("default retention is not !Ref ObjectLockMode / !Ref RetentionDays")
	}
	if v := path(bp, "VersioningConfiguration", "Status"); v == nil || v.Value != "Enabled" {
		t.Error("versioning is not Enabled")
	}
	for _, k := range []string{"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"} {
		if v := path(bp, "PublicAccessBlockConfiguration", k); v == nil || v.Value != "true" {
			t.Errorf("public access block %s is not true", k)
		}
	}
	// SSE-KMS with the template's own key.
	sse := path(bp, "BucketEncryption", "ServerSideEncryptionConfiguration")
	if sse == nil || sse.Kind != yaml.SequenceNode || len(sse.Content) != 1 {
		t.Fatal("BucketEncryption has not exactly one rule")
	}
	def := get(sse.Content[0], "ServerSideEncryptionByDefault")
	if v := get(def, "SSEAlgorithm"); v == nil || v.Value != "aws:kms" || !tagged(get(def, "KMSMasterKeyID"), "!GetAtt", key+".Arn") {
		t.Errorf("default encryption is not aws:kms with !GetAtt %s.Arn", key)
	}
	// Lifecycle expires noncurrent versions.
	found := false
	for _, rule := range path(bp, "LifecycleConfiguration", "Rules").Content {
		if get(rule, "NoncurrentVersionExpiration") != nil && get(rule, "Status").Value == "Enabled" {
			found = true
			if !tagged(path(rule, "NoncurrentVersionExpiration", "NoncurrentDays"), "!Ref", "NoncurrentVersionDays") {
				t.Error("noncurrent expiration is not !Ref NoncurrentVersionDays")
			}
		}
	}
	if !found {
		t.Error("no enabled lifecycle rule for noncurrent versions")
	}

	// The bucket policy denies every non-TLS request, to bucket and objects.
	pol := path(get(res, byType["AWS::S3::BucketPolicy"][0]), "Properties")
	if !tagged(get(pol, "Bucket"), "!Ref", byType["AWS::S3::Bucket"][0]) {
		t.Error("the bucket policy is not on the evidence bucket")
	}
	tlsDeny := false
	for _, st := range path(pol, "PolicyDocument", "Statement").Content {
		if get(st, "Effect").Value == "Allow" {
			t.Errorf("the bucket policy allows something (%s); access comes from IAM", get(st, "Sid").Value)
		}
		if v := path(st, "Condition", "Bool", "aws:SecureTransport"); v != nil && v.Value == "false" && get(st, "Effect").Value == "Deny" &&
			slices.Equal(strs(get(st, "Action")), []string{"s3:*"}) && get(st, "Principal").Value == "*" && len(get(st, "Resource").Content) == 2 {
			tlsDeny = true
		}
	}
	if !tlsDeny {
		t.Error("no statement denying s3:* to * on the bucket and its objects without aws:SecureTransport")
	}

	// The key policy: administration for the admin principal without data
	// use, data use for the worker only (GenerateDataKey, Decrypt, via S3),
	// and no wildcard principal or action.
	kp := path(get(res, key), "Properties", "KeyPolicy", "Statement")
	var workerActions []string
	for _, st := range kp.Content {
		sid := get(st, "Sid").Value
		principal := path(st, "Principal", "AWS")
		actions := strs(get(st, "Action"))
		if get(st, "Effect").Value != "Allow" {
			continue
		}
		if principal == nil || principal.Value == "*" || strings.Contains(principal.Value, ":root") {
			t.Errorf("key policy %s: principal %v is too broad", sid, principal)
		}
		for _, a := range actions {
			if strings.Contains(a, "*") {
				t.Errorf("key policy %s: wildcard action %s", sid, a)
			}
		}
		switch {
		case tagged(principal, "!Ref", "KeyAdminPrincipalArn"):
			for _, a := range actions {
				if slices.Contains([]string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:CreateGrant"}, a) {
					t.Errorf("key admin may %s", a)
				}
			}
		case principal.Tag == "!Sub" && strings.Contains(principal.Value, "${WorkerRoleName}"):
			workerActions = append(workerActions, actions...)
			if v := path(st, "Condition", "StringEquals", "kms:ViaService"); v == nil || !strings.HasPrefix(v.Value, "s3.") {
				t.Errorf("key policy %s: worker use is not limited to S3 (kms:ViaService)", sid)
			}
		default:
			t.Errorf("key policy %s: unexpected principal %v", sid, principal.Value)
		}
	}
	sort.Strings(workerActions)
	if !slices.Equal(workerActions, []string{"kms:Decrypt", "kms:GenerateDataKey"}) {
		t.Errorf("worker key actions = %q, want kms:Decrypt, kms:GenerateDataKey", workerActions)
	}

	// The worker policy: exactly the evidence actions, scoped.
	wp := path(get(res, byType["AWS::IAM::ManagedPolicy"][0]), "Properties")
	if roles := get(wp, "Roles"); roles == nil || len(roles.Content) != 1 || !tagged(roles.Content[0], "!Ref", "WorkerRoleName") {
		t.Error("the worker policy is not attached to !Ref WorkerRoleName")
	}
	granted := map[string]*node{}
	for _, st := range path(wp, "PolicyDocument", "Statement").Content {
		if get(st, "Effect").Value != "Allow" {
			continue
		}
		for _, a := range strs(get(st, "Action")) {
			granted[a] = get(st, "Resource")
		}
	}
	var actions []string
	for a := range granted {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	if want := []string{"kms:Decrypt", "kms:GenerateDataKey", "s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:PutObjectRetention"}; !slices.Equal(actions, want) {
		t.Errorf("worker actions = %q, want %q", actions, want)
	}
	for _, a := range []string{"s3:PutObject", "s3:GetObject", "s3:PutObjectRetention"} {
		if r := granted[a]; r == nil || r.Tag != "!Sub" || r.Value != "${"+byType["AWS::S3::Bucket"][0]+".Arn}/${EvidencePrefix}*" {
			t.Errorf("%s is not limited to the evidence prefix: %v", a, r)
		}
	}
	if r := granted["s3:ListBucket"]; !tagged(r, "!GetAtt", byType["AWS::S3::Bucket"][0]+".Arn") {
		t.Errorf("s3:ListBucket is not limited to the bucket")
	}
	for _, st := range path(wp, "PolicyDocument", "Statement").Content {
		if slices.Contains(strs(get(st, "Action")), "s3:ListBucket") {
			if p := path(st, "Condition", "StringLike", "s3:prefix"); p == nil || p.Tag != "!Sub" || p.Value != "${EvidencePrefix}*" {
				t.Errorf("s3:ListBucket is not limited to the prefix (StringLike s3:prefix, which also refuses listings without one)")
			}
		}
	}
	if r := granted["kms:GenerateDataKey"]; !tagged(r, "!GetAtt", key+".Arn") {
		t.Errorf("kms:GenerateDataKey is not limited to the evidence key")
	}
}

// The reference checker itself must catch what it promises to.
func TestCheckRefsCatchesUndefinedNames(t *testing.T) {
	t.Parallel()
	src := `
Resources:
  A:
    Type: AWS::S3::Bucket
    Properties:
      X: !Ref Missing
      Y: !GetAtt Nope.Arn
      Z: !Sub "${Gone}-${A.Arn}-${AWS::Region}-${!Literal}"
      W: {"Fn::GetAtt": ["B", "Arn"]}
      V: !Sub ["${Local}-${Other}", {Local: !Ref P}]
`
	var doc node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	var errs []string
	collect := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	checkRefs(collect, doc.Content[0], "", map[string]bool{"P": true}, map[string]bool{"A": true})
	want := []string{"!Ref Missing", `GetAtt "Nope.Arn"`, "${Gone}", `GetAtt "B.Arn"`, "${Other}"}
	for _, w := range want {
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, w) }) {
			t.Errorf("no error for %s in %q", w, errs)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("errors = %q, want %d", errs, len(want))
	}
}
