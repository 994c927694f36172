package activities

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

const denyLeave = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyLeave","Effect":"Deny","Action":["organizations:LeaveOrganization"],"Resource":"*"}]}`

func scpGuardrail(name, policy string, owns bool, attachTo ...string) guardrails.Guardrail {
	return guardrails.Guardrail{ID: "scp." + name, Kind: guardrails.KindSCP, Name: name, Description: "test " + name,
		SCP: &guardrails.SCP{PolicyName: name, Policy: policy, AttachTo: attachTo, OwnsAttachments: owns}}
}

// editedSeed returns the demo seed changed by edit.
func editedSeed(edit func(*awssim.Seed)) *awssim.Seed {
	seed, err := awssim.DemoSeed()
	if err != nil {
		panic(err)
	}
	edit(seed)
	return seed
}

// rootID asks the simulator for the organization's root.
func rootID(t *testing.T, s *sim) string {
	t.Helper()
	env := s.env(t, "", workflows.OrgRegion, guardrails.Guardrail{})
	out, err := organizations.NewFromConfig(env.Config).ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Roots[0].Id)
}

var _ = addScenarios("scp",
	scenario{
		name: "missing policy is created and attached to root and an OU path", region: workflows.OrgRegion,
		guardrail:  scpGuardrail("deny-leave", denyLeave, false, "root", "Root/Workloads/Prod", acctSandbox),
		evidence:   "policy deny-leave does not exist",
		wantWrites: []string{"organizations:CreatePolicy", "organizations:AttachPolicy"},
	},
	scenario{
		name: "content edited by hand is restored", region: workflows.OrgRegion,
		guardrail: scpGuardrail("deny-leave", denyLeave, false, acctWebDev),
		opts: awssim.Options{Seed: editedSeed(func(s *awssim.Seed) {
			s.Policies = append(s.Policies, awssim.SeedPolicy{Name: "deny-leave", Targets: []string{acctWebDev},
				Content: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`})
		})},
		evidence:   "differs from the guardrail",
		wantWrites: []string{"organizations:UpdatePolicy"},
	},
	scenario{
		name: "owned attachments removed by hand are restored and extra ones detached", region: workflows.OrgRegion,
		guardrail: scpGuardrail("deny-leave", denyLeave, true, acctWebDev),
		opts: awssim.Options{Seed: editedSeed(func(s *awssim.Seed) {
			// Same document, reformatted: not drift. Attached to the wrong account.
			s.Policies = append(s.Policies, awssim.SeedPolicy{Name: "deny-leave", Targets: []string{acctPayDev},
				Content: `{"Statement":{"Resource":"*","Action":"organizations:LeaveOrganization","Effect":"Deny","Sid":"DenyLeave"},"Version":"2012-10-17"}`})
		})},
		evidence:   "not attached to " + acctWebDev,
		wantWrites: []string{"organizations:AttachPolicy", "organizations:DetachPolicy"},
	},
	scenario{
		name: "disabled SCP policy type is enabled", region: workflows.OrgRegion,
		guardrail:  scpGuardrail("deny-leave", denyLeave, false, "root"),
		opts:       awssim.Options{Seed: editedSeed(func(s *awssim.Seed) { s.EnabledPolicyTypes = []string{"TAG_POLICY"} })},
		evidence:   "SERVICE_CONTROL_POLICY type is disabled",
		wantWrites: []string{"organizations:EnablePolicyType", "organizations:CreatePolicy", "organizations:AttachPolicy"},
	},
)

func TestNormalizePolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		a, b string
		same bool
	}{
		{"key order and whitespace", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"a:B","Resource":"*"}]}`,
			`{ "Statement": [ { "Resource": "*", "Action": "a:B", "Effect": "Deny" } ], "Version": "2012-10-17" }`, true},
		{"single statement object", `{"Statement":{"Effect":"Deny","Action":["a:B"],"Resource":"*"}}`,
			`{"Statement":[{"Effect":"Deny","Action":"a:B","Resource":["*"]}]}`, true},
		{"action order", `{"Statement":[{"Effect":"Deny","Action":["a:B","a:C"],"Resource":"*"}]}`,
			`{"Statement":[{"Effect":"Deny","Action":["a:C","a:B"],"Resource":"*"}]}`, true},
		{"different action", `{"Statement":[{"Effect":"Deny","Action":"a:B","Resource":"*"}]}`,
			`{"Statement":[{"Effect":"Deny","Action":"a:C","Resource":"*"}]}`, false},
		{"different effect", `{"Statement":[{"Effect":"Deny","Action":"a:B","Resource":"*"}]}`,
			`{"Statement":[{"Effect":"Allow","Action":"a:B","Resource":"*"}]}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := normalizePolicy(c.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := normalizePolicy(c.b)
			if err != nil {
				t.Fatal(err)
			}
			if (a == b) != c.same {
				t.Errorf("normalised equal = %v, want %v:\n%s\n%s", a == b, c.same, a, b)
			}
		})
	}
}

// An owned SCP that is the only Allow of an account (FullAWSAccess was
// detached there) is never detached from it: that would deny everything.
func TestSCPRefusesToLeaveTargetWithoutAllow(t *testing.T) {
	t.Parallel()
	allowEC2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`
	s := newSim(t, awssim.Options{Seed: editedSeed(func(s *awssim.Seed) {
		s.Policies = append(s.Policies, awssim.SeedPolicy{Name: "allow-ec2", Content: allowEC2, Targets: []string{acctSandbox, acctWebDev}})
	})})
	defer s.flush(true)
	g := scpGuardrail("allow-ec2", allowEC2, true, acctWebDev)
	env := s.env(t, "", workflows.OrgRegion, g)
	org := organizations.NewFromConfig(env.Config)
	if _, err := org.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(acctSandbox)}); err != nil {
		t.Fatal(err)
	}

	k := scpKind{}
	fs, err := k.Check(ctx, env, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Facts["detach_refused"] != acctSandbox || !strings.Contains(fs[0].Evidence, "no Allow SCP") {
		t.Fatalf("findings: %s %v", describe(fs), fs[0].Facts)
	}
	if fs[0].Change != nil && len(paramStrings(fs[0].Change, "detach")) > 0 {
		t.Errorf("planned a detachment that would leave %s without an Allow: %v", acctSandbox, fs[0].Change.Params)
	}

	// A plan made before FullAWSAccess was removed still names the
	// account: apply refuses rather than cutting the account off.
	stale := workflows.Finding{Resource: fs[0].Resource, Status: workflows.StatusNonCompliant, Change: &workflows.Change{
		Params: map[string]any{"content": allowEC2, "detach": []any{acctSandbox}},
	}}
	s.flush(true)
	_, err = k.Apply(ctx, env, stale)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrUnsafeDetach || !app.NonRetryable() {
		t.Fatalf("apply error = %v, want non-retryable %s", err, ErrUnsafeDetach)
	}
	if w := s.writes(); len(w) > 0 {
		t.Errorf("refused apply made writes %v", w)
	}
}

func TestSCPResolvesOUPaths(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{PageSize: 1})
	defer s.flush(true)
	env := s.env(t, "", workflows.OrgRegion, guardrails.Guardrail{})
	api := scpKind{}.org(env)
	root := rootID(t, s)
	cases := []struct {
		in      string
		wantErr bool
	}{
		{"root", false}, {"Root/Workloads/Prod", false}, {"Root/Workloads/Nope", true}, {acctWebDev, false}, {"Workloads", true},
	}
	for _, c := range cases {
		id, err := scpKind{}.resolveTarget(ctx, api, root, c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("resolve %q: %q, %v", c.in, id, err)
		}
		if c.in == "Root/Workloads/Prod" && !strings.HasPrefix(id, "ou-") {
			t.Errorf("resolve %q = %q, want an OU id", c.in, id)
		}
	}
}

// A throttled or concurrently modified Organizations call fails the apply
// with a retryable error; the retry finishes the job without redoing what
// the first attempt did.
func TestSCPApplyResumesAfterRetryableError(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{})
	defer s.flush(true)
	g := scpGuardrail("deny-leave", denyLeave, false, "root", acctWebDev)
	env := s.env(t, "", workflows.OrgRegion, g)
	k := scpKind{}
	fs, err := k.Check(ctx, env, "")
	if err != nil || len(fs) != 1 || fs[0].Change == nil {
		t.Fatalf("check: %v %s", err, describe(fs))
	}
	s.srv.SetFaults(awssim.Fault{Service: "organizations", Operation: "AttachPolicy", Throttle: &awssim.Throttle{Burst: 0}})
	_, err = k.Apply(ctx, env, fs[0])
	if err == nil || !awsclient.Retryable(err) {
		t.Fatalf("apply under throttling: %v, want a retryable error", err)
	}
	s.srv.SetFaults()
	s.flush(true)
	out, err := k.Apply(ctx, env, fs[0])
	if err != nil || !out.Changed {
		t.Fatalf("retried apply: %+v, %v", out, err)
	}
	if n := len(s.srv.CallsMatching(awssim.CallFilter{Operation: "CreatePolicy"})); n != 0 {
		t.Errorf("the retry created the policy again (%d calls)", n)
	}
	if n := len(s.srv.CallsMatching(awssim.CallFilter{Operation: "AttachPolicy", OnlySuccess: true})); n != 2 {
		t.Errorf("the retry made %d attachments, want 2", n)
	}
}

// An approved SCP change is made with the approver as the STS
// SourceIdentity, as member-account changes are: CloudTrail in the
// management account shows who approved.
func TestSCPApprovedChangeCarriesTheApprover(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{})
	g := scpGuardrail("deny-leave", denyLeave, false, "root")
	cfg, where, err := s.factory.ManagementAs(ctx, "", "run-1", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Config: cfg, Where: where, AccountID: s.srv.ManagementAccountID(), Region: workflows.OrgRegion, Partition: "aws", Guardrail: g}
	k := scpKind{}
	fs, err := k.Check(ctx, env, "")
	if err != nil || len(fs) != 1 || fs[0].Change == nil {
		t.Fatalf("check: %v %s", err, describe(fs))
	}
	if _, err := k.Apply(ctx, env, fs[0]); err != nil {
		t.Fatalf("apply: %v", err)
	}
	writes := s.srv.CallsMatching(awssim.CallFilter{Service: "organizations", OnlySuccess: true})
	n := 0
	for _, c := range writes {
		if c.Operation != "CreatePolicy" && c.Operation != "AttachPolicy" {
			continue
		}
		n++
		if c.SourceIdentity != "alice@example.com" || c.AccountID != s.srv.ManagementAccountID() {
			t.Errorf("%s in %s with SourceIdentity %q, want alice@example.com in the management account", c.Operation, c.AccountID, c.SourceIdentity)
		}
	}
	if n == 0 {
		t.Fatal("no SCP write recorded")
	}
}

// The organization wave of a run reads the organization once per worker:
// discovery walks the OU tree, and the baseline pack's SCP guardrails,
// checked all at once as the wave checks them, find the root, the OU
// paths they attach to and the policy list in the run's memo. The first
// run checks with one CheckGuardrail per guardrail (baselines started
// before versionLeanChecks), the second, after the first released its
// memo, with one CheckAccountRegion: each reads once.
func TestSCPRunReadsTheOrganizationOnce(t *testing.T) {
	t.Parallel()
	const accounts, parents = 60, 31 // the root, 10 business units, a Prod and a Dev OU in each
	s := newSim(t, awssim.Options{Seed: awssim.GenerateSeed(awssim.GenerateOptions{Accounts: accounts}), IgnoreEnvironment: true})
	defer s.flush(false)
	set, _, diags := guardrails.LoadDir("../guardrails/packs/baseline", guardrails.LoadOptions{Vars: map[string]string{
		"scp_ous": `["Root/BusinessUnit01","Root/BusinessUnit02","Root/BusinessUnit03","Root/BusinessUnit04"]`}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	scps := workflows.OrgGuardrails(set)
	if len(scps) < 2 {
		t.Fatalf("the baseline pack has %d SCP guardrails", len(scps))
	}
	// Without the Organizations rate limit, which would make the test
	// take 5 s a run.
	a := New(managementFactory(s, awsclient.Options{Limits: map[string]awsclient.Limit{"organizations:*": {RPS: 1e6, Burst: 1e6}}}))
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a.DiscoverAccounts)

	checkEach := func(runID, mgmt string) {
		var wg sync.WaitGroup
		for _, g := range scps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := a.CheckDirect(ctx, workflows.CheckInput{RunID: runID, AccountID: mgmt, Region: workflows.OrgRegion, Guardrail: g})
				if err != nil || len(out.Findings) != 1 {
					t.Errorf("%s: check %s: %v %s", runID, g.ID, err, describe(out.Findings))
				}
			}()
		}
		wg.Wait()
	}
	checkAll := func(runID, mgmt string) {
		out, err := a.CheckAccountRegionDirect(ctx, workflows.CheckAccountRegionInput{RunID: runID, AccountID: mgmt, Region: workflows.OrgRegion, Guardrails: scps})
		if err != nil || len(out.Results) != len(scps) {
			t.Fatalf("%s: %v, %d results", runID, err, len(out.Results))
		}
		for _, r := range out.Results {
			if r.Error != nil || len(r.Findings) != 1 {
				t.Errorf("%s: check %s: %+v %s", runID, r.GuardrailID, r.Error, describe(r.Findings))
			}
		}
	}
	for _, run := range []struct {
		id    string
		check func(runID, mgmt string)
	}{{"run-1", checkEach}, {"run-2", checkAll}} {
		runID := run.id
		s.srv.ResetCalls()
		v, err := env.ExecuteActivity(a.DiscoverAccounts, workflows.DiscoverInput{RunID: runID})
		if err != nil {
			t.Fatal(err)
		}
		var org workflows.DiscoverOutput
		if err := v.Get(&org); err != nil || len(org.Accounts) != accounts {
			t.Fatalf("%s: discovered %d accounts (%v), want %d", runID, len(org.Accounts), err, accounts)
		}
		run.check(runID, org.ManagementAccountID)

		got := map[string]int{}
		parentsListed := map[string]int{}
		for _, c := range s.srv.CallsMatching(awssim.CallFilter{Service: "organizations", OnlySuccess: true}) {
			got[c.Operation]++
			if c.Operation == "ListOrganizationalUnitsForParent" {
				parentsListed[c.Params["ParentId"]]++
			}
		}
		t.Logf("%s: %d SCP guardrails, Organizations calls %v", runID, len(scps), got)
		for op, want := range map[string]int{
			"DescribeOrganization": 1, "ListRoots": 1, "ListPolicies": 1,
			"ListOrganizationalUnitsForParent": parents, "ListAccountsForParent": parents,
		} {
			if got[op] != want {
				t.Errorf("%s: %d %s, want %d", runID, got[op], op, want)
			}
		}
		for p, n := range parentsListed {
			if n != 1 {
				t.Errorf("%s: the OUs under %s listed %d times", runID, p, n)
			}
		}
		a.AWS.ReleaseRun(runID, org.ManagementAccountID)
	}
}

// What one worker of a run writes, the run's next checks see: a worker
// forgets the reads its own writes change, and the check that verifies an
// apply reads fresh, so a worker whose memo predates another worker's
// apply still verifies it.
func TestSCPRunSeesItsWrites(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{IgnoreEnvironment: true})
	defer s.flush(true)
	otherWorker := managementFactory(s, awsclient.Options{})
	g := scpGuardrail("deny-leave", denyLeave, false, "root", "Root/Workloads/Prod")
	envOf := func(f *awsclient.Factory) Env {
		cfg, where, err := f.ManagementAs(ctx, "", "run-1", "")
		if err != nil {
			t.Fatal(err)
		}
		return Env{Config: cfg, Where: where, AccountID: acctMgmt, Region: workflows.OrgRegion, Partition: "aws", Guardrail: g}
	}
	k := scpKind{}
	check := func(env Env, resource string) workflows.Finding {
		t.Helper()
		fs, err := k.Check(ctx, env, resource)
		if err != nil || len(fs) != 1 {
			t.Fatalf("check: %v %s", err, describe(fs))
		}
		return fs[0]
	}
	listPolicies := func() int {
		return len(s.srv.CallsMatching(awssim.CallFilter{Operation: "ListPolicies", OnlySuccess: true}))
	}

	first := check(envOf(s.factory), "")
	if first.Status != workflows.StatusNonCompliant || first.Change == nil {
		t.Fatalf("first check: %s", describe([]workflows.Finding{first}))
	}
	// The other worker applies; the first one verifies.
	if out, err := k.Apply(ctx, envOf(otherWorker), first); err != nil || !out.Changed {
		t.Fatalf("apply: %+v %v", out, err)
	}
	if f := check(envOf(s.factory), first.Resource); f.Status != workflows.StatusCompliant {
		t.Errorf("the verification on the worker that checked before the apply: %s", describe([]workflows.Finding{f}))
	}
	n := listPolicies()
	if f := check(envOf(s.factory), ""); f.Status != workflows.StatusCompliant {
		t.Errorf("a later check on that worker: %s", describe([]workflows.Finding{f}))
	}
	if f := check(envOf(otherWorker), ""); f.Status != workflows.StatusCompliant {
		t.Errorf("a later check on the worker that applied: %s", describe([]workflows.Finding{f}))
	}
	if m := listPolicies(); m != n+1 {
		t.Errorf("the later checks listed the policies %d times, want once (on the worker that applied)", m-n)
	}
}

// managementFactory is another worker's client factory for the
// simulator's management account (Organizations calls only).
func managementFactory(s *sim, opts awsclient.Options) *awsclient.Factory {
	ak, sk := s.srv.ManagementCredentials()
	return awsclient.New(aws.Config{Region: usEast1, BaseEndpoint: aws.String(s.srv.URL()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")}, opts)
}
