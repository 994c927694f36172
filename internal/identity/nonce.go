package identity

import (
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
)

// Decisions an approver signs.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// VoteNonce is the nonce an approver's token must carry: it names the
// remediation, the decision and the digest of the planned change, so a token
// made for one remediation, decision or plan approves nothing else.
func VoteNonce(remediationID, decision, changeDigest string) string {
	return nonce("orgguard-vote-v1", remediationID, decision, changeDigest)
}

// StartNonce is the nonce a requester's token must carry: it names the run,
// the mode, the pack digest and the --target override, so a token made to
// plan cannot apply, a token made for one run starts no other, and one made
// for some accounts reaches no others. Targets are compared as a set.
func StartNonce(runID, mode, packDigest string, targets ...string) string {
	fields := []string{"orgguard-start-v1", runID, mode, packDigest}
	if len(targets) > 0 {
		t := append([]string(nil), targets...)
		sort.Strings(t)
		fields = append(fields, "targets", strings.Join(t, "\n"))
	}
	return nonce(fields...)
}

func nonce(fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		// Not fmt.Fprintf: workflowcheck cannot tell a hash from I/O.
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f + "\n"))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
