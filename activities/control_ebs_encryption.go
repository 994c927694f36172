package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/orgguard/orgguard/workflows"
)

// ebsEncryptionAPI is the part of the EC2 client the EBS control uses.
type ebsEncryptionAPI interface {
	GetEbsEncryptionByDefault(context.Context, *ec2.GetEbsEncryptionByDefaultInput, ...func(*ec2.Options)) (*ec2.GetEbsEncryptionByDefaultOutput, error)
	EnableEbsEncryptionByDefault(context.Context, *ec2.EnableEbsEncryptionByDefaultInput, ...func(*ec2.Options)) (*ec2.EnableEbsEncryptionByDefaultOutput, error)
	GetEbsDefaultKmsKeyId(context.Context, *ec2.GetEbsDefaultKmsKeyIdInput, ...func(*ec2.Options)) (*ec2.GetEbsDefaultKmsKeyIdOutput, error)
	ModifyEbsDefaultKmsKeyId(context.Context, *ec2.ModifyEbsDefaultKmsKeyIdInput, ...func(*ec2.Options)) (*ec2.ModifyEbsDefaultKmsKeyIdOutput, error)
	DisableEbsEncryptionByDefault(context.Context, *ec2.DisableEbsEncryptionByDefaultInput, ...func(*ec2.Options)) (*ec2.DisableEbsEncryptionByDefaultOutput, error)
	ResetEbsDefaultKmsKeyId(context.Context, *ec2.ResetEbsDefaultKmsKeyIdInput, ...func(*ec2.Options)) (*ec2.ResetEbsDefaultKmsKeyIdOutput, error)
}

// ebsDefaultEncryption: EBS encryption by default is on in the region
// (CIS 2.2.1, FSBP EC2.7), with the configured default key when one is named.
type ebsDefaultEncryption struct{}

func (ebsDefaultEncryption) Permissions() []string {
	return []string{"ec2:GetEbsEncryptionByDefault", "ec2:EnableEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId", "ec2:ModifyEbsDefaultKmsKeyId",
		"ec2:DisableEbsEncryptionByDefault", "ec2:ResetEbsDefaultKmsKeyId"}
}

func (ebsDefaultEncryption) api(env Env) ebsEncryptionAPI { return ec2.NewFromConfig(env.Config) }

type ebsState struct {
	enabled bool
	keyOK   bool
	key     string
}

func (c ebsDefaultEncryption) read(ctx context.Context, env Env, wantKey string) (ebsState, error) {
	api := c.api(env)
	out, err := api.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil {
		return ebsState{}, err
	}
	st := ebsState{enabled: aws.ToBool(out.EbsEncryptionByDefault), keyOK: true}
	if wantKey != "" {
		k, err := api.GetEbsDefaultKmsKeyId(ctx, &ec2.GetEbsDefaultKmsKeyIdInput{})
		if err != nil {
			return st, err
		}
		st.key = aws.ToString(k.KmsKeyId)
		st.keyOK = st.key == wantKey
	}
	return st, nil
}

func (c ebsDefaultEncryption) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	wantKey := controlSettings(env).str("kms_key_id")
	st, err := c.read(ctx, env, wantKey)
	if err != nil {
		return nil, err
	}
	res := env.ARN("ec2", "ebs-encryption-by-default")
	facts := map[string]string{"enabled": fmt.Sprint(st.enabled)}
	if wantKey != "" {
		facts["kms_key_id"] = st.key
	}
	if st.enabled && st.keyOK {
		return []workflows.Finding{compliant(res, "EBS encryption by default is enabled in "+env.Region, facts)}, nil
	}
	ch := &workflows.Change{Params: map[string]any{"kms_key_id": wantKey}}
	var diff, ev string
	if !st.enabled {
		ev = "EBS encryption by default is disabled in " + env.Region
		diff = "- EbsEncryptionByDefault: false\n+ EbsEncryptionByDefault: true\n"
		ch.Actions = append(ch.Actions, "ec2:EnableEbsEncryptionByDefault")
		ch.Params["enable"] = true
	}
	if !st.keyOK {
		if ev != "" {
			ev += "; "
		}
		ev += fmt.Sprintf("the default EBS key is %s, not %s", st.key, wantKey)
		diff += fmt.Sprintf("- KmsKeyId: %s\n+ KmsKeyId: %s\n", st.key, wantKey)
		ch.Actions = append(ch.Actions, "ec2:ModifyEbsDefaultKmsKeyId")
		ch.Params["set_key"] = true
	}
	ch.Summary = "enable EBS encryption by default in " + env.Region
	ch.Diff = fmt.Sprintf("EBS defaults (%s, %s)\n%s", env.AccountID, env.Region, diff)
	return []workflows.Finding{nonCompliant(res, ev, facts, ch)}, nil
}

