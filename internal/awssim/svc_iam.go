package awssim

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// IAM: Query protocol, global (state per account, logged as us-east-1),
// signing name "iam". Roles live in account.roles, shared with STS, so a
// role created here can be assumed at once.

func iamService() *service {
	return &service{
		Name:     "iam",
		Protocol: protoQuery,
		XMLNS:    "https://iam.amazonaws.com/doc/2010-05-08/",
		Global:   true,
		Init:     iamInit,
		Ops: map[string]operation{
			"GetAccountPasswordPolicy":    iamGetAccountPasswordPolicy,
			"UpdateAccountPasswordPolicy": iamUpdateAccountPasswordPolicy,
			"DeleteAccountPasswordPolicy": iamDeleteAccountPasswordPolicy,
			"GetAccountSummary":           iamGetAccountSummary,
			"ListUsers":                   iamListUsers,
			"ListAccessKeys":              iamListAccessKeys,
			"GetAccessKeyLastUsed":        iamGetAccessKeyLastUsed,
			"UpdateAccessKey":             iamUpdateAccessKey,
			"ListMFADevices":              iamListMFADevices,
			"ListVirtualMFADevices":       iamListVirtualMFADevices,
			"GetLoginProfile":             iamGetLoginProfile,
			"GenerateCredentialReport":    iamGenerateCredentialReport,
			"GetCredentialReport":         iamGetCredentialReport,
			"GetRole":                     iamGetRole,
			"CreateRole":                  iamCreateRole,
			"CreateServiceLinkedRole":     iamCreateServiceLinkedRole,
			"ListRoles":                   iamListRoles,
			"UpdateAssumeRolePolicy":      iamUpdateAssumeRolePolicy,
			"AttachRolePolicy":            iamAttachRolePolicy,
			"DetachRolePolicy":            iamDetachRolePolicy,
			"ListAttachedRolePolicies":    iamListAttachedRolePolicies,
			"PutRolePolicy":               iamPutRolePolicy,
			"GetRolePolicy":               iamGetRolePolicy,
			"ListRolePolicies":            iamListRolePolicies,
			"DeleteRolePolicy":            iamDeleteRolePolicy,
		},
	}
}

type iamState struct {
	passwordPolicy *SeedPasswordPolicy
	rootMFA        bool
	rootKeys       bool
	users          []*iamUser
	report         *credentialReport
}

type iamUser struct {
	Name, ID, Path   string
	Created          time.Time
	PasswordEnabled  bool
	PasswordCreated  time.Time
	PasswordLastUsed *time.Time
	MFASerials       []string
	Keys             []*iamAccessKey
}

type iamAccessKey struct {
	ID, Status      string
	Created         time.Time
	LastUsed        *time.Time
	LastUsedService string
	LastUsedRegion  string
}

type credentialReport struct {
	Generated time.Time
	Content   []byte
}

func newIAMState() *iamState { return &iamState{} }

func iamFor(r *request) *iamState { return accountData(r.Account, "iam", newIAMState) }

func iamInit(s *Server, seed *Seed) error {
	now := s.now().UTC().Truncate(time.Second)
	days := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
	daysPtr := func(n *int) *time.Time {
		if n == nil {
			return nil
		}
		t := days(*n)
		return &t
	}
	walkSeedAccounts(seed, func(sa *SeedAccount) {
		st := accountData(s.accounts[sa.ID], "iam", newIAMState)
		if sa.IAM == nil {
			return
		}
		if sa.IAM.PasswordPolicy != nil {
			p := *sa.IAM.PasswordPolicy
			if p.MinimumPasswordLength == 0 {
				p.MinimumPasswordLength = 6
			}
			st.passwordPolicy = &p
		}
		st.rootMFA = sa.IAM.RootMFAEnabled
		st.rootKeys = sa.IAM.RootAccessKeysPresent
		for _, su := range sa.IAM.Users {
			u := &iamUser{Name: su.Name, Path: "/", ID: "AIDA" + s.randomID(17, upperAlnum),
				Created: days(su.CreatedDaysAgo), PasswordEnabled: su.ConsolePassword, PasswordLastUsed: daysPtr(su.PasswordLastUsedDaysAgo)}
			if u.PasswordEnabled {
				u.PasswordCreated = u.Created
			}
			if su.MFA {
				u.MFASerials = []string{fmt.Sprintf("arn:aws:iam::%s:mfa/%s", sa.ID, su.Name)}
			}
			for _, sk := range su.AccessKeys {
				k := &iamAccessKey{ID: sk.ID, Status: sk.Status, Created: days(sk.CreatedDaysAgo),
					LastUsed: daysPtr(sk.LastUsedDaysAgo), LastUsedService: sk.LastUsedService}
				if k.Status == "" {
					k.Status = "Active"
				}
				if k.LastUsed != nil {
					k.LastUsedRegion = "us-east-1"
					if k.LastUsedService == "" {
						k.LastUsedService = "sts"
					}
				}
				u.Keys = append(u.Keys, k)
			}
			st.users = append(st.users, u)
		}
	})
	return nil
}

func iamTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func noSuchEntity(format string, args ...any) *apiError {
	return errNotFound("NoSuchEntity", format, args...)
}

func iamValidation(format string, args ...any) *apiError {
	return errBadRequest("ValidationError", format, args...)
}

// iamPage pages with IAM's Marker/MaxItems (1..1000, default 100).
func iamPage[T any](r *request, items []T) ([]T, string, error) {
	max, err := r.paramInt("MaxItems")
	if err != nil {
		return nil, "", err
	}
	limit, err := r.pageLimit(max, 100, 1000)
	if err != nil {
		return nil, "", iamValidation("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", max)
	}
	return paginate(items, r.param("Marker"), limit, iamValidation("Invalid Marker"))
}

// --- password policy ---

type iamPasswordPolicyOut struct {
	MinimumPasswordLength      int
	RequireSymbols             bool
	RequireNumbers             bool
	RequireUppercaseCharacters bool
	RequireLowercaseCharacters bool
	AllowUsersToChangePassword bool
	ExpirePasswords            bool
	MaxPasswordAge             int `xml:",omitempty"`
	PasswordReusePrevention    int `xml:",omitempty"`
	HardExpiry                 bool
}

func iamGetAccountPasswordPolicy(r *request) (any, error) {
	p := iamFor(r).passwordPolicy
	if p == nil {
		return nil, noSuchEntity("The Password Policy with domain name %s cannot be found.", r.Account.ID)
	}
	return &struct{ PasswordPolicy iamPasswordPolicyOut }{iamPasswordPolicyOut{
		MinimumPasswordLength: p.MinimumPasswordLength, RequireSymbols: p.RequireSymbols, RequireNumbers: p.RequireNumbers,
		RequireUppercaseCharacters: p.RequireUppercaseCharacters, RequireLowercaseCharacters: p.RequireLowercaseCharacters,
		AllowUsersToChangePassword: p.AllowUsersToChangePassword, ExpirePasswords: p.MaxPasswordAge > 0,
		MaxPasswordAge: p.MaxPasswordAge, PasswordReusePrevention: p.PasswordReusePrevention, HardExpiry: p.HardExpiry,
	}}, nil
}

