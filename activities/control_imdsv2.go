package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgguard/orgguard/workflows"
)

// imdsAPI is the part of the EC2 client the IMDSv2 control uses.
type imdsAPI interface {
	ec2.DescribeInstancesAPIClient
	GetInstanceMetadataDefaults(context.Context, *ec2.GetInstanceMetadataDefaultsInput, ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error)
	ModifyInstanceMetadataDefaults(context.Context, *ec2.ModifyInstanceMetadataDefaultsInput, ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataDefaultsOutput, error)
	ModifyInstanceMetadataOptions(context.Context, *ec2.ModifyInstanceMetadataOptionsInput, ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error)
}

// imdsv2: the account's instance metadata default requires tokens (IMDSv2),
// and every instance does too (FSBP EC2.8). The account default is one
// finding; each instance still accepting IMDSv1 is another, whose change
// (ModifyInstanceMetadataOptions) the baseline gates on approval because
// software on the instance may still use IMDSv1.
type imdsv2 struct{}

func (imdsv2) Permissions() []string {
	return []string{"ec2:GetInstanceMetadataDefaults", "ec2:ModifyInstanceMetadataDefaults", "ec2:DescribeInstances", "ec2:ModifyInstanceMetadataOptions"}
}

func (imdsv2) api(env Env) imdsAPI { return ec2.NewFromConfig(env.Config) }

const imdsDefaultsResource = "instance-metadata-defaults"

func (c imdsv2) instances(ctx context.Context, env Env, id string) ([]ec2types.Instance, error) {
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}}}}
	if id != "" {
		in.InstanceIds = []string{id}
	}
	var out []ec2types.Instance
	p := ec2.NewDescribeInstancesPaginator(c.api(env), in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Reservations {
			out = append(out, r.Instances...)
		}
	}
	return out, nil
}

func (c imdsv2) Check(ctx context.Context, env Env, resource string) ([]workflows.Finding, error) {
	s := controlSettings(env)
	hop := s.integer("http_put_response_hop_limit")
	var out []workflows.Finding
	wantInstance := ""
	if resource != "" && strings.Contains(resource, "instance/") {
		wantInstance = sgIDFromResource(resource)
	}
	if s.boolean("account_default") && wantInstance == "" {
		d, err := c.api(env).GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{})
		if err != nil {
			return nil, err
		}
		tokens := "no-preference"
		if d.AccountLevel != nil && d.AccountLevel.HttpTokens != "" {
			tokens = string(d.AccountLevel.HttpTokens)
		}
		res := env.ARN("ec2", imdsDefaultsResource)
		facts := map[string]string{"http_tokens": tokens}
		if tokens == string(ec2types.HttpTokensStateRequired) {
			out = append(out, compliant(res, "the account's instance metadata default requires IMDSv2 tokens in "+env.Region, facts))
		} else {
			out = append(out, nonCompliant(res, fmt.Sprintf("the account's instance metadata default is HttpTokens=%s in %s: new instances accept IMDSv1", tokens, env.Region), facts, &workflows.Change{
				Summary: "require IMDSv2 for new instances by default in " + env.Region,
				Diff:    fmt.Sprintf("instance metadata defaults (%s, %s)\n- HttpTokens: %s\n+ HttpTokens: required\n+ HttpPutResponseHopLimit: %d\n", env.AccountID, env.Region, tokens, hop),
				Actions: []string{"ec2:ModifyInstanceMetadataDefaults"},
				Params:  map[string]any{"target": "account", "hop_limit": hop},
			}))
		}
		if resource != "" {
			return filterFindings(resource, out), nil
		}
	}
	instances, err := c.instances(ctx, env, wantInstance)
	if err != nil {
		return nil, err
	}
	for _, i := range instances {
		id := aws.ToString(i.InstanceId)
		res := env.ARN("ec2", "instance/"+id)
		tokens := ""
		if i.MetadataOptions != nil {
			tokens = string(i.MetadataOptions.HttpTokens)
		}
		facts := map[string]string{"instance_id": id, "http_tokens": tokens, "state": ""}
		if i.State != nil {
			facts["state"] = string(i.State.Name)
		}
		if tokens == string(ec2types.HttpTokensStateRequired) {
			out = append(out, compliant(res, "instance "+id+" requires IMDSv2 tokens", facts))
			continue
		}
		var ch *workflows.Change
		if s.boolean("remediate_instances") {
			ch = &workflows.Change{
				Summary: "require IMDSv2 tokens on instance " + id,
				Diff:    fmt.Sprintf("instance %s (%s, %s)\n- HttpTokens: %s\n+ HttpTokens: required\n", id, env.AccountID, env.Region, tokens),
				Actions: []string{"ec2:ModifyInstanceMetadataOptions"},
				Params:  map[string]any{"target": "instance", "instance_id": id},
			}
		}
		out = append(out, nonCompliant(res, fmt.Sprintf("instance %s accepts IMDSv1 (HttpTokens=%s)", id, tokens), facts, ch))
	}
	return out, nil
}

func (c imdsv2) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	var out applied
	api := c.api(env)
	switch paramString(f.Change, "target") {
	case "account":
		d, err := api.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{})
		if err != nil {
			return out.ApplyOutput, err
		}
		if d.AccountLevel != nil && d.AccountLevel.HttpTokens == ec2types.HttpTokensStateRequired {
			return out.ApplyOutput, nil
		}
		in := &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: ec2types.MetadataDefaultHttpTokensStateRequired}
		if hop := paramInt(f.Change, "hop_limit"); hop > 0 {
			in.HttpPutResponseHopLimit = aws.Int32(int32(hop))
		}
		if _, err := api.ModifyInstanceMetadataDefaults(ctx, in); err != nil {
			return out.ApplyOutput, err
		}
		out.call("ec2:ModifyInstanceMetadataDefaults HttpTokens=required %s", env.Region)
	case "instance":
		id := paramString(f.Change, "instance_id")
		is, err := c.instances(ctx, env, id)
		if err != nil {
			return out.ApplyOutput, err
		}
		if len(is) == 0 || (is[0].MetadataOptions != nil && is[0].MetadataOptions.HttpTokens == ec2types.HttpTokensStateRequired) {
			return out.ApplyOutput, nil
		}
		if _, err := api.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: ec2types.HttpTokensStateRequired}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("ec2:ModifyInstanceMetadataOptions %s HttpTokens=required", id)
	default:
		return out.ApplyOutput, fmt.Errorf("imdsv2: unknown change target %q", paramString(f.Change, "target"))
	}
	return out.ApplyOutput, nil
}
