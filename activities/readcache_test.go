package activities

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/awssim"
)

// cacheSim is a simulator and a read cache in front of its clients.
type cacheSim struct {
	*sim
	c *readCache
}

func newCacheSim(t *testing.T) cacheSim {
	return cacheSim{sim: newSim(t, awssim.Options{}), c: newReadCache(DefaultReadCacheEntries, DefaultReadCacheBytes)}
}

// view is what one guardrail's check (or, with readsBypass, an apply or a
// re-check) gets: a configuration with its own view of the cache.
func (s cacheSim) view(t *testing.T, region string, scope readScope) aws.Config {
	t.Helper()
	cfg, where, err := s.factory.Account(ctx, acctPayProd, region, "run-1", "")
	require.NoError(t, err)
	scope.run, scope.account, scope.role, scope.region = "run-1", acctPayProd, where.Role, region
	s.c.attach(&cfg, scope)
	return cfg
}

func (s cacheSim) calls(service, op string) int {
	return len(s.srv.CallsMatching(awssim.CallFilter{Service: service, Operation: op, AccountID: acctPayProd}))
}

func getRole(t *testing.T, cfg aws.Config) *iam.GetRoleOutput {
	t.Helper()
	out, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("OrgguardExecutionRole")})
	require.NoError(t, err)
	return out
}

func TestReadCacheSharesReadsBetweenGuardrails(t *testing.T) {
	s := newCacheSim(t)
	first := getRole(t, s.view(t, usEast1, readScope{}))
	first.Role.RoleName = aws.String("changed by a kind")
	first.Role.Tags = append(first.Role.Tags, iamtypes.Tag{Key: aws.String("k")})

	// Another guardrail, and one in another region (IAM is global): served
	// from the cache, as AWS answered, whatever the first kind did with
	// its copy.
	for _, region := range []string{usEast1, euWest1} {
		again := getRole(t, s.view(t, region, readScope{}))
		require.Equal(t, "OrgguardExecutionRole", aws.ToString(again.Role.RoleName))
		require.Empty(t, again.Role.Tags)
	}
	require.Equal(t, 1, s.calls("iam", "GetRole"))

	// Regional services are read once per region.
	for range 2 {
		for _, region := range []string{usEast1, euWest1} {
			_, err := ec2.NewFromConfig(s.view(t, region, readScope{})).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			require.NoError(t, err)
		}
	}
	require.Equal(t, 2, s.calls("ec2", "DescribeVpcs"))

	// "Not found" is an answer too.
	for range 2 {
		_, err := iam.NewFromConfig(s.view(t, usEast1, readScope{})).GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
		var nse *iamtypes.NoSuchEntityException
		require.ErrorAs(t, err, &nse)
	}
	require.Equal(t, 1, s.calls("iam", "GetAccountPasswordPolicy"))
}

func TestReadCacheNeverServesPollsReChecksOrStaleReads(t *testing.T) {
	s := newCacheSim(t)
	getRole(t, s.view(t, usEast1, readScope{}))
	require.Equal(t, 1, s.calls("iam", "GetRole"))

	// A guardrail that reads the same thing twice is polling.
	poller := s.view(t, usEast1, readScope{})
	getRole(t, poller)
	getRole(t, poller)
	require.Equal(t, 2, s.calls("iam", "GetRole"), "the poll's second read goes to AWS")

	// Applies and verification re-checks read around the cache.
	getRole(t, s.view(t, usEast1, readScope{mode: readsBypass}))
	require.Equal(t, 3, s.calls("iam", "GetRole"))

	// A retried check reads afresh.
	getRole(t, s.view(t, usEast1, readScope{fresh: true}))
	require.Equal(t, 4, s.calls("iam", "GetRole"))

	// A later epoch (the baseline applied something, perhaps through
	// another worker) does not see earlier reads.
	getRole(t, s.view(t, usEast1, readScope{epoch: 1}))
	require.Equal(t, 5, s.calls("iam", "GetRole"))

	// A write in the account, here by an apply, drops its reads.
	getRole(t, s.view(t, usEast1, readScope{}))
	require.Equal(t, 5, s.calls("iam", "GetRole"), "still cached")
	_, err := iam.NewFromConfig(s.view(t, usEast1, readScope{mode: readsBypass})).UpdateAccountPasswordPolicy(ctx,
		&iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(14)})
	require.NoError(t, err)
	require.Zero(t, s.c.Stats().Entries)
	getRole(t, s.view(t, usEast1, readScope{}))
	require.Equal(t, 6, s.calls("iam", "GetRole"))

	// ReleaseRun drops the account's reads of the run.
	s.c.release("run-1", acctPayProd)
	require.Zero(t, s.c.Stats().Entries)
}

