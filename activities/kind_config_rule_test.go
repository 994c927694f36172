package activities

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

func configRuleGuardrail(name, source string, params map[string]string, types []string, r *guardrails.SSMRemediation) guardrails.Guardrail {
	return guardrails.Guardrail{ID: "config_rule." + name, Kind: guardrails.KindConfigRule, Name: name, Description: "test " + name,
		ConfigRule: &guardrails.ConfigRule{RuleName: name, SourceIdentifier: source, Owner: "AWS", InputParameters: params, ResourceTypes: types, Remediation: r}}
}

var restrictedIncoming = configRuleGuardrail("restricted-incoming-traffic", "RESTRICTED_INCOMING_TRAFFIC",
	map[string]string{"blockedPort1": "22", "blockedPort2": "3389"}, []string{"AWS::EC2::SecurityGroup"},
	&guardrails.SSMRemediation{
		DocumentName: "AWS-DisablePublicAccessForSecurityGroup", ResourceIDParameter: "GroupId",
		Automatic: false, MaximumAttempts: 3, RetrySeconds: 60, AutomationRole: "orgguard-remediation",
	})

// revokeDefaultSG is the custom document the baseline ships for closing
// default security groups.
const revokeDefaultSG = `{
  "schemaVersion": "0.3",
  "description": "Revoke every ingress and egress permission of a default security group.",
  "assumeRole": "{{ AutomationAssumeRole }}",
  "parameters": {
    "GroupId": {"type": "String"},
    "AutomationAssumeRole": {"type": "String"}
  },
  "mainSteps": [
    {"name": "describe", "action": "aws:executeAwsApi", "inputs": {"Service": "ec2", "Api": "DescribeSecurityGroups", "GroupIds": ["{{ GroupId }}"]},
     "outputs": [{"Name": "Ingress", "Selector": "$.SecurityGroups[0].IpPermissions", "Type": "MapList"},
                 {"Name": "Egress", "Selector": "$.SecurityGroups[0].IpPermissionsEgress", "Type": "MapList"}]},
    {"name": "revokeIngress", "action": "aws:executeAwsApi", "inputs": {"Service": "ec2", "Api": "RevokeSecurityGroupIngress", "GroupId": "{{ GroupId }}", "IpPermissions": "{{ describe.Ingress }}"}},
    {"name": "revokeEgress", "action": "aws:executeAwsApi", "inputs": {"Service": "ec2", "Api": "RevokeSecurityGroupEgress", "GroupId": "{{ GroupId }}", "IpPermissions": "{{ describe.Egress }}"}}
  ]
}`

var defaultSGRule = configRuleGuardrail("vpc-default-security-group-closed", "VPC_DEFAULT_SECURITY_GROUP_CLOSED", nil, []string{"AWS::EC2::SecurityGroup"},
	&guardrails.SSMRemediation{
		DocumentName: "Orgguard-RevokeDefaultSecurityGroup", DocumentContent: revokeDefaultSG, ResourceIDParameter: "GroupId",
		Automatic: true, MaximumAttempts: 5, RetrySeconds: 60, AutomationRole: "orgguard-remediation",
	})

