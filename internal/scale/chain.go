package scale

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// A chain is the calls one unit of work makes one after the other: the
// discovery, one account's preflight, one check. The bare fan-out tags
// every request with its chain in the User-Agent (the simulator logs it,
// awssim.Call.UserAgent), so the lower bound knows which calls could not
// have run in parallel. SigV4 does not sign the User-Agent, so the tag
// changes nothing else.
const chainTag = "orgguard-scale-chain/"

type chainKey struct{}

// withChain marks the requests made with ctx as calls of chain id.
func withChain(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, chainKey{}, id)
}

// chainOf is the chain a logged User-Agent names, "" for none.
func chainOf(userAgent string) string {
	_, after, ok := strings.Cut(userAgent, chainTag)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(after, " ")
	return id
}

// chainAccount is the account a chain belongs to: "" for the discovery,
// which comes before every account.
func chainAccount(id string) string {
	kind, rest, _ := strings.Cut(id, "/")
	if kind == "discover" {
		return ""
	}
	account, _, _ := strings.Cut(rest, "/")
	return account
}

// chainIsShared reports the chain of a unit of several guardrails
// ("unit/<account>/<region>", no guardrail).
func chainIsShared(id string) bool {
	return strings.HasPrefix(id, "unit/") && strings.Count(id, "/") == 2
}

// chainIsPreflight reports the chain of an account's preflight, which its
// checks wait for.
func chainIsPreflight(id string) bool { return strings.HasPrefix(id, "preflight/") }

// taggingClient adds the chain of a request's context to its User-Agent.
type taggingClient struct{ next aws.HTTPClient }

func (c taggingClient) Do(r *http.Request) (*http.Response, error) {
	if id, ok := r.Context().Value(chainKey{}).(string); ok && id != "" {
		r.Header.Set("User-Agent", r.Header.Get("User-Agent")+" "+chainTag+id)
	}
	return c.next.Do(r)
}
