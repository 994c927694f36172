package identity

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
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
// the mode and the pack digest, so a token made to plan cannot apply, and a
// token made for one run starts no other.
func StartNonce(runID, mode, packDigest string) string {
	return nonce("orgguard-start-v1", runID, mode, packDigest)
}

func nonce(fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		// Not fmt.Fprintf: workflowcheck cannot tell a hash from I/O.
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f + "\n"))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