func TestReadCacheIsBounded(t *testing.T) {
	c := newReadCache(2, 1<<20)
	for i := range 3 {
		key := readKey{run: "r", account: "a", params: string(rune('a' + i))}
		_, _, err := c.read(ctx, key, false, func() (middleware.InitializeOutput, middleware.Metadata, error) {
			return middleware.InitializeOutput{Result: &iam.GetRoleOutput{}}, middleware.Metadata{}, nil
		})
		require.NoError(t, err)
	}
	require.Equal(t, 2, c.Stats().Entries)

	small := newReadCache(100, 100)
	for i := range 3 {
		key := readKey{run: "r", account: "a", params: string(rune('a' + i))}
		_, _, _ = small.read(ctx, key, false, func() (middleware.InitializeOutput, middleware.Metadata, error) {
			return middleware.InitializeOutput{Result: &iam.GetCredentialReportOutput{Content: make([]byte, 80)}}, middleware.Metadata{}, nil
		})
	}
	require.Equal(t, 1, small.Stats().Entries, "bytes bound")

	// Entries past their age leave as new ones come.
	now := time.Now()
	aging := newReadCache(100, 1<<20)
	aging.now = func() time.Time { return now }
	for i := range 3 {
		key := readKey{run: "r", account: "a", params: string(rune('a' + i))}
		_, _, _ = aging.read(ctx, key, false, func() (middleware.InitializeOutput, middleware.Metadata, error) {
			return middleware.InitializeOutput{Result: &iam.GetRoleOutput{}}, middleware.Metadata{}, nil
		})
		now = now.Add(readCacheTTL / 2)
	}
	require.Equal(t, 2, aging.Stats().Entries, "the first read aged out")
}

// Readers of the same thing at the same time wait for one call; a failed
// call is not shared.
func TestReadCacheCallsOnceForConcurrentReaders(t *testing.T) {
	c := newReadCache(100, 1<<20)
	key := readKey{run: "r", account: "a", service: "iam", operation: "GetRole"}
	var mu sync.Mutex
	calls := 0
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, _, err := c.read(ctx, key, false, func() (middleware.InitializeOutput, middleware.Metadata, error) {
				mu.Lock()
				calls++
				mu.Unlock()
				return middleware.InitializeOutput{Result: &iam.GetRoleOutput{Role: &iamtypes.Role{RoleName: aws.String("x")}}}, middleware.Metadata{}, nil
			})
			require.NoError(t, err)
			require.Equal(t, "x", aws.ToString(out.Result.(*iam.GetRoleOutput).Role.RoleName))
		}()
	}
	wg.Wait()
	require.Equal(t, 1, calls)

	failing := readKey{run: "r", account: "a", operation: "GetThing"}
	for range 2 {
		_, _, err := c.read(ctx, failing, false, func() (middleware.InitializeOutput, middleware.Metadata, error) {
			return middleware.InitializeOutput{}, middleware.Metadata{}, errors.New("throttled")
		})
		require.Error(t, err)
	}
	require.Equal(t, 1, c.Stats().Entries, "errors other than not-found are not kept")
}

func TestOpClass(t *testing.T) {
	for op, want := range map[string]opKind{
		"DescribeConfigRules": opRead, "GetRole": opRead, "ListBuckets": opRead, "HeadBucket": opRead,
		"GenerateCredentialReport": opRead, "DetectStackDrift": opOther, "StartConfigRulesEvaluation": opOther,
		"PutRolePolicy": opWrite, "RevokeSecurityGroupIngress": opWrite, "CreateTrail": opWrite, "StartLogging": opWrite,
	} {
		require.Equal(t, want, opClass(op), op)
	}
}
