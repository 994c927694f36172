package awsclient

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"
)

// fakeSTS answers GetCallerIdentity and AssumeRole; assumed credentials
// expire at whatever expires returns.
func fakeSTS(t *testing.T, expires func() time.Time) (aws.Config, *int) {
	t.Helper()
	var mu sync.Mutex
	assumed := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "text/xml")
		switch r.Form.Get("Action") {
		case "GetCallerIdentity":
			fmt.Fprint(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::100000000001:user/op</Arn>`+
				`<UserId>AIDA</UserId><Account>100000000001</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
		case "AssumeRole":
			mu.Lock()
			assumed++
			mu.Unlock()
			fmt.Fprintf(w, `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA</AccessKeyId>`+
				`<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>%s</Expiration></Credentials>`+
				`<AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`,
				expires().UTC().Format(time.RFC3339), r.Form.Get("RoleArn"))
		default:
			http.Error(w, "unexpected "+r.Form.Get("Action"), http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}, &assumed
}

// clock is a settable clock for the session cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func creds(t *testing.T, f *Factory, account, runID, sourceIdentity string) aws.CredentialsProvider {
	t.Helper()
	cfg, _, err := f.Account(context.Background(), account, "eu-west-1", runID, sourceIdentity)
	require.NoError(t, err)
	return cfg.Credentials
}

func TestSessionCacheIsBounded(t *testing.T) {
	t.Parallel()
	root, _ := fakeSTS(t, func() time.Time { return time.Now().Add(time.Hour) })
	f := New(root, Options{MaxCachedSessions: 3})
	first := creds(t, f, "111111111111", "run-1", "")
	for _, acct := range []string{"222222222222", "333333333333", "444444444444", "555555555555"} {
		creds(t, f, acct, "run-1", "")
	}
	require.Equal(t, 3, f.CachedSessions())
	// The least recently used went first; the most recent ones are reused.
	require.NotSame(t, first, creds(t, f, "111111111111", "run-1", ""))
	last := creds(t, f, "555555555555", "run-1", "")
	require.Same(t, last, creds(t, f, "555555555555", "run-1", ""))
	require.Equal(t, 3, f.CachedSessions())
}

func TestSessionCacheDropsExpiredAndIdleSessions(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	// The assumed credentials expire after 15 minutes, well before the
	// session duration: expiry, not idleness, must drop them.
	root, assumed := fakeSTS(t, func() time.Time { return c.Now().Add(15 * time.Minute) })
	f := New(root, Options{SessionDuration: time.Hour, Now: c.Now})

	used := creds(t, f, "111111111111", "run-1", "")
	_, err := used.Retrieve(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, *assumed)
	idle := creds(t, f, "222222222222", "run-1", "") // never retrieved: no expiry known
	require.Equal(t, 2, f.CachedSessions())

	c.Add(10 * time.Minute)
	require.Same(t, used, creds(t, f, "111111111111", "run-1", ""), "valid credentials are reused")

	c.Add(6 * time.Minute) // past the expiry
	require.NotSame(t, used, creds(t, f, "111111111111", "run-1", ""), "expired credentials are not reused")
	require.Same(t, idle, creds(t, f, "222222222222", "run-1", ""), "16 minutes is not idle for a 1-hour session")

	// Another hour with nobody asking for account 2: the next insert
	// drops it.
	c.Add(time.Hour)
	creds(t, f, "333333333333", "run-1", "")
	require.Equal(t, 1, f.CachedSessions())
}

func TestReleaseRunDropsOneAccountOfOneRun(t *testing.T) {
	t.Parallel()
	root, _ := fakeSTS(t, func() time.Time { return time.Now().Add(time.Hour) })
	f := New(root, Options{})
	creds(t, f, "111111111111", "run-1", "")
	creds(t, f, "111111111111", "run-1", "alice@example.com")
	otherRun := creds(t, f, "111111111111", "run-2", "")
	otherAccount := creds(t, f, "222222222222", "run-1", "")
	require.Equal(t, 4, f.CachedSessions())

	f.ReleaseRun("run-1", "111111111111")
	require.Equal(t, 2, f.CachedSessions())
	require.Same(t, otherRun, creds(t, f, "111111111111", "run-2", ""))
	require.Same(t, otherAccount, creds(t, f, "222222222222", "run-1", ""))
}
