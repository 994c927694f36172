package activities

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

// undoScenario is the rollback of one guardrail's apply in a drifted
// account of the demo organization.
type undoScenario struct {
	name      string
	account   string
	region    string
	guardrail guardrails.Guardrail
	opts      awssim.Options
	prepare   func(t *testing.T, s *sim)
	// wantWrites are operations ("service:Operation") the undo must call.
	wantWrites []string
	// drift changes the resource after apply; the rollback must then refuse
	// with a reason that contains driftReason.
	drift       func(t *testing.T, env Env, undo workflows.Change)
	driftReason string
	// afterDrift is what an undo applied anyway does: "" refuses; "noop"
	// (the drift restored everything already) and "completes" (the drift
	// is part of the rollback, as after an earlier attempt) do not.
	afterDrift string
}

var keyARN1 = "arn:aws:kms:us-east-1:" + acctWebProd + ":key/11111111-orgguard-ebs"
var keyARN2 = "arn:aws:kms:us-east-1:" + acctWebProd + ":key/22222222-someone-else"

var undoScenarios = []undoScenario{
	{
		name: "default security group gets its ingress and egress rules back", account: acctWebProd, region: usEast1,
		guardrail:  control("ec2.default_security_group_closed", nil),
		wantWrites: []string{"ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"},
		drift: func(t *testing.T, env Env, undo workflows.Change) {
			authorize(t, env, paramString(&undo, "group_id"), 3389, "0.0.0.0/0")
		},
		driftReason: "added ingress tcp 3389 from 0.0.0.0/0",
	},
	{
		name: "world-open SSH comes back", account: acctWebProd, region: usEast1,
		guardrail:  control("ec2.no_public_ssh_rdp", nil),
		wantWrites: []string{"ec2:AuthorizeSecurityGroupIngress"},
		drift: func(t *testing.T, env Env, undo workflows.Change) {
			authorize(t, env, paramString(&undo, "group_id"), 8080, "10.0.0.0/8")
		},
		driftReason: "added ingress tcp 8080 from 10.0.0.0/8",
	},
	{
		name: "world-open port range and IPv6 come back", account: acctSandbox, region: usEast1,
		guardrail:  control("ec2.no_public_ssh_rdp", nil),
		wantWrites: []string{"ec2:AuthorizeSecurityGroupIngress"},
	},
	{
		name: "weak password policy is weak again", account: acctLogArchive, region: usEast1,
		guardrail:  control("iam.password_policy", nil),
		wantWrites: []string{"iam:UpdateAccountPasswordPolicy"},
		drift: func(t *testing.T, env Env, _ workflows.Change) {
			if _, err := iam.NewFromConfig(env.Config).UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
				MinimumPasswordLength: aws.Int32(20), RequireSymbols: true, RequireNumbers: true,
			}); err != nil {
				t.Fatal(err)
			}
		},
		driftReason: "- MinimumPasswordLength: 14\n+ MinimumPasswordLength: 20",
	},
	{
		name: "password policy orgguard created is deleted", account: acctWebProd, region: usEast1,
		guardrail:  control("iam.password_policy", nil),
		wantWrites: []string{"iam:DeleteAccountPasswordPolicy"},
		drift: func(t *testing.T, env Env, _ workflows.Change) {
			if _, err := iam.NewFromConfig(env.Config).DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}); err != nil {
				t.Fatal(err)
			}
		},
		driftReason: "already as before orgguard changed it", afterDrift: "noop",
	},
	{
		name: "S3 account public access block is restored", account: acctWebDev, region: usEast1,
		guardrail: control("s3.account_public_access_block", nil),
		prepare: func(t *testing.T, s *sim) {
			putPAB(t, s.env(t, acctWebDev, usEast1, control("s3.account_public_access_block", nil)), false, true, false, true)
		},
		wantWrites: []string{"s3:PutPublicAccessBlock"},
		drift: func(t *testing.T, env Env, _ workflows.Change) {
			putPAB(t, env, false, true, true, true)
		},
		driftReason: "- block_public_acls: true\n+ block_public_acls: false",
	},
	{
		name: "S3 account public access block orgguard created is deleted", account: acctWebDev, region: usEast1,
		guardrail:  control("s3.account_public_access_block", nil),
		wantWrites: []string{"s3:DeletePublicAccessBlock"},
		drift: func(t *testing.T, env Env, _ workflows.Change) {
			putPAB(t, env, true, true, true, false)
		},
		driftReason: "- restrict_public_buckets: true\n+ restrict_public_buckets: false",
	},
	{
		name: "EBS encryption by default is disabled again", account: acctWebProd, region: usEast1,
		guardrail:  control("ec2.ebs_default_encryption", nil),
		wantWrites: []string{"ec2:DisableEbsEncryptionByDefault"},
		drift: func(t *testing.T, env Env, _ workflows.Change) {
			if _, err := ec2.NewFromConfig(env.Config).DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{}); err != nil {
				t.Fatal(err)
			}
		},
		driftReason: "already as before orgguard changed it", afterDrift: "noop",
	},
	{
		name: "EBS default key and encryption are restored", account: acctWebProd, region: usEast1,
		guardrail:  control("ec2.ebs_default_encryption", map[string]any{"kms_key_id": keyARN1}),
		wantWrites: []string{"ec2:ResetEbsDefaultKmsKeyId", "ec2:DisableEbsEncryptionByDefault"},
		drift: func(t *testing.T, env Env, _ workflows.Change) {
			if _, err := ec2.NewFromConfig(env.Config).ModifyEbsDefaultKmsKeyId(ctx, &ec2.ModifyEbsDefaultKmsKeyIdInput{KmsKeyId: aws.String(keyARN2)}); err != nil {
				t.Fatal(err)
			}
		},
		driftReason: "the default EBS key is now " + keyARN2,
	},
	{
		name: "KMS key rotation is disabled again", account: acctWebProd, region: usEast1,
		guardrail: control("kms.key_rotation", nil), prepare: withKey(acctWebProd, usEast1),
		wantWrites: []string{"kms:DisableKeyRotation"},
		drift: func(t *testing.T, env Env, undo workflows.Change) {
			if _, err := kms.NewFromConfig(env.Config).EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{
				KeyId: aws.String(paramString(&undo, "key_id")), RotationPeriodInDays: aws.Int32(180),
			}); err != nil {
				t.Fatal(err)
			}
		},
		driftReason: "now rotates every 180 days, not every 365 days",
	},
	{
		name: "SCP orgguard created is detached and deleted", region: workflows.OrgRegion,
		guardrail:  scpGuardrail("deny-leave", denyLeave, false, "root", "Root/Workloads/Prod", acctSandbox),
		wantWrites: []string{"organizations:DetachPolicy", "organizations:DeletePolicy"},
		drift: func(t *testing.T, env Env, undo workflows.Change) {
			attachSCP(t, env, paramString(&undo, "policy_id"), acctPayDev)
		},
		driftReason: "it is now also attached to " + acctPayDev,
	},
	{
		name: "SCP content edited by hand is put back", region: workflows.OrgRegion,
		guardrail: scpGuardrail("deny-leave", denyLeave, false, acctWebDev),
		opts: awssim.Options{Seed: editedSeed(func(s *awssim.Seed) {
			s.Policies = append(s.Policies, awssim.SeedPolicy{Name: "deny-leave", Targets: []string{acctWebDev},
				Content: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`})
		})},
		wantWrites: []string{"organizations:UpdatePolicy"},
		drift: func(t *testing.T, env Env, undo workflows.Change) {
			if _, err := organizations.NewFromConfig(env.Config).UpdatePolicy(ctx, &organizations.UpdatePolicyInput{
				PolicyId: aws.String(paramString(&undo, "policy_id")),
				Content:  aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:*","Resource":"*"}]}`),
			}); err != nil {
				t.Fatal(err)
			}
		},
		driftReason: "its content was edited",
	},
	{
		name: "SCP attachments orgguard moved are moved back", region: workflows.OrgRegion,
		guardrail: scpGuardrail("deny-leave", denyLeave, true, acctWebDev),
		opts: awssim.Options{Seed: editedSeed(func(s *awssim.Seed) {
			s.Policies = append(s.Policies, awssim.SeedPolicy{Name: "deny-leave", Targets: []string{acctPayDev}, Content: denyLeave})
		})},
		wantWrites: []string{"organizations:AttachPolicy", "organizations:DetachPolicy"},
		drift: func(t *testing.T, env Env, undo workflows.Change) {
			if _, err := organizations.NewFromConfig(env.Config).DetachPolicy(ctx, &organizations.DetachPolicyInput{
				PolicyId: aws.String(paramString(&undo, "policy_id")), TargetId: aws.String(acctWebDev),
			}); err != nil {
				t.Fatal(err)
			}
		},
		driftReason: "it is no longer attached to " + acctWebDev, afterDrift: "completes",
	},
}

