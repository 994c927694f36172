package awssim

import (
	"regexp"
	"strings"
	"time"
)

// STS: Query protocol, regional endpoint, signing name "sts".

func stsService() *service {
	return &service{
		Name:     "sts",
		Protocol: protoQuery,
		XMLNS:    "https://sts.amazonaws.com/doc/2011-06-15/",
		Ops: map[string]operation{
			"AssumeRole":        stsAssumeRole,
			"GetCallerIdentity": stsGetCallerIdentity,
		},
	}
}

var (
	roleARNPattern     = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(?:[\x21-\x7E]*/)?([\w+=,.@-]{1,64})$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

type stsCredentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type stsAssumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}

type assumeRoleResult struct {
	Credentials     stsCredentials
	AssumedRoleUser stsAssumedRoleUser
	SourceIdentity  string `xml:",omitempty"`
}

func stsAssumeRole(r *request) (any, error) {
	caller := r.Caller
	roleARN := r.param("RoleArn")
	sessionName := r.param("RoleSessionName")
	if roleARN == "" {
		return nil, errBadRequest("ValidationError", "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if sessionName == "" {
		return nil, errBadRequest("ValidationError", "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	}
	if !sessionNamePattern.MatchString(sessionName) {
		return nil, errBadRequest("ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", sessionName)
	}
	m := roleARNPattern.FindStringSubmatch(roleARN)
	if m == nil {
		return nil, errBadRequest("ValidationError", "%s is invalid", roleARN)
	}
	duration, err := r.paramInt("DurationSeconds")
	if err != nil {
		return nil, err
	}
	if duration == 0 {
		duration = 3600
	}
	if duration < 900 || duration > 43200 {
		return nil, errBadRequest("ValidationError", "1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", duration)
	}
	sourceIdentity := r.param("SourceIdentity")
	if sourceIdentity != "" && (len(sourceIdentity) < 2 || len(sourceIdentity) > 64 || strings.HasPrefix(strings.ToLower(sourceIdentity), "aws:")) {
		return nil, errBadRequest("ValidationError", "1 validation error detected: Value '%s' at 'sourceIdentity' failed to satisfy constraint", sourceIdentity)
	}

	denied := errForbidden("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, roleARN)
	if caller.isRoot() {
		return nil, errForbidden("AccessDenied", "Roles may not be assumed by root accounts.")
	}
	target := r.srv.accounts[m[1]]
	if target == nil || target.Status != "ACTIVE" || r.srv.faults.deniesTarget("sts", "AssumeRole", m[1], r.Region) {
		return nil, denied
	}
	if !r.srv.regionEnabled(target, r.Region) {
		// The STS endpoint of a region the target account has not enabled
		// cannot issue its credentials (STS AssumeRole errors).
		return nil, errForbidden("RegionDisabledException", "STS is not activated in this region for account:%s. Your account administrator can activate STS in this region using the IAM Console.", target.ID)
	}
	role := target.roles[m[2]]
	if role == nil {
		return nil, denied
	}
	// A role created a moment ago is not assumable yet, and a trust
	// policy changed a moment ago has not replaced the old one everywhere
	// (eventual consistency, consistency.go).
	trusted, externalID, ok := r.srv.trustInForce(role)
	if !ok || role.ServiceLinked || !caller.trustedBy(trusted) {
		return nil, denied
	}
	if externalID != "" && r.param("ExternalId") != externalID {
		return nil, denied
	}
	// Source identity is sticky: once a session carries one, every session
	// chained from it carries the same, and it cannot be changed.
	if caller.SourceIdentity != "" {
		if sourceIdentity != "" && sourceIdentity != caller.SourceIdentity {
			return nil, denied
		}
		sourceIdentity = caller.SourceIdentity
	}
	if caller.RoleARN != "" && duration > 3600 {
		// Role chaining limits sessions to one hour.
		return nil, errBadRequest("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if duration > role.MaxSessionDuration {
		return nil, errBadRequest("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	keyID, p := r.srv.issueSession(role, target.ID, sessionName, sourceIdentity, time.Duration(duration)*time.Second)
	return &assumeRoleResult{
		Credentials: stsCredentials{
			AccessKeyId:     keyID,
			SecretAccessKey: p.secret,
			SessionToken:    p.sessionToken,
			Expiration:      p.expires.Format(time.RFC3339),
		},
		AssumedRoleUser: stsAssumedRoleUser{AssumedRoleId: p.UserID, Arn: p.ARN},
		SourceIdentity:  sourceIdentity,
	}, nil
}

type getCallerIdentityResult struct {
	UserId  string
	Account string
	Arn     string
}

func stsGetCallerIdentity(r *request) (any, error) {
	return &getCallerIdentityResult{UserId: r.Caller.UserID, Account: r.Caller.AccountID, Arn: r.Caller.ARN}, nil
}
