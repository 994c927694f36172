package awssim

import (
	"encoding/csv"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const webDev = "100000000009"

func iamClient(s *Server, account string) *iam.Client {
	// IAM is global: any client region works and state is the same.
	return iam.NewFromConfig(memberConfig(s, account, "eu-west-1"))
}

func TestIAMPasswordPolicy(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := iamClient(s, webDev)
	_, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	requireCode(t, err, "NoSuchEntity")
	_, err = c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
	requireCode(t, err, "NoSuchEntity")

	must[*iam.UpdateAccountPasswordPolicyOutput](t)(c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, RequireNumbers: true,
		RequireUppercaseCharacters: true, RequireLowercaseCharacters: true,
		PasswordReusePrevention: aws.Int32(24), MaxPasswordAge: aws.Int32(90),
	}))
	got := must[*iam.GetAccountPasswordPolicyOutput](t)(c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{}))
	p := got.PasswordPolicy
	if aws.ToInt32(p.MinimumPasswordLength) != 14 || !p.RequireSymbols || !p.RequireUppercaseCharacters ||
		aws.ToInt32(p.PasswordReusePrevention) != 24 || aws.ToInt32(p.MaxPasswordAge) != 90 || !p.ExpirePasswords {
		t.Errorf("policy = %+v", p)
	}
	// A partial update resets every parameter it leaves out, as in IAM.
	must[*iam.UpdateAccountPasswordPolicyOutput](t)(c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(16)}))
	got = must[*iam.GetAccountPasswordPolicyOutput](t)(c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{}))
	if got.PasswordPolicy.RequireSymbols || aws.ToInt32(got.PasswordPolicy.PasswordReusePrevention) != 0 {
		t.Errorf("partial update kept old values: %+v", got.PasswordPolicy)
	}
	_, err = c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{PasswordReusePrevention: aws.Int32(25)})
	requireCode(t, err, "ValidationError")
	must[*iam.DeleteAccountPasswordPolicyOutput](t)(c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}))
	_, err = c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	requireCode(t, err, "NoSuchEntity")

	// Seeded weak policy in log-archive.
	weak := must[*iam.GetAccountPasswordPolicyOutput](t)(iamClient(s, "100000000002").GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{}))
	if aws.ToInt32(weak.PasswordPolicy.MinimumPasswordLength) != 8 {
		t.Errorf("log-archive policy = %+v", weak.PasswordPolicy)
	}
}

func TestIAMAccountSummary(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	for _, tt := range []struct {
		account   string
		mfa, keys int32
	}{{demoMgmt, 1, 0}, {"100000000010", 0, 1}, {webDev, 0, 0}} {
		var c *iam.Client
		if tt.account == demoMgmt {
			c = iam.NewFromConfig(mgmtConfig(s, "us-east-1"))
		} else {
			c = iamClient(s, tt.account)
		}
		sum := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}))
		if sum.SummaryMap["AccountMFAEnabled"] != tt.mfa || sum.SummaryMap["AccountAccessKeysPresent"] != tt.keys {
			t.Errorf("%s: summary MFA=%d keys=%d, want %d %d", tt.account, sum.SummaryMap["AccountMFAEnabled"], sum.SummaryMap["AccountAccessKeysPresent"], tt.mfa, tt.keys)
		}
	}
}

