package e2e

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

func pendingIDs(p []workflows.RemediationState) []string {
	var ids []string
	for _, r := range p {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	return ids
}

// runIDOf reads the run ID from the CLI's "... run RUN started by" line.
func runIDOf(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, " run ")
	require.GreaterOrEqual(t, i, 0, out)
	rest := out[i+len(" run "):]
	return rest[:strings.IndexByte(rest, ' ')]
}

// A second apply that finds the same open findings with the same plan
// attaches to the pending approvals: no new request is opened.
func TestSecondApplyOpensNoNewApproval(t *testing.T) {
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	e := newEnv(t, seed)
	e.Login("bob")
	code, out := e.CLI("apply", pack, "--as", "bob", "--reason", "first")
	require.Equal(t, 0, code, out)
	var first []workflows.RemediationState
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		p := e.pending(c)
		require.NotEmpty(c, p)
		first = p
	}, 30*time.Second, 200*time.Millisecond)

	code, out = e.CLI("apply", pack, "--as", "bob", "--reason", "second")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "this run attached to it")
	second := runIDOf(t, out)
	// Visibility is eventually consistent: the list settles to the same IDs.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, pendingIDs(first), pendingIDs(e.pending(c)))
	}, 30*time.Second, 200*time.Millisecond)
	for _, r := range first {
		require.NotEqual(t, second, r.RunID, "the request still belongs to the run that opened it")
	}
	require.Empty(t, e.Writes())
}

// rollback restores the state an approved apply replaced, through the same
// approval policy, and a check sees the pre-apply state again; a resource
// changed since is refused.
func TestRollbackRestoresPreApplyState(t *testing.T) {
	seed, err := awssim.DemoSeed()
	require.NoError(t, err)
	e := newEnv(t, seed)
	e.Login("bob", "alice")
	code, out := e.CLI("apply", pack, "--as", "bob", "--reason", "close default groups")
	require.Equal(t, 0, code, out)
	applyRun := runIDOf(t, out)
	var pending []workflows.RemediationState
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		p := e.pending(c)
		require.GreaterOrEqual(c, len(p), 2)
		pending = p
	}, 30*time.Second, 200*time.Millisecond)
	sort.Slice(pending, func(i, j int) bool { return pending[i].ID < pending[j].ID })
	restore, drift := pending[0], workflows.RemediationState{}
	for _, p := range pending[1:] {
		if p.AccountID != restore.AccountID {
			drift = p
			break
		}
	}
	require.NotEmpty(t, drift.ID, "two accounts with an open default group")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, r := range []workflows.RemediationState{restore, drift} {
		code, out = e.CLI("approve", r.ID, "--as", "alice", "--reason", "reviewed")
		require.Equal(t, 0, code, out)
		var final workflows.RemediationState
		require.NoError(t, e.Client.GetWorkflow(ctx, r.ID, "").Get(ctx, &final))
		require.Equal(t, workflows.RemRemediated, final.Status, final.Error)
		require.NotNil(t, final.Undo, "the applied change records what it replaced")
	}

	// Someone changes the second group after orgguard closed it.
	f, err := awsclient.Load(ctx, awsclient.Options{RoleName: seed.MemberRole.Name, ExternalID: seed.MemberRole.ExternalID})
	require.NoError(t, err)
	cfg, _, err := f.Account(ctx, drift.AccountID, drift.Region, "someone-else", "")
	require.NoError(t, err)
	group := drift.Change.Params["group_id"].(string)
	_, err = ec2.NewFromConfig(cfg).AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(group),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}},
	})
	require.NoError(t, err)

	// The plan shows the reverse change for the first, refuses the second.
	writes := len(e.Writes())
	code, out = e.CLI("rollback", applyRun, "--account", restore.AccountID, "--account", drift.AccountID, "--as", "bob")
	require.Equal(t, 1, code, out) // a refusal is reported with exit 1
	require.Contains(t, out, "[planned] control.default_sg_closed  "+restore.Resource)
	require.Contains(t, out, "+ ")
	require.Contains(t, out, "[refused] control.default_sg_closed  "+drift.Resource)
	require.Equal(t, writes, len(e.Writes()), "a rollback plan changes nothing")

	// Applied, the reverse change waits for the same approval policy.
	code, out = e.CLI("rollback", applyRun, "--account", restore.AccountID, "--guardrail", "control.default_sg_closed", "--apply", "--as", "bob", "--reason", "undo")
	require.Equal(t, 0, code, out)
	var undo workflows.RemediationState
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		found := false
		for _, p := range e.pending(c) {
			if p.Rollback && p.AccountID == restore.AccountID {
				undo, found = p, true
			}
		}
		require.True(c, found)
	}, 30*time.Second, 200*time.Millisecond)
	require.Equal(t, restore.Approvers, undo.Approvers)
	code, out = e.CLI("approve", undo.ID, "--as", "alice", "--reason", "undo reviewed")
	require.Equal(t, 0, code, out)
	var final workflows.RemediationState
	require.NoError(t, e.Client.GetWorkflow(ctx, undo.ID, "").Get(ctx, &final))
	require.Equal(t, workflows.RemRolledBack, final.Status, final.Error)

	// A check sees the pre-apply state again: the group is open as before.
	code, out = e.CLI("check", pack, "--target", restore.AccountID, "--json")
	require.Contains(t, []int{0, 1}, code, out)
	var res workflows.RolloutResult
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res))
	var br workflows.BaselineResult
	require.NoError(t, e.Client.GetWorkflow(ctx, workflows.AccountBaselineID(res.Progress.RunID, restore.AccountID), "").Get(ctx, &br))
	found := false
	for _, it := range br.Items {
		if it.Finding.Resource == restore.Resource {
			found = true
			require.Equal(t, workflows.ItemNonCompliant, it.Status, it.Finding.Evidence)
			require.Equal(t, restore.Evidence, it.Finding.Evidence, "the same rules as before the apply")
		}
	}
	require.True(t, found)
}
