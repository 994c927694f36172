package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// BenchmarkDiscovery lists a generated 1000-account organization with the
// SDK paginator, the first thing every orgguard rollout does.
func BenchmarkDiscovery(b *testing.B) {
	s, err := New(Options{Seed: GenerateSeed(GenerateOptions{Accounts: 1000})})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := organizations.NewFromConfig(mgmtConfig(s, "us-east-1"))
	b.ResetTimer()
	for range b.N {
		p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
		for p.HasMorePages() {
			if _, err := p.NextPage(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkMemberCall measures one signed, verified, logged call in a member
// account through an assumed role.
func BenchmarkMemberCall(b *testing.B) {
	s, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := ec2.NewFromConfig(memberConfig(s, webProd, "us-east-1"))
	b.ResetTimer()
	for range b.N {
		if _, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}); err != nil {
			b.Fatal(err)
		}
	}
}
