package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
)

// RefreshEvery is how often the worker re-fetches every issuer's keys.
// IdPs publish a new key before they sign with it (Okta, Entra ID and
// Google days ahead), so a quarter of an hour catches a rotation well
// before the first token signed with the new key; an unknown key ID also
// triggers a refresh (Snapshot with refresh=true), rate-limited by
// minRefreshGap.
const RefreshEvery = 15 * time.Minute

// minRefreshGap bounds on-demand refreshes, so a stream of tokens with a
// made-up key ID cannot hammer the IdP.
const minRefreshGap = 10 * time.Second

// Provider holds the trust config and the issuers' current keys. The worker
// has one; the LoadTrust activity asks it for a Snapshot.
type Provider struct {
	cfg    *Config
	client *http.Client
	log    *zap.Logger

	mu      sync.Mutex
	snap    Snapshot
	fetched time.Time
}

// NewProvider returns a provider for cfg; nil cfg means no trust config
// (Snapshot().Configured is false).
func NewProvider(cfg *Config, client *http.Client, log *zap.Logger) *Provider {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Provider{cfg: cfg, client: client, log: log}
}

// Config is the provider's trust config (nil without one).
func (p *Provider) Config() *Config { return p.cfg }

// Snapshot returns the trust snapshot, fetching keys on first use, when
// they are older than RefreshEvery, or when refresh is asked for.
func (p *Provider) Snapshot(ctx context.Context, refresh bool) (Snapshot, error) {
	if p == nil || p.cfg == nil {
		return Snapshot{Configured: false}, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	age := time.Since(p.fetched)
	if p.fetched.IsZero() || age > RefreshEvery || (refresh && age > minRefreshGap) {
		snap, err := p.fetch(ctx)
		if err != nil {
			if p.fetched.IsZero() {
				return Snapshot{}, err
			}
			// Keep serving the last good keys: an IdP outage must not stop
			// approvals signed with keys we already have.
			p.log.Warn("refreshing issuer keys failed; keeping the last good keys", zap.Error(err), zap.Time("keys_from", p.fetched))
		} else {
			p.snap, p.fetched = snap, time.Now()
		}
	}
	return p.snap, nil
}

// Run refreshes keys every RefreshEvery until ctx ends.
func (p *Provider) Run(ctx context.Context) {
	if p == nil || p.cfg == nil {
		return
	}
	t := time.NewTicker(RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := p.Snapshot(ctx, true); err != nil {
				p.log.Warn("refreshing issuer keys failed", zap.Error(err))
			}
		}
	}
}

func (p *Provider) fetch(ctx context.Context) (Snapshot, error) {
	s := Snapshot{Configured: true, ClockSkew: p.cfg.ClockSkew, Requester: p.cfg.Requester, Floor: p.cfg.Floor,
		Source: p.cfg.Path, Digest: p.cfg.Digest, LoadedAt: time.Now().UTC().Truncate(time.Second)}
	for _, ic := range p.cfg.Issuers {
		jwks, err := p.keys(ctx, ic)
		if err != nil {
			return Snapshot{}, fmt.Errorf("trust config %s: issuer %q (%s): %w", ic.Where, ic.Name, ic.URL, err)
		}
		iss := ic.Issuer
		iss.JWKS = jwks
		s.Issuers = append(s.Issuers, iss)
	}
	return s, nil
}

// keys returns the issuer's public keys as JWKS JSON, private parts and
// unusable keys dropped.
func (p *Provider) keys(ctx context.Context, ic IssuerConfig) (string, error) {
	var raw []byte
	switch {
	case ic.JWKSFile != "":
		b, err := os.ReadFile(ic.JWKSFile)
		if err != nil {
			return "", err
		}
		raw = b
	default:
		u := ic.JWKSURL
		if u == "" {
			op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), ic.URL)
			if err != nil {
				return "", fmt.Errorf("OIDC discovery: %w", err)
			}
			var meta struct {
				JWKSURI string `json:"jwks_uri"`
			}
			if err := op.Claims(&meta); err != nil || meta.JWKSURI == "" {
				return "", fmt.Errorf("OIDC discovery at %s gave no jwks_uri", ic.URL)
			}
			u = meta.JWKSURI
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return "", err
		}
		resp, err := p.client.Do(req)
		if err != nil {
			return "", fmt.Errorf("fetch JWKS %s: %w", u, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("fetch JWKS %s: HTTP %s", u, resp.Status)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return "", fmt.Errorf("fetch JWKS %s: %w", u, err)
		}
		raw = b
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return "", fmt.Errorf("JWKS is not a JSON Web Key Set: %w", err)
	}
	var public jose.JSONWebKeySet
	for _, k := range set.Keys {
		if !k.Valid() || k.Use == "enc" {
			continue
		}
		public.Keys = append(public.Keys, k.Public())
	}
	if len(public.Keys) == 0 {
		return "", fmt.Errorf("JWKS holds no usable signing key")
	}
	b, err := json.Marshal(public)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
