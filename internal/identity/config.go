package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/orgguard/orgguard/guardrails"
)

// Config is the worker's trust config as written (docs/security.md): which
// issuers it trusts, which modes need no token, and the governance floor.
// It is the worker's, never the pack's.
type Config struct {
	Path      string
	Digest    string // hex SHA-256 of the file
	ClockSkew time.Duration
	Issuers   []IssuerConfig
	Requester Requester
	Floor     Floor
}

// IssuerConfig is a trusted issuer before its keys are fetched.
type IssuerConfig struct {
	Issuer
	// JWKSURL overrides discovery (the issuer's jwks_uri).
	JWKSURL string
	// JWKSFile pins keys from a file: nothing is fetched (air-gapped
	// workers, tests).
	JWKSFile string
	Where    string
}

type issuerBlock struct {
	Name        string    `hcl:"name,label"`
	URL         string    `hcl:"url"`
	Audience    string    `hcl:"audience"`
	NameClaim   *string   `hcl:"name_claim,optional"`
	GroupsClaim *string   `hcl:"groups_claim,optional"`
	JWKSURL     *string   `hcl:"jwks_url,optional"`
	JWKSFile    *string   `hcl:"jwks_file,optional"`
	Body        hcl.Body  `hcl:",remain"`
	DefRange    hcl.Range `hcl:",def_range"`
}

type requesterBlock struct {
	UnverifiedModes []string  `hcl:"unverified_modes,optional"`
	DefRange        hcl.Range `hcl:",def_range"`
}

type policyBlock struct {
	Name               string    `hcl:"name,label"`
	Approvers          []string  `hcl:"approvers,optional"`
	IdPGroups          []string  `hcl:"idp_groups,optional"`
	Quorum             *int      `hcl:"quorum,optional"`
	SeparationOfDuties *bool     `hcl:"separation_of_duties,optional"`
	Timeout            *string   `hcl:"timeout,optional"`
	OnTimeout          *string   `hcl:"on_timeout,optional"`
	EscalateTo         *string   `hcl:"escalate_to,optional"`
	DefRange           hcl.Range `hcl:",def_range"`
}

type ruleBlock struct {
	Kinds      []string  `hcl:"kinds,optional"`
	Guardrails []string  `hcl:"guardrails,optional"`
	Policies   []string  `hcl:"policies"`
	DefRange   hcl.Range `hcl:",def_range"`
}

type packsBlock struct {
	Digests  []string  `hcl:"digests,optional"`
	KeyFiles []string  `hcl:"signing_key_files,optional"`
	DefRange hcl.Range `hcl:",def_range"`
}

