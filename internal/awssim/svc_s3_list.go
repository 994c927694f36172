package awssim

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
)

// --- ListObjectsV2 -------------------------------------------------------

type s3ListBucketResult struct {
	Name                  string           `xml:"Name"`
	Prefix                string           `xml:"Prefix"`
	Delimiter             string           `xml:"Delimiter,omitempty"`
	MaxKeys               int              `xml:"MaxKeys"`
	KeyCount              int              `xml:"KeyCount"`
	IsTruncated           bool             `xml:"IsTruncated"`
	ContinuationToken     string           `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string           `xml:"NextContinuationToken,omitempty"`
	StartAfter            string           `xml:"StartAfter,omitempty"`
	EncodingType          string           `xml:"EncodingType,omitempty"`
	Contents              []s3ListObject   `xml:"Contents"`
	CommonPrefixes        []s3CommonPrefix `xml:"CommonPrefixes"`
}

type s3ListObject struct {
	Key               string   `xml:"Key"`
	LastModified      string   `xml:"LastModified"`
	ETag              string   `xml:"ETag"`
	ChecksumAlgorithm string   `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
	Size              int      `xml:"Size"`
	StorageClass      string   `xml:"StorageClass"`
	Owner             *s3Owner `xml:"Owner,omitempty"`
}

type s3CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

const s3ListTokenPrefix = "awssim-s3-list:"

// A continuation token names the last key (or common prefix, flag "p")
// returned, so a listing resumes after it even when keys were added or
// removed in between, as S3's opaque tokens do.
func s3EncodeListToken(last string, isPrefix bool) string {
	flag := "k"
	if isPrefix {
		flag = "p"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s3ListTokenPrefix + flag + last))
}

func s3DecodeListToken(tok string) (last string, isPrefix bool, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false, false
	}
	s, found := strings.CutPrefix(string(raw), s3ListTokenPrefix)
	if !found || s == "" {
		return "", false, false
	}
	return s[1:], s[0] == 'p', s[0] == 'p' || s[0] == 'k'
}

func s3ListObjectsV2(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	q := req.HTTP.URL.Query()
	if owner := req.HTTP.Header.Get("X-Amz-Expected-Bucket-Owner"); owner != "" && owner != req.Account.ID {
		return nil, errForbidden("AccessDenied", "Access Denied")
	}
	if q.Get("list-type") != "2" {
		return nil, errBadRequest("InvalidArgument", "Invalid List Type specified in Request")
	}
	enc := q.Get("encoding-type")
	if enc != "" && enc != "url" {
		return nil, errBadRequest("InvalidArgument", "Invalid Encoding Method specified in Request")
	}
	maxKeys := s3ListMaxKeys
	if v, ok := q["max-keys"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return nil, errBadRequest("InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		maxKeys = n
	}
	// S3 returns at most 1000 keys a page whatever max-keys asks for, and
	// reports the requested value.
	limit := min(maxKeys, s3ListMaxKeys)
	if ps := req.srv.opts.PageSize; ps > 0 && limit > ps {
		limit = ps
	}
	prefix, delim, startAfter := q.Get("prefix"), q.Get("delimiter"), q.Get("start-after")
	tok := q.Get("continuation-token")
	var after string
	var afterPrefix bool
	if _, sent := q["continuation-token"]; sent {
		var ok bool
		if after, afterPrefix, ok = s3DecodeListToken(tok); !ok {
			return nil, errBadRequest("InvalidArgument", "The continuation token provided is incorrect")
		}
	} else {
		after = startAfter
	}
	res := s3ListBucketResult{
		Name: b.Name, Prefix: prefix, Delimiter: delim, MaxKeys: maxKeys,
		ContinuationToken: tok, StartAfter: startAfter, EncodingType: enc,
	}
	esc := func(s string) string { return s }
	if enc == "url" {
		esc = s3URLEncode
		res.Prefix, res.Delimiter, res.StartAfter = esc(prefix), esc(delim), esc(startAfter)
	}
	fetchOwner := q.Get("fetch-owner") == "true"
	var lastCP string
	for _, k := range sortedKeys(b.objects) {
		if !strings.HasPrefix(k, prefix) || k <= after || (afterPrefix && strings.HasPrefix(k, after)) {
			continue
		}
		cur := b.objects[k].current()
		if cur == nil || cur.DeleteMarker {
			continue
		}
		cp := ""
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp = k[:len(prefix)+i+len(delim)]
			}
		}
		if cp != "" && cp == lastCP {
			continue
		}
		if limit == 0 {
			break
		}
		if res.KeyCount == limit {
			res.IsTruncated = true
			break
		}
		res.KeyCount++
		if cp != "" {
			lastCP = cp
			res.CommonPrefixes = append(res.CommonPrefixes, s3CommonPrefix{Prefix: esc(cp)})
			res.NextContinuationToken = s3EncodeListToken(cp, true)
			continue
		}
		o := s3ListObject{
			Key: esc(k), LastModified: cur.LastModified.UTC().Format(s3TimeFormat), ETag: cur.ETag,
			ChecksumAlgorithm: cur.ChecksumAlgorithm, Size: len(cur.Body), StorageClass: "STANDARD",
		}
		if cur.ChecksumAlgorithm != "" {
			o.ChecksumType = "FULL_OBJECT"
		}
		if fetchOwner {
			o.Owner = &s3Owner{ID: s3CanonicalUserID(req.Account.ID)}
		}
		res.Contents = append(res.Contents, o)
		res.NextContinuationToken = s3EncodeListToken(k, false)
	}
	if !res.IsTruncated {
		res.NextContinuationToken = ""
	}
	return &restResponse{Body: struct {
		XMLNS string `xml:"xmlns,attr"`
		s3ListBucketResult
	}{s3XMLNS, res}, RootElement: "ListBucketResult"}, nil
}

// s3URLEncode is the encoding-type=url form of a key: URL-encoded, keeping
// "/" readable as S3 does.
func s3URLEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}