// withRecorder turns AWS Config on in the account and region first: rules
// need a recorder.
func withRecorder(account, region string) func(t *testing.T, s *sim) {
	return func(t *testing.T, s *sim) {
		t.Helper()
		env := s.env(t, account, region, control("config.recorder", nil))
		fs, err := s.check(configRecorder{}, env, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Change != nil {
				if _, err := s.apply(configRecorder{}, env, f); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// withRule puts the rule in place first, so the scenario starts from its
// evaluations.
func withRule(account, region string, g guardrails.Guardrail) func(t *testing.T, s *sim) {
	return func(t *testing.T, s *sim) {
		t.Helper()
		withRecorder(account, region)(t, s)
		env := s.env(t, account, region, g)
		fs, err := s.check(configRuleKind{}, env, env.ARN("config", "config-rule/"+g.ConfigRule.RuleName))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Change != nil {
				if _, err := s.apply(configRuleKind{}, env, f); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// defaultSGRuleManual runs the custom document only when orgguard says so
// (after approval in the baseline).
var defaultSGRuleManual = func() guardrails.Guardrail {
	g := configRuleGuardrail("vpc-default-security-group-closed", "VPC_DEFAULT_SECURITY_GROUP_CLOSED", nil, []string{"AWS::EC2::SecurityGroup"},
		&guardrails.SSMRemediation{
			DocumentName: "Orgguard-RevokeDefaultSecurityGroup", DocumentContent: revokeDefaultSG, ResourceIDParameter: "GroupId",
			MaximumAttempts: 3, RetrySeconds: 60, AutomationRole: "orgguard-remediation",
		})
	return g
}()

var _ = addScenarios("control:config.recorder", scenario{
	name: "recorder, delivery bucket and channel are set up", account: acctWebProd, region: usEast1,
	guardrail: control("config.recorder", nil), evidence: "no configuration recorder",
	wantWrites: []string{"config:PutConfigurationRecorder", "config:PutDeliveryChannel", "config:StartConfigurationRecorder", "s3:CreateBucket", "s3:PutBucketPolicy"},
})

var _ = addScenarios("config_rule",
	scenario{
		name: "managed rule with an AWS-owned remediation document is put", account: acctWebProd, region: usEast1,
		guardrail: restrictedIncoming, prepare: withRecorder(acctWebProd, usEast1), evidence: "rule restricted-incoming-traffic does not exist",
		wantWrites: []string{"config:PutConfigRule", "config:PutRemediationConfigurations"},
	},
	scenario{
		name: "custom remediation document is created from the guardrail", account: acctWebProd, region: usEast1,
		guardrail: defaultSGRule, prepare: withRecorder(acctWebProd, usEast1), evidence: "document Orgguard-RevokeDefaultSecurityGroup does not exist",
		wantWrites: []string{"config:PutConfigRule", "ssm:CreateDocument", "config:PutRemediationConfigurations"},
	},
	scenario{
		name: "non-compliant resources are remediated through AWS Config", account: acctWebProd, region: usEast1,
		guardrail: restrictedIncoming, prepare: withRule(acctWebProd, usEast1, restrictedIncoming), evidence: "is NON_COMPLIANT",
		wantWrites: []string{"config:StartRemediationExecution"},
	},
	scenario{
		name: "the custom document orgguard created closes default security groups", account: acctWebProd, region: usEast1,
		guardrail: defaultSGRuleManual, prepare: withRule(acctWebProd, usEast1, defaultSGRuleManual), evidence: "is NON_COMPLIANT",
		wantWrites: []string{"config:StartRemediationExecution", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"},
	},
)

// AWS Config evaluates a remediated resource asynchronously. Until it has,
// a retried remediation does not start again, a check reports the stale
// result without a change, and the verification is retried (Propagation)
// rather than seeing the stale result as a failed remediation.
func TestConfigRuleRemediationWaitsForTheEvaluation(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{ConsistencyDelay: 5 * time.Second, IgnoreEnvironment: true})
	withRule(acctWebProd, usEast1, restrictedIncoming)(t, s)
	s.settle()
	k := configRuleKind{}
	env := s.env(t, acctWebProd, usEast1, restrictedIncoming)
	before, err := k.Check(ctx, env, "")
	require.NoError(t, err)
	i := slices.IndexFunc(before, func(f workflows.Finding) bool { return f.Status == workflows.StatusNonCompliant && f.Change != nil })
	require.GreaterOrEqual(t, i, 0, describe(before))
	f := before[i]

	out, err := k.Apply(ctx, applyEnv(env, f), f)
	require.NoError(t, err)
	require.True(t, out.Changed)
	// The answer was lost, and the activity's retry comes before Config
	// has evaluated the security group again.
	out, err = k.Apply(ctx, applyEnv(env, f), f)
	require.NoError(t, err)
	require.False(t, out.Changed, out.Calls)
	require.Equal(t, 1, s.succeeded("config", "StartRemediationExecution"))

	_, err = k.Check(ctx, env, f.Resource)
	require.True(t, isPropagation(err, env), "verification before the evaluation: %v", err)
	all, err := k.Check(ctx, env, "")
	require.NoError(t, err)
	i = slices.IndexFunc(all, func(g workflows.Finding) bool { return g.Resource == f.Resource })
	require.GreaterOrEqual(t, i, 0, describe(all))
	require.Equal(t, workflows.StatusNonCompliant, all[i].Status)
	require.Nil(t, all[i].Change, "no second remediation while the first is not evaluated")
	require.Contains(t, all[i].Evidence, "AWS Config has not evaluated the resource since")

	s.clock.Add(5 * time.Second)
	one, err := k.Check(ctx, env, f.Resource)
	require.NoError(t, err)
	require.Len(t, one, 1)
	require.Equal(t, workflows.StatusCompliant, one[0].Status, one[0].Evidence)
}

// Rules that name the same automation role (the baseline pack's do) keep a
// policy each on it: neither overwrites the other, so both setups stay in
// place and the role allows what both documents call.
func TestConfigRulesShareAnAutomationRole(t *testing.T) {
	t.Parallel()
	s3Encryption := configRuleGuardrail("s3-bucket-server-side-encryption-enabled", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", nil, []string{"AWS::S3::Bucket"},
		&guardrails.SSMRemediation{
			DocumentName: "AWS-EnableS3BucketEncryption", ResourceIDParameter: "BucketName",
			Automatic: true, MaximumAttempts: 5, RetrySeconds: 60, AutomationRole: restrictedIncoming.ConfigRule.Remediation.AutomationRole,
		})
	s := newSim(t, awssim.Options{})
	withRecorder(acctWebProd, usEast1)(t, s)
	k := configRuleKind{}
	setup := func(g guardrails.Guardrail) (Env, workflows.Finding) {
		env := s.env(t, acctWebProd, usEast1, g)
		fs, err := s.check(k, env, env.ARN("config", "config-rule/"+g.ConfigRule.RuleName))
		require.NoError(t, err)
		require.Len(t, fs, 1)
		return env, fs[0]
	}
	rules := []guardrails.Guardrail{restrictedIncoming, s3Encryption}
	for _, g := range rules {
		env, f := setup(g)
		require.Equal(t, workflows.StatusNonCompliant, f.Status)
		_, err := s.apply(k, env, f)
		require.NoError(t, err)
	}
	s.flush(false)
	for _, g := range rules {
		env, f := setup(g)
		require.Equal(t, workflows.StatusCompliant, f.Status, "%s: %s", g.ID, f.Evidence)
		_, want, err := k.spec(env)
		require.NoError(t, err)
		pol, err := iam.NewFromConfig(env.Config).GetRolePolicy(ctx, &iam.GetRolePolicyInput{
			RoleName: aws.String(want.role.Name), PolicyName: aws.String(want.role.policyName()),
		})
		require.NoError(t, err, "%s keeps its policy on the shared role", g.ID)
		doc, err := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
		require.NoError(t, err)
		require.JSONEq(t, want.role.policy(), doc)
	}
	require.Empty(t, s.writes(), "checks write nothing")
}

func TestRulePolicyNameFitsIAM(t *testing.T) {
	require.Equal(t, "orgguard-restricted-incoming-traffic", rulePolicyName("restricted-incoming-traffic"))
	long := strings.Repeat("r", 128)
	a, b := rulePolicyName(long), rulePolicyName(long[:127]+"s")
	require.Len(t, a, 128)
	require.Len(t, b, 128)
	require.NotEqual(t, a, b, "rule names cut alike still get policies of their own")
}
