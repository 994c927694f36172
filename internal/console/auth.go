package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/approvals"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/oidcflow"
	"github.com/orgguard/orgguard/workflows"
)

// scopes asks for identity only: the console keeps no refresh token.
var scopes = []string{"openid", "profile", "email"}

// maxReason bounds a vote's reason (it is recorded in history).
const maxReason = 2000

// voteTimeout bounds sending a vote, including one retry after the
// remediation reloads the issuer keys (approvals.RetryAfterKeyReload).
const voteTimeout = 30 * time.Second

// idPattern is what remediation IDs look like; anything else in
// the path is refused before it reaches Temporal or a redirect.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

func (s *Server) redirectURI() string { return s.base.String() + "/auth/callback" }

func (s *Server) issuer(name string) (identity.IssuerConfig, bool) {
	for _, ic := range s.o.Trust.Config().Issuers {
		if ic.Name == name {
			return ic, true
		}
	}
	return identity.IssuerConfig{}, false
}

func (s *Server) oidcConfig(ic identity.IssuerConfig) oidcflow.Config {
	return oidcflow.Config{Issuer: ic.URL, ClientID: ic.Audience, Scopes: scopes, HTTPClient: s.o.HTTPClient, Discovery: &s.discovery}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	type issuerLink struct{ Name, URL, Href string }
	var links []issuerLink
	for _, ic := range s.o.Trust.Config().Issuers {
		links = append(links, issuerLink{Name: ic.Name, URL: ic.URL, Href: "/login/" + url.PathEscape(ic.Name) + "?next=" + url.QueryEscape(next)})
	}
	s.render(w, r, http.StatusOK, "login", nil, map[string]any{"Title": "Log in", "Issuers": links})
}

// loginStart sends the browser to the IdP: authorization code with PKCE, a
// random nonce, and a state bound to this browser by a short-lived cookie
// (so that nobody can make a victim's browser finish their sign-in: login
// CSRF).
func (s *Server) loginStart(w http.ResponseWriter, r *http.Request) {
	ic, ok := s.issuer(r.PathValue("issuer"))
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "No such issuer in the worker's trust config.")
		return
	}
	web, err := oidcflow.BeginWeb(r.Context(), s.oidcConfig(ic), s.redirectURI(), rand.Text(), "")
	if err != nil {
		s.log.Warn("console: sign-in could not start", zap.String("issuer", ic.URL), zap.Error(err))
		s.errorPage(w, r, http.StatusBadGateway, "The identity provider could not be reached: "+err.Error())
		return
	}
	s.allowFormTarget(web.URL)
	binding := rand.Text()
	if !s.store.putAuth(&pendingAuth{web: web, issuer: ic.Name, binding: binding, returnTo: localPath(r.URL.Query().Get("next"))}) {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Too many sign-ins in progress: try again in a few minutes.")
		return
	}
	s.setCookie(w, s.loginCookie(), binding, authLifetime)
	http.Redirect(w, r, web.URL, http.StatusSeeOther)
}