func (c ebsDefaultEncryption) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	wantKey := paramString(f.Change, "kms_key_id")
	st, err := c.read(ctx, env, wantKey)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	var out applied
	api := c.api(env)
	u := ebsUndo{keyPrior: st.key}
	if paramBool(f.Change, "enable") && !st.enabled {
		if _, err := api.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("ec2:EnableEbsEncryptionByDefault %s", env.Region)
		u.disable = true
	}
	if paramBool(f.Change, "set_key") && !st.keyOK {
		res, err := api.ModifyEbsDefaultKmsKeyId(ctx, &ec2.ModifyEbsDefaultKmsKeyIdInput{KmsKeyId: aws.String(wantKey)})
		if err != nil {
			return out.ApplyOutput, err
		}
		out.call("ec2:ModifyEbsDefaultKmsKeyId %s", wantKey)
		// EC2 answers with the key as it stores it (an alias becomes the
		// key's ARN): that is what a rollback finds if nobody changed it.
		u.restoreKey, u.keyLeft = true, aws.ToString(res.KmsKeyId)
		if u.keyLeft == "" {
			u.keyLeft = wantKey
		}
	}
	if out.Changed {
		out.Undo = ebsUndoChange(env, u)
	}
	return out.ApplyOutput, nil
}

// ebsUndo is what a rollback of the EBS defaults restores: encryption off
// again when apply turned it on, the prior default key when apply set one.
type ebsUndo struct {
	disable, restoreKey bool
	keyPrior, keyLeft   string
}

func ebsUndoFrom(c workflows.Change) ebsUndo {
	return ebsUndo{disable: paramBool(&c, "disable"), restoreKey: paramBool(&c, "restore_key"),
		keyPrior: paramString(&c, "key_prior"), keyLeft: paramString(&c, "key_left")}
}

func ebsUndoChange(env Env, u ebsUndo) *workflows.Change {
	ch := &workflows.Change{
		Summary: "restore the default EBS key orgguard replaced in " + env.Region,
		Params:  map[string]any{"disable": u.disable, "restore_key": u.restoreKey, "key_prior": u.keyPrior, "key_left": u.keyLeft},
	}
	diff := fmt.Sprintf("EBS defaults (%s, %s)\n", env.AccountID, env.Region)
	if u.restoreKey {
		diff += fmt.Sprintf("- KmsKeyId: %s\n+ KmsKeyId: %s\n", u.keyLeft, u.keyPrior)
		if awsManagedEBSKey(u.keyPrior) {
			ch.Actions = append(ch.Actions, "ec2:ResetEbsDefaultKmsKeyId")
		} else {
			ch.Actions = append(ch.Actions, "ec2:ModifyEbsDefaultKmsKeyId")
		}
	}
	if u.disable {
		diff += "- EbsEncryptionByDefault: true\n+ EbsEncryptionByDefault: false\n"
		ch.Actions = append(ch.Actions, "ec2:DisableEbsEncryptionByDefault")
		ch.Summary = "disable EBS encryption by default in " + env.Region + " again"
	}
	ch.Diff = diff
	return ch
}

// awsManagedEBSKey reports EC2's own default key (alias/aws/ebs), which a
// rollback restores by resetting rather than by naming it.
func awsManagedEBSKey(key string) bool {
	return key == "" || strings.HasSuffix(key, "alias/aws/ebs")
}

