package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/orgguard/orgguard/workflows"
)

// passwordPolicyAPI is the part of the IAM client the password policy
// control uses.
type passwordPolicyAPI interface {
	GetAccountPasswordPolicy(context.Context, *iam.GetAccountPasswordPolicyInput, ...func(*iam.Options)) (*iam.GetAccountPasswordPolicyOutput, error)
	UpdateAccountPasswordPolicy(context.Context, *iam.UpdateAccountPasswordPolicyInput, ...func(*iam.Options)) (*iam.UpdateAccountPasswordPolicyOutput, error)
	DeleteAccountPasswordPolicy(context.Context, *iam.DeleteAccountPasswordPolicyInput, ...func(*iam.Options)) (*iam.DeleteAccountPasswordPolicyOutput, error)
}

// passwordPolicy: the account password policy meets the minimums of the
// settings (CIS 1.8-1.9, FSBP IAM.7). Remediation raises what is below the
// minimum and keeps whatever is already stricter.
type passwordPolicy struct{}

func (passwordPolicy) Permissions() []string {
	return []string{"iam:GetAccountPasswordPolicy", "iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy"}
}

func (passwordPolicy) api(env Env) passwordPolicyAPI { return iam.NewFromConfig(env.Config) }

// pwPolicy is the policy as orgguard compares it.
type pwPolicy struct {
	MinLength                     int  `json:"minimum_length"`
	Upper, Lower, Numbers, Symbol bool `json:"-"`
	Reuse                         int  `json:"password_reuse_prevention"`
	MaxAge                        int  `json:"max_password_age"` // 0: never expires
	AllowChange                   bool `json:"allow_users_to_change_password"`
	HardExpiry                    bool `json:"hard_expiry"`
}

func (p pwPolicy) lines() []string {
	return []string{
		fmt.Sprintf("MinimumPasswordLength: %d", p.MinLength),
		fmt.Sprintf("RequireUppercaseCharacters: %v", p.Upper),
		fmt.Sprintf("RequireLowercaseCharacters: %v", p.Lower),
		fmt.Sprintf("RequireNumbers: %v", p.Numbers),
		fmt.Sprintf("RequireSymbols: %v", p.Symbol),
		fmt.Sprintf("PasswordReusePrevention: %d", p.Reuse),
		fmt.Sprintf("MaxPasswordAge: %d", p.MaxAge),
		fmt.Sprintf("AllowUsersToChangePassword: %v", p.AllowChange),
		fmt.Sprintf("HardExpiry: %v", p.HardExpiry),
	}
}

// params is the policy as a change carries it.
func (p pwPolicy) params() map[string]any {
	return map[string]any{
		"minimum_length": p.MinLength, "require_uppercase": p.Upper, "require_lowercase": p.Lower,
		"require_numbers": p.Numbers, "require_symbols": p.Symbol, "password_reuse_prevention": p.Reuse,
		"max_password_age": p.MaxAge, "allow_users_to_change_password": p.AllowChange, "hard_expiry": p.HardExpiry,
	}
}

func pwPolicyFrom(m map[string]any) pwPolicy {
	return pwPolicy{
		MinLength: mapInt(m, "minimum_length"), Upper: mapBool(m, "require_uppercase"), Lower: mapBool(m, "require_lowercase"),
		Numbers: mapBool(m, "require_numbers"), Symbol: mapBool(m, "require_symbols"), Reuse: mapInt(m, "password_reuse_prevention"),
		MaxAge: mapInt(m, "max_password_age"), AllowChange: mapBool(m, "allow_users_to_change_password"), HardExpiry: mapBool(m, "hard_expiry"),
	}
}

// changes lists the lines that differ from p to q ("- old\n+ new" each).
func (p pwPolicy) changes(q pwPolicy) []string {
	var out []string
	a, b := p.lines(), q.lines()
	for i := range a {
		if a[i] != b[i] {
			out = append(out, "- "+a[i]+"\n+ "+b[i]+"\n")
		}
	}
	return out
}