func attachSCP(t *testing.T, env Env, policyID, target string) {
	t.Helper()
	if _, err := organizations.NewFromConfig(env.Config).AttachPolicy(ctx, &organizations.AttachPolicyInput{
		PolicyId: aws.String(policyID), TargetId: aws.String(target),
	}); err != nil {
		t.Fatal(err)
	}
}

func authorize(t *testing.T, env Env, groupID string, port int32, cidr string) {
	t.Helper()
	if _, err := ec2.NewFromConfig(env.Config).AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(groupID),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}},
	}); err != nil {
		t.Fatal(err)
	}
}

func putPAB(t *testing.T, env Env, acls, ignore, policy, restrict bool) {
	t.Helper()
	if _, err := s3control.NewFromConfig(env.Config).PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{
		AccountId: aws.String(env.AccountID),
		PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(acls), IgnorePublicAcls: aws.Bool(ignore), BlockPublicPolicy: aws.Bool(policy), RestrictPublicBuckets: aws.Bool(restrict),
		},
	}); err != nil {
		t.Fatal(err)
	}
}

// throughHistory passes a change through Temporal's default data converter,
// as workflow history does: numbers come back float64, lists []any.
func throughHistory(t *testing.T, c *workflows.Change) workflows.Change {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	p, err := dc.ToPayload(c)
	if err != nil {
		t.Fatal(err)
	}
	var out workflows.Change
	if err := dc.FromPayload(p, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

type appliedUndo struct {
	resource string
	undo     workflows.Change
}

// applyAll checks, applies every planned change and returns the findings
// before apply and the undos apply recorded.
func applyAll(t *testing.T, s *sim, r Reverter, env Env) ([]workflows.Finding, []appliedUndo) {
	t.Helper()
	k := r.(Kind)
	before, err := k.Check(ctx, env, "")
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	var drifted []workflows.Finding
	var undos []appliedUndo
	for _, f := range before {
		if f.Status != workflows.StatusNonCompliant || f.Change == nil {
			continue
		}
		drifted = append(drifted, f)
		out, err := k.Apply(ctx, applyEnv(env, f), f)
		if err != nil {
			t.Fatalf("apply %s: %v", f.Resource, err)
		}
		if out.Undo == nil {
			t.Fatalf("apply %s changed %v but recorded no undo", f.Resource, out.Calls)
		}
		if out.Undo.Summary == "" || out.Undo.Diff == "" || len(out.Undo.Actions) == 0 {
			t.Errorf("undo of %s is incomplete: %+v", f.Resource, out.Undo)
		}
		undos = append(undos, appliedUndo{f.Resource, throughHistory(t, out.Undo)})
	}
	if len(undos) == 0 {
		t.Fatalf("nothing to apply: %s", describe(before))
	}
	s.flush(false)
	return drifted, undos
}

// TestUndo applies each scenario's guardrail, rolls it back and checks
// that the check sees exactly the drift it saw before apply.
func TestUndo(t *testing.T) {
	a := New(nil)
	member, management := a.Policies("OrgguardExecutionRole")
	for _, sc := range undoScenarios {
		k := a.kinds[kindKey(sc.guardrail)]
		r, ok := k.(Reverter)
		if !ok {
			t.Fatalf("%s is not a Reverter", kindKey(sc.guardrail))
		}
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, sc.opts)
			if sc.prepare != nil {
				sc.prepare(t, s)
			}
			env := s.env(t, sc.account, sc.region, sc.guardrail)
			before, undos := applyAll(t, s, r, env)

			for _, u := range undos {
				if why, err := r.PlanUndo(ctx, env, u.resource, u.undo); err != nil || why != "" {
					t.Fatalf("plan undo of %s: refused %q, err %v", u.resource, why, err)
				}
				out, err := r.Undo(ctx, applyEnv(env, workflows.Finding{Resource: u.resource}), u.resource, u.undo)
				if err != nil {
					t.Fatalf("undo %s: %v", u.resource, err)
				}
				if !out.Changed || len(out.Calls) == 0 {
					t.Errorf("undo %s: changed=%v calls=%v", u.resource, out.Changed, out.Calls)
				}
			}
			w := s.writes()
			for _, op := range sc.wantWrites {
				if !slices.Contains(w, op) {
					t.Errorf("undo made writes %v, want %s among them", w, op)
				}
			}
			for _, c := range s.srv.Calls() {
				policy, who := member, "member role"
				if c.AccountID == acctMgmt {
					policy, who = management, "management role"
				}
				if action := IAMAction(c.Service, c.Operation, c.Params); c.Service != "sts" && !policy.Allows(action) {
					t.Errorf("undo calls %s, which the %s's policy does not allow", action, who)
				}
			}

			after, err := k.Check(ctx, env, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range before {
				i := slices.IndexFunc(after, func(f workflows.Finding) bool { return f.Resource == b.Resource })
				if i < 0 {
					t.Errorf("%s is gone after undo", b.Resource)
					continue
				}
				if got := after[i]; got.Status != b.Status || got.Evidence != b.Evidence || got.Change.Diff != b.Change.Diff {
					t.Errorf("after undo %s is\n  %s %s\n%s\nwant as before apply\n  %s %s\n%s",
						b.Resource, got.Status, got.Evidence, got.Change.Diff, b.Status, b.Evidence, b.Change.Diff)
				}
			}

			// Undo again is a no-op; planning it again says it is done.
			s.flush(false)
			for _, u := range undos {
				out, err := r.Undo(ctx, env, u.resource, u.undo)
				if err != nil || out.Changed {
					t.Errorf("second undo of %s: changed=%v err=%v", u.resource, out.Changed, err)
				}
				why, err := r.PlanUndo(ctx, env, u.resource, u.undo)
				if err != nil || why == "" {
					t.Errorf("plan undo of %s after undo: refused %q, err %v; want refused", u.resource, why, err)
				}
			}
			if w := s.writes(); len(w) > 0 {
				t.Errorf("second undo made writes %v", w)
			}
		})
		if sc.drift == nil {
			continue
		}
		t.Run(sc.name+"/refused after drift", func(t *testing.T) {
			t.Parallel()
			s := newSim(t, sc.opts)
			if sc.prepare != nil {
				sc.prepare(t, s)
			}
			env := s.env(t, sc.account, sc.region, sc.guardrail)
			_, undos := applyAll(t, s, r, env)
			u := undos[0]
			sc.drift(t, env, u.undo)
			s.flush(false)
			why, err := r.PlanUndo(ctx, env, u.resource, u.undo)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(why, sc.driftReason) {
				t.Errorf("plan undo refused %q, want a reason containing %q", why, sc.driftReason)
			}
			out, err := r.Undo(ctx, env, u.resource, u.undo)
			var refusal *UndoRefusal
			switch sc.afterDrift {
			case "noop":
				if err != nil || out.Changed || len(s.writes()) > 0 {
					t.Errorf("undo of a restored resource: changed=%v err=%v writes=%v", out.Changed, err, s.writes())
				}
			case "completes":
				if err != nil || !out.Changed {
					t.Errorf("undo after a partial rollback: changed=%v err=%v", out.Changed, err)
				}
			default:
				if !errors.As(err, &refusal) || !strings.Contains(refusal.Reason, sc.driftReason) {
					t.Errorf("undo after drift: err %v, want an UndoRefusal naming %q", err, sc.driftReason)
				}
				if w := s.writes(); len(w) > 0 {
					t.Errorf("refused undo made writes %v", w)
				}
			}
		})
	}
}

