package activities

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
)

var _ = addScenarios("control:s3.account_public_access_block", scenario{
	name: "account public access block is turned on", account: acctWebDev, region: usEast1,
	guardrail: control("s3.account_public_access_block", nil), evidence: "off for: block_public_acls",
	wantWrites: []string{"s3:PutPublicAccessBlock"}, compliantAccount: acctLogArchive,
})

var _ = addScenarios("control:s3.bucket_encryption", scenario{
	name: "unencrypted bucket gets default encryption", account: acctWebDev, region: euWest1,
	guardrail: control("s3.bucket_encryption", nil), evidence: "demo-web-dev-uploads-100000000009 has no default encryption",
	wantWrites: []string{"s3:PutBucketEncryption"},
})

var _ = addScenarios("control:guardduty.detector",
	scenario{
		name: "suspended detector is enabled with the configured frequency", account: acctWebProd, region: euWest1,
		guardrail: control("guardduty.detector", map[string]any{"finding_publishing_frequency": "FIFTEEN_MINUTES", "route_findings": false}),
		prepare: func(t *testing.T, s *sim) {
			env := s.env(t, acctWebProd, euWest1, control("guardduty.detector", nil))
			if _, err := guardduty.NewFromConfig(env.Config).CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(false)}); err != nil {
				t.Fatal(err)
			}
		},
		evidence:   "is suspended",
		wantWrites: []string{"guardduty:UpdateDetector"},
	},
	scenario{
		name: "missing detector is created", account: acctWebProd, region: usEast1,
		guardrail: control("guardduty.detector", map[string]any{"route_findings": false}), evidence: "has no detector",
		wantWrites: []string{"guardduty:CreateDetector"},
	},
	scenario{
		name: "findings are routed to SNS through EventBridge", account: acctWebProd, region: usEast1,
		guardrail: control("guardduty.detector", nil), evidence: "no enabled EventBridge rule",
		wantWrites: []string{"guardduty:CreateDetector", "sns:CreateTopic", "events:PutRule", "events:PutTargets"},
	},
)

var _ = addScenarios("control:accessanalyzer.analyzer", scenario{
	name: "missing analyzer is created", account: acctWebProd, region: euWest1,
	guardrail: control("accessanalyzer.analyzer", nil), evidence: "no active ACCOUNT IAM Access Analyzer",
	wantWrites: []string{"access-analyzer:CreateAnalyzer"},
})
