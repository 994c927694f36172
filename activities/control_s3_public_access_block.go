package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"

	"github.com/orgguard/orgguard/workflows"
)

// s3ControlAPI is the part of the S3 Control client the account public
// access block control uses.
type s3ControlAPI interface {
	GetPublicAccessBlock(context.Context, *s3control.GetPublicAccessBlockInput, ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error)
	PutPublicAccessBlock(context.Context, *s3control.PutPublicAccessBlockInput, ...func(*s3control.Options)) (*s3control.PutPublicAccessBlockOutput, error)
	DeletePublicAccessBlock(context.Context, *s3control.DeletePublicAccessBlockInput, ...func(*s3control.Options)) (*s3control.DeletePublicAccessBlockOutput, error)
}

// errorCode is the AWS error code of err ("" when it is not an API error).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// s3AccountPublicAccessBlock: the account-level S3 public access block has
// the four settings on (FSBP S3.1, CIS 2.1.4). Remediation turns on the
// settings that are off and never turns one off.
type s3AccountPublicAccessBlock struct{}

// Permissions: deleting the account's block (a rollback of one orgguard
// created) is authorised by s3:PutAccountPublicAccessBlock too.
func (s3AccountPublicAccessBlock) Permissions() []string {
	return []string{"s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock"}
}

func (s3AccountPublicAccessBlock) api(env Env) s3ControlAPI {
	return s3control.NewFromConfig(env.Config)
}

var pabNames = []string{"block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"}

// read returns the account's settings, empty when it has no block.
func (c s3AccountPublicAccessBlock) read(ctx context.Context, env Env) (map[string]bool, error) {
	out, err := c.api(env).GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(env.AccountID)})
	have := map[string]bool{}
	if errorCode(err) == "NoSuchPublicAccessBlockConfiguration" {
		return have, nil
	}
	if err != nil {
		return nil, err
	}
	if p := out.PublicAccessBlockConfiguration; p != nil {
		have["block_public_acls"] = aws.ToBool(p.BlockPublicAcls)
		have["ignore_public_acls"] = aws.ToBool(p.IgnorePublicAcls)
		have["block_public_policy"] = aws.ToBool(p.BlockPublicPolicy)
		have["restrict_public_buckets"] = aws.ToBool(p.RestrictPublicBuckets)
	}
	return have, nil
}

func (c s3AccountPublicAccessBlock) Check(ctx context.Context, env Env, _ string) ([]workflows.Finding, error) {
	have, err := c.read(ctx, env)
	if err != nil {
		return nil, err
	}
	s := controlSettings(env)
	res := "arn:" + env.Partition + ":s3:::" + env.AccountID + "/account-public-access-block"
	facts := map[string]string{}
	var off []string
	var diff strings.Builder
	fmt.Fprintf(&diff, "S3 account public access block (%s)\n", env.AccountID)
	params := map[string]any{}
	for _, n := range pabNames {
		facts[n] = fmt.Sprint(have[n])
		want := s.boolean(n) || have[n]
		params[n] = want
		if want && !have[n] {
			off = append(off, n)
			fmt.Fprintf(&diff, "- %s: false\n+ %s: true\n", n, n)
		}
	}
	if len(off) == 0 {
		return []workflows.Finding{compliant(res, "the S3 account public access block has every required setting on", facts)}, nil
	}
	return []workflows.Finding{nonCompliant(res, "the S3 account public access block is off for: "+strings.Join(off, ", "), facts, &workflows.Change{
		Summary: "turn on the S3 account public access block (" + strings.Join(off, ", ") + ")",
		Diff:    diff.String(),
		Actions: []string{"s3:PutAccountPublicAccessBlock"},
		Params:  params,
	})}, nil
}

func (c s3AccountPublicAccessBlock) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	have, err := c.read(ctx, env)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	var out applied
	next := map[string]bool{}
	needed := false
	for _, n := range pabNames {
		next[n] = have[n] || paramBool(f.Change, n)
		if next[n] != have[n] {
			needed = true
		}
	}
	if !needed {
		return out.ApplyOutput, nil
	}
	if err := c.write(ctx, env, next, &out); err != nil {
		return out.ApplyOutput, err
	}
	out.Undo = pabUndo(env, have, next)
	return out.ApplyOutput, nil
}

