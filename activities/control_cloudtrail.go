package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/orgguard/orgguard/workflows"
)

// trailKeyAPI is the part of the KMS client that manages the trail's key.
type trailKeyAPI interface {
	kms.ListKeysAPIClient
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	CreateKey(context.Context, *kms.CreateKeyInput, ...func(*kms.Options)) (*kms.CreateKeyOutput, error)
	CreateAlias(context.Context, *kms.CreateAliasInput, ...func(*kms.Options)) (*kms.CreateAliasOutput, error)
	GetKeyRotationStatus(context.Context, *kms.GetKeyRotationStatusInput, ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
	EnableKeyRotation(context.Context, *kms.EnableKeyRotationInput, ...func(*kms.Options)) (*kms.EnableKeyRotationOutput, error)
}

// cloudTrailMultiRegion: a multi-region trail is logging, validates log
// files, is KMS-encrypted and delivers to CloudWatch Logs (CIS 3.1-3.4,
// 3.7, FSBP CloudTrail.1/2/4/5). Any trail that meets all of it counts (an
// organization trail does); otherwise orgguard creates or fixes its own
// trail with its bucket, key, log group and delivery role.
type cloudTrailMultiRegion struct{}

func (cloudTrailMultiRegion) Permissions() []string {
	p := []string{
		"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:CreateTrail", "cloudtrail:UpdateTrail", "cloudtrail:StartLogging",
		"cloudtrail:AddTags", "kms:DescribeKey", "kms:ListKeys", "kms:CreateKey", "kms:TagResource", "kms:CreateAlias",
		"kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
	}
	p = append(p, logBucketPermissions...)
	p = append(p, logGroupPermissions...)
	return append(p, rolePermissions...)
}

type trailWant struct {
	name, alias, group       string
	validation, globalEvents bool
	retention                int
	bucket                   logBucket
	role                     serviceRole
}

func (cloudTrailMultiRegion) want(env Env) trailWant {
	s := controlSettings(env)
	name := s.str("trail_name")
	bucket := fmt.Sprintf("%s-%s-%s", s.str("bucket_prefix"), env.AccountID, env.Region)
	arn := "arn:" + env.Partition + ":s3:::" + bucket
	trailARN := "arn:" + env.Partition + ":cloudtrail:" + env.Region + ":" + env.AccountID + ":trail/" + name
	svc := func(sid, action, resource string, cond map[string]any) map[string]any {
		return map[string]any{"Sid": sid, "Effect": "Allow", "Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"}, "Action": action, "Resource": resource, "Condition": cond}
	}
	src := map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailARN}}
	group := s.str("cloudwatch_log_group")
	return trailWant{
		name: name, alias: s.str("kms_key_alias"), group: group,
		validation: s.boolean("log_file_validation"), globalEvents: s.boolean("include_global_service_events"), retention: s.integer("log_retention_days"),
		bucket: logBucket{Name: bucket, Region: env.Region, Policy: logBucketPolicy(env.Partition, bucket, []map[string]any{
			svc("AWSCloudTrailAclCheck", "s3:GetBucketAcl", arn, src),
			svc("AWSCloudTrailWrite", "s3:PutObject", arn+"/AWSLogs/"+env.AccountID+"/*",
				map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailARN, "s3:x-amz-acl": "bucket-owner-full-control"}}),
		})},
		role: serviceRole{Name: "orgguard-cloudtrail-logs", Service: "cloudtrail.amazonaws.com",
			Actions:  []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resource: "arn:" + env.Partition + ":logs:" + env.Region + ":" + env.AccountID + ":log-group:" + group + ":*"},
	}
}

