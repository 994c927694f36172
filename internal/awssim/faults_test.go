package awssim

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// TestFaultCodesPerService checks that injected throttling and 5xx answer
// with each service's own code and HTTP status, so the SDK's retryer and
// orgguard's classifier see what AWS would send.
func TestFaultCodesPerService(t *testing.T) {
	t.Parallel()
	type call func(s *Server) error
	calls := map[string]call{
		"sts": func(s *Server) error {
			_, err := sts.NewFromConfig(mgmtConfig(s, "us-east-1")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		},
		"ec2": func(s *Server) error {
			_, err := ec2.NewFromConfig(mgmtConfig(s, "us-east-1")).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			return err
		},
		"organizations": func(s *Server) error {
			_, err := orgClient(s).ListRoots(ctx, &organizations.ListRootsInput{})
			return err
		},
		"kms": func(s *Server) error {
			_, err := kms.NewFromConfig(mgmtConfig(s, "us-east-1")).ListKeys(ctx, &kms.ListKeysInput{})
			return err
		},
		"iam": func(s *Server) error {
			_, err := iam.NewFromConfig(mgmtConfig(s, "us-east-1")).ListRoles(ctx, &iam.ListRolesInput{})
			return err
		},
		"securityhub": func(s *Server) error {
			_, err := securityhub.NewFromConfig(mgmtConfig(s, "us-east-1")).DescribeHub(ctx, &securityhub.DescribeHubInput{})
			return err
		},
		"access-analyzer": func(s *Server) error {
			_, err := accessanalyzer.NewFromConfig(mgmtConfig(s, "us-east-1")).ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{})
			return err
		},
		"s3": func(s *Server) error {
			_, err := s3.NewFromConfig(mgmtConfig(s, "us-east-1"), func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		},
	}
	tests := []struct {
		service string
		fault   Fault
		code    string
		status  int
	}{
		{"sts", Fault{ThrottleRate: 1}, "Throttling", 400},
		{"sts", Fault{ErrorRate: 1}, "InternalFailure", 500},
		{"sts", Fault{UnavailableRate: 1}, "ServiceUnavailable", 503},
		{"iam", Fault{ThrottleRate: 1}, "Throttling", 400},
		{"ec2", Fault{ThrottleRate: 1}, "RequestLimitExceeded", 503},
		{"ec2", Fault{ErrorRate: 1}, "InternalError", 500},
		{"ec2", Fault{UnavailableRate: 1}, "Unavailable", 503},
		{"organizations", Fault{ThrottleRate: 1}, "TooManyRequestsException", 429},
		{"organizations", Fault{ErrorRate: 1}, "ServiceException", 500},
		{"kms", Fault{ThrottleRate: 1}, "ThrottlingException", 400},
		{"kms", Fault{ErrorRate: 1}, "InternalFailure", 500},
		{"kms", Fault{UnavailableRate: 1}, "ServiceUnavailable", 503},
		{"securityhub", Fault{ThrottleRate: 1}, "LimitExceededException", 429},
		{"securityhub", Fault{ErrorRate: 1}, "InternalException", 500},
		{"access-analyzer", Fault{ThrottleRate: 1}, "ThrottlingException", 429},
		{"s3", Fault{ThrottleRate: 1}, "SlowDown", 503},
		{"s3", Fault{ErrorRate: 1}, "InternalError", 500},
	}
	for _, tt := range tests {
		t.Run(tt.service+"/"+tt.code, func(t *testing.T) {
			t.Parallel()
			tt.fault.Service = tt.service
			s := newTestServer(t, Options{Faults: []Fault{tt.fault}})
			err := calls[tt.service](s)
			requireCode(t, err, tt.code)
			if got := httpStatus(err); got != tt.status {
				t.Errorf("HTTP status = %d, want %d", got, tt.status)
			}
		})
	}
}

// TestChaosProfileRates checks that "20% throttling, 5% 5xx" on every
// operation refuses about that share of calls.
func TestChaosProfileRates(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{RandSeed: 3, Faults: []Fault{{ThrottleRate: 0.2, ErrorRate: 0.05}}})
	c := sts.NewFromConfig(mgmtConfig(s, "us-east-1"))
	const n = 400
	for range n {
		_, _ = c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	}
	count := map[string]int{}
	for _, call := range s.Calls() {
		count[call.ErrorCode]++
	}
	// Binomial(400, 0.2) has a standard deviation of 8; 5% of the rest,
	// about 16 with 4. Allow four of them.
	if th := count["Throttling"]; th < 48 || th > 112 {
		t.Errorf("%d of %d calls throttled, want about 80", th, n)
	}
	if in := count["InternalFailure"]; in < 2 || in > 32 {
		t.Errorf("%d of %d calls failed with InternalFailure, want about 16", in, n)
	}
	if count[""]+count["Throttling"]+count["InternalFailure"] != n {
		t.Errorf("unexpected codes: %v", count)
	}
}

