package activities

import (
	"slices"
	"testing"
	"time"
)

func TestSettingsFallBackToCatalogueDefaults(t *testing.T) {
	t.Parallel()
	env := Env{Guardrail: control("ec2.no_public_ssh_rdp", map[string]any{"ports": []any{22.0}})}
	s := controlSettings(env)
	if got := s.nums("ports"); !slices.Equal(got, []float64{22}) {
		t.Errorf("ports = %v, want the guardrail's [22]", got)
	}
	if got := s.strs("cidrs"); !slices.Equal(got, []string{"0.0.0.0/0", "::/0"}) {
		t.Errorf("cidrs = %v, want the catalogue default", got)
	}
	pw := controlSettings(Env{Guardrail: control("iam.password_policy", map[string]any{"minimum_length": 16})})
	if pw.integer("minimum_length") != 16 || pw.integer("password_reuse_prevention") != 24 || !pw.boolean("require_symbols") {
		t.Errorf("password policy settings: %d %d %v", pw.integer("minimum_length"), pw.integer("password_reuse_prevention"), pw.boolean("require_symbols"))
	}
}

func TestParseCredentialReport(t *testing.T) {
	t.Parallel()
	report := "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active\n" +
		"<root_account>,arn:aws:iam::1:root,2020-01-01T00:00:00+00:00,not_supported,2024-01-01T00:00:00+00:00,not_supported,not_supported,true,false\n" +
		"alice,arn:aws:iam::1:user/alice,2021-02-03T04:05:06+00:00,true,no_information,2021-02-03T04:05:06+00:00,N/A,false,true\n" +
		"bot,arn:aws:iam::1:user/bot,2022-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true\n"
	users, err := parseCredentialReport([]byte(report))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 {
		t.Fatalf("got %d users, want 2 (root skipped): %+v", len(users), users)
	}
	a := users[0]
	if a.Name != "alice" || !a.PasswordEnabled || a.MFAActive || !a.PasswordLastUsed.IsZero() ||
		!a.PasswordChanged.Equal(time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("alice = %+v", a)
	}
	if users[1].PasswordEnabled {
		t.Errorf("bot has no password: %+v", users[1])
	}
}

func TestFixPasswordPolicyKeepsStricterValues(t *testing.T) {
	t.Parallel()
	have := pwPolicy{MinLength: 20, Upper: true, Reuse: 5, MaxAge: 30, AllowChange: true}
	want := pwPolicy{MinLength: 14, Upper: true, Lower: true, Reuse: 24, MaxAge: 90, AllowChange: true}
	got, why := fixPolicy(have, want)
	if got.MinLength != 20 || got.MaxAge != 30 || got.Reuse != 24 || !got.Lower {
		t.Errorf("fixed = %+v", got)
	}
	if len(why) != 2 {
		t.Errorf("reasons = %v, want lowercase and reuse", why)
	}
	if _, why := fixPolicy(got, want); len(why) != 0 {
		t.Errorf("a fixed policy still falls short: %v", why)
	}
}
