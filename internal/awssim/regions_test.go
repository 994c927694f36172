package awssim

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const optInSeedSrc = `
management_account_id = "111111111111"
regions               = ["us-east-1", "af-south-1"]
management_credentials {
  access_key_id     = "AKIATEST"
  secret_access_key = "secret"
}
member_role "OrgguardExecutionRole" {
  trusted_principals = ["arn:aws:iam::111111111111:root"]
  external_id        = "orgguard-demo"
}
account "111111111111" { name = "mgmt" }
account "222222222222" {
  name                 = "opted-out"
  not_opted_in_regions = ["af-south-1"]
}
account "333333333333" { name = "opted-in" }
`

func optInServer(t *testing.T) *Server {
	t.Helper()
	seed, err := ParseSeed("optin.hcl", []byte(optInSeedSrc))
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, Options{Seed: seed})
}

// memberIn is memberConfig with the role assumed through STS in us-east-1
// and the calls made in region, as orgguard does.
func memberIn(s *Server, account, region string) aws.Config {
	cfg := memberConfig(s, account, "us-east-1")
	cfg.Region = region
	return cfg
}

func regionStatuses(t *testing.T, c *ec2.Client, all bool) map[string]string {
	t.Helper()
	out := must[*ec2.DescribeRegionsOutput](t)(c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(all)}))
	got := map[string]string{}
	for _, r := range out.Regions {
		got[aws.ToString(r.RegionName)] = aws.ToString(r.OptInStatus)
	}
	return got
}

func TestDescribeRegionsOptInStatus(t *testing.T) {
	t.Parallel()
	s := optInServer(t)

	out := regionStatuses(t, ec2Client(s, "222222222222", "us-east-1"), false)
	if len(out) != 1 || out["us-east-1"] != "opt-in-not-required" {
		t.Errorf("enabled regions of the opted-out account = %v", out)
	}
	all := regionStatuses(t, ec2Client(s, "222222222222", "us-east-1"), true)
	if all["us-east-1"] != "opt-in-not-required" || all["af-south-1"] != "not-opted-in" || all["me-south-1"] != "not-opted-in" {
		t.Errorf("all regions of the opted-out account = %v", all)
	}
	if len(all) != 1+len(optInRegions) {
		t.Errorf("AllRegions listed %d regions, want the seed's and every opt-in region (%d)", len(all), 1+len(optInRegions))
	}

	in := regionStatuses(t, ec2Client(s, "333333333333", "af-south-1"), false)
	if len(in) != 2 || in["af-south-1"] != "opted-in" {
		t.Errorf("enabled regions of the opted-in account = %v", in)
	}

	// Filters and RegionNames see disabled regions too, as in EC2.
	c := ec2Client(s, "222222222222", "us-east-1")
	f := must[*ec2.DescribeRegionsOutput](t)(c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true),
		Filters: []ec2types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"not-opted-in"}}}}))
	if len(f.Regions) != len(optInRegions) {
		t.Errorf("opt-in-status=not-opted-in matched %d regions", len(f.Regions))
	}
	named := must[*ec2.DescribeRegionsOutput](t)(c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{"af-south-1"}}))
	if len(named.Regions) != 1 || aws.ToString(named.Regions[0].OptInStatus) != "not-opted-in" {
		t.Errorf("RegionNames=af-south-1 = %+v", named.Regions)
	}
}

// TestCallsInDisabledRegionFail: an account's credentials are not valid in
// a region it has not enabled; each service answers with its own
// invalid-token code, and STS will not issue credentials for it there.
func TestCallsInDisabledRegionFail(t *testing.T) {
	t.Parallel()
	s := optInServer(t)

	_, err := ec2.NewFromConfig(memberIn(s, "222222222222", "af-south-1")).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	requireCode(t, err, "AuthFailure")
	_, err = kms.NewFromConfig(memberIn(s, "222222222222", "af-south-1")).ListKeys(ctx, &kms.ListKeysInput{})
	requireCode(t, err, "UnrecognizedClientException")
	calls := s.CallsMatching(CallFilter{Service: "ec2", AccountID: "222222222222", Region: "af-south-1"})
	if len(calls) != 1 || calls[0].ErrorCode != "AuthFailure" {
		t.Errorf("calls = %+v", calls)
	}

	// The regional STS endpoint of af-south-1 (enabled for the management
	// account) refuses to issue credentials of an account that has not
	// enabled it.
	mgmt := sts.NewFromConfig(mgmtConfig(s, "af-south-1"))
	_, err = mgmt.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::222222222222:role/OrgguardExecutionRole"),
		RoleSessionName: aws.String("test"), ExternalId: aws.String(demoExternalID)})
	requireCode(t, err, "RegionDisabledException")
	if got := httpStatus(err); got != 403 {
		t.Errorf("RegionDisabledException status %d, want 403", got)
	}

	// The same account works in its enabled regions; the opted-in account
	// works in af-south-1, with its default VPC there.
	must[*ec2.DescribeVpcsOutput](t)(ec2Client(s, "222222222222", "us-east-1").DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	vpcs := must[*ec2.DescribeVpcsOutput](t)(ec2Client(s, "333333333333", "af-south-1").DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	if len(vpcs.Vpcs) != 1 {
		t.Errorf("opted-in account has %d VPCs in af-south-1", len(vpcs.Vpcs))
	}
	// An opt-in region the seed does not serve is disabled everywhere.
	_, err = ec2.NewFromConfig(memberIn(s, "333333333333", "me-south-1")).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	requireCode(t, err, "AuthFailure")
}

func TestOptInSeedValidation(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"default region": strings.Replace(optInSeedSrc, `not_opted_in_regions = ["af-south-1"]`, `not_opted_in_regions = ["us-east-1"]`, 1),
		"region block": strings.Replace(optInSeedSrc, `not_opted_in_regions = ["af-south-1"]`,
			`not_opted_in_regions = ["af-south-1"]
  region "af-south-1" { ebs_encryption_by_default = true }`, 1),
	} {
		if _, err := ParseSeed("optin.hcl", []byte(src)); err == nil {
			t.Errorf("%s: seed accepted", name)
		}
	}
}

func TestGenerateSeedNotOptedIn(t *testing.T) {
	t.Parallel()
	seed := GenerateSeed(GenerateOptions{Accounts: 20, Regions: []string{"us-east-1", "ap-east-1"}, NotOptedInEvery: 5})
	var out []string
	walkSeedAccounts(seed, func(a *SeedAccount) {
		if slices.Contains(a.NotOptedInRegions, "ap-east-1") {
			out = append(out, a.ID)
		}
	})
	slices.Sort(out)
	if !slices.Equal(out, []string{"200000000001", "200000000006", "200000000011", "200000000016"}) {
		t.Errorf("not opted in: %v", out)
	}
	s := newTestServer(t, Options{Seed: seed})
	_, err := ec2.NewFromConfig(memberIn(s, "200000000006", "ap-east-1")).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	requireCode(t, err, "AuthFailure")
	must[*ec2.DescribeVpcsOutput](t)(ec2Client(s, "200000000007", "ap-east-1").DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
}