// LoadConfig reads a trust config. Diagnostics carry file:line:col.
func LoadConfig(path string) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read trust config", Detail: err.Error()}}
	}
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, path)
	if diags.HasErrors() {
		return nil, diags
	}
	var cf struct {
		ClockSkew hcl.Expression  `hcl:"clock_skew,optional"`
		Issuers   []issuerBlock   `hcl:"issuer,block"`
		Requester *requesterBlock `hcl:"requester,block"`
		Policies  []policyBlock   `hcl:"approval_policy,block"`
		Rules     []ruleBlock     `hcl:"require_approval,block"`
		Packs     *packsBlock     `hcl:"packs,block"`
	}
	diags = append(diags, gohcl.DecodeBody(f.Body, nil, &cf)...)
	if diags.HasErrors() {
		return nil, diags
	}
	sum := sha256.Sum256(src)
	c := &Config{Path: path, Digest: hex.EncodeToString(sum[:]), ClockSkew: DefaultClockSkew}
	errorf := func(r hcl.Range, summary, format string, args ...any) {
		rr := r
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &rr})
	}
	dir := filepath.Dir(path)
	if cf.ClockSkew != nil && cf.ClockSkew.Range().Start.Byte != cf.ClockSkew.Range().End.Byte {
		var raw string
		diags = append(diags, gohcl.DecodeExpression(cf.ClockSkew, nil, &raw)...)
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 || d > 10*time.Minute {
			errorf(cf.ClockSkew.Range(), "Invalid clock_skew", "clock_skew = %q: want a duration from 0s to 10m, such as \"60s\"", raw)
		} else {
			c.ClockSkew = d
		}
	}
	seen := map[string]bool{}
	for _, b := range cf.Issuers {
		u, err := url.Parse(b.URL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			errorf(b.DefRange, "Invalid issuer URL", "issuer %q: url = %q is not an http(s) URL", b.Name, b.URL)
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			errorf(b.DefRange, "Insecure issuer URL", "issuer %q: url = %q uses plain http; only loopback issuers (the dev issuer) may", b.Name, b.URL)
		case seen[b.URL]:
			errorf(b.DefRange, "Duplicate issuer", "issuer %q: %s is already configured", b.Name, b.URL)
		case strings.TrimSpace(b.Audience) == "":
			errorf(b.DefRange, "Missing audience", "issuer %q: audience (the OIDC client ID orgguard's tokens are issued to) is empty", b.Name)
		}
		seen[b.URL] = true
		ic := IssuerConfig{Issuer: Issuer{Name: b.Name, URL: b.URL, Audience: b.Audience, NameClaim: "email"}, Where: rangeString(b.DefRange)}
		if b.NameClaim != nil {
			ic.NameClaim = *b.NameClaim
		}
		if b.GroupsClaim != nil {
			ic.GroupsClaim = *b.GroupsClaim
		}
		if b.JWKSURL != nil {
			ic.JWKSURL = *b.JWKSURL
		}
		if b.JWKSFile != nil {
			ic.JWKSFile = relTo(dir, *b.JWKSFile)
		}
		c.Issuers = append(c.Issuers, ic)
	}
	if len(cf.Issuers) == 0 {
		errorf(hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos}, "No issuer", "a trust config names at least one issuer block")
	}
	if cf.Requester != nil {
		for _, m := range cf.Requester.UnverifiedModes {
			if m != "check" && m != "plan" {
				errorf(cf.Requester.DefRange, "Invalid unverified mode", "requester.unverified_modes: %q; only \"check\" and \"plan\" may run without a verified requester", m)
			}
		}
		c.Requester.UnverifiedModes = cf.Requester.UnverifiedModes
	}
	for _, b := range cf.Policies {
		p := guardrails.ApprovalPolicy{Name: b.Name, Approvers: b.Approvers, IdPGroups: b.IdPGroups, Quorum: 1, SeparationOfDuties: true,
			Timeout: guardrails.DefaultApprovalTimeout, OnTimeout: "expire"}
		if _, dup := c.Floor.Policy(b.Name); dup {
			errorf(b.DefRange, "Duplicate approval policy", "approval_policy %q is defined twice", b.Name)
		}
		if len(p.Approvers)+len(p.IdPGroups) == 0 {
			errorf(b.DefRange, "No approvers", "approval_policy %q names no approvers and no idp_groups", b.Name)
		}
		if b.Quorum != nil {
			if *b.Quorum < 1 || (len(p.IdPGroups) == 0 && *b.Quorum > len(p.Approvers)) {
				errorf(b.DefRange, "Invalid quorum", "approval_policy %q: quorum = %d, with %d named approver(s)", b.Name, *b.Quorum, len(p.Approvers))
			}
			p.Quorum = *b.Quorum
		}
		if b.SeparationOfDuties != nil {
			p.SeparationOfDuties = *b.SeparationOfDuties
		}
		if b.Timeout != nil {
			d, err := guardrails.ParseDuration(*b.Timeout)
			if err != nil || d <= 0 {
				errorf(b.DefRange, "Invalid timeout", "approval_policy %q: timeout = %q", b.Name, *b.Timeout)
			}
			p.Timeout = d
		}
		if b.OnTimeout != nil {
			if *b.OnTimeout != "expire" && *b.OnTimeout != "escalate" {
				errorf(b.DefRange, "Invalid on_timeout", "approval_policy %q: on_timeout must be \"expire\" or \"escalate\"", b.Name)
			}
			p.OnTimeout = *b.OnTimeout
		}
		if b.EscalateTo != nil {
			p.EscalateTo = *b.EscalateTo
		}
		c.Floor.Policies = append(c.Floor.Policies, p)
	}
	for i, b := range cf.Policies {
		if e := c.Floor.Policies[i].EscalateTo; e != "" {
			if _, ok := c.Floor.Policy(e); !ok {
				errorf(b.DefRange, "Unknown policy", "approval_policy %q: escalate_to = %q is not an approval_policy of this trust config", b.Name, e)
			}
		}
	}
	for _, b := range cf.Rules {
		r := ApprovalRule{Kinds: b.Kinds, Guardrails: b.Guardrails, Policies: b.Policies, Where: rangeString(b.DefRange)}
		if len(r.Kinds)+len(r.Guardrails) == 0 {
			errorf(b.DefRange, "Empty rule", "require_approval names no kinds and no guardrails")
		}
		if len(r.Policies) == 0 {
			errorf(b.DefRange, "No policies", "require_approval: policies lists the trust config's approval policies the matched guardrails must use")
		}
		for _, p := range r.Policies {
			if _, ok := c.Floor.Policy(p); !ok {
				errorf(b.DefRange, "Unknown policy", "require_approval: policy %q is not an approval_policy of this trust config", p)
			}
		}
		c.Floor.Rules = append(c.Floor.Rules, r)
	}
	if b := cf.Packs; b != nil {
		c.Floor.PackDigests = b.Digests
		for _, kf := range b.KeyFiles {
			raw, err := os.ReadFile(relTo(dir, kf))
			if err != nil {
				errorf(b.DefRange, "Cannot read pack key", "packs.signing_key_files: %v", err)
				continue
			}
			var k jose.JSONWebKey
			if err := k.UnmarshalJSON(raw); err != nil || !k.IsPublic() {
				errorf(b.DefRange, "Invalid pack key", "packs.signing_key_files: %s is not a public JWK", kf)
				continue
			}
			c.Floor.PackKeys = append(c.Floor.PackKeys, strings.TrimSpace(string(raw)))
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

func relTo(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func rangeString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
}

// DiagnosticsText formats diagnostics one per line as file:line:col:
// summary: detail, for logs and errors outside a terminal.
func DiagnosticsText(diags hcl.Diagnostics) string {
	var lines []string
	for _, d := range diags {
		where := ""
		if d.Subject != nil {
			where = rangeString(*d.Subject) + ": "
		}
		lines = append(lines, where+d.Summary+": "+d.Detail)
	}
	return strings.Join(lines, "\n")
}
