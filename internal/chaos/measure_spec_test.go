package chaos

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

// The definitions of docs/reliability.md, on small call logs and results
// (these run in `make test`; the chaos test itself does not).
func TestDuplicateWritesDefinition(t *testing.T) {
	put := func(op string, params map[string]string, code string, lost bool) awssim.Call {
		return awssim.Call{Service: "ec2", Operation: op, AccountID: "200000000001", Region: "us-east-1", Params: params, ErrorCode: code, ResponseLost: lost}
	}
	sg := map[string]string{"GroupId": "sg-1", "IpPermissions.1.FromPort": "22"}
	for _, tc := range []struct {
		name                      string
		calls                     []awssim.Call
		writes, dups, tokens, idm int
	}{
		{"one revoke", []awssim.Call{put("RevokeSecurityGroupIngress", sg, "", false)}, 1, 0, 0, 0},
		{"a refused call is no write", []awssim.Call{put("RevokeSecurityGroupIngress", sg, "", false), put("RevokeSecurityGroupIngress", sg, "RequestLimitExceeded", false)}, 1, 0, 0, 0},
		{"a lost response is a write", []awssim.Call{put("RevokeSecurityGroupIngress", sg, "", false), put("RevokeSecurityGroupIngress", sg, "InternalError", true)}, 2, 1, 0, 0},
		{"the same revoke twice", []awssim.Call{put("RevokeSecurityGroupIngress", sg, "", false), put("RevokeSecurityGroupIngress", sg, "", false)}, 2, 1, 0, 0},
		{"another group is another key", []awssim.Call{put("RevokeSecurityGroupIngress", sg, "", false), put("RevokeSecurityGroupIngress", map[string]string{"GroupId": "sg-2"}, "", false)}, 2, 0, 0, 0},
		{"reads are not writes", []awssim.Call{put("DescribeSecurityGroups", nil, "", false), put("DescribeSecurityGroups", nil, "", false),
			{Service: "sts", Operation: "AssumeRole"}, {Service: "sts", Operation: "AssumeRole"}}, 0, 0, 0, 0},
		{"a repeated client token is a retry", []awssim.Call{put("CreateFlowLogs", map[string]string{"ResourceId.1": "vpc-1", "ClientToken": "k"}, "", false),
			put("CreateFlowLogs", map[string]string{"ResourceId.1": "vpc-1", "ClientToken": "k"}, "", false)}, 2, 0, 1, 0},
		{"another client token is a duplicate", []awssim.Call{put("CreateFlowLogs", map[string]string{"ResourceId.1": "vpc-1", "ClientToken": "k1"}, "", false),
			put("CreateFlowLogs", map[string]string{"ResourceId.1": "vpc-1", "ClientToken": "k2"}, "", false)}, 2, 1, 0, 0},
		{"CreateTopic is get-or-create", []awssim.Call{{Service: "sns", Operation: "CreateTopic", Params: map[string]string{"Name": "t"}},
			{Service: "sns", Operation: "CreateTopic", Params: map[string]string{"Name": "t"}}}, 2, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := measureDuplicates(tc.calls)
			assert.Equal(t, tc.writes, d.Writes, "writes")
			assert.Equal(t, tc.dups, d.Duplicate, "duplicates")
			assert.Equal(t, tc.tokens, d.TokenRetries, "client-token retries")
			assert.Equal(t, tc.idm, d.IdempotentRepeats, "idempotent repeats")
		})
	}
}

