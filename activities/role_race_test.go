package activities

import (
	"context"
	"sync/atomic"
	"testing"

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