// trailGaps lists what a trail lacks.
func trailGaps(t cttypes.Trail, logging bool, w trailWant) []string {
	var gaps []string
	if !aws.ToBool(t.IsMultiRegionTrail) {
		gaps = append(gaps, "not multi-region")
	}
	if !logging {
		gaps = append(gaps, "not logging")
	}
	if w.validation && !aws.ToBool(t.LogFileValidationEnabled) {
		gaps = append(gaps, "log file validation off")
	}
	if aws.ToString(t.KmsKeyId) == "" {
		gaps = append(gaps, "not KMS-encrypted")
	}
	if aws.ToString(t.CloudWatchLogsLogGroupArn) == "" {
		gaps = append(gaps, "no CloudWatch Logs delivery")
	}
	if w.globalEvents && !aws.ToBool(t.IncludeGlobalServiceEvents) {
		gaps = append(gaps, "global service events excluded")
	}
	return gaps
}

type trailState struct {
	good    *cttypes.Trail // a trail that meets everything
	ours    *cttypes.Trail // orgguard's trail, by name
	logging bool           // whether ours is logging
	gaps    map[string][]string
}

func (c cloudTrailMultiRegion) read(ctx context.Context, env Env, w trailWant) (trailState, error) {
	api := cloudtrail.NewFromConfig(env.Config)
	st := trailState{gaps: map[string][]string{}}
	out, err := api.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return st, err
	}
	for i := range out.TrailList {
		t := out.TrailList[i]
		status, err := api.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: t.TrailARN})
		if err != nil {
			return st, err
		}
		logging := aws.ToBool(status.IsLogging)
		gaps := trailGaps(t, logging, w)
		st.gaps[aws.ToString(t.Name)] = gaps
		if len(gaps) == 0 && st.good == nil {
			st.good = &t
		}
		if aws.ToString(t.Name) == w.name && aws.ToString(t.HomeRegion) == env.Region {
			st.ours, st.logging = &t, logging
		}
	}
	return st, nil
}

func (c cloudTrailMultiRegion) Check(ctx context.Context, env Env, _ string) ([]workflows.Finding, error) {
	w := c.want(env)
	st, err := c.read(ctx, env, w)
	if err != nil {
		return nil, err
	}
	if st.good != nil {
		t := st.good
		return []workflows.Finding{compliant(aws.ToString(t.TrailARN),
			fmt.Sprintf("trail %s is multi-region, logging, validated, KMS-encrypted and delivers to %s", aws.ToString(t.Name), aws.ToString(t.CloudWatchLogsLogGroupArn)),
			map[string]string{"trail": aws.ToString(t.Name), "bucket": aws.ToString(t.S3BucketName), "kms_key": aws.ToString(t.KmsKeyId)})}, nil
	}
	res := env.ARN("cloudtrail", "trail/"+w.name)
	var ev []string
	for _, name := range sortedKeysOf(st.gaps) {
		ev = append(ev, fmt.Sprintf("trail %s: %s", name, strings.Join(st.gaps[name], ", ")))
	}
	evidence := "no CloudTrail trail meets the baseline"
	if len(ev) == 0 {
		evidence = "the account has no CloudTrail trail"
	} else {
		evidence += " (" + strings.Join(ev, "; ") + ")"
	}
	var diff strings.Builder
	fmt.Fprintf(&diff, "CloudTrail (%s, %s)\n", env.AccountID, env.Region)
	fmt.Fprintf(&diff, "+ KMS key %s (rotating)\n", w.alias)
	fmt.Fprintf(&diff, "+ bucket %s: encrypted, public access blocked, TLS-only policy\n", w.bucket.Name)
	fmt.Fprintf(&diff, "+ log group %s (%d days) and delivery role %s\n", w.group, w.retention, w.role.Name)
	if st.ours == nil {
		fmt.Fprintf(&diff, "+ trail %s: multi-region, log file validation, KMS, CloudWatch Logs, logging\n", w.name)
	} else {
		fmt.Fprintf(&diff, "~ trail %s: fix %s\n", w.name, strings.Join(st.gaps[w.name], ", "))
	}
	return []workflows.Finding{nonCompliant(res, evidence, map[string]string{"trails": fmt.Sprint(len(st.gaps))}, &workflows.Change{
		Summary: "create or fix the orgguard CloudTrail trail " + w.name,
		Diff:    diff.String(),
		Actions: []string{"kms:CreateKey", "s3:CreateBucket", "s3:PutBucketPolicy", "logs:CreateLogGroup", "iam:CreateRole", "cloudtrail:CreateTrail", "cloudtrail:UpdateTrail", "cloudtrail:StartLogging"},
		Params:  map[string]any{"trail": w.name},
	})}, nil
}

