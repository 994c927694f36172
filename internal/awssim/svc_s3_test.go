package awssim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

const (
	demoWebDev       = "100000000009"
	demoWebDevBucket = "demo-web-dev-uploads-100000000009"
	demoLogArchive   = "100000000002"
	demoTrailBucket  = "demo-org-cloudtrail-logs-100000000002"
)

// s3ControlClient routes S3 Control's "{AccountId}.<host>" requests through
// the simulator as an HTTP proxy, which is what HTTP_PROXY does for the
// SDK's default client.
func s3ControlClient(s *Server, cfg aws.Config) *s3control.Client {
	proxy, err := url.Parse(s.URL())
	if err != nil {
		panic(err)
	}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = http.ProxyURL(proxy)
	})
	return s3control.NewFromConfig(cfg)
}

func TestS3ControlPublicAccessBlock(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := s3ControlClient(s, memberConfig(s, demoWebDev, "us-east-1"))

	_, err := c.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(demoWebDev)})
	requireCode(t, err, "NoSuchPublicAccessBlockConfiguration")
	_, err = c.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(demoLogArchive)})
	requireCode(t, err, "AccessDenied")

	must[*s3control.PutPublicAccessBlockOutput](t)(c.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{
		AccountId: aws.String(demoWebDev),
		PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		},
	}))
	out := must[*s3control.GetPublicAccessBlockOutput](t)(c.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(demoWebDev)}))
	p := out.PublicAccessBlockConfiguration
	if !aws.ToBool(p.BlockPublicAcls) || !aws.ToBool(p.IgnorePublicAcls) || !aws.ToBool(p.BlockPublicPolicy) || !aws.ToBool(p.RestrictPublicBuckets) {
		t.Errorf("public access block = %+v", p)
	}

	// The seed's account-level block.
	c2 := s3ControlClient(s, memberConfig(s, demoLogArchive, "eu-west-1"))
	out = must[*s3control.GetPublicAccessBlockOutput](t)(c2.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(demoLogArchive)}))
	if !aws.ToBool(out.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
		t.Errorf("seeded block = %+v", out.PublicAccessBlockConfiguration)
	}
	calls := s.CallsMatching(CallFilter{Service: "s3", Operation: "PutPublicAccessBlock", AccountID: demoWebDev})
	if len(calls) != 1 || calls[0].Region != "us-east-1" {
		t.Errorf("PutPublicAccessBlock calls = %+v", calls)
	}
	denied := s.CallsMatching(CallFilter{Service: "s3", Operation: "GetPublicAccessBlock", AccountID: demoWebDev})
	if len(denied) < 2 || denied[0].ErrorCode != "NoSuchPublicAccessBlockConfiguration" || denied[1].ErrorCode != "AccessDenied" {
		t.Errorf("GetPublicAccessBlock calls = %+v", denied)
	}
}

func TestS3BucketsListAndCreate(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 2})
	use1 := s3.NewFromConfig(memberConfig(s, demoWebDev, "us-east-1"))
	euw1 := s3.NewFromConfig(memberConfig(s, demoWebDev, "eu-west-1"))

	for _, n := range []string{"orgguard-a-100000000009", "orgguard-b-100000000009"} {
		must[*s3.CreateBucketOutput](t)(use1.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(n)}))
	}
	must[*s3.CreateBucketOutput](t)(euw1.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                    aws.String("orgguard-c-100000000009"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1},
	}))
	_, err := euw1.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("orgguard-d-100000000009")})
	requireCode(t, err, "IllegalLocationConstraintException")
	_, err = euw1.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                    aws.String("orgguard-c-100000000009"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1},
	})
	requireCode(t, err, "BucketAlreadyOwnedByYou")
	other := s3.NewFromConfig(memberConfig(s, demoLogArchive, "us-east-1"))
	_, err = other.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("orgguard-a-100000000009")})
	requireCode(t, err, "BucketAlreadyExists")
	_, err = use1.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	requireCode(t, err, "InvalidBucketName")

	var names, regions []string
	pages := 0
	p := s3.NewListBucketsPaginator(use1, &s3.ListBucketsInput{})
	for p.HasMorePages() {
		out := must[*s3.ListBucketsOutput](t)(p.NextPage(ctx))
		pages++
		for _, b := range out.Buckets {
			names = append(names, aws.ToString(b.Name))
			regions = append(regions, aws.ToString(b.BucketRegion))
		}
		if aws.ToString(out.Owner.ID) == "" {
			t.Error("no owner ID")
		}
	}
	want := "demo-web-dev-uploads-100000000009 orgguard-a-100000000009 orgguard-b-100000000009 orgguard-c-100000000009"
	if got := strings.Join(names, " "); got != want || pages != 2 {
		t.Errorf("buckets = %s in %d pages, want %s in 2", got, pages, want)
	}
	if got := strings.Join(regions, " "); got != "eu-west-1 us-east-1 us-east-1 eu-west-1" {
		t.Errorf("regions = %s", got)
	}

	loc := must[*s3.GetBucketLocationOutput](t)(use1.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("orgguard-a-100000000009")}))
	if loc.LocationConstraint != "" {
		t.Errorf("us-east-1 location = %q, want empty", loc.LocationConstraint)
	}
	loc = must[*s3.GetBucketLocationOutput](t)(use1.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(demoWebDevBucket)}))
	if loc.LocationConstraint != s3types.BucketLocationConstraintEuWest1 {
		t.Errorf("location = %q", loc.LocationConstraint)
	}
	_, err = use1.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("no-such-bucket-anywhere")})
	requireCode(t, err, "NoSuchBucket")

	// New buckets come encrypted and blocked, as in AWS since 2023.
	enc := must[*s3.GetBucketEncryptionOutput](t)(use1.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("orgguard-a-100000000009")}))
	if r := enc.ServerSideEncryptionConfiguration.Rules; len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Errorf("new bucket encryption = %+v", enc.ServerSideEncryptionConfiguration)
	}
	pab := must[*s3.GetPublicAccessBlockOutput](t)(use1.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("orgguard-a-100000000009")}))
	if !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) {
		t.Errorf("new bucket public access block = %+v", pab.PublicAccessBlockConfiguration)
	}
}