func TestIAMUsersAndKeys(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	c := iamClient(s, webDev)

	var users []types.User
	up := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
	for up.HasMorePages() {
		users = append(users, must[*iam.ListUsersOutput](t)(up.NextPage(ctx)).Users...)
	}
	if len(users) != 1 || aws.ToString(users[0].UserName) != "alice" || users[0].PasswordLastUsed == nil {
		t.Fatalf("users = %+v", users)
	}

	var keys []types.AccessKeyMetadata
	kp := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{UserName: aws.String("alice")})
	pages := 0
	for kp.HasMorePages() {
		keys = append(keys, must[*iam.ListAccessKeysOutput](t)(kp.NextPage(ctx)).AccessKeyMetadata...)
		pages++
	}
	if len(keys) != 2 || pages != 2 || keys[0].Status != types.StatusTypeActive || keys[1].Status != types.StatusTypeInactive {
		t.Fatalf("keys = %+v (pages %d)", keys, pages)
	}
	last := must[*iam.GetAccessKeyLastUsedOutput](t)(c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: keys[0].AccessKeyId}))
	if aws.ToString(last.UserName) != "alice" || last.AccessKeyLastUsed.LastUsedDate == nil || aws.ToString(last.AccessKeyLastUsed.ServiceName) != "s3" {
		t.Errorf("last used = %+v", last.AccessKeyLastUsed)
	}
	never := must[*iam.GetAccessKeyLastUsedOutput](t)(c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: keys[1].AccessKeyId}))
	if never.AccessKeyLastUsed.LastUsedDate != nil || aws.ToString(never.AccessKeyLastUsed.ServiceName) != "N/A" {
		t.Errorf("never used = %+v", never.AccessKeyLastUsed)
	}

	must[*iam.UpdateAccessKeyOutput](t)(c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: keys[0].AccessKeyId, Status: types.StatusTypeInactive}))
	after := must[*iam.ListAccessKeysOutput](t)(c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice"), MaxItems: aws.Int32(10)}))
	for _, k := range after.AccessKeyMetadata {
		if k.Status != types.StatusTypeInactive {
			t.Errorf("key %s still %s", aws.ToString(k.AccessKeyId), k.Status)
		}
	}
	_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String("AKIANOSUCHKEY0000000"), Status: types.StatusTypeInactive})
	requireCode(t, err, "NoSuchEntity")
	_, err = c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("nobody")})
	requireCode(t, err, "NoSuchEntity")
	// A role session has no user of its own.
	_, err = c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	requireCode(t, err, "ValidationError")

	mfa := must[*iam.ListMFADevicesOutput](t)(c.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("alice")}))
	if len(mfa.MFADevices) != 0 {
		t.Errorf("alice has MFA devices: %+v", mfa.MFADevices)
	}
	bob := must[*iam.ListMFADevicesOutput](t)(iamClient(s, "100000000004").ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("bob")}))
	if len(bob.MFADevices) != 1 {
		t.Errorf("bob MFA = %+v", bob.MFADevices)
	}
	lp := must[*iam.GetLoginProfileOutput](t)(c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("alice")}))
	if aws.ToString(lp.LoginProfile.UserName) != "alice" {
		t.Errorf("login profile = %+v", lp.LoginProfile)
	}
	_, err = iamClient(s, "100000000006").GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("legacy-batch")})
	requireCode(t, err, "NoSuchEntity")

	calls := s.CallsMatching(CallFilter{Service: "iam", Operation: "UpdateAccessKey", OnlySuccess: true})
	if len(calls) != 1 || calls[0].Region != "us-east-1" || calls[0].Params["Status"] != "Inactive" {
		t.Errorf("UpdateAccessKey calls = %+v", calls)
	}
}

func TestIAMCredentialReport(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := iamClient(s, webDev)
	_, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	requireCode(t, err, "ReportNotPresent")
	gen := must[*iam.GenerateCredentialReportOutput](t)(c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}))
	if gen.State != types.ReportStateTypeStarted {
		t.Errorf("first generate state = %s", gen.State)
	}
	gen = must[*iam.GenerateCredentialReportOutput](t)(c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}))
	if gen.State != types.ReportStateTypeComplete {
		t.Errorf("second generate state = %s", gen.State)
	}
	rep := must[*iam.GetCredentialReportOutput](t)(c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{}))
	rows, err := csv.NewReader(strings.NewReader(string(rep.Content))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], credentialReportColumns) || len(rows) != 3 {
		t.Fatalf("report = %q", rows)
	}
	col := func(row []string, name string) string { return row[slices.Index(rows[0], name)] }
	if col(rows[1], "user") != "<root_account>" || col(rows[1], "mfa_active") != "false" {
		t.Errorf("root row = %q", rows[1])
	}
	alice := rows[2]
	if col(alice, "user") != "alice" || col(alice, "password_enabled") != "true" || col(alice, "access_key_1_active") != "true" ||
		col(alice, "access_key_2_active") != "false" || col(alice, "mfa_active") != "false" || col(alice, "access_key_1_last_used_service") != "s3" {
		t.Errorf("alice row = %q", alice)
	}
}

