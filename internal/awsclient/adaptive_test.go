package awsclient_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
)

// simFactory is a worker's client factory against a simulator of a
// generated organization with faults. The root configuration keeps the
// SDK's default retryer, as the worker's does, unless retries says
// otherwise.
func simFactory(t *testing.T, faults []awssim.Fault, retries int, opts awsclient.Options) (*awssim.Server, *awsclient.Factory) {
	t.Helper()
	srv, err := awssim.New(awssim.Options{Seed: awssim.GenerateSeed(awssim.GenerateOptions{Accounts: 40}),
		Faults: faults, IgnoreEnvironment: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ak, sk := srv.ManagementCredentials()
	root := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), RetryMaxAttempts: retries,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(ak, sk, ""))}
	return srv, awsclient.New(root, opts)
}

// Many activities listing Organizations at once, against a quota of 2
// requests/s: the shared limiter learns the quota from the throttling
// answers, so after the first seconds almost every request goes through,
// and no call gives up because it was throttled. (The fixed limiter
// before it allowed 10 requests/s, and the SDK's retries went around it:
// 80% of the requests were throttled, and 43 of the 80 calls failed.)
func TestOrganizationsConvergeToTheirQuota(t *testing.T) {
	t.Parallel()
	// AWS's quotas: Organizations has a burst of 20 and 2 requests/s
	// per account.
	srv, f := simFactory(t, awssim.AWSQuotas(), 0, awsclient.Options{})
	ctx := context.Background()
	cfg, _, err := f.ManagementAs(ctx, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	roots, err := organizations.NewFromConfig(cfg).ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	parent := roots.Roots[0].Id

	// 16 activities, 5 calls each: 20 in the quota's burst, 60 at 2/s.
	const workers, calls = 16, 5
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One client per activity, as the activities build them.
			cfg, _, err := f.ManagementAs(ctx, "", "", "")
			if err != nil {
				errs <- err
				return
			}
			org := organizations.NewFromConfig(cfg)
			for range calls {
				if _, err := org.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: parent}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if n := len(errs); n > 0 {
		t.Errorf("%d of %d calls failed, the first: %v", n, workers*calls, <-errs)
	}

	log := srv.CallsMatching(awssim.CallFilter{Service: "organizations", Operation: "ListAccountsForParent"})
	share := func(from time.Time) (throttled, all int) {
		for _, c := range log {
			if c.Time.Before(from) {
				continue
			}
			all++
			if c.Throttled {
				throttled++
			}
		}
		return throttled, all
	}
	th, all := share(start)
	// Converged: from 10 s on (the burst is spent after about 3 s).
	thLate, allLate := share(start.Add(10 * time.Second))
	t.Logf("%d calls in %s: %d of %d requests throttled (%.0f%%); from 10 s on %d of %d (%.0f%%)",
		workers*calls, time.Since(start).Round(time.Second), th, all, pct(th, all), thLate, allLate, pct(thLate, allLate))
	if pct(th, all) > 15 {
		t.Errorf("%.0f%% of all requests throttled, want at most 15%%", pct(th, all))
	}
	if allLate == 0 || pct(thLate, allLate) > 10 {
		t.Errorf("%.0f%% of %d requests throttled after convergence, want at most 10%%", pct(thLate, allLate), allLate)
	}
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
