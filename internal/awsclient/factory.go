// Package awsclient builds AWS SDK configurations per (account, region): the
// root configuration from the SDK's standard chain (environment, profiles,
// SSO, IMDS, AWS_ENDPOINT_URL[_<SERVICE>]), an AssumeRole credentials cache
// per account and approver, shared per-API rate limits that adapt to
// throttling, a per-run memo of Organizations reads, and one error
// classifier. Nothing here is specific to any endpoint.
package awsclient

import (
	"container/list"
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Options configure role assumption.
type Options struct {
	// RoleName is the role orgguard assumes in every member account.
	RoleName string
	// ExternalID, when the member roles require one.
	ExternalID string
	// ManagementRoleARN, when set, is assumed for Organizations calls;
	// otherwise the root credentials are used for them.
	ManagementRoleARN string
	// SessionDuration of assumed-role sessions.
	SessionDuration time.Duration
	// Limits override the default per-API rate limits ("service:Operation" → rps).
	Limits map[string]Limit
	// MaxCachedSessions bounds the assumed-role sessions kept for reuse
	// (one per account, run and approver); the least recently used one
	// goes first. Default DefaultMaxCachedSessions.
	MaxCachedSessions int
	// Now is the clock of the session cache; default time.Now.
	Now func() time.Time
}

// DefaultMaxCachedSessions keeps one session per account for a
// 2000-account organization with room for approvers' sessions; an evicted
// session costs one more AssumeRole, well inside the STS quota.
const DefaultMaxCachedSessions = 2048

// DefaultRoleName is the member role deploy/ creates.
const DefaultRoleName = "OrgguardExecutionRole"

// Factory hands out configurations. It is safe for concurrent use by all the
// activities of a worker.
type Factory struct {
	root    aws.Config
	opts    Options
	limiter *Limiter
	orgs    *orgMemo

	mu    sync.Mutex
	creds map[credKey]*list.Element // of *session, most recently used first
	lru   *list.List

	callerMu sync.Mutex
	caller   Caller
}

type credKey struct{ account, session, sourceIdentity string }

// session is a cached assumed-role credentials provider and what the cache
// needs to know to drop it.
type session struct {
	key      credKey
	creds    *aws.CredentialsCache
	lastUsed time.Time
	// expires is when the credentials last retrieved expire (zero until
	// the first retrieval); written by the provider, read under Factory.mu.
	expires time.Time
}

// Caller is the identity of the root credentials.
type Caller struct {
	Account   string
	ARN       string
	Partition string
}

// DefaultRetryMaxAttempts is how many times the SDK tries one AWS call
// (its standard retry mode, exponential backoff with jitter up to 20 s)
// unless AWS_MAX_ATTEMPTS or the shared config's max_attempts says
// otherwise. The SDK's own default is 3. An activity calls AWS tens of
// times, and when one call gives up the whole activity is retried by
// Temporal, its reads and idempotent writes with it: in the chaos test
// (20% throttling, 5% 5xx) a third of the successful calls were such
// repeats, and an apply of CloudTrail's ~20 calls spent its five attempts
// on transient errors. Throttling against a quota is paced by the
// adaptive limiter, which every attempt passes through.
const DefaultRetryMaxAttempts = 8

// Load builds a Factory from the SDK's default configuration chain.
func Load(ctx context.Context, opts Options) (*Factory, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.RetryMaxAttempts == 0 {
		cfg.RetryMaxAttempts = DefaultRetryMaxAttempts
	}
	return New(cfg, opts), nil
}

// New builds a Factory from a root configuration.
func New(root aws.Config, opts Options) *Factory {
	if opts.RoleName == "" {
		opts.RoleName = DefaultRoleName
	}
	if opts.SessionDuration == 0 {
		opts.SessionDuration = time.Hour
	}
	if root.HTTPClient == nil {
		// One connection pool for every client the worker builds. Left
		// unset, each service client the activities create (several per
		// check) gets its own transport, whose idle connections outlive
		// it: a 1,000-account check held thousands of idle connections
		// and ran out of file descriptors ("socket: too many open files"
		// on AssumeRole). AWS_CA_BUNDLE and the like still apply: the
		// SDK configures a BuildableClient it is given.
		root.HTTPClient = awshttp.NewBuildableClient()
	}
	if opts.MaxCachedSessions <= 0 {
		opts.MaxCachedSessions = DefaultMaxCachedSessions
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Factory{root: root, opts: opts, limiter: NewLimiter(opts.Limits), orgs: newOrgMemo(opts.Now),
		creds: map[credKey]*list.Element{}, lru: list.New()}
}

// Base is the worker's own configuration (its credentials, no role
// assumed): for the worker's own resources, such as the evidence bucket.
func (f *Factory) Base() aws.Config { return f.root.Copy() }

// Region is the root configuration's region.
func (f *Factory) Region() string { return f.root.Region }

// Caller returns (once) who the root credentials are: STS GetCallerIdentity,
// never guessed from the shape of a key.
func (f *Factory) Caller(ctx context.Context) (Caller, error) {
	// One call for all concurrent activities; a failure is not cached, so
	// the next activity attempt asks again.
	f.callerMu.Lock()
	defer f.callerMu.Unlock()
	if f.caller.Account != "" {
		return f.caller, nil
	}
	out, err := sts.NewFromConfig(f.root).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Caller{}, Classify(err, Where{Region: f.root.Region})
	}
	c := Caller{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn), Partition: "aws"}
	if a, err := arn.Parse(c.ARN); err == nil {
		c.Partition = a.Partition
	}
	f.caller = c
	return c, nil
}