func TestConvergenceDefinition(t *testing.T) {
	item := func(g, res string, st workflows.ItemStatus, rem string) workflows.BaselineItem {
		return workflows.BaselineItem{Finding: workflows.Finding{GuardrailID: g, Region: "us-east-1", Resource: res}, Status: st, RemediationID: rem}
	}
	apply := func(items ...workflows.BaselineItem) map[string]baselineOutcome {
		return map[string]baselineOutcome{"a1": {res: workflows.BaselineResult{Items: items}}}
	}
	remediated := map[string]remOutcome{"rem-1": {st: workflows.RemediationState{Status: workflows.RemRemediated}}}
	expired := map[string]remOutcome{"rem-1": {st: workflows.RemediationState{Status: workflows.RemExpired}}}
	for _, tc := range []struct {
		name      string
		apply     map[string]baselineOutcome
		rems      map[string]remOutcome
		check     map[string]baselineOutcome
		converged bool
	}{
		{"auto remediated and re-checked", apply(item("pw", "acct", workflows.ItemRemediated, "")), nil,
			apply(item("pw", "acct", workflows.ItemCompliant, "")), true},
		{"approved and re-checked", apply(item("sg", "sg-1", workflows.ItemPendingApproval, "rem-1")), remediated,
			apply(item("sg", "sg-1", workflows.ItemCompliant, "")), true},
		{"approval expired", apply(item("sg", "sg-1", workflows.ItemPendingApproval, "rem-1")), expired,
			apply(item("sg", "sg-1", workflows.ItemCompliant, "")), false},
		{"drifted again", apply(item("pw", "acct", workflows.ItemRemediated, "")), nil,
			apply(item("pw", "acct", workflows.ItemNonCompliant, "")), false},
		{"not verified", apply(item("pw", "acct", workflows.ItemNotVerified, "")), nil,
			apply(item("pw", "acct", workflows.ItemCompliant, "")), false},
		{"a created resource is found by guardrail and region", apply(item("gd", "detector/", workflows.ItemRemediated, "")), nil,
			apply(item("gd", "detector/abc", workflows.ItemCompliant, "")), true},
		{"not checked", apply(item("pw", "acct", workflows.ItemRemediated, "")), nil, map[string]baselineOutcome{}, false},
		{"a failed apply baseline", map[string]baselineOutcome{"a1": {err: "account a1: 1 check(s) failed"}}, nil,
			apply(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := measureConvergence(&runResult{baselines: tc.apply, remediations: tc.rems, checks: tc.check}, nil)
			assert.Equal(t, 1, c.Units)
			assert.Equal(t, tc.converged, c.Converged == 1, "%v", c.NotConverged)
		})
	}
	// What the clean run remediated must be compliant too.
	clean := &runResult{baselines: apply(item("pw", "acct", workflows.ItemRemediated, ""), item("ebs", "region", workflows.ItemRemediated, ""))}
	chaos := &runResult{baselines: apply(item("pw", "acct", workflows.ItemRemediated, "")),
		checks: apply(item("pw", "acct", workflows.ItemCompliant, ""), item("ebs", "region", workflows.ItemNonCompliant, ""))}
	assert.Zero(t, measureConvergence(chaos, clean).Converged, "the chaos run left a finding the clean run fixed")
}

func TestApprovalsLostDefinition(t *testing.T) {
	vote := workflows.Vote{Approver: "alice", Approve: true, Reason: "chaos vote 1"}
	r := &runResult{
		votes: []voteRecord{
			{ID: "rem-1", Approver: "alice", Reason: "chaos vote 1", Accepted: true},
			{ID: "rem-2", Approver: "bob", Reason: "chaos vote 2", Accepted: true},
			{ID: "rem-3", Approver: "alice", Reason: "chaos vote 3", Output: "approve rem-3 refused: no worker"},
		},
		remediations: map[string]remOutcome{
			"rem-1": {st: workflows.RemediationState{Status: workflows.RemRemediated, Votes: []workflows.Vote{vote}}},
			"rem-2": {st: workflows.RemediationState{Status: workflows.RemRemediated, Votes: []workflows.Vote{vote}}},
			"rem-3": {st: workflows.RemediationState{Status: workflows.RemExpired}},
		},
	}
	a := measureApprovals(r)
	assert.Equal(t, 2, a.Accepted)
	assert.Len(t, a.Lost, 1, "bob's vote is not recorded on rem-2")
	assert.Len(t, a.Disappeared, 1, "rem-3 expired without a decision")
	assert.Equal(t, map[string]int{"no worker": 1}, a.Refusals)
}
