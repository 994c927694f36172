package console

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"sync"
	"time"

	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/oidcflow"
)

// Session lifetimes. A console session only shows what Temporal holds and
// starts sign-ins: every vote gets a fresh, nonce-bound ID token from the
// IdP, so a session never approves anything on its own. It still reveals
// findings and evidence, so it ends after half an hour without use and
// after a working day in any case.
const (
	DefaultSessionIdle = 30 * time.Minute
	DefaultSessionMax  = 8 * time.Hour
	// authLifetime bounds a sign-in round trip through the IdP.
	authLifetime = 10 * time.Minute
	// maxPendingAuths bounds the sign-ins in flight: anyone can start one
	// (the login page needs no session), so memory must not grow with them.
	maxPendingAuths = 10000
)

// session is a logged-in person. It lives in server memory only: the
// browser holds a random ID in an HttpOnly cookie, never a token.
type session struct {
	id   string
	csrf string
	who  identity.Principal
	// idToken is the login's ID token: kept server-side, never sent to the
	// browser. Votes do not use it (each gets a fresh one).
	idToken string
	issuer  string // trust config issuer name

	created, lastSeen time.Time
	flash             *flash
}

// flash is a one-shot message shown on the next page.
type flash struct {
	OK   bool
	Text string
}

// pendingAuth is a sign-in on its way through the IdP, keyed by its state.
type pendingAuth struct {
	web    oidcflow.WebRequest
	issuer string // trust config issuer name
	// binding ties the callback to the browser that started it: for a
	// login, the value of the login cookie; for a vote, the session ID.
	binding  string
	vote     *pendingVote
	returnTo string
	expires  time.Time
}

// pendingVote is what the person asked for; the IdP's token is bound to it
// by the nonce.
type pendingVote struct {
	RemediationID, Decision, Digest, Reason string
}

type store struct {
	now       func() time.Time
	idle, max time.Duration

	mu       sync.Mutex
	sessions map[string]*session
	auths    map[string]*pendingAuth
}

func newStore(now func() time.Time, idle, max time.Duration) *store {
	return &store{now: now, idle: idle, max: max, sessions: map[string]*session{}, auths: map[string]*pendingAuth{}}
}

// sweep drops expired sessions and sign-ins; called under mu.
func (s *store) sweep(now time.Time) {
	for id, ss := range s.sessions {
		if s.expired(ss, now) {
			delete(s.sessions, id)
		}
	}
	for st, a := range s.auths {
		if now.After(a.expires) {
			delete(s.auths, st)
		}
	}
}

func (s *store) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.lastSeen) > s.idle || now.Sub(ss.created) > s.max
}

// create starts a session with a new ID (never one the browser brought, so
// a planted session ID cannot be logged in: session fixation).
func (s *store) create(who identity.Principal, idToken, issuer string) *session {
	now := s.now()
	ss := &session{id: rand.Text() + rand.Text(), csrf: rand.Text() + rand.Text(), who: who, idToken: idToken, issuer: issuer, created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.sessions[ss.id] = ss
	return ss
}

// get returns the live session with this ID and marks it used.
func (s *store) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, false
	}
	if s.expired(ss, now) {
		delete(s.sessions, id)
		return nil, false
	}
	ss.lastSeen = now
	return ss, true
}

func (s *store) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

// setFlash and takeFlash pass a message to the next page of a session.
func (s *store) setFlash(ss *session, f flash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.flash = &f
}

func (s *store) takeFlash(ss *session) *flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := ss.flash
	ss.flash = nil
	return f
}

// putAuth keeps a sign-in until its callback; false when too many are in
// flight.
func (s *store) putAuth(a *pendingAuth) bool {
	now := s.now()
	a.expires = now.Add(authLifetime)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.auths) >= maxPendingAuths {
		// Expired ones are dropped when full (and each when taken).
		s.sweep(now)
	}
	if len(s.auths) >= maxPendingAuths {
		return false
	}
	s.auths[a.web.State] = a
	return true
}

// takeAuth returns and forgets the sign-in with this state: a callback is
// good once.
func (s *store) takeAuth(state string) (*pendingAuth, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auths[state]
	delete(s.auths, state)
	if !ok || now.After(a.expires) {
		return nil, false
	}
	return a, true
}

// validCSRF compares a form's token with the session's in constant time.
func (ss *session) validCSRF(r *http.Request) bool {
	got := r.PostFormValue(csrfField)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}