func (c passwordPolicy) read(ctx context.Context, env Env) (pwPolicy, bool, error) {
	out, err := c.api(env).GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return pwPolicy{}, false, nil
	}
	if err != nil {
		return pwPolicy{}, false, err
	}
	p := out.PasswordPolicy
	return pwPolicy{
		MinLength: int(aws.ToInt32(p.MinimumPasswordLength)), Upper: p.RequireUppercaseCharacters, Lower: p.RequireLowercaseCharacters,
		Numbers: p.RequireNumbers, Symbol: p.RequireSymbols, Reuse: int(aws.ToInt32(p.PasswordReusePrevention)),
		MaxAge: int(aws.ToInt32(p.MaxPasswordAge)), AllowChange: p.AllowUsersToChangePassword, HardExpiry: aws.ToBool(p.HardExpiry),
	}, true, nil
}

func wantPolicy(env Env) pwPolicy {
	s := controlSettings(env)
	return pwPolicy{
		MinLength: s.integer("minimum_length"), Upper: s.boolean("require_uppercase"), Lower: s.boolean("require_lowercase"),
		Numbers: s.boolean("require_numbers"), Symbol: s.boolean("require_symbols"), Reuse: s.integer("password_reuse_prevention"),
		MaxAge: s.integer("max_password_age"), AllowChange: s.boolean("allow_users_to_change_password"), HardExpiry: s.boolean("hard_expiry"),
	}
}

// fix returns the policy that meets want and keeps what have does stricter,
// with the reasons have falls short.
func fixPolicy(have, want pwPolicy) (pwPolicy, []string) {
	out := have
	var why []string
	if have.MinLength < want.MinLength {
		out.MinLength = want.MinLength
		why = append(why, fmt.Sprintf("minimum length %d < %d", have.MinLength, want.MinLength))
	}
	req := func(h *bool, w bool, name string) {
		if w && !*h {
			*h = true
			why = append(why, name+" not required")
		}
	}
	req(&out.Upper, want.Upper, "uppercase")
	req(&out.Lower, want.Lower, "lowercase")
	req(&out.Numbers, want.Numbers, "numbers")
	req(&out.Symbol, want.Symbol, "symbols")
	if have.Reuse < want.Reuse {
		out.Reuse = want.Reuse
		why = append(why, fmt.Sprintf("reuse prevention %d < %d", have.Reuse, want.Reuse))
	}
	if want.MaxAge > 0 && (have.MaxAge == 0 || have.MaxAge > want.MaxAge) {
		out.MaxAge = want.MaxAge
		if have.MaxAge == 0 {
			why = append(why, "passwords never expire")
		} else {
			why = append(why, fmt.Sprintf("max age %d > %d days", have.MaxAge, want.MaxAge))
		}
	}
	if have.AllowChange != want.AllowChange {
		out.AllowChange = want.AllowChange
		why = append(why, fmt.Sprintf("users may change their password: %v, want %v", have.AllowChange, want.AllowChange))
	}
	if want.HardExpiry && !have.HardExpiry {
		out.HardExpiry = true
		why = append(why, "hard expiry off")
	}
	return out, why
}

func (c passwordPolicy) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	have, exists, err := c.read(ctx, env)
	if err != nil {
		return nil, err
	}
	want := wantPolicy(env)
	fixed, why := fixPolicy(have, want)
	res := iamARN(env, "account-password-policy")
	facts := map[string]string{"exists": fmt.Sprint(exists), "minimum_length": fmt.Sprint(have.MinLength), "max_password_age": fmt.Sprint(have.MaxAge), "password_reuse_prevention": fmt.Sprint(have.Reuse)}
	if exists && len(why) == 0 {
		return []workflows.Finding{compliant(res, "the account password policy meets the baseline: "+strings.Join(have.lines(), ", "), facts)}, nil
	}
	ev := "the account has no password policy (IAM defaults: 8 characters, no complexity, no expiry)"
	if exists {
		ev = "the account password policy is weaker than the baseline: " + strings.Join(why, "; ")
	}
	var diff strings.Builder
	fmt.Fprintf(&diff, "account password policy (%s)\n", env.AccountID)
	old, nw := have.lines(), fixed.lines()
	for i := range nw {
		switch {
		case !exists:
			fmt.Fprintf(&diff, "+ %s\n", nw[i])
		case old[i] != nw[i]:
			fmt.Fprintf(&diff, "- %s\n+ %s\n", old[i], nw[i])
		}
	}
	return []workflows.Finding{nonCompliant(res, ev, facts, &workflows.Change{
		Summary: "set the account password policy to the baseline",
		Diff:    diff.String(),
		Actions: []string{"iam:UpdateAccountPasswordPolicy"},
		Params:  fixed.params(),
	})}, nil
}