// iamUpdateAccountPasswordPolicy replaces the whole policy: parameters left
// out take their defaults, exactly as in IAM (a partial update resets the
// rest, a classic remediation bug the simulator must reproduce).
func iamUpdateAccountPasswordPolicy(r *request) (any, error) {
	p := &SeedPasswordPolicy{MinimumPasswordLength: 6}
	intParam := func(name string, min, max int, dst *int) error {
		v, err := r.paramInt(name)
		if err != nil {
			return err
		}
		if r.param(name) == "" {
			return nil
		}
		if v < min || v > max {
			return iamValidation("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value between %d and %d", v, lowerFirst(name), min, max)
		}
		*dst = v
		return nil
	}
	if err := intParam("MinimumPasswordLength", 6, 128, &p.MinimumPasswordLength); err != nil {
		return nil, err
	}
	if err := intParam("MaxPasswordAge", 1, 1095, &p.MaxPasswordAge); err != nil {
		return nil, err
	}
	if err := intParam("PasswordReusePrevention", 1, 24, &p.PasswordReusePrevention); err != nil {
		return nil, err
	}
	p.RequireSymbols, _ = r.paramBool("RequireSymbols")
	p.RequireNumbers, _ = r.paramBool("RequireNumbers")
	p.RequireUppercaseCharacters, _ = r.paramBool("RequireUppercaseCharacters")
	p.RequireLowercaseCharacters, _ = r.paramBool("RequireLowercaseCharacters")
	p.AllowUsersToChangePassword, _ = r.paramBool("AllowUsersToChangePassword")
	p.HardExpiry, _ = r.paramBool("HardExpiry")
	iamFor(r).passwordPolicy = p
	return nil, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func iamDeleteAccountPasswordPolicy(r *request) (any, error) {
	st := iamFor(r)
	if st.passwordPolicy == nil {
		return nil, noSuchEntity("The account policy with name PasswordPolicy cannot be found.")
	}
	st.passwordPolicy = nil
	return nil, nil
}

// --- account summary ---

type iamSummaryEntry struct {
	Key   string `xml:"key"`
	Value int    `xml:"value"`
}

func iamGetAccountSummary(r *request) (any, error) {
	st := iamFor(r)
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	mfa := 0
	for _, u := range st.users {
		mfa += len(u.MFASerials)
	}
	values := map[string]int{
		"Users": len(st.users), "UsersQuota": 5000, "Groups": 0, "GroupsQuota": 300,
		"Roles": len(r.Account.roles), "RolesQuota": 1000, "Policies": 0, "PoliciesQuota": 1500,
		"MFADevices": mfa + b2i(st.rootMFA), "MFADevicesInUse": mfa + b2i(st.rootMFA),
		"AccountMFAEnabled": b2i(st.rootMFA), "AccountAccessKeysPresent": b2i(st.rootKeys),
		"AccountPasswordPresent": 1, "AccountSigningCertificatesPresent": 0,
		"ServerCertificates": 0, "ServerCertificatesQuota": 20, "InstanceProfiles": 0, "InstanceProfilesQuota": 1000,
		"AccessKeysPerUserQuota": 2, "AttachedPoliciesPerRoleQuota": 10, "AttachedPoliciesPerUserQuota": 10,
		"AttachedPoliciesPerGroupQuota": 10, "GroupsPerUserQuota": 10, "SigningCertificatesPerUserQuota": 2,
		"PolicySizeQuota": 6144, "PolicyVersionsInUse": 0, "PolicyVersionsInUseQuota": 10000,
		"VersionsPerPolicyQuota": 5, "GlobalEndpointTokenVersion": 1, "Providers": 0,
		"AssumeRolePolicySizeQuota": 2048, "UserPolicySizeQuota": 2048, "GroupPolicySizeQuota": 5120, "RolePolicySizeQuota": 10240,
	}
	var entries []iamSummaryEntry
	for _, k := range sortedKeys(values) {
		entries = append(entries, iamSummaryEntry{k, values[k]})
	}
	return &struct {
		SummaryMap []iamSummaryEntry `xml:"SummaryMap>entry"`
	}{entries}, nil
}

// --- users and keys ---

type iamUserOut struct {
	Path             string
	UserName         string
	UserId           string
	Arn              string
	CreateDate       string
	PasswordLastUsed string `xml:",omitempty"`
}

func (u *iamUser) arn(account string) string {
	return fmt.Sprintf("arn:aws:iam::%s:user%s%s", account, u.Path, u.Name)
}

func iamListUsers(r *request) (any, error) {
	prefix := r.param("PathPrefix")
	var out []iamUserOut
	for _, u := range iamFor(r).users {
		if prefix != "" && !strings.HasPrefix(u.Path, prefix) {
			continue
		}
		o := iamUserOut{Path: u.Path, UserName: u.Name, UserId: u.ID, Arn: u.arn(r.Account.ID), CreateDate: iamTime(u.Created)}
		if u.PasswordLastUsed != nil {
			o.PasswordLastUsed = iamTime(*u.PasswordLastUsed)
		}
		out = append(out, o)
	}
	page, next, err := iamPage(r, out)
	if err != nil {
		return nil, err
	}
	return &struct {
		Users       []iamUserOut `xml:"Users>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{page, next != "", next}, nil
}

// userFor resolves the UserName parameter; without it IAM acts on the
// calling user, which role sessions do not have.
func userFor(r *request) (*iamUser, error) {
	name := r.param("UserName")
	if name == "" {
		if strings.Contains(r.Caller.ARN, ":user/") {
			name = r.Caller.ARN[strings.LastIndex(r.Caller.ARN, "/")+1:]
		} else {
			return nil, iamValidation("Must specify userName when calling with non-User credentials")
		}
	}
	for _, u := range iamFor(r).users {
		if u.Name == name {
			return u, nil
		}
	}
	return nil, noSuchEntity("The user with name %s cannot be found.", name)
}

type iamAccessKeyOut struct {
	UserName    string
	AccessKeyId string
	Status      string
	CreateDate  string
}

func iamListAccessKeys(r *request) (any, error) {
	u, err := userFor(r)
	if err != nil {
		return nil, err
	}
	var out []iamAccessKeyOut
	for _, k := range u.Keys {
		out = append(out, iamAccessKeyOut{u.Name, k.ID, k.Status, iamTime(k.Created)})
	}
	page, next, err := iamPage(r, out)
	if err != nil {
		return nil, err
	}
	return &struct {
		AccessKeyMetadata []iamAccessKeyOut `xml:"AccessKeyMetadata>member"`
		IsTruncated       bool
		Marker            string `xml:",omitempty"`
	}{page, next != "", next}, nil
}

func (st *iamState) findKey(id string) (*iamUser, *iamAccessKey) {
	for _, u := range st.users {
		for _, k := range u.Keys {
			if k.ID == id {
				return u, k
			}
		}
	}
	return nil, nil
}

type iamAccessKeyLastUsed struct {
	LastUsedDate string `xml:",omitempty"`
	ServiceName  string
	Region       string
}

func iamGetAccessKeyLastUsed(r *request) (any, error) {
	id := r.param("AccessKeyId")
	u, k := iamFor(r).findKey(id)
	if k == nil {
		return nil, errForbidden("AccessDenied", "User: %s is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key %s", r.Caller.ARN, id)
	}
	last := iamAccessKeyLastUsed{ServiceName: "N/A", Region: "N/A"}
	if k.LastUsed != nil {
		last = iamAccessKeyLastUsed{iamTime(*k.LastUsed), k.LastUsedService, k.LastUsedRegion}
	}
	return &struct {
		UserName          string
		AccessKeyLastUsed iamAccessKeyLastUsed
	}{u.Name, last}, nil
}

func iamUpdateAccessKey(r *request) (any, error) {
	status := r.param("Status")
	if status != "Active" && status != "Inactive" {
		return nil, iamValidation("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", status)
	}
	id := r.param("AccessKeyId")
	var k *iamAccessKey
	if r.param("UserName") != "" {
		u, err := userFor(r)
		if err != nil {
			return nil, err
		}
		for _, uk := range u.Keys {
			if uk.ID == id {
				k = uk
			}
		}
	} else {
		_, k = iamFor(r).findKey(id)
	}
	if k == nil {
		return nil, noSuchEntity("The Access Key with id %s cannot be found.", id)
	}
	k.Status = status
	return nil, nil
}

type iamMFADeviceOut struct {
	UserName     string
	SerialNumber string
	EnableDate   string
}

func iamListMFADevices(r *request) (any, error) {
	u, err := userFor(r)
	if err != nil {
		return nil, err
	}
	var out []iamMFADeviceOut
	for _, sn := range u.MFASerials {
		out = append(out, iamMFADeviceOut{u.Name, sn, iamTime(u.Created)})
	}
	page, next, err := iamPage(r, out)
	if err != nil {
		return nil, err
	}
	return &struct {
		MFADevices  []iamMFADeviceOut `xml:"MFADevices>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{page, next != "", next}, nil
}

type iamVirtualMFAUserOut struct {
	Path     string `xml:",omitempty"`
	UserName string `xml:",omitempty"`
	UserId   string
	Arn      string
	// CreateDate is required by the SDK's User shape.
	CreateDate string
}

type iamVirtualMFADeviceOut struct {
	SerialNumber string
	User         *iamVirtualMFAUserOut `xml:",omitempty"`
	EnableDate   string                `xml:",omitempty"`
}

// iamListVirtualMFADevices lists the account's virtual MFA devices: the
// root user's when the seed enables root MFA (root MFA is a virtual device
// in the simulator) and every user MFA device. All are assigned.
func iamListVirtualMFADevices(r *request) (any, error) {
	status := r.param("AssignmentStatus")
	switch status {
	case "", "Any", "Assigned", "Unassigned":
	default:
		return nil, iamValidation("1 validation error detected: Value '%s' at 'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value set: [Unassigned, Any, Assigned]", status)
	}
	st := iamFor(r)
	var out []iamVirtualMFADeviceOut
	if status != "Unassigned" {
		a := r.Account
		if st.rootMFA {
			out = append(out, iamVirtualMFADeviceOut{
				SerialNumber: fmt.Sprintf("arn:aws:iam::%s:mfa/root-account-mfa-device", a.ID),
				User:         &iamVirtualMFAUserOut{UserId: a.ID, Arn: fmt.Sprintf("arn:aws:iam::%s:root", a.ID), CreateDate: iamTime(a.Joined)},
				EnableDate:   iamTime(a.Joined),
			})
		}
		for _, u := range st.users {
			for _, sn := range u.MFASerials {
				out = append(out, iamVirtualMFADeviceOut{
					SerialNumber: sn,
					User: &iamVirtualMFAUserOut{Path: u.Path, UserName: u.Name, UserId: u.ID,
						Arn: u.arn(a.ID), CreateDate: iamTime(u.Created)},
					EnableDate: iamTime(u.Created),
				})
			}
		}
	}
	page, next, err := iamPage(r, out)
	if err != nil {
		return nil, err
	}
	return &struct {
		VirtualMFADevices []iamVirtualMFADeviceOut `xml:"VirtualMFADevices>member"`
		IsTruncated       bool
		Marker            string `xml:",omitempty"`
	}{page, next != "", next}, nil
}

func iamGetLoginProfile(r *request) (any, error) {
	u, err := userFor(r)
	if err != nil {
		return nil, err
	}
	if !u.PasswordEnabled {
		return nil, noSuchEntity("Login Profile for User %s cannot be found.", u.Name)
	}
	return &struct{ LoginProfile iamLoginProfile }{iamLoginProfile{u.Name, iamTime(u.PasswordCreated), false}}, nil
}

type iamLoginProfile struct {
	UserName              string
	CreateDate            string
	PasswordResetRequired bool
}

// --- credential report ---

// credentialReportColumns are the columns of the real IAM credential report.
var credentialReportColumns = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
	"password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
}

// reportMaxAge is how long IAM serves a generated report before
// GenerateCredentialReport builds a new one.
const reportMaxAge = 4 * time.Hour

func reportTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

func (st *iamState) buildReport(a *account, now time.Time) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(credentialReportColumns)
	root := []string{"<root_account>", fmt.Sprintf("arn:aws:iam::%s:root", a.ID), reportTime(a.Joined),
		"not_supported", "no_information", "not_supported", "not_supported", strconv.FormatBool(st.rootMFA),
		strconv.FormatBool(st.rootKeys), "N/A", "N/A", "N/A", "N/A", "false", "N/A", "N/A", "N/A", "N/A",
		"false", "N/A", "false", "N/A"}
	if st.rootKeys {
		root[9] = reportTime(a.Joined)
	}
	w.Write(root)
	for _, u := range st.users {
		row := []string{u.Name, u.arn(a.ID), reportTime(u.Created)}
		if u.PasswordEnabled {
			last := "no_information"
			if u.PasswordLastUsed != nil {
				last = reportTime(*u.PasswordLastUsed)
			}
			next := "N/A"
			if st.passwordPolicy != nil && st.passwordPolicy.MaxPasswordAge > 0 {
				next = reportTime(u.PasswordCreated.Add(time.Duration(st.passwordPolicy.MaxPasswordAge) * 24 * time.Hour))
			}
			row = append(row, "true", last, reportTime(u.PasswordCreated), next)
		} else {
			row = append(row, "false", "N/A", "N/A", "N/A")
		}
		row = append(row, strconv.FormatBool(len(u.MFASerials) > 0))
		for i := 0; i < 2; i++ {
			if i >= len(u.Keys) {
				row = append(row, "false", "N/A", "N/A", "N/A", "N/A")
				continue
			}
			k := u.Keys[i]
			used, region, svc := "N/A", "N/A", "N/A"
			if k.LastUsed != nil {
				used, region, svc = reportTime(*k.LastUsed), k.LastUsedRegion, k.LastUsedService
			}
			row = append(row, strconv.FormatBool(k.Status == "Active"), reportTime(k.Created), used, region, svc)
		}
		row = append(row, "false", "N/A", "false", "N/A")
		w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}

func iamGenerateCredentialReport(r *request) (any, error) {
	st := iamFor(r)
	now := r.srv.now()
	type out struct {
		State       string
		Description string
	}
	if st.report != nil && now.Sub(st.report.Generated) < reportMaxAge {
		return &out{"COMPLETE", ""}, nil
	}
	// The report is ready by the next call; AWS takes seconds, and callers
	// poll Generate until COMPLETE, which the next call answers.
	st.report = &credentialReport{Generated: now.UTC().Truncate(time.Second), Content: st.buildReport(r.Account, now)}
	return &out{"STARTED", "No report exists. Starting a new report generation task"}, nil
}

func iamGetCredentialReport(r *request) (any, error) {
	st := iamFor(r)
	if st.report == nil {
		return nil, newError(http.StatusGone, "ReportNotPresent", "Credential report not present. Use GenerateCredentialReport to generate a report.")
	}
	if r.srv.now().Sub(st.report.Generated) >= reportMaxAge {
		return nil, newError(http.StatusGone, "ReportExpired", "The credential report is expired. Use GenerateCredentialReport to generate a new one.")
	}
	// Blobs travel base64-encoded in Query XML.
	return &struct {
		Content       string
		ReportFormat  string
		GeneratedTime string
	}{base64.StdEncoding.EncodeToString(st.report.Content), "text/csv", iamTime(st.report.Generated)}, nil
}

// --- roles ---

type iamRoleOut struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	Description              string `xml:",omitempty"`
	MaxSessionDuration       int
}

