package activities

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/orgguard/orgguard/workflows"
)

// kmsRotationAPI is the part of the KMS client the key rotation control uses.
type kmsRotationAPI interface {
	kms.ListKeysAPIClient
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyRotationStatus(context.Context, *kms.GetKeyRotationStatusInput, ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
	EnableKeyRotation(context.Context, *kms.EnableKeyRotationInput, ...func(*kms.Options)) (*kms.EnableKeyRotationOutput, error)
	DisableKeyRotation(context.Context, *kms.DisableKeyRotationInput, ...func(*kms.Options)) (*kms.DisableKeyRotationOutput, error)
}

// kmsKeyRotation: enabled customer managed symmetric keys rotate (CIS 3.8,
// FSBP KMS.4). AWS managed keys rotate on their own; asymmetric, HMAC and
// imported keys cannot rotate automatically and are not applicable.
type kmsKeyRotation struct{}

func (kmsKeyRotation) Permissions() []string {
	return []string{"kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:DisableKeyRotation"}
}

func (kmsKeyRotation) api(env Env) kmsRotationAPI { return kms.NewFromConfig(env.Config) }

// rotatable reports whether AWS can rotate the key automatically.
func rotatable(m *kmstypes.KeyMetadata) bool {
	return m.KeyManager == kmstypes.KeyManagerTypeCustomer && m.KeySpec == kmstypes.KeySpecSymmetricDefault &&
		m.Origin == kmstypes.OriginTypeAwsKms && m.KeyState == kmstypes.KeyStateEnabled
}

func (c kmsKeyRotation) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	api := c.api(env)
	period := controlSettings(env).integer("rotation_period_days")
	var out []workflows.Finding
	p := kms.NewListKeysPaginator(api, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, k := range page.Keys {
			arn := aws.ToString(k.KeyArn)
			if !matchesResource(resource, arn) {
				continue
			}
			d, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
			if err != nil {
				return nil, err
			}
			m := d.KeyMetadata
			if m.KeyManager != kmstypes.KeyManagerTypeCustomer {
				continue // AWS managed keys are AWS's to rotate
			}
			id := aws.ToString(m.KeyId)
			facts := map[string]string{"key_id": id, "key_spec": string(m.KeySpec), "state": string(m.KeyState), "origin": string(m.Origin)}
			if !rotatable(m) {
				out = append(out, workflows.Finding{Resource: arn, Status: workflows.StatusNotApplicable, Facts: facts,
					Evidence: fmt.Sprintf("key %s (%s, %s, %s) cannot rotate automatically", id, m.KeySpec, m.Origin, m.KeyState)})
				continue
			}
			st, err := api.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})
			if err != nil {
				return nil, err
			}
			facts["rotation_enabled"] = fmt.Sprint(st.KeyRotationEnabled)
			if st.KeyRotationEnabled {
				facts["rotation_period_days"] = fmt.Sprint(aws.ToInt32(st.RotationPeriodInDays))
				out = append(out, compliant(arn, fmt.Sprintf("key %s rotates every %d days", id, aws.ToInt32(st.RotationPeriodInDays)), facts))
				continue
			}
			out = append(out, nonCompliant(arn, "customer managed key "+id+" does not rotate", facts, &workflows.Change{
				Summary: fmt.Sprintf("enable automatic rotation of KMS key %s every %d days", id, period),
				Diff:    fmt.Sprintf("KMS key %s (%s, %s)\n- rotation: disabled\n+ rotation: every %d days\n", id, env.AccountID, env.Region, period),
				Actions: []string{"kms:EnableKeyRotation"},
				Params:  map[string]any{"key_id": id, "period_days": period},
			}))
		}
	}
	return out, nil
}

func (c kmsKeyRotation) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	api := c.api(env)
	id := paramString(f.Change, "key_id")
	var out applied
	st, err := api.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
	if err != nil || st.KeyRotationEnabled {
		return out.ApplyOutput, err
	}
	in := &kms.EnableKeyRotationInput{KeyId: aws.String(id)}
	p := paramInt(f.Change, "period_days")
	if p > 0 {
		in.RotationPeriodInDays = aws.Int32(int32(p))
	}
	if _, err := api.EnableKeyRotation(ctx, in); err != nil {
		return out.ApplyOutput, err
	}
	out.call("kms:EnableKeyRotation %s", id)
	period := "every " + fmt.Sprint(p) + " days"
	if p == 0 {
		period = "on KMS's default period"
	}
	out.Undo = &workflows.Change{
		Summary: "disable automatic rotation of KMS key " + id + " again",
		Diff:    fmt.Sprintf("KMS key %s (%s, %s)\n- rotation: %s\n+ rotation: disabled\n", id, env.AccountID, env.Region, period),
		Actions: []string{"kms:DisableKeyRotation"},
		// period_days 0: KMS chose the period, any period is as apply left it.
		Params: map[string]any{"key_id": id, "period_days": p},
	}
	return out.ApplyOutput, nil
}

// undoState compares the key's rotation with what apply left (on, every
// period_days days).
func (c kmsKeyRotation) undoState(ctx context.Context, env Env, undo workflows.Change) (restored bool, drift string, err error) {
	id := paramString(&undo, "key_id")
	st, err := c.api(env).GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
	switch code := errorCode(err); {
	case code == "NotFoundException":
		return false, fmt.Sprintf("KMS key %s no longer exists", id), nil
	case code == "KMSInvalidStateException" || code == "DisabledException":
		return false, fmt.Sprintf("KMS key %s is no longer enabled (%s)", id, code), nil
	case err != nil:
		return false, "", err
	case !st.KeyRotationEnabled:
		return true, "", nil
	}
	if want, have := paramInt(&undo, "period_days"), int(aws.ToInt32(st.RotationPeriodInDays)); want > 0 && have != want {
		return false, fmt.Sprintf("KMS key %s now rotates every %d days, not every %d days as orgguard set it", id, have, want), nil
	}
	return false, "", nil
}

func (c kmsKeyRotation) PlanUndo(ctx context.Context, env Env, _ string, undo workflows.Change) (string, error) {
	restored, drift, err := c.undoState(ctx, env, undo)
	return planUndoOf("rotation of KMS key "+paramString(&undo, "key_id"), restored, drift, err)
}

func (c kmsKeyRotation) Undo(ctx context.Context, env Env, _ string, undo workflows.Change) (workflows.ApplyOutput, error) {
	restored, drift, err := c.undoState(ctx, env, undo)
	return undoOf(restored, drift, err, func(out *applied) error {
		id := paramString(&undo, "key_id")
		if _, err := c.api(env).DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(id)}); err != nil {
			return err
		}
		out.call("kms:DisableKeyRotation %s", id)
		return nil
	})
}
