package awsclient_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
)

// The Organizations memo of a run: one read for all who ask, kept for the
// run until a write of the worker changes it, it expires or the run ends;
// a failed read is not kept, and configurations without a run have none.
func TestOrganizationsMemo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, f := simFactory(t, []awssim.Fault{{Service: "organizations", Operation: "ListRoots", ThrottleRate: 1, Times: 1}}, 1,
		awsclient.Options{Now: clock, Limits: map[string]awsclient.Limit{"organizations:*": {RPS: 1e6, Burst: 1e6}}})
	ctx := context.Background()
	org := func(run string) *organizations.Client {
		cfg, _, err := f.ManagementAs(ctx, "", run, "")
		if err != nil {
			t.Fatal(err)
		}
		return organizations.NewFromConfig(cfg)
	}
	calls := func(op string) int {
		return len(srv.CallsMatching(awssim.CallFilter{Service: "organizations", Operation: op}))
	}
	listRoots := func(c *organizations.Client) error {
		_, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
		return err
	}

	if err := listRoots(org("run-1")); err == nil {
		t.Fatal("the throttled first ListRoots succeeded")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := listRoots(org("run-1")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := calls("ListRoots"); n != 2 {
		t.Errorf("a failed read and 8 at once made %d calls, want 2 (the failure is not kept, the 8 share one)", n)
	}
	roots, err := org("run-1").ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		t.Fatalf("%v %v", roots, err)
	}
	for _, c := range []struct {
		name string
		do   func()
		// calls is how many ListRoots do and the run's next read make.
		calls int
	}{
		{"kept for the run", func() {}, 0},
		{"another run reads itself", func() { _ = listRoots(org("run-2")) }, 1},
		{"without a run nothing is kept", func() { _ = listRoots(org("")); _ = listRoots(org("")) }, 2},
		{"a fresh read goes to AWS, and is kept", func() {
			_, _ = org("run-1").ListRoots(awsclient.ReadFresh(ctx), &organizations.ListRootsInput{})
		}, 1},
		{"a write forgets the root (its policy types)", func() {
			_, _ = org("run-1").EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: roots.Roots[0].Id, PolicyType: "TAG_POLICY"})
		}, 1},
		{"kept again", func() {}, 0},
		{"expired after 10 minutes", func() { mu.Lock(); now = now.Add(11 * time.Minute); mu.Unlock() }, 1},
		{"released with the run", func() { f.ReleaseRun("run-1", srv.ManagementAccountID()) }, 1},
	} {
		before := calls("ListRoots")
		c.do()
		if err := listRoots(org("run-1")); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := calls("ListRoots") - before; n != c.calls {
			t.Errorf("%s: %d ListRoots calls, want %d", c.name, n, c.calls)
		}
	}
}