// TestRollbackActivities drives check, apply, plan undo and apply undo
// through the activities as the workflows call them, with every input and
// output passing through history.
func TestRollbackActivities(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{})
	a := New(s.factory)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a.CheckGuardrail)
	env.RegisterActivity(a.ApplyRemediation)
	env.RegisterActivity(a.PlanUndo)
	run := func(fn any, in any, out any) error {
		t.Helper()
		v, err := env.ExecuteActivity(fn, in)
		if err != nil {
			return err
		}
		return v.Get(out)
	}
	g := control("ec2.default_security_group_closed", nil)
	g.Controls = []string{"CIS-5.4"}
	check := func() workflows.Finding {
		t.Helper()
		var out workflows.CheckOutput
		if err := run(a.CheckGuardrail, workflows.CheckInput{RunID: "r1", AccountID: acctWebProd, Region: usEast1, Guardrail: g}, &out); err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Findings {
			if f.Status == workflows.StatusNonCompliant {
				return f
			}
		}
		return workflows.Finding{}
	}
	f := check()
	if f.Change == nil {
		t.Fatal("no non-compliant default security group")
	}
	var applied workflows.ApplyOutput
	if err := run(a.ApplyRemediation, workflows.ApplyInput{RunID: "r1", Guardrail: g, Finding: f, IdempotencyKey: "k1"}, &applied); err != nil {
		t.Fatal(err)
	}
	if applied.Undo == nil {
		t.Fatalf("apply recorded no undo: %+v", applied)
	}
	planIn := workflows.PlanUndoInput{RunID: "r2", AccountID: acctWebProd, Region: usEast1, Guardrail: g, Resource: f.Resource, Undo: *applied.Undo}
	var plan workflows.PlanUndoOutput
	if err := run(a.PlanUndo, planIn, &plan); err != nil {
		t.Fatal(err)
	}
	p := plan.Finding
	if plan.Refused != "" || p == nil {
		t.Fatalf("plan undo refused: %q", plan.Refused)
	}
	if p.GuardrailID != g.ID || p.AccountID != acctWebProd || p.Region != usEast1 || p.Resource != f.Resource ||
		p.Status != workflows.StatusNonCompliant || p.Change == nil || p.Change.Diff != applied.Undo.Diff || !slices.Equal(p.Controls, g.Controls) {
		t.Errorf("planned rollback finding: %+v", p)
	}
	var undone workflows.ApplyOutput
	if err := run(a.ApplyRemediation, workflows.ApplyInput{RunID: "r2", Guardrail: g, Finding: *p, IdempotencyKey: "k2", Undo: true}, &undone); err != nil {
		t.Fatal(err)
	}
	if !undone.Changed {
		t.Errorf("rollback changed nothing: %+v", undone)
	}
	if again := check(); again.Evidence != f.Evidence {
		t.Errorf("after rollback the check sees %q, want %q as before apply", again.Evidence, f.Evidence)
	}

	// Applied again, then someone opens RDP: plan and apply both refuse.
	if err := run(a.ApplyRemediation, workflows.ApplyInput{RunID: "r3", Guardrail: g, Finding: f, IdempotencyKey: "k3"}, &applied); err != nil {
		t.Fatal(err)
	}
	authorize(t, s.env(t, acctWebProd, usEast1, g), paramString(applied.Undo, "group_id"), 3389, "0.0.0.0/0")
	planIn.Undo = *applied.Undo
	plan = workflows.PlanUndoOutput{}
	if err := run(a.PlanUndo, planIn, &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Finding != nil || !strings.Contains(plan.Refused, "added ingress tcp 3389 from 0.0.0.0/0") {
		t.Errorf("plan undo after drift: %+v", plan)
	}
	rollback := workflows.Finding{GuardrailID: g.ID, AccountID: acctWebProd, Region: usEast1, Resource: f.Resource, Change: applied.Undo}
	err := run(a.ApplyRemediation, workflows.ApplyInput{RunID: "r4", Guardrail: g, Finding: rollback, Undo: true}, &undone)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrUndoRefused || !app.NonRetryable() || !strings.Contains(app.Error(), "3389") {
		t.Errorf("apply undo after drift: %v, want a non-retryable %s naming the new rule", err, ErrUndoRefused)
	}

	// A kind that cannot reverse says so.
	imds := control("ec2.imdsv2", nil)
	plan = workflows.PlanUndoOutput{}
	if err := run(a.PlanUndo, workflows.PlanUndoInput{RunID: "r2", AccountID: acctWebProd, Region: usEast1, Guardrail: imds, Resource: "x", Undo: *applied.Undo}, &plan); err != nil {
		t.Fatal(err)
	}
	if want := "guardrail control.ec2_imdsv2 (control:ec2.imdsv2): orgguard cannot roll back this kind of change"; plan.Refused != want || plan.Finding != nil {
		t.Errorf("plan undo of imdsv2: %+v, want refused %q", plan, want)
	}
	err = run(a.ApplyRemediation, workflows.ApplyInput{RunID: "r2", Guardrail: imds, Finding: rollback, Undo: true}, &undone)
	if !errors.As(err, &app) || app.Type() != "NotReversible" {
		t.Errorf("apply undo of imdsv2: %v, want NotReversible", err)
	}
}

// TestSCPUndoLeavesThePolicyTypeEnabled: disabling the SCP type would
// detach every SCP in the organization, so a rollback deletes orgguard's
// policy and says that the type stays on.
func TestSCPUndoLeavesThePolicyTypeEnabled(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{Seed: editedSeed(func(s *awssim.Seed) { s.EnabledPolicyTypes = []string{"TAG_POLICY"} })})
	g := scpGuardrail("deny-leave", denyLeave, false, "root")
	env := s.env(t, "", workflows.OrgRegion, g)
	_, undos := applyAll(t, s, scpKind{}, env)
	u := undos[0]
	if !strings.Contains(u.undo.Diff, "SERVICE_CONTROL_POLICY type stays enabled") {
		t.Errorf("undo diff does not say the policy type stays enabled:\n%s", u.undo.Diff)
	}
	if _, err := (scpKind{}).Undo(ctx, env, u.resource, u.undo); err != nil {
		t.Fatal(err)
	}
	after, err := scpKind{}.Check(ctx, env, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 1 || !strings.Contains(after[0].Evidence, "policy deny-leave does not exist") || strings.Contains(after[0].Evidence, "type is disabled") {
		t.Errorf("after undo: %s", describe(after))
	}
}
