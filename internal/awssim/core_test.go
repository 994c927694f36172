package awssim

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestSeedJSONMatchesHCL(t *testing.T) {
	t.Parallel()
	demo, err := DemoSeed()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(demo)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSeed("demo.json", b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(demo, back) {
		t.Error("JSON round trip of the demo seed changed it")
	}
}

func TestSeedValidation(t *testing.T) {
	t.Parallel()
	base := func() *Seed {
		return &Seed{
			ManagementAccountID:   "111111111111",
			Regions:               []string{"us-east-1"},
			ManagementCredentials: SeedCredentials{AccessKeyID: "AKIA1", SecretAccessKey: "s"},
			Accounts:              []SeedAccount{{ID: "111111111111", Name: "mgmt"}},
		}
	}
	tests := map[string]func(*Seed){
		"short account id":      func(s *Seed) { s.Accounts = append(s.Accounts, SeedAccount{ID: "123", Name: "x"}) },
		"duplicate account":     func(s *Seed) { s.Accounts = append(s.Accounts, s.Accounts[0]) },
		"no management account": func(s *Seed) { s.Accounts[0].ID = "222222222222" },
		"no credentials":        func(s *Seed) { s.ManagementCredentials = SeedCredentials{} },
		"no regions":            func(s *Seed) { s.Regions = nil },
		"unknown status":        func(s *Seed) { s.Accounts[0].Status = "GONE" },
		"policy on unknown target": func(s *Seed) {
			s.Policies = []SeedPolicy{{Name: "p", Content: "{}", Targets: []string{"ou-nope-12345678"}}}
		},
	}
	if _, err := New(Options{Seed: base()}); err != nil {
		t.Fatalf("base seed: %v", err)
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			s := base()
			mutate(s)
			if srv, err := New(Options{Seed: s}); err == nil {
				srv.Close()
				t.Fatal("New accepted an invalid seed")
			}
		})
	}
	if _, err := ParseSeed("bad.hcl", []byte(`organization_id = `)); err == nil {
		t.Error("ParseSeed accepted broken HCL")
	}
}

func TestGenerateSeed(t *testing.T) {
	t.Parallel()
	a := GenerateSeed(GenerateOptions{Accounts: 1000, RandSeed: 7})
	b := GenerateSeed(GenerateOptions{Accounts: 1000, RandSeed: 7})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("GenerateSeed is not deterministic")
	}
	s := newTestServer(t, Options{Seed: a})
	sum := s.Summary()
	if sum.Accounts != 1000 || sum.SuspendedAccounts != 19 || sum.OUs != 30 {
		t.Errorf("summary = %+v", sum)
	}
	n := 0
	p := organizations.NewListAccountsPaginator(orgClient(s), &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		n += len(must[*organizations.ListAccountsOutput](t)(p.NextPage(ctx)).Accounts)
	}
	if n != 1000 {
		t.Errorf("listed %d accounts", n)
	}
	// Member roles work in generated accounts too.
	must[*ec2.DescribeSecurityGroupsOutput](t)(ec2Client(s, "200000000001", "us-east-1").DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}))
}

func TestDeterministicIDs(t *testing.T) {
	t.Parallel()
	ids := func() string {
		s := newTestServer(t, Options{RandSeed: 42})
		out := must[*ec2.DescribeVpcsOutput](t)(ec2Client(s, webProd, "us-east-1").DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
		return aws.ToString(out.Vpcs[0].VpcId)
	}
	if a, b := ids(), ids(); a != b {
		t.Errorf("default VPC IDs differ: %s vs %s", a, b)
	}
}

func TestLatencyFaultHonoursClientDeadline(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Faults: []Fault{{Service: "sts", Latency: time.Hour}}})
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := sts.NewFromConfig(mgmtConfig(s, "us-east-1")).GetCallerIdentity(cctx, &sts.GetCallerIdentityInput{})
	if err == nil {
		t.Fatal("call with an hour of injected latency returned before the deadline")
	}
}