func sameEBSKey(a, b string) bool {
	return a == b || awsManagedEBSKey(a) && awsManagedEBSKey(b)
}

// ebsUndoState is the EBS defaults now, against what apply left
// (encryption on, keyLeft) and what was there before.
type ebsUndoState struct {
	u       ebsUndo
	enabled bool
	key     string
}

func (c ebsDefaultEncryption) undoState(ctx context.Context, env Env, undo workflows.Change) (ebsUndoState, error) {
	s := ebsUndoState{u: ebsUndoFrom(undo)}
	api := c.api(env)
	enc, err := api.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil {
		return s, err
	}
	s.enabled = aws.ToBool(enc.EbsEncryptionByDefault)
	if s.u.restoreKey {
		k, err := api.GetEbsDefaultKmsKeyId(ctx, &ec2.GetEbsDefaultKmsKeyIdInput{})
		if err != nil {
			return s, err
		}
		s.key = aws.ToString(k.KmsKeyId)
	}
	return s, nil
}

func (s ebsUndoState) keyAtPrior() bool { return s.u.restoreKey && sameEBSKey(s.key, s.u.keyPrior) }

func (s ebsUndoState) restored() bool {
	return (!s.u.disable || !s.enabled) && (!s.u.restoreKey || s.keyAtPrior())
}

// drift lists what is neither as apply left it nor as it was before.
func (s ebsUndoState) drift() []string {
	var out []string
	if !s.enabled && !s.u.disable {
		out = append(out, "EBS encryption by default was turned off")
	}
	if s.u.restoreKey && !sameEBSKey(s.key, s.u.keyLeft) && !s.keyAtPrior() {
		out = append(out, fmt.Sprintf("the default EBS key is now %s, not %s as orgguard set it", s.key, s.u.keyLeft))
	}
	return out
}

func ebsDrift(region string, what []string) string {
	if len(what) == 0 {
		return ""
	}
	return fmt.Sprintf("the EBS defaults in %s changed since orgguard set them: %s", region, strings.Join(what, "; "))
}

func (c ebsDefaultEncryption) PlanUndo(ctx context.Context, env Env, _ string, undo workflows.Change) (string, error) {
	s, err := c.undoState(ctx, env, undo)
	if err != nil || s.restored() {
		return planUndoOf("the EBS defaults in "+env.Region, err == nil, "", err)
	}
	// A plan starts from what apply left: a part already back as before
	// is a change since, too.
	what := s.drift()
	if s.u.disable && !s.enabled {
		what = append(what, "EBS encryption by default was turned off")
	}
	if s.keyAtPrior() {
		what = append(what, "the default EBS key is "+s.key+" again")
	}
	return ebsDrift(env.Region, what), nil
}

// Undo restores the key first, then turns encryption off; an earlier
// attempt may have done either already.
func (c ebsDefaultEncryption) Undo(ctx context.Context, env Env, _ string, undo workflows.Change) (workflows.ApplyOutput, error) {
	s, err := c.undoState(ctx, env, undo)
	return undoOf(err == nil && s.restored(), ebsDrift(env.Region, s.drift()), err, func(out *applied) error {
		api := c.api(env)
		switch {
		case !s.u.restoreKey || s.keyAtPrior():
		case awsManagedEBSKey(s.u.keyPrior):
			if _, err := api.ResetEbsDefaultKmsKeyId(ctx, &ec2.ResetEbsDefaultKmsKeyIdInput{}); err != nil {
				return err
			}
			out.call("ec2:ResetEbsDefaultKmsKeyId %s", env.Region)
		default:
			if _, err := api.ModifyEbsDefaultKmsKeyId(ctx, &ec2.ModifyEbsDefaultKmsKeyIdInput{KmsKeyId: aws.String(s.u.keyPrior)}); err != nil {
				return err
			}
			out.call("ec2:ModifyEbsDefaultKmsKeyId %s", s.u.keyPrior)
		}
		if s.u.disable && s.enabled {
			if _, err := api.DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{}); err != nil {
				return err
			}
			out.call("ec2:DisableEbsEncryptionByDefault %s", env.Region)
		}
		return nil
	})
}
