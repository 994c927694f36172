package activities

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// withKey creates a customer managed key that does not rotate.
func withKey(account, region string) func(t *testing.T, s *sim) {
	return func(t *testing.T, s *sim) {
		t.Helper()
		env := s.env(t, account, region, control("kms.key_rotation", nil))
		if _, err := kms.NewFromConfig(env.Config).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("application data")}); err != nil {
			t.Fatal(err)
		}
	}
}

var _ = addScenarios("control:kms.key_rotation", scenario{
	name: "customer managed key gets rotation", account: acctWebProd, region: usEast1,
	guardrail: control("kms.key_rotation", nil), prepare: withKey(acctWebProd, usEast1), evidence: "does not rotate",
	wantWrites: []string{"kms:EnableKeyRotation"},
})

var _ = addScenarios("control:cloudtrail.multi_region",
	scenario{
		name: "account without a trail gets the orgguard trail", account: acctWebProd, region: usEast1,
		guardrail: control("cloudtrail.multi_region", nil), evidence: "has no CloudTrail trail",
		wantWrites: []string{"kms:CreateKey", "s3:CreateBucket", "logs:CreateLogGroup", "logs:PutRetentionPolicy", "iam:CreateRole", "cloudtrail:CreateTrail", "cloudtrail:StartLogging"},
	},
	scenario{
		name: "single-region trail without validation is updated and started", account: acctLogArchive, region: usEast1,
		guardrail: control("cloudtrail.multi_region", map[string]any{"log_retention_days": 0.0}),
		prepare: func(t *testing.T, s *sim) {
			env := s.env(t, acctLogArchive, usEast1, control("cloudtrail.multi_region", nil))
			w := cloudTrailMultiRegion{}.want(env)
			if err := w.bucket.ensure(ctx, s3.NewFromConfig(env.Config), &applied{}); err != nil {
				t.Fatal(err)
			}
			if _, err := cloudtrail.NewFromConfig(env.Config).CreateTrail(ctx, &cloudtrail.CreateTrailInput{
				Name: aws.String(w.name), S3BucketName: aws.String(w.bucket.Name),
			}); err != nil {
				t.Fatal(err)
			}
		},
		evidence:   "trail orgguard-trail: not multi-region, not logging, log file validation off, not KMS-encrypted, no CloudWatch Logs delivery",
		wantWrites: []string{"cloudtrail:UpdateTrail", "cloudtrail:StartLogging"},
	},
)

var _ = addScenarios("control:cloudwatch.root_activity_alarm", scenario{
	name: "root activity filter, topic and alarm are created", account: acctWebProd, region: usEast1,
	guardrail: control("cloudwatch.root_activity_alarm", nil), evidence: "does not exist",
	wantWrites: []string{"logs:CreateLogGroup", "logs:PutMetricFilter", "sns:CreateTopic", "monitoring:PutMetricAlarm"},
})
