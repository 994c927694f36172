package awssim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// sigV4Auth is the parsed Authorization header of a SigV4-signed request.
type sigV4Auth struct {
	AccessKeyID   string
	Date          string // yyyymmdd from the credential scope
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
}

const sigV4Algorithm = "AWS4-HMAC-SHA256"

var errNoAuth = errors.New("missing authentication token")

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/sts/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=abcd".
func parseAuthorization(h string) (*sigV4Auth, error) {
	if h == "" {
		return nil, errNoAuth
	}
	rest, ok := strings.CutPrefix(h, sigV4Algorithm+" ")
	if !ok {
		return nil, errors.New("unsupported authorization algorithm")
	}
	a := &sigV4Auth{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, errors.New("malformed authorization header")
		}
		switch k {
		case "Credential":
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return nil, errors.New("malformed credential scope")
			}
			a.AccessKeyID, a.Date, a.Region, a.Service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		}
	}
	if a.AccessKeyID == "" || a.Signature == "" || len(a.SignedHeaders) == 0 {
		return nil, errors.New("incomplete authorization header")
	}
	return a, nil
}

// verifySigV4 recomputes the request signature with secret and compares it in
// constant time. The canonical request is built from what the client declared
// it signed (SignedHeaders), exactly as AWS does server side, so headers the
// Go transport adds after signing (Accept-Encoding) do not matter.
func verifySigV4(r *http.Request, body []byte, a *sigV4Auth, secret string) bool {
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" || !strings.HasPrefix(amzDate, a.Date) {
		return false
	}
	key := signingKey(secret, a.Date, a.Region, a.Service)
	scope := strings.Join([]string{a.Date, a.Region, a.Service, "aws4_request"}, "/")

	// Most services sign the path URI-encoded twice, S3 only once. Accepting
	// either keeps verification independent of per-service SDK settings while
	// still proving the caller holds the secret.
	escaped := r.URL.EscapedPath()
	if escaped == "" {
		escaped = "/"
	}
	for _, uri := range []string{escaped, escapePath(escaped)} {
		canonical := strings.Join([]string{
			r.Method,
			uri,
			canonicalQuery(r.URL.RawQuery),
			canonicalHeaders(r, a.SignedHeaders),
			strings.Join(a.SignedHeaders, ";"),
			payloadHash,
		}, "\n")
		sum := sha256.Sum256([]byte(canonical))
		toSign := strings.Join([]string{sigV4Algorithm, amzDate, scope, hex.EncodeToString(sum[:])}, "\n")
		sig := hex.EncodeToString(hmacSHA256(key, toSign))
		if hmac.Equal([]byte(sig), []byte(a.Signature)) {
			return true
		}
	}
	return false
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return raw
	}
	var pairs []string
	for k, vs := range vals {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		var vals []string
		if name == "host" {
			vals = []string{r.Host}
		} else if name == "content-length" {
			vals = []string{r.Header.Get("Content-Length")}
			if vals[0] == "" {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		} else {
			for _, v := range r.Header.Values(name) {
				vals = append(vals, strings.Join(strings.Fields(v), " "))
			}
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(strings.Join(vals, ","))
		b.WriteByte('\n')
	}
	return b.String()
}

// escapePath encodes an already escaped path once more, keeping '/'.
func escapePath(p string) string { return uriEncode(p, false) }

// uriEncode is SigV4's UriEncode: everything but unreserved characters is
// percent-encoded; encodeSlash controls '/'.
func uriEncode(s string, encodeSlash bool) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
		}
	}
	return b.String()
}
