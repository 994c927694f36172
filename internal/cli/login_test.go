package cli

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/temporalclient"
)

// login at the dev issuer caches a session readable by the user only;
// --as picks among logins; tokens for actions carry the action's nonce;
// logout forgets.
func TestLoginCacheAndBoundTokens(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "tokens")
	t.Setenv("ORGGUARD_TOKEN_CACHE", cache)
	t.Setenv("ORGGUARD_AS", "")
	state := t.TempDir()
	idp, err := devidp.Start(devidp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = idp.Close() })
	require.NoError(t, temporalclient.WriteDevState(state, temporalclient.DevState{Address: "127.0.0.1:1", Issuer: idp.URL()}))

	code, _, errOut := run(t, "--state-dir", state, "whoami")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "orgguard login --as alice")

	code, _, errOut = run(t, "--state-dir", state, "login", "--as", "nobody")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `no demo user "nobody"`)

	for _, who := range []string{"alice", "bob"} {
		code, out, errOut := run(t, "--state-dir", state, "login", "--as", who)
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "Logged in as "+who+" (sub dev|"+who+")")
	}
	fi, err := os.Stat(cache)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	files, _ := filepath.Glob(filepath.Join(cache, "*.json"))
	require.Len(t, files, 2)
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}

	code, out, _ := run(t, "--state-dir", state, "whoami")
	require.Equal(t, 0, code)
	require.Contains(t, out, "bob (sub dev|bob)", "the last login acts")
	code, out, _ = run(t, "--state-dir", state, "whoami", "--as", "alice")
	require.Equal(t, 0, code)
	require.Contains(t, out, "alice (sub dev|alice)")

	// A token for an action is fresh, verifies against the issuer's keys,
	// and carries exactly the nonce asked for.
	a := &app{as: "alice"}
	s, err := a.session()
	require.NoError(t, err)
	nonce := identity.VoteNonce("rem-1", identity.DecisionApprove, "digest")
	tok, err := a.boundToken(t.Context(), s, nonce, os.Stderr)
	require.NoError(t, err)
	p := identity.NewProvider(&identity.Config{Issuers: []identity.IssuerConfig{{Issuer: identity.Issuer{URL: idp.URL(), Audience: devidp.Audience, NameClaim: "preferred_username", GroupsClaim: "groups"}}}}, nil, nil)
	snap, err := p.Snapshot(t.Context(), false)
	require.NoError(t, err)
	v, err := identity.Verify(&snap, tok, time.Now())
	require.NoError(t, err)
	require.Equal(t, nonce, v.Nonce)
	require.Equal(t, "alice", v.Principal.Name)
	require.Equal(t, []string{"security-team"}, v.Principal.Groups)

	code, _, errOut = run(t, "--state-dir", state, "logout", "--as", "bob")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = run(t, "--state-dir", state, "whoami", "--as", "bob")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not logged in as bob")
}