func (c passwordPolicy) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	planned := pwPolicyFrom(f.Change.Params)
	have, exists, err := c.read(ctx, env)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	var out applied
	// Keep whatever became stricter since the plan; write nothing when the
	// policy already meets it.
	target, why := fixPolicy(have, planned)
	if exists && len(why) == 0 {
		return out.ApplyOutput, nil
	}
	if err := c.write(ctx, env, target, &out); err != nil {
		return out.ApplyOutput, err
	}
	out.Undo = passwordPolicyUndo(env, have, exists, target)
	return out.ApplyOutput, nil
}

func (c passwordPolicy) write(ctx context.Context, env Env, p pwPolicy, out *applied) error {
	in := &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(int32(p.MinLength)), RequireUppercaseCharacters: p.Upper,
		RequireLowercaseCharacters: p.Lower, RequireNumbers: p.Numbers, RequireSymbols: p.Symbol,
		AllowUsersToChangePassword: p.AllowChange, HardExpiry: aws.Bool(p.HardExpiry),
	}
	if p.Reuse > 0 {
		in.PasswordReusePrevention = aws.Int32(int32(p.Reuse))
	}
	if p.MaxAge > 0 {
		in.MaxPasswordAge = aws.Int32(int32(p.MaxAge))
	}
	if _, err := c.api(env).UpdateAccountPasswordPolicy(ctx, in); err != nil {
		return err
	}
	out.call("iam:UpdateAccountPasswordPolicy %s", strings.Join(p.lines(), ", "))
	return nil
}

// passwordPolicyUndo restores the policy apply replaced, or deletes the one
// it created (IAM's defaults apply again).
func passwordPolicyUndo(env Env, prior pwPolicy, existed bool, left pwPolicy) *workflows.Change {
	var diff strings.Builder
	fmt.Fprintf(&diff, "account password policy (%s)\n", env.AccountID)
	ch := &workflows.Change{Params: map[string]any{"existed": existed, "left": left.params()}}
	if !existed {
		for _, l := range left.lines() {
			fmt.Fprintf(&diff, "- %s\n", l)
		}
		ch.Summary = "delete the account password policy orgguard created (IAM's defaults apply again)"
		ch.Actions = []string{"iam:DeleteAccountPasswordPolicy"}
	} else {
		for _, l := range left.changes(prior) {
			diff.WriteString(l)
		}
		ch.Summary = "restore the account password policy orgguard replaced"
		ch.Actions = []string{"iam:UpdateAccountPasswordPolicy"}
		ch.Params["prior"] = prior.params()
	}
	ch.Diff = diff.String()
	return ch
}

// undoState compares the account's policy with what apply left: restored
// is true when it is already as before apply, drift says how it differs
// from both.
func (c passwordPolicy) undoState(ctx context.Context, env Env, undo workflows.Change) (restored bool, drift string, err error) {
	have, exists, err := c.read(ctx, env)
	if err != nil {
		return false, "", err
	}
	existed := paramBool(&undo, "existed")
	prior, left := pwPolicyFrom(paramMap(undo, "prior")), pwPolicyFrom(paramMap(undo, "left"))
	switch {
	case !exists && !existed:
		return true, "", nil
	case !exists:
		return false, "the account password policy orgguard set was deleted since", nil
	case existed && have == prior && prior != left:
		return true, "", nil
	case have != left:
		return false, "the account password policy changed since orgguard set it:\n" + strings.Join(left.changes(have), ""), nil
	}
	return false, "", nil
}

func (c passwordPolicy) PlanUndo(ctx context.Context, env Env, _ string, undo workflows.Change) (string, error) {
	restored, drift, err := c.undoState(ctx, env, undo)
	return planUndoOf("the account password policy", restored, drift, err)
}

func (c passwordPolicy) Undo(ctx context.Context, env Env, _ string, undo workflows.Change) (workflows.ApplyOutput, error) {
	restored, drift, err := c.undoState(ctx, env, undo)
	return undoOf(restored, drift, err, func(out *applied) error {
		if paramBool(&undo, "existed") {
			return c.write(ctx, env, pwPolicyFrom(paramMap(undo, "prior")), out)
		}
		if _, err := c.api(env).DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}); err != nil {
			return err
		}
		out.call("iam:DeleteAccountPasswordPolicy %s", env.AccountID)
		return nil
	})
}