func TestIAMRoles(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := iamClient(s, webDev)
	got := must[*iam.GetRoleOutput](t)(c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(demoRole)}))
	doc, _ := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
	if !strings.Contains(doc, "orgguard-demo") || aws.ToString(got.Role.Arn) != "arn:aws:iam::100000000009:role/OrgguardExecutionRole" {
		t.Errorf("role = %+v doc %s", got.Role, doc)
	}
	_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Nope")})
	requireCode(t, err, "NoSuchEntity")

	slr := must[*iam.CreateServiceLinkedRoleOutput](t)(c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("config.amazonaws.com")}))
	if aws.ToString(slr.Role.RoleName) != "AWSServiceRoleForConfig" || aws.ToString(slr.Role.Path) != "/aws-service-role/config.amazonaws.com/" {
		t.Errorf("service-linked role = %+v", slr.Role)
	}
	_, err = c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("config.amazonaws.com")})
	requireCode(t, err, "InvalidInput")

	// A role created through IAM is assumable through STS with its trust.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::100000000009:role/OrgguardExecutionRole"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x-123"}}}]}`
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ssm-automation"), AssumeRolePolicyDocument: aws.String(trust)}))
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ssm-automation"), AssumeRolePolicyDocument: aws.String(trust)})
	requireCode(t, err, "EntityAlreadyExists")
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("broken"), AssumeRolePolicyDocument: aws.String("{")})
	requireCode(t, err, "MalformedPolicyDocument")

	chained := memberConfig(s, webDev, "us-east-1", func(o *stscreds.AssumeRoleOptions) { o.SourceIdentity = aws.String("carol") })
	stsc := sts.NewFromConfig(chained)
	_, err = stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::100000000009:role/ssm-automation"), RoleSessionName: aws.String("auto")})
	requireCode(t, err, "AccessDenied")
	out := must[*sts.AssumeRoleOutput](t)(stsc.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000009:role/ssm-automation"), RoleSessionName: aws.String("auto"), ExternalId: aws.String("x-123"),
	}))
	// Source identity carries over through role chaining.
	if aws.ToString(out.SourceIdentity) != "carol" {
		t.Errorf("chained SourceIdentity = %q", aws.ToString(out.SourceIdentity))
	}
	_, err = stsc.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000009:role/ssm-automation"), RoleSessionName: aws.String("auto"), ExternalId: aws.String("x-123"),
		SourceIdentity: aws.String("mallory"),
	})
	requireCode(t, err, "AccessDenied")
	// Service-linked roles cannot be assumed by anyone but the service.
	_, err = stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: slr.Role.Arn, RoleSessionName: aws.String("xx")})
	requireCode(t, err, "AccessDenied")

	var names []string
	rp := iam.NewListRolesPaginator(c, &iam.ListRolesInput{})
	for rp.HasMorePages() {
		for _, r := range must[*iam.ListRolesOutput](t)(rp.NextPage(ctx)).Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	if len(names) != 4 {
		t.Errorf("roles = %v", names)
	}
}

// TestIAMAutomationRole builds the role a Config remediation needs, the way
// orgguard creates it: trust ssm.amazonaws.com, attach the managed policy,
// add an inline policy.
func TestIAMAutomationRole(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	c := iamClient(s, webDev)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("orgguard-automation"), AssumeRolePolicyDocument: aws.String(trust)}))
	for _, arn := range []string{"arn:aws:iam::aws:policy/service-role/AmazonSSMAutomationRole", "arn:aws:iam::aws:policy/ReadOnlyAccess"} {
		must[*iam.AttachRolePolicyOutput](t)(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("orgguard-automation"), PolicyArn: aws.String(arn)}))
	}
	var names []string
	p := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("orgguard-automation")})
	for p.HasMorePages() {
		for _, ap := range must[*iam.ListAttachedRolePoliciesOutput](t)(p.NextPage(ctx)).AttachedPolicies {
			names = append(names, aws.ToString(ap.PolicyName))
		}
	}
	if !slices.Equal(names, []string{"AmazonSSMAutomationRole", "ReadOnlyAccess"}) {
		t.Errorf("attached = %v", names)
	}
	must[*iam.DetachRolePolicyOutput](t)(c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("orgguard-automation"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}))
	_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("orgguard-automation"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	requireCode(t, err, "NoSuchEntity")

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:RevokeSecurityGroupIngress","Resource":"*"}]}`
	must[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("orgguard-automation"), PolicyName: aws.String("revoke"), PolicyDocument: aws.String(doc)}))
	got := must[*iam.GetRolePolicyOutput](t)(c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("orgguard-automation"), PolicyName: aws.String("revoke")}))
	if d, _ := url.QueryUnescape(aws.ToString(got.PolicyDocument)); d != doc {
		t.Errorf("inline policy = %s", d)
	}
	list := must[*iam.ListRolePoliciesOutput](t)(c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("orgguard-automation")}))
	if !slices.Equal(list.PolicyNames, []string{"revoke"}) {
		t.Errorf("inline names = %v", list.PolicyNames)
	}
	must[*iam.DeleteRolePolicyOutput](t)(c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("orgguard-automation"), PolicyName: aws.String("revoke")}))
	_, err = c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("orgguard-automation"), PolicyName: aws.String("revoke")})
	requireCode(t, err, "NoSuchEntity")

	// Trust changes take effect for STS.
	must[*iam.UpdateAssumeRolePolicyOutput](t)(c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{
		RoleName:       aws.String("orgguard-automation"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::100000000009:root"},"Action":"sts:AssumeRole"}]}`),
	}))
	must[*sts.AssumeRoleOutput](t)(sts.NewFromConfig(memberConfig(s, webDev, "us-east-1")).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000009:role/orgguard-automation"), RoleSessionName: aws.String("auto"),
	}))

	slr := must[*iam.CreateServiceLinkedRoleOutput](t)(c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("securityhub.amazonaws.com")}))
	_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: slr.Role.RoleName, PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	requireCode(t, err, "UnmodifiableEntity")
}

