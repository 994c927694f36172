package awssim

import (
	"fmt"
	"slices"
)

// optInRegions are the regions of the aws partition that are disabled by
// default: AWS enables the regions launched before 20 March 2019 in every
// account and requires an opt-in for every later one ("Enable or disable
// AWS Regions in your account", AWS Account Management Reference Guide).
var optInRegions = []string{
	"af-south-1",     // Cape Town
	"ap-east-1",      // Hong Kong
	"ap-east-2",      // Taipei
	"ap-south-2",     // Hyderabad
	"ap-southeast-3", // Jakarta
	"ap-southeast-4", // Melbourne
	"ap-southeast-5", // Malaysia
	"ap-southeast-6", // New Zealand
	"ap-southeast-7", // Thailand
	"ca-west-1",      // Calgary
	"eu-central-2",   // Zurich
	"eu-south-1",     // Milan
	"eu-south-2",     // Spain
	"il-central-1",   // Tel Aviv
	"me-central-1",   // UAE
	"me-south-1",     // Bahrain
	"mx-central-1",   // Mexico (Central)
}

func isOptInRegion(region string) bool { return slices.Contains(optInRegions, region) }

// The three values of ec2:DescribeRegions' OptInStatus.
const (
	optInNotRequired = "opt-in-not-required"
	optedIn          = "opted-in"
	notOptedIn       = "not-opted-in"
)

// optInStatus is the account's status for region. Regions enabled by default
// are opt-in-not-required. An opt-in region is opted-in when the seed serves
// it (in regions, or in a region block of the account) and the account does
// not list it in not_opted_in_regions; any other opt-in region is
// not-opted-in, as in a new AWS account.
func (s *Server) optInStatus(a *account, region string) string {
	switch {
	case !isOptInRegion(region):
		return optInNotRequired
	case a.notOptedIn[region]:
		return notOptedIn
	case slices.Contains(s.seed.Regions, region) || slices.Contains(a.seedRegions, region):
		return optedIn
	}
	return notOptedIn
}

// regionEnabled reports whether the account may call AWS in region.
func (s *Server) regionEnabled(a *account, region string) bool {
	return s.optInStatus(a, region) != notOptedIn
}

// validateOptIn checks an account's not_opted_in_regions: only opt-in
// regions can be left disabled, and a region the account seeds resources in
// must be enabled.
func validateOptIn(a *SeedAccount) error {
	for _, r := range a.NotOptedInRegions {
		if !isOptInRegion(r) {
			return fmt.Errorf("account %s: not_opted_in_regions: %s is enabled by default in every account; only opt-in regions (%v) can be left disabled", a.ID, r, optInRegions)
		}
		if slices.ContainsFunc(a.Regions, func(sr SeedRegion) bool { return sr.Name == r }) {
			return fmt.Errorf("account %s: region %s has a region block but is listed in not_opted_in_regions", a.ID, r)
		}
	}
	return nil
}