func roleOut(role *iamRole) iamRoleOut {
	doc := role.TrustPolicy
	if doc == "" {
		doc = trustPolicyFor(role)
	}
	// IAM returns policy documents URL-encoded.
	return iamRoleOut{Path: role.Path, RoleName: role.Name, RoleId: role.ID, Arn: role.ARN, CreateDate: iamTime(role.Created),
		AssumeRolePolicyDocument: url.QueryEscape(doc), Description: role.Description, MaxSessionDuration: role.MaxSessionDuration}
}

// trustPolicyFor renders a seeded role's trust as the policy document IAM
// would hold.
func trustPolicyFor(role *iamRole) string {
	stmt := map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"AWS": role.TrustedPrincipals}}
	if role.ExternalID != "" {
		stmt["Condition"] = map[string]any{"StringEquals": map[string]any{"sts:ExternalId": role.ExternalID}}
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{stmt}})
	return string(b)
}

func iamGetRole(r *request) (any, error) {
	name := r.param("RoleName")
	role := r.Account.roles[name]
	if role == nil {
		return nil, noSuchEntity("The role with name %s cannot be found.", name)
	}
	return &struct{ Role iamRoleOut }{roleOut(role)}, nil
}

func iamListRoles(r *request) (any, error) {
	prefix := r.param("PathPrefix")
	var out []iamRoleOut
	for _, name := range sortedKeys(r.Account.roles) {
		role := r.Account.roles[name]
		if prefix == "" || strings.HasPrefix(role.Path, prefix) {
			out = append(out, roleOut(role))
		}
	}
	page, next, err := iamPage(r, out)
	if err != nil {
		return nil, err
	}
	return &struct {
		Roles       []iamRoleOut `xml:"Roles>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{page, next != "", next}, nil
}

var roleNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// parseTrustPolicy extracts what STS enforces from a trust policy: the AWS
// principals allowed to assume and a required sts:ExternalId.
func parseTrustPolicy(doc string) (principals []string, externalID string, err error) {
	var p struct {
		Statement []struct {
			Effect    string
			Principal any
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil || len(p.Statement) == 0 {
		return nil, "", errBadRequest("MalformedPolicyDocument", "This policy contains invalid Json")
	}
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		switch pr := st.Principal.(type) {
		case string:
			principals = append(principals, pr)
		case map[string]any:
			for _, k := range []string{"AWS", "Service"} {
				switch v := pr[k].(type) {
				case string:
					principals = append(principals, v)
				case []any:
					for _, e := range v {
						if s, ok := e.(string); ok {
							principals = append(principals, s)
						}
					}
				}
			}
		}
		if eq, ok := st.Condition["StringEquals"]; ok {
			if v, ok := eq["sts:ExternalId"].(string); ok {
				externalID = v
			}
		}
	}
	sort.Strings(principals)
	return principals, externalID, nil
}

func iamCreateRole(r *request) (any, error) {
	name := r.param("RoleName")
	if !roleNamePattern.MatchString(name) {
		return nil, iamValidation("1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	if r.Account.roles[name] != nil {
		return nil, errConflict("EntityAlreadyExists", "Role with name %s already exists.", name)
	}
	doc := r.param("AssumeRolePolicyDocument")
	principals, externalID, err := parseTrustPolicy(doc)
	if err != nil {
		return nil, err
	}
	maxSession, err := r.paramInt("MaxSessionDuration")
	if err != nil {
		return nil, err
	}
	if maxSession != 0 && (maxSession < 3600 || maxSession > 43200) {
		return nil, iamValidation("1 validation error detected: Value '%d' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", maxSession)
	}
	role := r.srv.newRole(r.Account.ID, SeedRole{Name: name, TrustedPrincipals: principals, ExternalID: externalID, MaxSessionDuration: maxSession})
	role.TrustPolicy = doc
	role.Description = r.param("Description")
	role.Created = r.srv.now().UTC().Truncate(time.Second)
	role.created = r.srv.now()
	role.trustWritten, role.permsWritten = role.created, role.created
	if path := r.param("Path"); path != "" {
		role.Path = path
		role.ARN = fmt.Sprintf("arn:aws:iam::%s:role%s%s", r.Account.ID, path, name)
	}
	r.Account.roles[name] = role
	return &struct{ Role iamRoleOut }{roleOut(role)}, nil
}

// serviceLinkedRoleNames maps service principals orgguard enables to the
// role names AWS gives their service-linked roles.
var serviceLinkedRoleNames = map[string]string{
	"config.amazonaws.com":             "AWSServiceRoleForConfig",
	"remediation.config.amazonaws.com": "AWSServiceRoleForConfigRemediation",
	"securityhub.amazonaws.com":        "AWSServiceRoleForSecurityHub",
	"guardduty.amazonaws.com":          "AWSServiceRoleForAmazonGuardDuty",
	"access-analyzer.amazonaws.com":    "AWSServiceRoleForAccessAnalyzer",
	"organizations.amazonaws.com":      "AWSServiceRoleForOrganizations",
	"ssm.amazonaws.com":                "AWSServiceRoleForAmazonSSM",
	"cloudtrail.amazonaws.com":         "AWSServiceRoleForCloudTrail",
}

func iamCreateServiceLinkedRole(r *request) (any, error) {
	svcName := r.param("AWSServiceName")
	name, ok := serviceLinkedRoleNames[svcName]
	if !ok {
		return nil, errBadRequest("InvalidInput", "Service name %s is not a recognized service or does not support service-linked roles.", svcName)
	}
	if suffix := r.param("CustomSuffix"); suffix != "" {
		name += "_" + suffix
	}
	if r.Account.roles[name] != nil {
		return nil, errBadRequest("InvalidInput", "Service role name %s has been taken in this account, please try a different suffix.", name)
	}
	path := "/aws-service-role/" + svcName + "/"
	role := r.srv.newRole(r.Account.ID, SeedRole{Name: name, TrustedPrincipals: []string{svcName}})
	role.Path = path
	role.ARN = fmt.Sprintf("arn:aws:iam::%s:role%s%s", r.Account.ID, path, name)
	role.ServiceLinked = true
	role.Description = r.param("Description")
	role.Created = r.srv.now().UTC().Truncate(time.Second)
	role.created = r.srv.now()
	role.trustWritten, role.permsWritten = role.created, role.created
	role.TrustPolicy = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"%s"},"Action":"sts:AssumeRole"}]}`, svcName)
	r.Account.roles[name] = role
	return &struct{ Role iamRoleOut }{roleOut(role)}, nil
}