func TestCallLogHelpers(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := sts.NewFromConfig(mgmtConfig(s, "eu-west-1"))
	for i := 0; i < 3; i++ {
		must[*sts.GetCallerIdentityOutput](t)(c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	}
	calls := s.CallsMatching(CallFilter{Service: "sts", Region: "eu-west-1", AccountID: demoMgmt, OnlySuccess: true})
	if len(calls) != 3 || calls[0].ParamsDigest != calls[1].ParamsDigest || calls[0].Principal == "" || calls[0].Time.IsZero() {
		t.Errorf("calls = %+v", calls)
	}
	if got := FilterCalls(s.Calls(), func(c Call) bool { return c.Operation == "AssumeRole" }); len(got) != 0 {
		t.Errorf("unexpected AssumeRole calls: %+v", got)
	}
	s.ResetCalls()
	if len(s.Calls()) != 0 {
		t.Error("ResetCalls left calls")
	}
}

// TestRESTJSONRouting exercises the core's REST-JSON path (routing by method
// and path, escaped path parameters and SigV4's double-encoded canonical URI,
// error shape, throttling code) with a stand-in Lambda service registered
// only in this test.
func TestRESTJSONRouting(t *testing.T) {
	t.Parallel()
	s, err := newServer(Options{Faults: []Fault{{Service: "lambda", Operation: "GetFunction", AccountID: webProd, Throttle: &Throttle{Burst: 0}}}})
	if err != nil {
		t.Fatal(err)
	}
	fake := &service{
		Name: "lambda", Protocol: protoRESTJSON,
		Routes: []route{
			{Method: http.MethodGet, Pattern: "/2015-03-31/functions", Op: "ListFunctions", Handler: func(r *request) (any, error) {
				return map[string]any{"Functions": []any{map[string]any{
					"FunctionName": "f", "FunctionArn": "arn:aws:lambda:" + r.Region + ":" + r.Account.ID + ":function:f",
					"LastModified": "2024-01-01T00:00:00.000+0000",
				}}}, nil
			}},
			{Method: http.MethodGet, Pattern: "/2015-03-31/functions/{FunctionName}", Op: "GetFunction", Handler: func(r *request) (any, error) {
				return nil, errNotFound("ResourceNotFoundException", "Function not found: %s", r.Path["FunctionName"])
			}},
		},
	}
	fake.defaultCodes()
	s.byName[fake.Name] = append([]*service{fake}, s.byName[fake.Name]...)
	// Not httptest.Server: its Close closes idle connections process-wide,
	// which breaks other parallel tests' SDK clients mid-response.
	if err := s.listen(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	c := lambda.NewFromConfig(mgmtConfig(s, "eu-west-1"))
	out := must[*lambda.ListFunctionsOutput](t)(c.ListFunctions(ctx, &lambda.ListFunctionsInput{}))
	if len(out.Functions) != 1 || aws.ToString(out.Functions[0].FunctionArn) != "arn:aws:lambda:eu-west-1:100000000001:function:f" {
		t.Errorf("functions = %+v", out.Functions)
	}
	// An ARN in the path is percent-encoded on the wire and signed
	// double-encoded.
	arn := "arn:aws:lambda:eu-west-1:100000000001:function:missing"
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(arn)})
	requireCode(t, err, "ResourceNotFoundException")
	calls := s.CallsMatching(CallFilter{Operation: "GetFunction"})
	if len(calls) != 1 || calls[0].Params["FunctionName"] != arn || calls[0].ErrorCode != "ResourceNotFoundException" {
		t.Errorf("calls = %+v", calls)
	}

	member := lambda.NewFromConfig(memberConfig(s, webProd, "us-east-1"))
	_, err = member.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	requireCode(t, err, "TooManyRequestsException")
}

