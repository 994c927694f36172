package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/orgguard/orgguard/workflows"
)

// configRecorderAPI is the part of the AWS Config client the recorder
// control uses.
type configRecorderAPI interface {
	DescribeConfigurationRecorders(context.Context, *configservice.DescribeConfigurationRecordersInput, ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecordersOutput, error)
	DescribeConfigurationRecorderStatus(context.Context, *configservice.DescribeConfigurationRecorderStatusInput, ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecorderStatusOutput, error)
	DescribeDeliveryChannels(context.Context, *configservice.DescribeDeliveryChannelsInput, ...func(*configservice.Options)) (*configservice.DescribeDeliveryChannelsOutput, error)
	PutConfigurationRecorder(context.Context, *configservice.PutConfigurationRecorderInput, ...func(*configservice.Options)) (*configservice.PutConfigurationRecorderOutput, error)
	PutDeliveryChannel(context.Context, *configservice.PutDeliveryChannelInput, ...func(*configservice.Options)) (*configservice.PutDeliveryChannelOutput, error)
	StartConfigurationRecorder(context.Context, *configservice.StartConfigurationRecorderInput, ...func(*configservice.Options)) (*configservice.StartConfigurationRecorderOutput, error)
}

// configSLRs are AWS Config's service-linked roles by role name.
var configSLRs = []struct{ role, service string }{
	{"AWSServiceRoleForConfig", "config.amazonaws.com"},
	{"AWSServiceRoleForConfigRemediation", "remediation.config.amazonaws.com"},
}

// configRecorder: AWS Config records all supported and global resource types
// with its service-linked role, delivers to an encrypted, private, TLS-only
// bucket that expires objects, and is recording (CIS 3.5, FSBP Config.1).
type configRecorder struct{}

func (configRecorder) Permissions() []string {
	return append([]string{
		"config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus", "config:DescribeDeliveryChannels",
		"config:PutConfigurationRecorder", "config:PutDeliveryChannel", "config:StartConfigurationRecorder",
		"iam:GetRole", "iam:CreateServiceLinkedRole", "iam:PassRole",
	}, logBucketPermissions...)
}

func (configRecorder) api(env Env) configRecorderAPI { return configservice.NewFromConfig(env.Config) }

type configWant struct {
	allSupported, global, slrs bool
	frequency                  string
	bucket                     logBucket
}

func (c configRecorder) want(env Env) configWant {
	s := controlSettings(env)
	name := fmt.Sprintf("%s-%s-%s", s.str("bucket_prefix"), env.AccountID, env.Region)
	arn := "arn:" + env.Partition + ":s3:::" + name
	svc := func(sid, action, resource string, cond map[string]any) map[string]any {
		st := map[string]any{"Sid": sid, "Effect": "Allow", "Principal": map[string]any{"Service": "config.amazonaws.com"}, "Action": action, "Resource": resource}
		st["Condition"] = cond
		return st
	}
	src := map[string]any{"StringEquals": map[string]any{"AWS:SourceAccount": env.AccountID}}
	policy := logBucketPolicy(env.Partition, name, []map[string]any{
		svc("AWSConfigBucketPermissionsCheck", "s3:GetBucketAcl", arn, src),
		svc("AWSConfigBucketExistenceCheck", "s3:ListBucket", arn, src),
		svc("AWSConfigBucketDelivery", "s3:PutObject", arn+"/AWSLogs/"+env.AccountID+"/Config/*",
			map[string]any{"StringEquals": map[string]any{"AWS:SourceAccount": env.AccountID, "s3:x-amz-acl": "bucket-owner-full-control"}}),
	})
	return configWant{
		allSupported: s.boolean("all_supported"), global: s.boolean("include_global_resource_types"), slrs: s.boolean("create_service_linked_roles"),
		frequency: s.str("delivery_frequency"),
		bucket:    logBucket{Name: name, Region: env.Region, Policy: policy, ExpireDays: s.integer("lifecycle_expiration_days")},
	}
}

// configState is what is off, item by item.
type configState struct {
	recorderName                 string
	recorder, recording, channel bool // exist / is recording / exists and points at the bucket
	groupOK, roleOK              bool
	channelName, channelBucket   string
	missingSLRs                  []string
	bucket                       bucketDrift
	otherBucket                  bool // the channel delivers to a bucket orgguard does not own
}

