package awssim

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
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

func TestSTSSourceIdentityIsSticky(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	// Chain: management -> execution role in 100000000004 with a source
	// identity -> OrganizationAccountAccessRole is not trusted by a member,
	// so chain back into the same account's execution role.
	first := memberConfig(s, "100000000004", "us-east-1", func(o *stscreds.AssumeRoleOptions) {
		o.SourceIdentity = aws.String("alice")
	})
	client := sts.NewFromConfig(first)
	_, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000004:role/" + demoRole), RoleSessionName: aws.String("chained"),
		ExternalId: aws.String(demoExternalID), SourceIdentity: aws.String("mallory"),
	})
	// The execution role trusts the management account only.
	requireCode(t, err, "AccessDenied")
	if n := len(s.CallsMatching(CallFilter{Operation: "AssumeRole", SourceIdentity: "alice", OnlySuccess: true})); n != 0 {
		t.Errorf("chained AssumeRole succeeded %d times", n)
	}
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
	clock := &now
	s := newTestServer(t, Options{Now: func() time.Time { return *clock }})
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
	*clock = now.Add(16 * time.Minute)
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireCode(t, err, "ExpiredToken")
}