func TestSeedPoliciesAndJSONEncode(t *testing.T) {
	t.Parallel()
	src := `
management_account_id = "111111111111"
regions               = ["us-east-1"]
management_credentials {
  access_key_id     = "AKIATEST"
  secret_access_key = "secret"
}
policy "deny-leave" {
  content = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "organizations:LeaveOrganization", Resource = "*" }] })
  targets = ["ou-test-00000001"]
}
account "111111111111" { name = "mgmt" }
ou "Workloads" {
  id = "ou-test-00000001"
  account "222222222222" { name = "app" }
}
`
	seed, err := ParseSeed("t.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, Options{Seed: seed})
	c := orgClient(s)
	out := must[*organizations.ListPoliciesForTargetOutput](t)(c.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{
		TargetId: aws.String("ou-test-00000001"), Filter: "SERVICE_CONTROL_POLICY",
	}))
	if len(out.Policies) != 2 || aws.ToString(out.Policies[1].Name) != "deny-leave" {
		t.Fatalf("policies on OU = %+v", out.Policies)
	}
	p := must[*organizations.DescribePolicyOutput](t)(c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: out.Policies[1].Id}))
	if !json.Valid([]byte(aws.ToString(p.Policy.Content))) {
		t.Errorf("content = %s", aws.ToString(p.Policy.Content))
	}
}

func TestUnimplementedServiceAnswersInItsProtocol(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	// A target prefix no service registers.
	req, _ := http.NewRequest(http.MethodPost, s.URL(), strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "NoSuchService_20200101.DoThing")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	// Unsigned: authentication is checked first, as in AWS.
	if resp.StatusCode != http.StatusForbidden || body["__type"] != "MissingAuthenticationTokenException" {
		t.Errorf("status %d body %v", resp.StatusCode, body)
	}
}

func TestPanickingOperationDoesNotWedgeServer(t *testing.T) {
	t.Parallel()
	s, err := newServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range s.services {
		if svc.Name == "sts" {
			svc.Ops["GetCallerIdentity"] = func(*request) (any, error) { panic("boom") }
		}
	}
	if err := s.listen(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := sts.NewFromConfig(mgmtConfig(s, "us-east-1"))
	_, err = c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireCode(t, err, "InternalFailure")
	// The lock was released: other calls still work.
	must[*sts.AssumeRoleOutput](t)(c.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::100000000006:role/" + demoRole), RoleSessionName: aws.String("after"), ExternalId: aws.String(demoExternalID),
	}))
}

func TestCallLogLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{CallLogLimit: 4})
	c := sts.NewFromConfig(mgmtConfig(s, "us-east-1"))
	for range 10 {
		must[*sts.GetCallerIdentityOutput](t)(c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	}
	if n := len(s.Calls()); n == 0 || n > 4 {
		t.Errorf("call log holds %d calls, limit 4", n)
	}
}

func TestUnimplementedServiceIsLogged(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	// Lambda is not simulated (TestRESTJSONRouting only fakes it locally).
	_, err := lambda.NewFromConfig(mgmtConfig(s, "us-east-1")).ListFunctions(ctx, &lambda.ListFunctionsInput{})
	requireCode(t, err, "UnknownService")
	calls := s.CallsMatching(CallFilter{Service: "lambda"})
	if len(calls) != 1 || calls[0].ErrorCode != "UnknownService" || calls[0].AccountID != demoMgmt {
		t.Errorf("calls = %+v", calls)
	}
}

// TestLargeResponsesAreCompressed checks the gzip path with a raw client
// that asks for gzip itself (Go's transport would decompress silently).
func TestLargeResponsesAreCompressed(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	ak, sk := s.ManagementCredentials()
	call := func(target string) *http.Response {
		body := []byte(`{}`)
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("Accept-Encoding", "gzip")
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req, hex.EncodeToString(sum[:]), "organizations", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	big := call("AWSOrganizationsV20161128.ListAccounts")
	if big.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("ListAccounts not compressed: %v", big.Header)
	}
	zr, err := gzip.NewReader(big.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Accounts []map[string]any }
	if err := json.NewDecoder(zr).Decode(&out); err != nil || len(out.Accounts) != 12 {
		t.Errorf("decoded %d accounts, err %v", len(out.Accounts), err)
	}
	small := call("AWSOrganizationsV20161128.ListRoots")
	if small.Header.Get("Content-Encoding") != "" {
		t.Errorf("small response compressed")
	}
}
