package awssim

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestSTSGetCallerIdentityManagement(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	out := must[*sts.GetCallerIdentityOutput](t)(sts.NewFromConfig(mgmtConfig(s, "us-east-1")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(out.Account) != demoMgmt {
		t.Errorf("Account = %q", aws.ToString(out.Account))
	}
	if got := aws.ToString(out.Arn); got != "arn:aws:iam::100000000001:user/orgguard-operator" {
		t.Errorf("Arn = %q", got)
	}
}

func TestSTSAssumeRoleIntoMember(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cfg := memberConfig(s, "100000000006", "eu-west-1", func(o *stscreds.AssumeRoleOptions) {
		o.SourceIdentity = aws.String("approver@example.com")
	})
	out := must[*sts.GetCallerIdentityOutput](t)(sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if got, want := aws.ToString(out.Arn), "arn:aws:sts::100000000006:assumed-role/OrgguardExecutionRole/orgguard-test"; got != want {
		t.Errorf("Arn = %q, want %q", got, want)
	}
	if aws.ToString(out.Account) != "100000000006" {
		t.Errorf("Account = %q", aws.ToString(out.Account))
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !creds.CanExpire || creds.Expires.Before(time.Now()) || creds.SessionToken == "" {
		t.Errorf("credentials not temporary: %+v", creds)
	}
	calls := s.CallsMatching(CallFilter{Service: "sts", Operation: "GetCallerIdentity", AccountID: "100000000006"})
	if len(calls) != 1 {
		t.Fatalf("got %d GetCallerIdentity calls in member, want 1", len(calls))
	}
	c := calls[0]
	if c.SourceIdentity != "approver@example.com" || c.SessionName != "orgguard-test" || c.Region != "eu-west-1" {
		t.Errorf("call = %+v", c)
	}
	assume := s.CallsMatching(CallFilter{Operation: "AssumeRole", OnlySuccess: true})
	if len(assume) != 1 || assume[0].AccountID != demoMgmt || assume[0].Params["ExternalId"] != demoExternalID {
		t.Errorf("AssumeRole calls = %+v", assume)
	}
}

func TestSTSAssumeRoleRefusals(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	client := sts.NewFromConfig(mgmtConfig(s, "us-east-1"))
	role := func(acct string) *string { return aws.String("arn:aws:iam::" + acct + ":role/" + demoRole) }
	tests := []struct {
		name string
		in   sts.AssumeRoleInput
		code string
	}{
		{"wrong external id", sts.AssumeRoleInput{RoleArn: role("100000000006"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("nope")}, "AccessDenied"},
		{"missing external id", sts.AssumeRoleInput{RoleArn: role("100000000006"), RoleSessionName: aws.String("s1")}, "AccessDenied"},
		{"unknown role", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::100000000006:role/Nope"), RoleSessionName: aws.String("s1"), ExternalId: aws.String(demoExternalID)}, "AccessDenied"},
		{"unknown account", sts.AssumeRoleInput{RoleArn: role("999999999999"), RoleSessionName: aws.String("s1"), ExternalId: aws.String(demoExternalID)}, "AccessDenied"},
		{"suspended account", sts.AssumeRoleInput{RoleArn: role("100000000011"), RoleSessionName: aws.String("s1"), ExternalId: aws.String(demoExternalID)}, "AccessDenied"},
		{"bad session name", sts.AssumeRoleInput{RoleArn: role("100000000006"), RoleSessionName: aws.String("has space"), ExternalId: aws.String(demoExternalID)}, "ValidationError"},
		{"duration above role max", sts.AssumeRoleInput{RoleArn: role("100000000006"), RoleSessionName: aws.String("s1"), ExternalId: aws.String(demoExternalID), DurationSeconds: aws.Int32(7200)}, "ValidationError"},
		{"malformed arn", sts.AssumeRoleInput{RoleArn: aws.String("not-an-arn"), RoleSessionName: aws.String("s1")}, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.AssumeRole(ctx, &tt.in)
			requireCode(t, err, tt.code)
		})
	}
}

func TestSTSTrustIsEnforced(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	// A member session may not assume another account's execution role:
	// those trust only the management account.
	member := sts.NewFromConfig(memberConfig(s, "100000000004", "us-east-1"))
	_, err := member.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000006:role/" + demoRole), RoleSessionName: aws.String("hop"),
		ExternalId: aws.String(demoExternalID),
	})
	requireCode(t, err, "AccessDenied")
	// OrganizationAccountAccessRole trusts the management account, no external ID.
	mgmt := sts.NewFromConfig(mgmtConfig(s, "us-east-1"))
	must[*sts.AssumeRoleOutput](t)(mgmt.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000006:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("admin"),
	}))
}

func TestSTSRootMayNotAssumeRoles(t *testing.T) {
	t.Parallel()
	seed, err := DemoSeed()
	if err != nil {
		t.Fatal(err)
	}
	seed.ManagementCredentials.PrincipalARN = "arn:aws:iam::100000000001:root"
	s := newTestServer(t, Options{Seed: seed})
	c := sts.NewFromConfig(mgmtConfig(s, "us-east-1"))
	id := must[*sts.GetCallerIdentityOutput](t)(c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(id.UserId) != demoMgmt {
		t.Errorf("root UserId = %q", aws.ToString(id.UserId))
	}
	_, err = c.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000006:role/" + demoRole), RoleSessionName: aws.String("root"),
		ExternalId: aws.String(demoExternalID),
	})
	requireCode(t, err, "AccessDenied")
}