func TestS3BucketConfiguration(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := s3.NewFromConfig(memberConfig(s, demoWebDev, "eu-west-1"))
	bucket := aws.String(demoWebDevBucket)

	_, err := s3.NewFromConfig(memberConfig(s, demoWebDev, "us-east-1")).GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket})
	requireCode(t, err, "PermanentRedirect")
	_, err = s3.NewFromConfig(memberConfig(s, demoLogArchive, "us-east-1")).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket})
	requireCode(t, err, "AccessDenied")

	// Encryption.
	_, err = c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket})
	requireCode(t, err, "ServerSideEncryptionConfigurationNotFoundError")
	must[*s3.PutBucketEncryptionOutput](t)(c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: bucket,
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
				SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("alias/orgguard"),
			},
			BucketKeyEnabled: aws.Bool(true),
		}}},
	}))
	enc := must[*s3.GetBucketEncryptionOutput](t)(c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket}))
	r := enc.ServerSideEncryptionConfiguration.Rules
	if len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms ||
		aws.ToString(r[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != "alias/orgguard" || !aws.ToBool(r[0].BucketKeyEnabled) {
		t.Errorf("encryption = %+v", r)
	}

	// Policy: the seeded public policy, then a TLS-only one.
	pol := must[*s3.GetBucketPolicyOutput](t)(c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket}))
	if !strings.Contains(aws.ToString(pol.Policy), `"Principal":"*"`) {
		t.Errorf("policy = %s", aws.ToString(pol.Policy))
	}
	tlsOnly := `{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::demo-web-dev-uploads-100000000009","arn:aws:s3:::demo-web-dev-uploads-100000000009/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	must[*s3.PutBucketPolicyOutput](t)(c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: aws.String(tlsOnly)}))
	pol = must[*s3.GetBucketPolicyOutput](t)(c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket}))
	if aws.ToString(pol.Policy) != tlsOnly {
		t.Errorf("policy = %s", aws.ToString(pol.Policy))
	}
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: aws.String("not json")})
	requireCode(t, err, "MalformedPolicy")

	// Public access block.
	_, err = c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket})
	requireCode(t, err, "NoSuchPublicAccessBlockConfiguration")
	must[*s3.PutPublicAccessBlockOutput](t)(c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket: bucket,
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(false),
		},
	}))
	pab := must[*s3.GetPublicAccessBlockOutput](t)(c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket}))
	if p := pab.PublicAccessBlockConfiguration; !aws.ToBool(p.BlockPublicPolicy) || aws.ToBool(p.RestrictPublicBuckets) {
		t.Errorf("public access block = %+v", p)
	}
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::demo-web-dev-uploads-100000000009/*"}]}`
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: aws.String(public)})
	requireCode(t, err, "AccessDenied")

	// Lifecycle.
	_, err = c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: bucket})
	requireCode(t, err, "NoSuchLifecycleConfiguration")
	must[*s3.PutBucketLifecycleConfigurationOutput](t)(c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket: bucket,
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
			ID:         aws.String("expire-logs"),
			Status:     s3types.ExpirationStatusEnabled,
			Filter:     &s3types.LifecycleRuleFilter{Prefix: aws.String("AWSLogs/")},
			Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(365)},
		}}},
	}))
	lc := must[*s3.GetBucketLifecycleConfigurationOutput](t)(c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: bucket}))
	if len(lc.Rules) != 1 || aws.ToString(lc.Rules[0].ID) != "expire-logs" || aws.ToInt32(lc.Rules[0].Expiration.Days) != 365 ||
		aws.ToString(lc.Rules[0].Filter.Prefix) != "AWSLogs/" || lc.Rules[0].Status != s3types.ExpirationStatusEnabled {
		t.Errorf("lifecycle = %+v", lc.Rules)
	}

	// Deleting resets to SSE-S3, as S3 does since 2023.
	must[*s3.DeleteBucketEncryptionOutput](t)(c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: bucket}))
	enc = must[*s3.GetBucketEncryptionOutput](t)(c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket}))
	if r := enc.ServerSideEncryptionConfiguration.Rules; len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Errorf("encryption after delete = %+v", r)
	}

	calls := s.CallsMatching(CallFilter{Service: "s3", Operation: "PutBucketEncryption", AccountID: demoWebDev, OnlySuccess: true})
	if len(calls) != 1 || calls[0].Region != "eu-west-1" || calls[0].Params["Bucket"] != demoWebDevBucket {
		t.Errorf("PutBucketEncryption calls = %+v", calls)
	}
}
