#!/usr/bin/env bash
# Registers orgguard's custom search attributes on a Temporal namespace, once.
# (orgguard-worker --dev does this itself for its embedded server.)
# Usage: deploy/search-attributes.sh [namespace]   (uses the `temporal` CLI's own env: TEMPORAL_ADDRESS, TLS, API key)
set -euo pipefail
ns="${1:-default}"
for name in OrgguardRunId OrgguardAccountId OrgguardOutcome OrgguardKind OrgguardMode OrgguardRequester OrgguardDigest; do
  temporal operator search-attribute create --namespace "$ns" --name "$name" --type Keyword || true
done
for name in OrgguardGuardrail OrgguardControl OrgguardApprover; do
  temporal operator search-attribute create --namespace "$ns" --name "$name" --type KeywordList || true
done
