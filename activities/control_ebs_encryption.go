package activities

import (
	"context"
	"fmt"

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
}

// ebsDefaultEncryption: EBS encryption by default is on in the region
// (CIS 2.2.1, FSBP EC2.7), with the configured default key when one is named.
type ebsDefaultEncryption struct{}

func (ebsDefaultEncryption) Permissions() []string {
	return []string{"ec2:GetEbsEncryptionByDefault", "ec2:EnableEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId", "ec2:ModifyEbsDefaultKmsKeyId"}
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
	if paramBool(f.Change, "enable") && !st.enabled {
		if _, err := api.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("ec2:EnableEbsEncryptionByDefault %s", env.Region)
	}
	if paramBool(f.Change, "set_key") && !st.keyOK {
		if _, err := api.ModifyEbsDefaultKmsKeyId(ctx, &ec2.ModifyEbsDefaultKmsKeyIdInput{KmsKeyId: aws.String(wantKey)}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("ec2:ModifyEbsDefaultKmsKeyId %s", wantKey)
	}
	return out.ApplyOutput, nil
}
