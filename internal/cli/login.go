package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/oidcflow"
	"github.com/orgguard/orgguard/internal/temporalclient"
)

// session is one cached login: who, at which issuer, and how to get fresh
// tokens. Files are readable by the OS user only.
type session struct {
	Name     string    `json:"name"`
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	ClientID string    `json:"client_id"`
	Scopes   []string  `json:"scopes,omitempty"`
	Dev      bool      `json:"dev,omitempty"`
	Refresh  string    `json:"refresh_token,omitempty"`
	IDToken  string    `json:"id_token,omitempty"`
	Expiry   time.Time `json:"expiry"`
	LoggedIn time.Time `json:"logged_in"`
}

// tokenCacheDir is $ORGGUARD_TOKEN_CACHE, else the OS user's cache
// directory (~/.cache/orgguard/tokens).
func tokenCacheDir() (string, error) {
	if d := os.Getenv("ORGGUARD_TOKEN_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for tokens (set ORGGUARD_TOKEN_CACHE): %w", err)
	}
	return filepath.Join(base, "orgguard", "tokens"), nil
}

func sessionFile(dir, issuer, name string) string {
	h := sha256.Sum256([]byte(issuer))
	safe := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r == '@' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, name)
	return filepath.Join(dir, hex.EncodeToString(h[:4])+"-"+safe+".json")
}

func saveSession(s session) (string, error) {
	dir, err := tokenCacheDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	// A cache directory made by an older version, or by hand, is tightened.
	_ = os.Chmod(dir, 0o700)
	path := sessionFile(dir, s.Issuer, s.Name)
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return path, os.WriteFile(filepath.Join(dir, "current"), []byte(filepath.Base(path)), 0o600)
}

func loadSessions() ([]session, string, error) {
	dir, err := tokenCacheDir()
	if err != nil {
		return nil, "", err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var out []session
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var s session
		if json.Unmarshal(b, &s) == nil && s.Name != "" {
			out = append(out, s)
		}
	}
	current := ""
	if b, err := os.ReadFile(filepath.Join(dir, "current")); err == nil {
		current = strings.TrimSpace(string(b))
	}
	return out, current, nil
}

// errNotLoggedIn says how to log in.
func errNotLoggedIn(as string) error {
	who := ""
	if as != "" {
		who = " as " + as
	}
	return failf(exitFindings, "not logged in%s: orgguard acts only for a verified person.\n"+
		"  Against the dev worker:  orgguard login --as alice   (demo users: %s)\n"+
		"  Against your IdP:        orgguard login --issuer https://idp.example.com --client-id ID\n"+
		"  See docs/security.md", who, strings.Join(devidp.Names(), ", "))
}

// session returns the login to act with: --as NAME picks one, else the
// last login.
func (a *app) session() (session, error) {
	all, current, err := loadSessions()
	if err != nil {
		return session{}, err
	}
	if a.as != "" {
		var match []session
		for _, s := range all {
			if s.Name == a.as {
				match = append(match, s)
			}
		}
		sort.Slice(match, func(i, j int) bool { return match[i].LoggedIn.After(match[j].LoggedIn) })
		if len(match) == 0 {
			return session{}, errNotLoggedIn(a.as)
		}
		return match[0], nil
	}
	for _, s := range all {
		if filepath.Base(sessionFile("", s.Issuer, s.Name)) == current {
			return s, nil
		}
	}
	return session{}, errNotLoggedIn("")
}

// boundToken gets a fresh ID token whose nonce binds it to one action (a
// start or a vote): from the dev issuer by refresh, from a real IdP through
// the authorization code flow with PKCE in the browser.
func (a *app) boundToken(ctx context.Context, s session, nonce string, out io.Writer) (string, error) {
	if s.Dev {
		tok, err := devToken(ctx, s.Issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.Refresh}, "nonce": {nonce}})
		if err != nil {
			return "", failf(exitFindings, "get a token for %s from the dev issuer %s: %v (log in again: orgguard login --as %s)", s.Name, s.Issuer, err, s.Name)
		}
		return tok.IDToken, nil
	}
	fmt.Fprintf(out, "Sign in as %s at %s to confirm this action.\n", s.Name, s.Issuer)
	t, err := oidcflow.AuthCodeLogin(ctx, oidcflow.Config{Issuer: s.Issuer, ClientID: s.ClientID, Scopes: s.Scopes}, nonce, out, nil)
	if err != nil {
		return "", failf(exitFindings, "sign-in for this action failed: %v", err)
	}
	if t.Subject != s.Subject {
		return "", failf(exitFindings, "you signed in as %s (sub %s), but the cached login is %s (sub %s): use --as, or orgguard login again", nameOf(t), t.Subject, s.Name, s.Subject)
	}
	return t.IDToken, nil
}

func nameOf(t oidcflow.Tokens) string {
	switch {
	case t.PreferredUsername != "":
		return t.PreferredUsername
	case t.Email != "":
		return t.Email
	}
	return t.Subject
}