// trailKeyDescription marks the key orgguard creates for an alias. The
// alias comes last (CreateKey, EnableKeyRotation, CreateAlias), so a key an
// earlier attempt created without reaching CreateAlias is found by it.
func trailKeyDescription(alias string) string {
	return "orgguard CloudTrail logs (" + alias + ")"
}

// findTrailKey looks the key up by alias, then (for a key an earlier
// attempt created but did not alias) by its description among the
// account's enabled customer managed keys, the oldest first. id is empty
// when there is none.
func findTrailKey(ctx context.Context, api trailKeyAPI, alias string) (id, arn string, aliased bool, err error) {
	d, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	var nf *kmstypes.NotFoundException
	switch {
	case err == nil:
		return aws.ToString(d.KeyMetadata.KeyId), aws.ToString(d.KeyMetadata.Arn), true, nil
	case !errors.As(err, &nf):
		return "", "", false, err
	}
	var found *kmstypes.KeyMetadata
	keys := kms.NewListKeysPaginator(api, &kms.ListKeysInput{})
	for keys.HasMorePages() {
		page, err := keys.NextPage(ctx)
		if err != nil {
			return "", "", false, err
		}
		for _, k := range page.Keys {
			d, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
			if c := errorCode(err); c == "AccessDeniedException" || c == "NotFoundException" {
				continue // a key whose policy shuts the account out is not orgguard's
			}
			if err != nil {
				return "", "", false, err
			}
			m := d.KeyMetadata
			if aws.ToString(m.Description) != trailKeyDescription(alias) || m.KeyManager != kmstypes.KeyManagerTypeCustomer || m.KeyState != kmstypes.KeyStateEnabled {
				continue
			}
			if found == nil || aws.ToTime(m.CreationDate).Before(aws.ToTime(found.CreationDate)) {
				found = m
			}
		}
	}
	if found == nil {
		return "", "", false, nil
	}
	return aws.ToString(found.KeyId), aws.ToString(found.Arn), false, nil
}

// ensureKey returns the ARN of the key behind the alias, creating a rotating
// key that CloudTrail may use when there is none. It resumes the work of an
// attempt that died between CreateKey and CreateAlias instead of creating a
// second key.
func (c cloudTrailMultiRegion) ensureKey(ctx context.Context, env Env, alias string, out *applied) (string, error) {
	api := trailKeyAPI(kms.NewFromConfig(env.Config))
	id, arn, aliased, err := findTrailKey(ctx, api, alias)
	if err != nil || aliased {
		return arn, err
	}
	rotating := false
	if id == "" {
		policy, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{
			map[string]any{"Sid": "AccountAdministers", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:" + env.Partition + ":iam::" + env.AccountID + ":root"}, "Action": "kms:*", "Resource": "*"},
			map[string]any{"Sid": "CloudTrailEncrypts", "Effect": "Allow", "Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"}, "Action": []string{"kms:GenerateDataKey*", "kms:DescribeKey"}, "Resource": "*",
				"Condition": map[string]any{"StringLike": map[string]any{"kms:EncryptionContext:aws:cloudtrail:arn": "arn:" + env.Partition + ":cloudtrail:*:" + env.AccountID + ":trail/*"}}},
			map[string]any{"Sid": "CloudWatchLogsEncrypts", "Effect": "Allow", "Principal": map[string]any{"Service": "logs." + env.Region + ".amazonaws.com"}, "Action": []string{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"}, "Resource": "*"},
		}})
		k, err := api.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(trailKeyDescription(alias)), Policy: aws.String(string(policy)),
			Tags: []kmstypes.Tag{
				{TagKey: aws.String("managed-by"), TagValue: aws.String("orgguard")},
				{TagKey: aws.String("orgguard:purpose"), TagValue: aws.String("cloudtrail")},
				{TagKey: aws.String("orgguard:alias"), TagValue: aws.String(alias)},
			}})
		if err != nil {
			return "", err
		}
		id, arn = aws.ToString(k.KeyMetadata.KeyId), aws.ToString(k.KeyMetadata.Arn)
		out.call("kms:CreateKey %s", arn)
	} else {
		st, err := api.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
		if err != nil {
			return "", err
		}
		rotating = st.KeyRotationEnabled
	}
	if !rotating {
		if _, err := api.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id)}); err != nil {
			return "", err
		}
		out.call("kms:EnableKeyRotation %s", id)
	}
	if _, err := api.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)}); err != nil {
		return "", err
	}
	out.call("kms:CreateAlias %s", alias)
	return arn, nil
}