// --- role policies ---

func roleFor(r *request) (*iamRole, error) {
	name := r.param("RoleName")
	role := r.Account.roles[name]
	if role == nil {
		return nil, noSuchEntity("The role with name %s cannot be found.", name)
	}
	return role, nil
}

// mutableRole refuses changes to service-linked roles, which only their
// service may change.
func mutableRole(r *request) (*iamRole, error) {
	role, err := roleFor(r)
	if err != nil {
		return nil, err
	}
	if role.ServiceLinked {
		return nil, errBadRequest("UnmodifiableEntity", "Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", role.Name)
	}
	return role, nil
}

func iamUpdateAssumeRolePolicy(r *request) (any, error) {
	role, err := mutableRole(r)
	if err != nil {
		return nil, err
	}
	doc := r.param("PolicyDocument")
	principals, externalID, err := parseTrustPolicy(doc)
	if err != nil {
		return nil, err
	}
	r.srv.roleTrustChanging(role)
	role.TrustPolicy, role.TrustedPrincipals, role.ExternalID = doc, principals, externalID
	return nil, nil
}

var policyARNPattern = regexp.MustCompile(`^arn:aws:iam::(aws|\d{12}):policy/(?:[\x21-\x7E]*/)?([\w+=,.@-]+)$`)

func iamAttachRolePolicy(r *request) (any, error) {
	role, err := mutableRole(r)
	if err != nil {
		return nil, err
	}
	arn := r.param("PolicyArn")
	if !policyARNPattern.MatchString(arn) {
		return nil, iamValidation("ARN %s is not valid.", arn)
	}
	if !slices.Contains(role.AttachedPolicies, arn) {
		// Managed policies per role are limited to 10 by default.
		if len(role.AttachedPolicies) >= 10 {
			return nil, errConflict("LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10")
		}
		role.AttachedPolicies = append(role.AttachedPolicies, arn)
		r.srv.rolePermsChanged(role)
	}
	return nil, nil
}