type devTokens struct {
	IDToken string `json:"id_token"`
	Refresh string `json:"refresh_token"`
	Error   string `json:"error"`
	Desc    string `json:"error_description"`
}

func devToken(ctx context.Context, issuer string, form url.Values) (devTokens, error) {
	form.Set("client_id", devidp.Audience)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return devTokens{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		return devTokens{}, err
	}
	defer resp.Body.Close()
	var t devTokens
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t); err != nil {
		return t, fmt.Errorf("token endpoint: HTTP %s", resp.Status)
	}
	if t.Error != "" || t.IDToken == "" {
		return t, fmt.Errorf("%s: %s", t.Error, t.Desc)
	}
	return t, nil
}

// unverifiedClaims reads a token's claims for display only: the CLI is not
// where tokens are trusted; the workflow verifies them.
func unverifiedClaims(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func loginCmd(a *app) *cobra.Command {
	var issuer, clientID string
	var scopes []string
	cmd := &cobra.Command{
		Use:   "login [--as NAME | --issuer URL --client-id ID]",
		Short: "Log in: against the dev worker's issuer (--as NAME), or your IdP (device code flow)",
		Long: `Log in so that orgguard can act for you with a verified identity.

Against a local 'orgguard-worker --dev': orgguard login --as alice  (demo users: ` + strings.Join(devidp.Names(), ", ") + `)
Against your IdP (Okta, Entra ID, Google, Keycloak): orgguard login --issuer URL --client-id ID
runs the OAuth device code flow. Logins are cached per OS user in $ORGGUARD_TOKEN_CACHE or
~/.cache/orgguard/tokens (mode 0600). Each apply and each vote then gets a fresh token bound to
exactly that action.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			var s session
			if issuer == "" {
				if a.as == "" {
					return failf(exitUsage, "login needs --as NAME (dev worker) or --issuer URL --client-id ID (your IdP)")
				}
				st, err := temporalclient.ReadDevState(a.temporal.StateDir)
				if err != nil || st.Issuer == "" {
					return failf(exitFindings, "no dev issuer: no 'orgguard-worker --dev' runs with state directory %s; against your IdP use --issuer and --client-id", a.temporal.StateDir)
				}
				t, err := devToken(ctx, st.Issuer, url.Values{"grant_type": {devidp.LoginGrant}, "username": {a.as}})
				if err != nil {
					return failf(exitFindings, "login as %s at the dev issuer %s: %v", a.as, st.Issuer, err)
				}
				c := unverifiedClaims(t.IDToken)
				sub, _ := c["sub"].(string)
				s = session{Name: a.as, Subject: sub, Issuer: st.Issuer, ClientID: devidp.Audience, Dev: true, Refresh: t.Refresh, IDToken: t.IDToken}
			} else {
				if clientID == "" {
					return failf(exitUsage, "--issuer needs --client-id (the OIDC client registered for orgguard)")
				}
				t, err := oidcflow.DeviceLogin(ctx, oidcflow.Config{Issuer: issuer, ClientID: clientID, Scopes: scopes}, "", out)
				if err != nil {
					return failf(exitFindings, "login at %s: %v", issuer, err)
				}
				s = session{Name: nameOf(t), Subject: t.Subject, Issuer: issuer, ClientID: clientID, Scopes: scopes, Refresh: t.RefreshToken, IDToken: t.IDToken, Expiry: t.Expiry}
			}
			s.LoggedIn = time.Now().UTC()
			path, err := saveSession(s)
			if err != nil {
				return failf(exitFindings, "save login: %v", err)
			}
			fmt.Fprintf(out, "Logged in as %s (sub %s) at %s\nCached in %s (readable by you only)\n", s.Name, s.Subject, s.Issuer, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&issuer, "issuer", "", "OIDC issuer URL of your IdP")
	cmd.Flags().StringVar(&clientID, "client-id", "", "OIDC client ID registered for orgguard (public client)")
	cmd.Flags().StringSliceVar(&scopes, "scopes", nil, "scopes (default openid, profile, email, offline_access)")
	return cmd
}

func whoamiCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the login orgguard acts with, and every cached login",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (sub %s) at %s, logged in %s\n", s.Name, s.Subject, s.Issuer, s.LoggedIn.Format(time.RFC3339))
			return nil
		},
	}
}

func logoutCmd(a *app) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "logout [--as NAME | --all]",
		Short: "Forget a cached login (the current one, --as NAME, or --all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := tokenCacheDir()
			if err != nil {
				return err
			}
			if all {
				if err := os.RemoveAll(dir); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "Logged out everyone:", dir, "removed")
				return nil
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			if err := os.Remove(sessionFile(dir, s.Issuer, s.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged out %s at %s\n", s.Name, s.Issuer)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "forget every cached login")
	return cmd
}
