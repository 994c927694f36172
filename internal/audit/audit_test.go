package audit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// A filter value cannot change the query's shape: a quote it brings stays
// inside the literal, and so does a backslash that would otherwise escape
// the closing quote.
func TestQueryQuotesValues(t *testing.T) {
	t.Parallel()
	q, err := Filter{Control: "CIS 5.4", Account: "1' OR '1'='1"}.Query(now)
	require.NoError(t, err)
	// An unversioned CIS ID matches every benchmark version's form.
	require.Contains(t, q, `OrgguardControl IN ('CIS 5.4', 'CIS v1.2.0 5.4', 'CIS v1.4.0 5.4', 'CIS v3.0.0 5.4')`)
	require.Contains(t, q, `OrgguardAccountId = '1\' OR \'1\'=\'1'`)
	q, err = Filter{Control: "FSBP EC2.2'"}.Query(now)
	require.NoError(t, err)
	require.Contains(t, q, `OrgguardControl IN ('FSBP EC2.2\'')`)

	q, err = Filter{Approver: `x\' OR OrgguardKind != '`}.Query(now)
	require.NoError(t, err)
	require.Contains(t, q, `OrgguardApprover = 'x\\\' OR OrgguardKind != \''`)
}

func TestQueryFilters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
		err  string
	}{
		{name: "all kinds by default", f: Filter{}, want: []string{"OrgguardKind IN ('rollout', 'baseline', 'remediation')"}},
		{name: "one kind", f: Filter{Kind: "remediation", Approver: "alice"}, want: []string{"OrgguardKind = 'remediation'", "OrgguardApprover = 'alice'"}},
		{name: "since a duration ago, until a date", f: Filter{Since: "72h", Until: "2026-11-24"},
			want: []string{"StartTime >= '2026-11-21T12:00:00Z'", "StartTime < '2026-11-24T00:00:00Z'"}},
		{name: "days", f: Filter{Since: "7d"}, want: []string{"StartTime >= '2026-11-17T12:00:00Z'"}},
		{name: "bad since", f: Filter{Since: "yesterday-ish"}, err: `since "yesterday-ish": want RFC3339`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, err := tc.f.Query(now)
			if tc.err != "" {
				var we *WhenError
				require.ErrorAs(t, err, &we)
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			for _, w := range tc.want {
				require.Contains(t, q, w)
			}
		})
	}
}