func iamDetachRolePolicy(r *request) (any, error) {
	role, err := mutableRole(r)
	if err != nil {
		return nil, err
	}
	arn := r.param("PolicyArn")
	i := slices.Index(role.AttachedPolicies, arn)
	if i < 0 {
		return nil, noSuchEntity("Policy %s was not found.", arn)
	}
	role.AttachedPolicies = slices.Delete(role.AttachedPolicies, i, i+1)
	r.srv.rolePermsChanged(role)
	return nil, nil
}

type iamAttachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

func iamListAttachedRolePolicies(r *request) (any, error) {
	role, err := roleFor(r)
	if err != nil {
		return nil, err
	}
	var out []iamAttachedPolicy
	for _, arn := range role.AttachedPolicies {
		out = append(out, iamAttachedPolicy{arn[strings.LastIndex(arn, "/")+1:], arn})
	}
	page, next, err := iamPage(r, out)
	if err != nil {
		return nil, err
	}
	return &struct {
		AttachedPolicies []iamAttachedPolicy `xml:"AttachedPolicies>member"`
		IsTruncated      bool
		Marker           string `xml:",omitempty"`
	}{page, next != "", next}, nil
}

func iamPutRolePolicy(r *request) (any, error) {
	role, err := mutableRole(r)
	if err != nil {
		return nil, err
	}
	name, doc := r.param("PolicyName"), r.param("PolicyDocument")
	if !roleNamePattern.MatchString(name) {
		return nil, iamValidation("1 validation error detected: Value '%s' at 'policyName' failed to satisfy constraint", name)
	}
	if !json.Valid([]byte(doc)) {
		return nil, errBadRequest("MalformedPolicyDocument", "This policy contains invalid Json")
	}
	if role.InlinePolicies == nil {
		role.InlinePolicies = map[string]string{}
	}
	if old, ok := role.InlinePolicies[name]; !ok || old != doc {
		r.srv.rolePermsChanged(role)
	}
	role.InlinePolicies[name] = doc
	return nil, nil
}

func iamGetRolePolicy(r *request) (any, error) {
	role, err := roleFor(r)
	if err != nil {
		return nil, err
	}
	name := r.param("PolicyName")
	doc, ok := role.InlinePolicies[name]
	if !ok {
		return nil, noSuchEntity("The role policy with name %s cannot be found.", name)
	}
	return &struct {
		RoleName       string
		PolicyName     string
		PolicyDocument string
	}{role.Name, name, url.QueryEscape(doc)}, nil
}

func iamListRolePolicies(r *request) (any, error) {
	role, err := roleFor(r)
	if err != nil {
		return nil, err
	}
	page, next, err := iamPage(r, sortedKeys(role.InlinePolicies))
	if err != nil {
		return nil, err
	}
	return &struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{page, next != "", next}, nil
}

func iamDeleteRolePolicy(r *request) (any, error) {
	role, err := mutableRole(r)
	if err != nil {
		return nil, err
	}
	name := r.param("PolicyName")
	if _, ok := role.InlinePolicies[name]; !ok {
		return nil, noSuchEntity("The role policy with name %s cannot be found.", name)
	}
	delete(role.InlinePolicies, name)
	r.srv.rolePermsChanged(role)
	return nil, nil
}
