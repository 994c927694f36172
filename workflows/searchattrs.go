package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Custom search attributes. Auditors query these through visibility
// (`orgguard audit`); a production namespace needs them registered once
// (`temporal operator search-attribute create`, see deploy/), the dev server
// registers them itself.
var (
	SARunID     = temporal.NewSearchAttributeKeyKeyword("OrgguardRunId")
	SAAccountID = temporal.NewSearchAttributeKeyKeyword("OrgguardAccountId")
	SAOutcome   = temporal.NewSearchAttributeKeyKeyword("OrgguardOutcome")
	SAKind      = temporal.NewSearchAttributeKeyKeyword("OrgguardKind")
	SAMode      = temporal.NewSearchAttributeKeyKeyword("OrgguardMode")
	SARequester = temporal.NewSearchAttributeKeyKeyword("OrgguardRequester")
	SADigest    = temporal.NewSearchAttributeKeyKeyword("OrgguardDigest")
	SAGuardrail = temporal.NewSearchAttributeKeyKeywordList("OrgguardGuardrail")
	SAControl   = temporal.NewSearchAttributeKeyKeywordList("OrgguardControl")
	SAApprover  = temporal.NewSearchAttributeKeyKeywordList("OrgguardApprover")
)

// Values of OrgguardKind.
const (
	KindRollout     = "rollout"
	KindBaseline    = "baseline"
	KindRemediation = "remediation"
)

// SearchAttributes lists the custom search attributes with their types, for
// registration.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	out := map[string]enumspb.IndexedValueType{}
	for _, k := range []temporal.SearchAttributeKey{SARunID, SAAccountID, SAOutcome, SAKind, SAMode, SARequester, SADigest} {
		out[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	for _, k := range []temporal.SearchAttributeKey{SAGuardrail, SAControl, SAApprover} {
		out[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST
	}
	return out
}