func (c configRecorder) read(ctx context.Context, env Env, w configWant) (configState, error) {
	api := c.api(env)
	st := configState{recorderName: "default", channelName: "default"}
	recs, err := api.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	if err != nil {
		return st, err
	}
	slrARN := "arn:" + env.Partition + ":iam::" + env.AccountID + ":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
	if len(recs.ConfigurationRecorders) > 0 {
		r := recs.ConfigurationRecorders[0]
		st.recorder, st.recorderName = true, aws.ToString(r.Name)
		g := r.RecordingGroup
		st.groupOK = g != nil && (!w.allSupported || g.AllSupported) && (!w.global || g.IncludeGlobalResourceTypes)
		st.roleOK = aws.ToString(r.RoleARN) != ""
		if w.slrs {
			st.roleOK = aws.ToString(r.RoleARN) == slrARN
		}
		status, err := api.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{ConfigurationRecorderNames: []string{st.recorderName}})
		if err != nil {
			return st, err
		}
		for _, s := range status.ConfigurationRecordersStatus {
			st.recording = st.recording || s.Recording
		}
	}
	chans, err := api.DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{})
	if err != nil {
		return st, err
	}
	if len(chans.DeliveryChannels) > 0 {
		ch := chans.DeliveryChannels[0]
		st.channelName, st.channelBucket = aws.ToString(ch.Name), aws.ToString(ch.S3BucketName)
		st.channel = true
		st.otherBucket = st.channelBucket != w.bucket.Name
	}
	if w.slrs {
		roles := iam.NewFromConfig(env.Config)
		for _, r := range configSLRs {
			ok, err := roleExists(ctx, roles, r.role)
			if err != nil {
				return st, err
			}
			if !ok {
				st.missingSLRs = append(st.missingSLRs, r.service)
			}
		}
	}
	if !st.channel || !st.otherBucket {
		st.bucket, err = w.bucket.read(ctx, s3.NewFromConfig(env.Config))
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

func (c configRecorder) Check(ctx context.Context, env Env, _ string) ([]workflows.Finding, error) {
	w := c.want(env)
	st, err := c.read(ctx, env, w)
	if err != nil {
		return nil, err
	}
	res := env.ARN("config", "configuration-recorder/"+st.recorderName)
	facts := map[string]string{"recorder": fmt.Sprint(st.recorder), "recording": fmt.Sprint(st.recording), "delivery_bucket": st.channelBucket}
	var problems []string
	var diff strings.Builder
	fmt.Fprintf(&diff, "AWS Config (%s, %s)\n", env.AccountID, env.Region)
	actions := []string{}
	for _, s := range st.missingSLRs {
		problems = append(problems, "service-linked role for "+s+" is missing")
		fmt.Fprintf(&diff, "+ service-linked role for %s\n", s)
		actions = append(actions, "iam:CreateServiceLinkedRole")
	}
	switch {
	case !st.recorder:
		problems = append(problems, "no configuration recorder")
		fmt.Fprintf(&diff, "+ recorder %s: all supported=%v, global types=%v\n", st.recorderName, w.allSupported, w.global)
		actions = append(actions, "config:PutConfigurationRecorder")
	case !st.groupOK || !st.roleOK:
		problems = append(problems, "recorder "+st.recorderName+" does not record all supported and global types with the Config service-linked role")
		fmt.Fprintf(&diff, "~ recorder %s: all supported=%v, global types=%v, service-linked role\n", st.recorderName, w.allSupported, w.global)
		actions = append(actions, "config:PutConfigurationRecorder")
	}
	if !st.otherBucket || !st.channel {
		if st.bucket.any() {
			problems = append(problems, st.bucket.describe(w.bucket)...)
			diff.WriteString(st.bucket.diff(w.bucket))
			actions = append(actions, "s3:CreateBucket", "s3:PutBucketEncryption", "s3:PutBucketPolicy")
		}
	} else {
		facts["note"] = "delivers to " + st.channelBucket + ", a bucket orgguard does not manage"
	}
	if !st.channel {
		problems = append(problems, "no delivery channel")
		fmt.Fprintf(&diff, "+ delivery channel %s -> s3://%s every %s\n", st.channelName, w.bucket.Name, w.frequency)
		actions = append(actions, "config:PutDeliveryChannel")
	}
	if !st.recording {
		problems = append(problems, "the recorder is not recording")
		diff.WriteString("+ start recording\n")
		actions = append(actions, "config:StartConfigurationRecorder")
	}
	if len(problems) == 0 {
		return []workflows.Finding{compliant(res, fmt.Sprintf("AWS Config records all resources in %s and delivers to %s", env.Region, st.channelBucket), facts)}, nil
	}
	return []workflows.Finding{nonCompliant(res, "AWS Config in "+env.Region+": "+strings.Join(problems, "; "), facts, &workflows.Change{
		Summary: "set up AWS Config recording and delivery in " + env.Region,
		Diff:    diff.String(),
		Actions: uniq(actions),
		Params:  map[string]any{"recorder": st.recorderName, "channel": st.channelName},
	})}, nil
}

func (c configRecorder) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	w := c.want(env)
	var out applied
	st, err := c.read(ctx, env, w)
	if err != nil {
		return out.ApplyOutput, err
	}
	roles := iam.NewFromConfig(env.Config)
	for _, r := range configSLRs {
		if !slices.Contains(st.missingSLRs, r.service) {
			continue
		}
		if _, err := roles.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(r.service)}); err != nil && errorCode(err) != "InvalidInput" {
			return out.ApplyOutput, err
		}
		out.call("iam:CreateServiceLinkedRole %s", r.service)
	}
	if !st.channel || !st.otherBucket {
		if err := w.bucket.ensure(ctx, s3.NewFromConfig(env.Config), &out); err != nil {
			return out.ApplyOutput, err
		}
	}
	api := c.api(env)
	if !st.recorder || !st.groupOK || !st.roleOK {
		role := "arn:" + env.Partition + ":iam::" + env.AccountID + ":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
		if _, err := api.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
			Name: aws.String(st.recorderName), RoleARN: aws.String(role),
			RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: w.allSupported, IncludeGlobalResourceTypes: w.global},
		}}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("config:PutConfigurationRecorder %s", st.recorderName)
	}
	if !st.channel {
		if _, err := api.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{
			Name: aws.String(st.channelName), S3BucketName: aws.String(w.bucket.Name),
			ConfigSnapshotDeliveryProperties: &cfgtypes.ConfigSnapshotDeliveryProperties{DeliveryFrequency: cfgtypes.MaximumExecutionFrequency(w.frequency)},
		}}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("config:PutDeliveryChannel %s -> %s", st.channelName, w.bucket.Name)
	}
	if !st.recording {
		if _, err := api.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String(st.recorderName)}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("config:StartConfigurationRecorder %s", st.recorderName)
	}
	return out.ApplyOutput, nil
}
