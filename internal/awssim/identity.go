package awssim

import (
	"fmt"
	"strings"
	"time"
)

// principal is who signed a request: the seed's management principal (long
// term keys) or a role session issued by the simulator's STS.
type principal struct {
	AccountID string
	// ARN as GetCallerIdentity reports it: arn:aws:iam::<acct>:root,
	// arn:aws:iam::<acct>:user/<name> or
	// arn:aws:sts::<acct>:assumed-role/<role>/<session>.
	ARN    string
	UserID string
	// Set for role sessions.
	RoleName       string
	RoleARN        string
	SessionName    string
	SourceIdentity string

	secret       string
	sessionToken string
	expires      time.Time // zero for long-term keys
}

// sessionIssuer is the ARN trust policies name for this principal: the role
// ARN for role sessions (so chained assumption matches a role in the trust),
// the principal's own ARN otherwise.
func (p *principal) sessionIssuer() string {
	if p.RoleARN != "" {
		return p.RoleARN
	}
	return p.ARN
}

// trustedBy reports whether a role trusting the given principal ARNs lets p
// assume it. An account root ARN (or bare account ID) trusts every principal
// of that account, as in IAM; "*" trusts anyone.
func (p *principal) trustedBy(trusted []string) bool {
	root := fmt.Sprintf("arn:aws:iam::%s:root", p.AccountID)
	for _, t := range trusted {
		if t == "*" || t == root || t == p.AccountID || t == p.sessionIssuer() || t == p.ARN {
			return true
		}
	}
	return false
}

// isRoot reports whether p is an account's root user, which AWS does not
// allow to assume roles.
func (p *principal) isRoot() bool { return strings.HasSuffix(p.ARN, ":root") }

// managementPrincipal builds the principal of the seed's starting keys.
func managementPrincipal(seed *Seed) *principal {
	c := seed.ManagementCredentials
	arn := c.PrincipalARN
	if arn == "" {
		arn = fmt.Sprintf("arn:aws:iam::%s:user/orgguard-operator", seed.ManagementAccountID)
	}
	// Root's user ID is the account ID; an IAM user's is AIDA plus 17
	// characters, derived from the key so it is stable.
	userID := seed.ManagementAccountID
	if strings.Contains(arn, ":user/") {
		id := strings.ToUpper(strings.TrimPrefix(c.AccessKeyID, "AKIA")) + "AAAAAAAAAAAAAAAAA"
		userID = "AIDA" + id[:17]
	}
	return &principal{AccountID: seed.ManagementAccountID, ARN: arn, UserID: userID, secret: c.SecretAccessKey}
}

// issueSession mints temporary credentials for a role session and registers
// them so later requests signed with them resolve to the session. Callers
// hold the lock.
func (s *Server) issueSession(role *iamRole, accountID, sessionName, sourceIdentity string, duration time.Duration) (string, *principal) {
	keyID := "ASIA" + s.randomID(16, upperAlnum)
	p := &principal{
		AccountID:      accountID,
		ARN:            fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", accountID, role.Name, sessionName),
		UserID:         role.ID + ":" + sessionName,
		RoleName:       role.Name,
		RoleARN:        role.ARN,
		SessionName:    sessionName,
		SourceIdentity: sourceIdentity,
		secret:         s.randomID(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
		sessionToken:   "IQoJb3JpZ2luX2VjE" + s.randomID(180, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
		expires:        s.now().Add(duration).UTC().Truncate(time.Second),
	}
	s.creds[keyID] = p
	s.issued++
	if s.issued%1024 == 0 {
		// A long demo run issues sessions forever; forget those expired for
		// over an hour (a request still signed with one then gets the
		// unknown-key error rather than ExpiredToken).
		now := s.now()
		for k, c := range s.creds {
			if !c.expires.IsZero() && now.After(c.expires.Add(time.Hour)) {
				delete(s.creds, k)
			}
		}
	}
	return keyID, p
}