// TestFailTimes is the "crash between two calls" fault: the first n calls
// of one operation fail, then it works, and nothing else is touched.
func TestFailTimes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Faults: []Fault{FailTimes("iam", "PutRolePolicy", 2)}})
	c := iamClient(s, demoWebProd)
	createRole(t, c, "flaky", ssmTrust)
	put := &iam.PutRolePolicyInput{RoleName: aws.String("flaky"), PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}
	for i := range 2 {
		_, err := c.PutRolePolicy(ctx, put)
		requireCode(t, err, "InternalFailure")
		if got := httpStatus(err); got != 500 {
			t.Errorf("attempt %d: HTTP status %d, want 500", i+1, got)
		}
	}
	must[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(ctx, put))
	must[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(ctx, put))
	// The failed attempts changed nothing; the role was created once.
	calls := s.CallsMatching(CallFilter{Service: "iam", Operation: "PutRolePolicy"})
	if len(calls) != 4 || calls[0].ErrorCode != "InternalFailure" || calls[1].ErrorCode != "InternalFailure" || calls[2].ErrorCode != "" {
		t.Errorf("PutRolePolicy calls = %+v", calls)
	}
	if n := len(s.CallsMatching(CallFilter{Operation: "CreateRole", OnlySuccess: true})); n != 1 {
		t.Errorf("%d successful CreateRole calls", n)
	}

	// SetFaults starts the count again.
	s.SetFaults(FailTimes("iam", "PutRolePolicy", 1))
	_, err := c.PutRolePolicy(ctx, put)
	requireCode(t, err, "InternalFailure")
	must[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(ctx, put))
}

// TestLoseResponse: the write happens, the client sees a 5xx, and the call
// log says so.
func TestLoseResponse(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Faults: []Fault{{Service: "kms", Operation: "CreateKey", ErrorRate: 1, Times: 1, LoseResponse: true}}})
	c := kms.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))
	before := len(must[*kms.ListKeysOutput](t)(c.ListKeys(ctx, &kms.ListKeysInput{})).Keys)
	_, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("lost")})
	requireCode(t, err, "InternalFailure")
	after := must[*kms.ListKeysOutput](t)(c.ListKeys(ctx, &kms.ListKeysInput{})).Keys
	if len(after) != before+1 {
		t.Fatalf("keys %d -> %d: the lost CreateKey did not create its key", before, len(after))
	}
	calls := s.CallsMatching(CallFilter{Operation: "CreateKey"})
	if len(calls) != 1 || !calls[0].ResponseLost || calls[0].ErrorCode != "InternalFailure" || !calls[0].Applied() {
		t.Errorf("CreateKey calls = %+v", calls)
	}
	if n := len(s.CallsMatching(CallFilter{Operation: "CreateKey", OnlyApplied: true})); n != 1 {
		t.Errorf("OnlyApplied kept %d calls, want 1", n)
	}
	if n := len(s.CallsMatching(CallFilter{Operation: "CreateKey", OnlySuccess: true})); n != 0 {
		t.Errorf("OnlySuccess kept %d calls, want 0", n)
	}
	// Spent after one call.
	must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{}))
}

func TestParseFaults(t *testing.T) {
	t.Parallel()
	got, err := ParseFaults("throttle=20% 5xx=0.05; iam:PutRolePolicy 5xx=100%,times=2 ;ec2 deny account=100000000007 region=eu-west-1 latency=50ms; " +
		"organizations burst=20 refill=2 503=1% lose-response;;")
	if err != nil {
		t.Fatal(err)
	}
	want := []Fault{
		{ThrottleRate: 0.2, ErrorRate: 0.05},
		{Service: "iam", Operation: "PutRolePolicy", ErrorRate: 1, Times: 2},
		{Service: "ec2", AccessDenied: true, AccountID: "100000000007", Region: "eu-west-1", Latency: 50 * time.Millisecond},
		{Service: "organizations", Throttle: &Throttle{Burst: 20, RatePerSecond: 2}, UnavailableRate: 0.01, LoseResponse: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseFaults =\n%+v\nwant\n%+v", got, want)
	}
	for _, bad := range []string{"throttle=2", "5xx=x", "times=-1", "latency=soon", "colour=red", "* refill=-1"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("ParseFaults(%q) accepted", bad)
		}
	}
}

// TestAWSLatency checks the profile: an operation slower than its service
// gets exactly its own figure (the faults add up), and a served call
// records the latency it was given, how long it took, whether a quota
// throttled it, and the client's User-Agent.
func TestAWSLatency(t *testing.T) {
	t.Parallel()
	for _, l := range awsLatency {
		if got := LatencyOf(l.service, l.op); l.op != "" && got != l.latency {
			t.Errorf("%s:%s: %s, want %s", l.service, l.op, got, l.latency)
		}
	}
	if got := LatencyOf("iam", "ListUsers"); got != 100*time.Millisecond {
		t.Errorf("iam:ListUsers: %s, want the service's 100ms", got)
	}
	if got := LatencyOf("nosuchservice", "Op"); got != 0 {
		t.Errorf("unknown service: %s, want 0", got)
	}

	s := newTestServer(t, Options{Faults: []Fault{
		{Service: "sts", Latency: 20 * time.Millisecond},
		{Service: "sts", Throttle: &Throttle{Burst: 1}},
	}})
	cfg := mgmtConfig(s, "us-east-1")
	cfg.AppID = "latency-test"
	c := sts.NewFromConfig(cfg)
	_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) { o.RetryMaxAttempts = 1 })
	requireCode(t, err, "Throttling")
	calls := s.CallsMatching(CallFilter{Service: "sts"})
	if len(calls) != 2 {
		t.Fatalf("%d calls logged, want 2", len(calls))
	}
	for i, c := range calls {
		if c.Latency != 20*time.Millisecond || c.Duration < c.Latency || !strings.Contains(c.UserAgent, "app/latency-test") {
			t.Errorf("call %d: latency %s, duration %s, user agent %q", i, c.Latency, c.Duration, c.UserAgent)
		}
		if c.Throttled != (i == 1) {
			t.Errorf("call %d: Throttled %v", i, c.Throttled)
		}
	}
}