func (c s3AccountPublicAccessBlock) write(ctx context.Context, env Env, next map[string]bool, out *applied) error {
	if _, err := c.api(env).PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{
		AccountId: aws.String(env.AccountID),
		PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(next["block_public_acls"]), IgnorePublicAcls: aws.Bool(next["ignore_public_acls"]),
			BlockPublicPolicy: aws.Bool(next["block_public_policy"]), RestrictPublicBuckets: aws.Bool(next["restrict_public_buckets"]),
		},
	}); err != nil {
		return err
	}
	out.call("s3:PutAccountPublicAccessBlock %s", env.AccountID)
	return nil
}

func pabParams(m map[string]bool) map[string]any {
	out := map[string]any{}
	for _, n := range pabNames {
		out[n] = m[n]
	}
	return out
}

func pabFrom(m map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, n := range pabNames {
		out[n] = mapBool(m, n)
	}
	return out
}

// pabChanges lists the settings that differ from a to b.
func pabChanges(a, b map[string]bool) []string {
	var out []string
	for _, n := range pabNames {
		if a[n] != b[n] {
			out = append(out, fmt.Sprintf("- %s: %v\n+ %s: %v\n", n, a[n], n, b[n]))
		}
	}
	return out
}

// pabUndo restores the settings apply turned on, or deletes the block apply
// created where the account had none.
func pabUndo(env Env, prior, left map[string]bool) *workflows.Change {
	existed := len(prior) > 0
	ch := &workflows.Change{
		Summary: "restore the S3 account public access block orgguard changed",
		Actions: []string{"s3:PutAccountPublicAccessBlock"},
		Params:  map[string]any{"existed": existed, "prior": pabParams(prior), "left": pabParams(left)},
	}
	var diff strings.Builder
	fmt.Fprintf(&diff, "S3 account public access block (%s)\n", env.AccountID)
	if existed {
		diff.WriteString(strings.Join(pabChanges(left, prior), ""))
	} else {
		ch.Summary = "delete the S3 account public access block orgguard created"
		for _, n := range pabNames {
			fmt.Fprintf(&diff, "- %s: %v\n", n, left[n])
		}
	}
	ch.Diff = diff.String()
	return ch
}

// undoState compares the account's block with what apply left.
func (c s3AccountPublicAccessBlock) undoState(ctx context.Context, env Env, undo workflows.Change) (restored bool, drift string, err error) {
	have, err := c.read(ctx, env)
	if err != nil {
		return false, "", err
	}
	existed := paramBool(&undo, "existed")
	prior, left := pabFrom(paramMap(undo, "prior")), pabFrom(paramMap(undo, "left"))
	switch {
	case len(have) == 0 && !existed:
		return true, "", nil
	case len(have) == 0:
		return false, "the S3 account public access block orgguard set was deleted since", nil
	case existed && len(pabChanges(have, prior)) == 0:
		return true, "", nil
	}
	if d := pabChanges(left, have); len(d) > 0 {
		return false, "the S3 account public access block changed since orgguard set it:\n" + strings.Join(d, ""), nil
	}
	return false, "", nil
}

func (c s3AccountPublicAccessBlock) PlanUndo(ctx context.Context, env Env, _ string, undo workflows.Change) (string, error) {
	restored, drift, err := c.undoState(ctx, env, undo)
	return planUndoOf("the S3 account public access block", restored, drift, err)
}

func (c s3AccountPublicAccessBlock) Undo(ctx context.Context, env Env, _ string, undo workflows.Change) (workflows.ApplyOutput, error) {
	restored, drift, err := c.undoState(ctx, env, undo)
	return undoOf(restored, drift, err, func(out *applied) error {
		if paramBool(&undo, "existed") {
			return c.write(ctx, env, pabFrom(paramMap(undo, "prior")), out)
		}
		if _, err := c.api(env).DeletePublicAccessBlock(ctx, &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(env.AccountID)}); err != nil {
			return err
		}
		out.call("s3:DeletePublicAccessBlock %s", env.AccountID)
		return nil
	})
}