func (c cloudTrailMultiRegion) Apply(ctx context.Context, env Env, f workflows.Finding) (workflows.ApplyOutput, error) {
	w := c.want(env)
	var out applied
	st, err := c.read(ctx, env, w)
	if err != nil || st.good != nil {
		return out.ApplyOutput, err
	}
	keyARN, err := c.ensureKey(ctx, env, w.alias, &out)
	if err != nil {
		return out.ApplyOutput, err
	}
	if err := w.bucket.ensure(ctx, s3.NewFromConfig(env.Config), &out); err != nil {
		return out.ApplyOutput, err
	}
	if err := ensureLogGroup(ctx, cloudwatchlogs.NewFromConfig(env.Config), w.group, w.retention, &out); err != nil {
		return out.ApplyOutput, err
	}
	created, err := env.Roles.ensure(ctx, iam.NewFromConfig(env.Config), env, w.role)
	if err != nil {
		return out.ApplyOutput, err
	}
	if created {
		out.call("iam:CreateRole %s", w.role.Name)
	}
	groupARN := "arn:" + env.Partition + ":logs:" + env.Region + ":" + env.AccountID + ":log-group:" + w.group + ":*"
	api := cloudtrail.NewFromConfig(env.Config)
	if st.ours == nil {
		if _, err := api.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
			Name: aws.String(w.name), S3BucketName: aws.String(w.bucket.Name), IsMultiRegionTrail: aws.Bool(true),
			EnableLogFileValidation: aws.Bool(w.validation), IncludeGlobalServiceEvents: aws.Bool(w.globalEvents), KmsKeyId: aws.String(keyARN),
			CloudWatchLogsLogGroupArn: aws.String(groupARN), CloudWatchLogsRoleArn: aws.String(w.role.arn(env)),
			TagsList: []cttypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("orgguard")}},
		}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("cloudtrail:CreateTrail %s", w.name)
	} else if gaps := trailGaps(*st.ours, true, w); len(gaps) > 0 {
		if _, err := api.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{
			Name: aws.String(w.name), IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(w.validation || aws.ToBool(st.ours.LogFileValidationEnabled)),
			IncludeGlobalServiceEvents: aws.Bool(w.globalEvents || aws.ToBool(st.ours.IncludeGlobalServiceEvents)), KmsKeyId: aws.String(keyARN),
			CloudWatchLogsLogGroupArn: aws.String(groupARN), CloudWatchLogsRoleArn: aws.String(w.role.arn(env)),
		}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("cloudtrail:UpdateTrail %s (%s)", w.name, strings.Join(gaps, ", "))
	}
	if st.ours == nil || !st.logging {
		if _, err := api.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(w.name)}); err != nil {
			return out.ApplyOutput, err
		}
		out.call("cloudtrail:StartLogging %s", w.name)
	}
	return out.ApplyOutput, nil
}
