package awssim

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// GenerateOptions shape a generated organization. Zero fields take the
// defaults noted.
type GenerateOptions struct {
	// Accounts in total, the management account included; default 1000.
	Accounts int
	// TopLevelOUs under the root, each with two child OUs (Prod, Dev)
	// holding the accounts; default 10.
	TopLevelOUs int
	// Regions; default us-east-1 and eu-west-1.
	Regions []string
	// SuspendedEvery makes every Nth member account SUSPENDED; default 50,
	// negative for none.
	SuspendedEvery int
	// RandSeed varies which accounts drift how; the same options always
	// produce the same seed.
	RandSeed uint64
	// NotOptedInEvery leaves every Nth member account (counting from the
	// first) not opted into the opt-in regions among Regions (af-south-1,
	// ap-east-1, ...): their not_opted_in_regions. 0 opts every account in.
	NotOptedInEvery int
}

// GenerateSeed builds a large organization for benchmarks and load tests. It
// uses the demo's credentials, member role and external ID, so code that
// works against DemoSeed works against it. Drift is spread deterministically:
// default security groups keep AWS's rules everywhere; about a third of the
// accounts have SSH open to the world, half lack a password policy, a
// quarter have an IAM user with an unused key older than 90 days, EBS
// encryption by default is mostly off.
func GenerateSeed(opts GenerateOptions) *Seed {
	if opts.Accounts <= 0 {
		opts.Accounts = 1000
	}
	if opts.TopLevelOUs <= 0 {
		opts.TopLevelOUs = 10
	}
	if len(opts.Regions) == 0 {
		opts.Regions = []string{"us-east-1", "eu-west-1"}
	}
	if opts.SuspendedEvery == 0 {
		opts.SuspendedEvery = 50
	}
	rng := rand.New(rand.NewPCG(opts.RandSeed, 0xbe0c4))
	const mgmt = "200000000000"
	seed := &Seed{
		OrganizationID:      "o-bench0rgguard",
		ManagementAccountID: mgmt,
		Regions:             opts.Regions,
		ManagementCredentials: SeedCredentials{
			AccessKeyID:     "AKIAORGGUARDDEMO0001",
			SecretAccessKey: "orgguard/demo/secret/key/0000000000000000",
		},
		MemberRole: &SeedRole{
			Name:              "OrgguardExecutionRole",
			TrustedPrincipals: []string{"arn:aws:iam::" + mgmt + ":root"},
			ExternalID:        "orgguard-demo",
		},
		Accounts: []SeedAccount{{ID: mgmt, Name: "management", Tags: map[string]string{"environment": "management"}}},
	}
	// Leaves are OUs that hold accounts: <top>/Prod and <top>/Dev.
	type leaf struct{ top, child int }
	var leaves []leaf
	for i := 0; i < opts.TopLevelOUs; i++ {
		seed.OUs = append(seed.OUs, SeedOU{
			Name: fmt.Sprintf("BusinessUnit%02d", i+1),
			OUs:  []SeedOU{{Name: "Prod"}, {Name: "Dev"}},
		})
		leaves = append(leaves, leaf{i, 0}, leaf{i, 1})
	}
	for i := 1; i < opts.Accounts; i++ {
		id := fmt.Sprintf("2%011d", i)
		env := []string{"prod", "dev"}[i%2]
		a := SeedAccount{
			ID:   id,
			Name: fmt.Sprintf("workload-%04d-%s", i, env),
			Tags: map[string]string{"environment": env, "owner": fmt.Sprintf("team-%02d", rng.IntN(40))},
		}
		if opts.SuspendedEvery > 0 && i%opts.SuspendedEvery == 0 {
			a.Status = "SUSPENDED"
		}
		a.IAM = &SeedIAM{RootMFAEnabled: rng.IntN(4) != 0}
		if rng.IntN(2) == 0 {
			a.IAM.PasswordPolicy = &SeedPasswordPolicy{MinimumPasswordLength: 14, RequireSymbols: true, RequireNumbers: true,
				RequireUppercaseCharacters: true, RequireLowercaseCharacters: true, MaxPasswordAge: 90, PasswordReusePrevention: 24}
		}
		if rng.IntN(4) == 0 {
			a.IAM.Users = append(a.IAM.Users, SeedUser{
				Name: "legacy-automation", CreatedDaysAgo: 400,
				AccessKeys: []SeedAccessKey{{ID: fmt.Sprintf("AKIAGEN%013d", i), CreatedDaysAgo: 200 + rng.IntN(300)}},
			})
		}
		if opts.NotOptedInEvery > 0 && (i-1)%opts.NotOptedInEvery == 0 {
			for _, region := range opts.Regions {
				if isOptInRegion(region) {
					a.NotOptedInRegions = append(a.NotOptedInRegions, region)
				}
			}
		}
		for _, region := range opts.Regions {
			if slices.Contains(a.NotOptedInRegions, region) {
				continue
			}
			r := SeedRegion{Name: region, EBSEncryptionByDefault: rng.IntN(5) == 0}
			if rng.IntN(3) == 0 {
				r.VPCs = append(r.VPCs, SeedVPC{
					ID: fmt.Sprintf("vpc-%017x", uint64(i)<<8|uint64(len(a.Regions))), CIDR: "10.0.0.0/16",
					SecurityGroups: []SeedSecurityGroup{{
						ID: fmt.Sprintf("sg-%017x", uint64(i)<<8|uint64(len(a.Regions))), Name: "ssh-anywhere",
						Ingress: []SeedRule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"0.0.0.0/0"}}},
					}},
				})
			}
			a.Regions = append(a.Regions, r)
		}
		l := leaves[i%len(leaves)]
		ou := &seed.OUs[l.top].OUs[l.child]
		ou.Accounts = append(ou.Accounts, a)
	}
	return seed
}
