package activities

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/awssim"
)

// staleGetRole answers its first GetRole with NoSuchEntity, as a read made
// just before a concurrent attempt created the role.
type staleGetRole struct {
	*iam.Client
	stale atomic.Bool
}

func (s *staleGetRole) GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	if s.stale.CompareAndSwap(false, true) {
		return nil, &iamtypes.NoSuchEntityException{Message: aws.String("stale read")}
	}
	return s.Client.GetRole(ctx, in, opts...)
}

// Two remediations of one account that need the same global role (a
// Config rule's automation role, one remediation per region) race: both
// read "no role", one creates it and puts its policy, the other's
// CreateRole fails with EntityAlreadyExists. The loser finds the policy in
// place and writes nothing (the chaos test counted its second PutRolePolicy
// as a duplicate write).
func TestEnsureRoleLoserOfACreateRaceDoesNotPutThePolicyAgain(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{})
	env := s.env(t, acctWebProd, usEast1, control("cloudtrail.multi_region", nil))
	r := serviceRole{Name: "orgguard-race", Service: "ssm.amazonaws.com", Actions: []string{"ec2:RevokeSecurityGroupIngress"}, PolicyName: "orgguard-rule"}

	wrote, err := ensureRole(ctx, iam.NewFromConfig(env.Config), r)
	require.NoError(t, err)
	require.True(t, wrote, "the winner creates the role and puts its policy")

	wrote, err = ensureRole(ctx, &staleGetRole{Client: iam.NewFromConfig(env.Config)}, r)
	require.NoError(t, err)
	require.False(t, wrote, "the loser finds the role complete")
	require.Equal(t, 1, s.succeeded("iam", "PutRolePolicy"), "the policy is put once")
	require.Equal(t, 1, s.succeeded("iam", "CreateRole"))
}

// The same race with both remediations in one worker and IAM's eventual
// consistency on: the second read may not see the first's policy for
// seconds. The worker's role writer serializes the two and trusts its own
// recent write over a read that finds no policy, so the policy is put once.
func TestRoleWriterPutsASharedRolePolicyOnceUnderEventualConsistency(t *testing.T) {
	t.Parallel()
	s := newSim(t, awssim.Options{ConsistencyDelay: 3 * time.Second})
	env := s.env(t, acctWebProd, usEast1, control("cloudtrail.multi_region", nil))
	env.Roles = newRoleWriter()
	r := serviceRole{Name: "orgguard-shared", Service: "ssm.amazonaws.com", Actions: []string{"ec2:RevokeSecurityGroupIngress"}, PolicyName: "orgguard-rule"}

	var wg sync.WaitGroup
	wrote := make([]bool, 4)
	errs := make([]error, 4)
	for i := range wrote {
		wg.Go(func() {
			wrote[i], errs[i] = env.Roles.ensure(ctx, iam.NewFromConfig(env.Config), env, r)
		})
	}
	wg.Wait()
	writers := 0
	for i := range wrote {
		require.NoError(t, errs[i])
		if wrote[i] {
			writers++
		}
	}
	require.Equal(t, 1, writers, "one of the four writes the role")
	require.Equal(t, 1, s.succeeded("iam", "PutRolePolicy"), "the policy is put once")
	require.Equal(t, 1, s.succeeded("iam", "CreateRole"))

	// A policy changed by someone else is put back even within the memo.
	api := iam.NewFromConfig(env.Config)
	time.Sleep(3500 * time.Millisecond) // past the simulator's propagation delay
	_, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(r.policyName()),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`)})
	require.NoError(t, err)
	time.Sleep(3500 * time.Millisecond)
	w, err := env.Roles.ensure(ctx, api, env, r)
	require.NoError(t, err)
	require.True(t, w, "a changed policy is corrected")
}

// Locks of roles nobody writes any more are forgotten once the memo has
// expired, so a long-running worker holds no state per role ever seen.
func TestRoleWriterForgetsIdleRoles(t *testing.T) {
	t.Parallel()
	w := newRoleWriter()
	now := time.Unix(1_800_000_000, 0)
	w.now = func() time.Time { return now }
	k := roleKey{account: "1", role: "r"}
	l := w.acquire(k)
	l.putName, l.putDoc, l.putAt = "p", "d", now
	w.release(k, l)
	require.Equal(t, 1, w.size(), "kept while its memo is fresh")
	now = now.Add(roleWriteMemo)
	w.release(k, w.acquire(k))
	require.Equal(t, 0, w.size(), "forgotten once the memo expired")
}