// RoleARN is the member role's ARN in an account.
func (f *Factory) RoleARN(ctx context.Context, account string) (string, error) {
	c, err := f.Caller(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", c.Partition, account, f.opts.RoleName), nil
}

// RoleName is the member role's name.
func (f *Factory) RoleName() string { return f.opts.RoleName }

// Management returns the configuration for Organizations calls.
func (f *Factory) Management(ctx context.Context, region string) (aws.Config, Where, error) {
	return f.ManagementAs(ctx, region, "", "")
}

// ManagementAs is Management for an approved change when sourceIdentity
// is set: the session carries the approver as SourceIdentity, so CloudTrail
// in the management account shows who approved (STS sets it only on
// AssumeRole). It then assumes --management-role-arn, or else the member
// role in the management account.
//
// With a runID, the Organizations reads of the configuration share the
// run's memo (see orgMemo; ReleaseRun drops it): the OU tree and the
// policy list are read once per run and worker. Reads that decide or
// verify a write use ReadFresh.
func (f *Factory) ManagementAs(ctx context.Context, region, runID, sourceIdentity string) (aws.Config, Where, error) {
	cfg := f.root.Copy()
	if region != "" {
		cfg.Region = region
	}
	w := Where{Region: cfg.Region}
	c, err := f.Caller(ctx)
	if err != nil {
		return cfg, w, err
	}
	w.Account, w.Role = c.Account, c.ARN
	roleARN, externalID, key := f.opts.ManagementRoleARN, "", credKey{session: "orgguard-management"}
	if sourceIdentity != "" {
		key = credKey{session: SessionName(runID), sourceIdentity: sanitizeSourceIdentity(sourceIdentity)}
		if roleARN == "" {
			roleARN, externalID = fmt.Sprintf("arn:%s:iam::%s:role/%s", c.Partition, c.Account, f.opts.RoleName), f.opts.ExternalID
		}
	}
	if roleARN != "" {
		a, err := arn.Parse(roleARN)
		if err != nil {
			return cfg, w, fmt.Errorf("management role %q: %w", roleARN, err)
		}
		w.Account, w.Role, key.account = a.AccountID, roleARN, a.AccountID
		cfg.Credentials = f.cached(key, roleARN, externalID)
	}
	if runID != "" {
		f.orgs.attach(&cfg, runID, w.Account)
	}
	f.limiter.Attach(&cfg, w.Account)
	return cfg, w, nil
}

var sessionChars = regexp.MustCompile(`[^\w+=,.@-]`)

// SessionName is the RoleSessionName for a run: "orgguard-<run>", limited to
// what STS accepts.
func SessionName(runID string) string {
	s := sessionChars.ReplaceAllString("orgguard-"+runID, "-")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// Account returns a configuration for an account and region through the
// member role. sourceIdentity, when set (the approver of a change), is
// stamped on the session so CloudTrail in the member account shows it.
func (f *Factory) Account(ctx context.Context, account, region, runID, sourceIdentity string) (aws.Config, Where, error) {
	cfg := f.root.Copy()
	cfg.Region = region
	w := Where{Account: account, Region: region, Role: f.opts.RoleName}
	roleARN, err := f.RoleARN(ctx, account)
	if err != nil {
		return cfg, w, err
	}
	w.Role = roleARN
	key := credKey{account: account, session: SessionName(runID), sourceIdentity: sanitizeSourceIdentity(sourceIdentity)}
	cfg.Credentials = f.cached(key, roleARN, f.opts.ExternalID)
	f.limiter.Attach(&cfg, account)
	return cfg, w, nil
}

func sanitizeSourceIdentity(s string) string {
	s = sessionChars.ReplaceAllString(s, "-")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// cached returns the session of k, creating it when there is none or when
// the one there is stale. A configuration handed out earlier keeps working
// after its session left the cache: the cache only decides what is reused.
func (f *Factory) cached(k credKey, roleARN, externalID string) *aws.CredentialsCache {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opts.Now()
	if e, ok := f.creds[k]; ok {
		s := e.Value.(*session)
		if !f.stale(s, now) {
			s.lastUsed = now
			f.lru.MoveToFront(e)
			return s.creds
		}
		f.drop(e)
	}
	f.evict(now)
	s := &session{key: k, lastUsed: now}
	stsCfg := f.root.Copy()
	f.limiter.Attach(&stsCfg, "")
	client := sts.NewFromConfig(stsCfg)
	p := stscreds.NewAssumeRoleProvider(client, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = k.session
		o.Duration = f.opts.SessionDuration
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
		if k.sourceIdentity != "" {
			o.SourceIdentity = aws.String(k.sourceIdentity)
		}
	})
	s.creds = aws.NewCredentialsCache(expiryRecorder{p, f, s}, func(o *aws.CredentialsCacheOptions) {
		// Refresh well before expiry, with jitter so thousands of accounts
		// do not all refresh in the same second.
		o.ExpiryWindow = 5 * time.Minute
		o.ExpiryWindowJitterFrac = 0.3
	})
	f.creds[k] = f.lru.PushFront(s)
	return s.creds
}

// stale reports a session not worth keeping: its credentials expired, or
// nobody asked for it for a whole session duration (its credentials would
// have expired by then anyway).
func (f *Factory) stale(s *session, now time.Time) bool {
	return (!s.expires.IsZero() && !now.Before(s.expires)) || now.Sub(s.lastUsed) >= f.opts.SessionDuration
}

// evict drops stale sessions, then the least recently used ones until
// there is room for one more. Called with f.mu held, before an insert: the
// full scan costs far less than the AssumeRole that follows.
func (f *Factory) evict(now time.Time) {
	for e := f.lru.Front(); e != nil; {
		next := e.Next()
		if f.stale(e.Value.(*session), now) {
			f.drop(e)
		}
		e = next
	}
	for f.lru.Len() >= f.opts.MaxCachedSessions {
		f.drop(f.lru.Back())
	}
}

func (f *Factory) drop(e *list.Element) {
	delete(f.creds, e.Value.(*session).key)
	f.lru.Remove(e)
}

// ReleaseRun drops the sessions of one account in one run (every approver
// of it), when that account's baseline is done, and for the management
// account the run's Organizations memo. Sessions other workers hold leave
// their caches when they go stale.
func (f *Factory) ReleaseRun(runID, account string) {
	f.orgs.mu.Lock()
	f.orgs.release(memoKey{runID, account})
	f.orgs.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	name := SessionName(runID)
	for e := f.lru.Front(); e != nil; {
		next := e.Next()
		if k := e.Value.(*session).key; k.account == account && k.session == name {
			f.drop(e)
		}
		e = next
	}
}

// CachedSessions is how many sessions the cache holds.
func (f *Factory) CachedSessions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lru.Len()
}

// expiryRecorder notes when the credentials it hands out expire, so the
// cache can drop the session once they have.
type expiryRecorder struct {
	p aws.CredentialsProvider
	f *Factory
	s *session
}

func (r expiryRecorder) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := r.p.Retrieve(ctx)
	if err == nil && c.CanExpire {
		r.f.mu.Lock()
		r.s.expires = c.Expires
		r.f.mu.Unlock()
	}
	return c, err
}