func TestIAMListVirtualMFADevices(t *testing.T) {
	t.Parallel()
	const network, security = "100000000004", "100000000003"
	seed, err := DemoSeed()
	if err != nil {
		t.Fatal(err)
	}
	// network: user bob has MFA; give root MFA too so the listing pages.
	for i := range seed.OUs {
		for j := range seed.OUs[i].Accounts {
			if a := &seed.OUs[i].Accounts[j]; a.ID == network {
				a.IAM.RootMFAEnabled = true
			}
		}
	}
	s := newTestServer(t, Options{PageSize: 1, Seed: seed})

	list := func(account string, status types.AssignmentStatusType) []types.VirtualMFADevice {
		t.Helper()
		var out []types.VirtualMFADevice
		p := iam.NewListVirtualMFADevicesPaginator(iamClient(s, account), &iam.ListVirtualMFADevicesInput{AssignmentStatus: status})
		for p.HasMorePages() {
			out = append(out, must[*iam.ListVirtualMFADevicesOutput](t)(p.NextPage(ctx)).VirtualMFADevices...)
		}
		return out
	}
	got := list(network, types.AssignmentStatusTypeAssigned)
	if len(got) != 2 {
		t.Fatalf("network devices = %+v", got)
	}
	root, bob := got[0], got[1]
	if aws.ToString(root.SerialNumber) != "arn:aws:iam::100000000004:mfa/root-account-mfa-device" || root.User == nil ||
		aws.ToString(root.User.Arn) != "arn:aws:iam::100000000004:root" || aws.ToString(root.User.UserId) != network || root.EnableDate == nil {
		t.Errorf("root device = %+v user %+v", root, root.User)
	}
	if aws.ToString(bob.SerialNumber) != "arn:aws:iam::100000000004:mfa/bob" || bob.User == nil || aws.ToString(bob.User.UserName) != "bob" ||
		aws.ToString(bob.User.Arn) != "arn:aws:iam::100000000004:user/bob" {
		t.Errorf("bob device = %+v user %+v", bob, bob.User)
	}
	if n := len(list(network, types.AssignmentStatusTypeAny)); n != 2 {
		t.Errorf("Any = %d devices, want 2", n)
	}
	if n := len(list(network, "")); n != 2 {
		t.Errorf("no filter = %d devices, want 2", n)
	}
	if got := list(network, types.AssignmentStatusTypeUnassigned); len(got) != 0 {
		t.Errorf("Unassigned = %+v", got)
	}
	// security-tooling: root MFA only; web-prod: none.
	if got := list(security, types.AssignmentStatusTypeAssigned); len(got) != 1 || aws.ToString(got[0].User.Arn) != "arn:aws:iam::100000000003:root" {
		t.Errorf("security devices = %+v", got)
	}
	if got := list(demoWebProd, types.AssignmentStatusTypeAssigned); len(got) != 0 {
		t.Errorf("web-prod devices = %+v", got)
	}
	_, err = iamClient(s, network).ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: "Maybe"})
	requireCode(t, err, "ValidationError")
}