// voteStart records what the person asked (decision, reason, the plan
// digest the page showed) and sends them to the IdP for a fresh ID token
// whose nonce is identity.VoteNonce of exactly that: the same binding as
// `orgguard approve`. The console cannot vote without that round trip.
func (s *Server) voteStart(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		s.errorPage(w, r, http.StatusNotFound, "No such remediation.")
		return
	}
	back := "/remediations/" + url.PathEscape(id)
	decision := r.PostForm.Get("decision")
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	digest := r.PostForm.Get("digest")
	problem := ""
	switch {
	case decision != identity.DecisionApprove && decision != identity.DecisionReject:
		problem = "Choose approve or reject."
	case reason == "":
		problem = "A reason is required: it is the audit record of this decision."
	case len(reason) > maxReason:
		problem = fmt.Sprintf("The reason is longer than %d characters.", maxReason)
	case !isDigest(digest):
		problem = "The page did not carry the plan digest: reload it and review the change again."
	}
	if problem != "" {
		s.store.setFlash(ss, flash{Text: problem})
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	ic, ok := s.issuer(ss.issuer)
	if !ok {
		s.store.setFlash(ss, flash{Text: "Your issuer is no longer trusted by this worker: log out and in again."})
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	web, err := oidcflow.BeginWeb(r.Context(), s.oidcConfig(ic), s.redirectURI(), identity.VoteNonce(id, decision, digest), ss.who.Name)
	if err != nil {
		s.store.setFlash(ss, flash{Text: "The identity provider could not be reached: " + err.Error()})
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	s.allowFormTarget(web.URL)
	if !s.store.putAuth(&pendingAuth{web: web, issuer: ic.Name, binding: ss.id, returnTo: back,
		vote: &pendingVote{RemediationID: id, Decision: decision, Digest: digest, Reason: reason}}) {
		s.store.setFlash(ss, flash{Text: "Too many sign-ins in progress: try again in a few minutes."})
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, web.URL, http.StatusSeeOther)
}

func isDigest(d string) bool {
	b, err := hex.DecodeString(d)
	return err == nil && len(b) == 32
}

// callback is where the IdP sends the browser back. The code is exchanged
// here, server-side, with the PKCE verifier; the ID token is verified by
// go-oidc (with the nonce) and by the trust config's rules, and never
// leaves the server.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	a, ok := s.store.takeAuth(r.URL.Query().Get("state"))
	if !ok {
		s.errorPage(w, r, http.StatusBadRequest, "This sign-in has expired or was already used. Start again.")
		return
	}
	var ss *session
	if a.vote != nil {
		if c, err := r.Cookie(s.sessionCookie()); err == nil {
			ss, _ = s.store.get(c.Value)
		}
		if ss == nil || subtle.ConstantTimeCompare([]byte(ss.id), []byte(a.binding)) != 1 {
			s.errorPage(w, r, http.StatusForbidden, "This vote's sign-in was started from another session: nothing was sent. Log in and vote again.")
			return
		}
	} else {
		c, err := r.Cookie(s.loginCookie())
		if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.binding)) != 1 {
			s.errorPage(w, r, http.StatusForbidden, "This sign-in was not started in this browser. Start again from the login page.")
			return
		}
		s.setCookie(w, s.loginCookie(), "", -1)
	}
	ic, ok := s.issuer(a.issuer)
	if !ok {
		s.errorPage(w, r, http.StatusForbidden, "The issuer is no longer trusted by this worker.")
		return
	}
	ctx := r.Context()
	tok, err := oidcflow.FinishWeb(ctx, s.oidcConfig(ic), r, a.web)
	var who identity.Principal
	if err == nil {
		who, err = s.verify(ctx, tok.IDToken, a.web.Nonce)
	}
	if err != nil {
		s.log.Info("console: sign-in refused", zap.String("issuer", ic.URL), zap.Error(err))
		if a.vote != nil {
			s.store.setFlash(ss, flash{Text: "Sign-in for this vote failed, nothing was sent: " + err.Error()})
			http.Redirect(w, r, a.returnTo, http.StatusSeeOther)
			return
		}
		s.errorPage(w, r, http.StatusForbidden, "Sign-in failed: "+err.Error())
		return
	}
	if a.vote == nil {
		ss := s.store.create(who, tok.IDToken, ic.Name)
		s.setCookie(w, s.sessionCookie(), ss.id, 0)
		s.log.Info("console: logged in", zap.String("name", who.Name), zap.String("subject", who.Subject), zap.String("issuer", who.Issuer))
		http.Redirect(w, r, a.returnTo, http.StatusSeeOther)
		return
	}
	s.sendVote(ctx, ss, who, tok.IDToken, *a.vote)
	http.Redirect(w, r, a.returnTo, http.StatusSeeOther)
}

// verify checks an ID token with the worker's trust snapshot, as the
// workflows will (issuer, key, audience, times, name claim), and its nonce.
func (s *Server) verify(ctx context.Context, raw, nonce string) (identity.Principal, error) {
	snap, err := s.o.Trust.Snapshot(ctx, false)
	if err != nil {
		return identity.Principal{}, fmt.Errorf("the worker's trust keys are not loaded: %w", err)
	}
	v, err := identity.Verify(&snap, raw, s.o.Now())
	if identity.ReasonOf(err) == identity.ReasonUnknownKey {
		// The IdP may have rotated its keys: fetch them again (rate-limited
		// by the provider) and try once more.
		if snap, err = s.o.Trust.Snapshot(ctx, true); err == nil {
			v, err = identity.Verify(&snap, raw, s.o.Now())
		}
	}
	if err != nil {
		return identity.Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(v.Nonce), []byte(nonce)) != 1 {
		return identity.Principal{}, fmt.Errorf("the ID token is not bound to this sign-in (nonce) [%s]", identity.ReasonWrongNonce)
	}
	return v.Principal, nil
}

// sendVote passes the bound token to the Remediation workflow and tells
// the person what its validator said.
func (s *Server) sendVote(ctx context.Context, ss *session, who identity.Principal, token string, v pendingVote) {
	if !who.Same(ss.who) {
		s.store.setFlash(ss, flash{Text: fmt.Sprintf("You signed in at the identity provider as %s, but this console session is %s: nothing was sent. Log out and log in as the person who votes.", who, ss.who)})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, voteTimeout)
	defer cancel()
	req := workflows.VoteRequest{Token: token, RemediationID: v.RemediationID, ChangeDigest: v.Digest, Reason: v.Reason}
	res, err := s.o.Backend.Vote(ctx, v.RemediationID, v.Decision, req)
	log := s.log.With(zap.String("remediation", v.RemediationID), zap.String("decision", v.Decision), zap.String("name", who.Name), zap.String("subject", who.Subject))
	if err != nil {
		log.Info("console: vote refused", zap.Error(err))
		s.store.setFlash(ss, flash{Text: fmt.Sprintf("Your %s of %s was refused: %v", noun(v.Decision), v.RemediationID, err)})
		return
	}
	log.Info("console: vote recorded")
	s.store.setFlash(ss, flash{OK: true, Text: fmt.Sprintf("Your %s is recorded: %s, verified at %s, plan digest %s (%d of %d approvals).",
		noun(v.Decision), who.Name, who.Issuer, guardrails.ShortDigest(v.Digest), approvals.Count(res), res.Quorum)})
}

func noun(decision string) string {
	if decision == identity.DecisionApprove {
		return "approval"
	}
	return "rejection"
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, ss *session) {
	s.store.delete(ss.id)
	s.setCookie(w, s.sessionCookie(), "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