func TestAuthenticationFailures(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	ak, _ := s.ManagementCredentials()
	bad := mgmtConfig(s, "us-east-1")
	bad.Credentials = credentials.NewStaticCredentialsProvider(ak, "wrong-secret", "")
	_, err := sts.NewFromConfig(bad).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireCode(t, err, "SignatureDoesNotMatch")

	unknown := mgmtConfig(s, "us-east-1")
	unknown.Credentials = credentials.NewStaticCredentialsProvider("AKIAUNKNOWNKEY000000", "x", "")
	_, err = sts.NewFromConfig(unknown).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireCode(t, err, "InvalidClientTokenId")

	calls := s.Calls()
	if len(calls) != 2 || calls[0].ErrorCode != "SignatureDoesNotMatch" || calls[1].ErrorCode != "InvalidClientTokenId" {
		t.Errorf("calls = %+v", calls)
	}
}

func TestExpiredSessionRefused(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64 // the server reads it from its own goroutines
	clock.Store(now.UnixNano())
	s := newTestServer(t, Options{Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }})
	out := must[*sts.AssumeRoleOutput](t)(sts.NewFromConfig(mgmtConfig(s, "us-east-1")).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000006:role/" + demoRole), RoleSessionName: aws.String("short"),
		ExternalId: aws.String(demoExternalID), DurationSeconds: aws.Int32(900),
	}))
	if got := out.Credentials.Expiration.Sub(now); got != 15*time.Minute {
		t.Errorf("expiration in %v, want 15m", got)
	}
	cfg := mgmtConfig(s, "us-east-1")
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	clock.Store(now.Add(16 * time.Minute).UnixNano())
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireCode(t, err, "ExpiredToken")
}

func TestAccessDeniedFaultForAccount(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Faults: []Fault{{AccountID: "100000000006", AccessDenied: true}}})
	c := sts.NewFromConfig(mgmtConfig(s, "us-east-1"))
	_, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000006:role/" + demoRole), RoleSessionName: aws.String("s1"), ExternalId: aws.String(demoExternalID),
	})
	requireCode(t, err, "AccessDenied")
	// Other accounts are unaffected.
	must[*sts.AssumeRoleOutput](t)(c.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000007:role/" + demoRole), RoleSessionName: aws.String("s1"), ExternalId: aws.String(demoExternalID),
	}))
}

func TestQueryThrottlingAndInternalErrors(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Faults: []Fault{
		{Service: "sts", Operation: "GetCallerIdentity", Throttle: &Throttle{Burst: 1}},
		{Service: "iam", Operation: "ListUsers", ErrorRate: 1},
	}})
	c := sts.NewFromConfig(mgmtConfig(s, "us-east-1"))
	must[*sts.GetCallerIdentityOutput](t)(c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireCode(t, err, "Throttling")
	_, err = iam.NewFromConfig(mgmtConfig(s, "us-east-1")).ListUsers(ctx, &iam.ListUsersInput{})
	requireCode(t, err, "InternalFailure")
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("want HTTP 500, got %v", err)
	}
}
