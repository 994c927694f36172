package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// S3 (REST-XML, signing name "s3"). Bucket state is account-wide (one
// namespace per account, shared with S3 Control's account public access
// block) but each bucket lives in a region: calls signed for another region
// get PermanentRedirect, as in AWS, so clients must use the bucket's region
// (ListBuckets reports it, as does GetBucketLocation).
//
// Bucket configuration lives here; objects, versioning and Object Lock in
// svc_s3_objects.go, svc_s3_lock.go, svc_s3_list.go and svc_s3_integrity.go.
//
// Requests are path-style (http://endpoint/bucket?encryption). The SDK uses
// path style by itself when BaseEndpoint is an IP address such as
// http://127.0.0.1:4566; with a host name it needs UsePathStyle.
func s3Service() *service {
	return &service{
		Name:     "s3",
		Protocol: protoRESTXML,
		XMLNS:    s3XMLNS,
		Routes: append(s3ObjectRoutes(), []route{
			{Method: "GET", Pattern: "/", Op: "ListBuckets", Handler: s3ListBuckets},
			{Method: "GET", Pattern: "/{Bucket}", Query: "encryption", Op: "GetBucketEncryption", Handler: s3GetBucketEncryption},
			{Method: "PUT", Pattern: "/{Bucket}", Query: "encryption", Op: "PutBucketEncryption", Handler: s3PutBucketEncryption},
			{Method: "DELETE", Pattern: "/{Bucket}", Query: "encryption", Op: "DeleteBucketEncryption", Handler: s3DeleteBucketEncryption},
			{Method: "GET", Pattern: "/{Bucket}", Query: "policy", Op: "GetBucketPolicy", Handler: s3GetBucketPolicy},
			{Method: "PUT", Pattern: "/{Bucket}", Query: "policy", Op: "PutBucketPolicy", Handler: s3PutBucketPolicy},
			{Method: "DELETE", Pattern: "/{Bucket}", Query: "policy", Op: "DeleteBucketPolicy", Handler: s3DeleteBucketPolicy},
			{Method: "GET", Pattern: "/{Bucket}", Query: "publicAccessBlock", Op: "GetPublicAccessBlock", Handler: s3GetPublicAccessBlock},
			{Method: "PUT", Pattern: "/{Bucket}", Query: "publicAccessBlock", Op: "PutPublicAccessBlock", Handler: s3PutPublicAccessBlock},
			{Method: "DELETE", Pattern: "/{Bucket}", Query: "publicAccessBlock", Op: "DeletePublicAccessBlock", Handler: s3DeletePublicAccessBlock},
			{Method: "GET", Pattern: "/{Bucket}", Query: "lifecycle", Op: "GetBucketLifecycleConfiguration", Handler: s3GetBucketLifecycle},
			{Method: "PUT", Pattern: "/{Bucket}", Query: "lifecycle", Op: "PutBucketLifecycleConfiguration", Handler: s3PutBucketLifecycle},
			{Method: "DELETE", Pattern: "/{Bucket}", Query: "lifecycle", Op: "DeleteBucketLifecycle", Handler: s3DeleteBucketLifecycle},
			{Method: "GET", Pattern: "/{Bucket}", Query: "location", Op: "GetBucketLocation", Handler: s3GetBucketLocation},
			{Method: "PUT", Pattern: "/{Bucket}", Op: "CreateBucket", Handler: s3CreateBucket},
			{Method: "HEAD", Pattern: "/{Bucket}", Op: "HeadBucket", Handler: s3HeadBucket},
		}...),
		Init: s3Init,
	}
}

const s3XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3State is an account's S3 state: its buckets and the account-level public
// access block that S3 Control manages.
type s3State struct {
	buckets    map[string]*s3Bucket
	accountPAB *s3PublicAccessBlock
}

type s3Bucket struct {
	Name       string
	Region     string
	Created    time.Time
	Encryption *s3SSEConfiguration
	Policy     string
	PAB        *s3PublicAccessBlock
	// Lifecycle is the LifecycleConfiguration document as the client sent
	// it; S3 returns the same document.
	Lifecycle []byte

	// Versioning is "" (never enabled), Enabled or Suspended.
	Versioning string
	// ObjectLock is nil unless Object Lock is enabled (at creation, or by
	// PutObjectLockConfiguration on a versioned bucket).
	ObjectLock *s3ObjectLockConfiguration
	// objects holds the bucket's keys (svc_s3_objects.go); storedBytes is
	// the size of all their versions, bounded by s3MaxBucketBytes.
	objects     map[string]*s3Object
	storedBytes int64
}

// s3PublicAccessBlock is PublicAccessBlockConfiguration, the same shape in S3
// and S3 Control.
type s3PublicAccessBlock struct {
	BlockPublicAcls       bool `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool `xml:"RestrictPublicBuckets"`
}

func (p *s3PublicAccessBlock) all() bool {
	return p != nil && p.BlockPublicAcls && p.IgnorePublicAcls && p.BlockPublicPolicy && p.RestrictPublicBuckets
}

type s3SSEConfiguration struct {
	Rules []s3SSERule `xml:"Rule"`
}

type s3SSERule struct {
	Default          *s3SSEDefault `xml:"ApplyServerSideEncryptionByDefault,omitempty"`
	BucketKeyEnabled *bool         `xml:"BucketKeyEnabled,omitempty"`
}

type s3SSEDefault struct {
	SSEAlgorithm   string `xml:"SSEAlgorithm"`
	KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
}

func newS3State() *s3State { return &s3State{buckets: map[string]*s3Bucket{}} }

func s3StateOf(a *account) *s3State { return accountData(a, "s3", newS3State) }

func s3Init(s *Server, seed *Seed) error {
	var walk func(accts []SeedAccount, ous []SeedOU) error
	walk = func(accts []SeedAccount, ous []SeedOU) error {
		for _, sa := range accts {
			if sa.S3 == nil {
				continue
			}
			st := s3StateOf(s.accounts[sa.ID])
			if sa.S3.AccountPublicAccessBlock {
				st.accountPAB = &s3PublicAccessBlock{true, true, true, true}
			}
			for i, sb := range sa.S3.Buckets {
				if !validBucketName(sb.Name) {
					return fmt.Errorf("account %s: invalid bucket name %q", sa.ID, sb.Name)
				}
				if owner, _ := s.findBucket(sb.Name); owner != nil {
					return fmt.Errorf("bucket %s declared twice", sb.Name)
				}
				region := sb.Region
				if region == "" {
					region = seed.Regions[0]
				}
				b := &s3Bucket{
					Name: sb.Name, Region: region,
					Created: s.now().Add(-time.Duration(200+i) * 24 * time.Hour).Truncate(time.Second),
					Policy:  sb.Policy,
				}
				if sb.Encrypted {
					b.Encryption = defaultSSE()
				}
				if sb.PublicAccessBlock {
					b.PAB = &s3PublicAccessBlock{true, true, true, true}
				}
				st.buckets[sb.Name] = b
			}
		}
		for _, ou := range ous {
			if err := walk(ou.Accounts, ou.OUs); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(seed.Accounts, seed.OUs)
}

// defaultSSE is what S3 applies to every new bucket since January 2023.
func defaultSSE() *s3SSEConfiguration {
	f := false
	return &s3SSEConfiguration{Rules: []s3SSERule{{Default: &s3SSEDefault{SSEAlgorithm: "AES256"}, BucketKeyEnabled: &f}}}
}

// findBucket looks a bucket up in the global namespace without creating
// state in accounts that have none.
func (s *Server) findBucket(name string) (*account, *s3Bucket) {
	for _, id := range s.accountOrder {
		a := s.accounts[id]
		v, ok := a.global["s3"]
		if !ok {
			continue
		}
		if b := v.(*s3State).buckets[name]; b != nil {
			return a, b
		}
	}
	return nil, nil
}

var (
	bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipAddressRE  = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
)

func validBucketName(n string) bool {
	return bucketNameRE.MatchString(n) && !strings.Contains(n, "..") && !ipAddressRE.MatchString(n)
}

// s3Bucket returns the caller's bucket named in the path. A bucket of another
// account is AccessDenied (the caller has no bucket policy grant); a bucket in
// another region than the request was signed for is PermanentRedirect.
func s3BucketFor(req *request) (*s3Bucket, error) {
	name := req.Path["Bucket"]
	owner, b := req.srv.findBucket(name)
	if b == nil {
		return nil, errNotFound("NoSuchBucket", "The specified bucket does not exist")
	}
	if owner != req.Account {
		return nil, errForbidden("AccessDenied", "Access Denied")
	}
	if b.Region != req.Region {
		return nil, newError(http.StatusMovedPermanently, "PermanentRedirect",
			"The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint. (bucket region %s)", b.Region)
	}
	if b.objects == nil {
		b.objects = map[string]*s3Object{}
	}
	return b, nil
}

func s3CanonicalUserID(accountID string) string {
	sum := sha256.Sum256([]byte("awssim-canonical-user:" + accountID))
	return hex.EncodeToString(sum[:])
}

type s3ListBucketsResult struct {
	Buckets           []s3BucketEntry `xml:"Buckets>Bucket"`
	Owner             s3Owner         `xml:"Owner"`
	ContinuationToken string          `xml:"ContinuationToken,omitempty"`
	Prefix            string          `xml:"Prefix,omitempty"`
}

type s3BucketEntry struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion"`
	BucketArn    string `xml:"BucketArn,omitempty"`
}

type s3Owner struct {
	DisplayName string `xml:"DisplayName,omitempty"`
	ID          string `xml:"ID"`
}

const s3TimeFormat = "2006-01-02T15:04:05.000Z"

func s3ListBuckets(req *request) (any, error) {
	q := req.HTTP.URL.Query()
	max := 0
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return nil, errBadRequest("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000")
		}
		max = n
	}
	limit, err := req.pageLimit(max, 10000, 10000)
	if err != nil {
		return nil, err
	}
	st := s3StateOf(req.Account)
	prefix, region := q.Get("prefix"), q.Get("bucket-region")
	var names []string
	for _, n := range sortedKeys(st.buckets) {
		b := st.buckets[n]
		if strings.HasPrefix(n, prefix) && (region == "" || b.Region == region) {
			names = append(names, n)
		}
	}
	page, next, err := paginate(names, q.Get("continuation-token"), limit,
		errBadRequest("InvalidArgument", "The continuation token provided is incorrect"))
	if err != nil {
		return nil, err
	}
	out := s3ListBucketsResult{
		Buckets:           []s3BucketEntry{},
		Owner:             s3Owner{ID: s3CanonicalUserID(req.Account.ID)},
		ContinuationToken: next,
		Prefix:            prefix,
	}
	for _, n := range page {
		b := st.buckets[n]
		out.Buckets = append(out.Buckets, s3BucketEntry{
			Name: n, CreationDate: b.Created.UTC().Format(s3TimeFormat), BucketRegion: b.Region,
		})
	}
	return &restResponse{Body: out, RootElement: "ListAllMyBucketsResult"}, nil
}

func s3CreateBucket(req *request) (any, error) {
	name := req.Path["Bucket"]
	if !validBucketName(name) {
		return nil, errBadRequest("InvalidBucketName", "The specified bucket is not valid.")
	}
	var cfg struct {
		LocationConstraint string `xml:"LocationConstraint"`
	}
	if len(strings.TrimSpace(string(req.Body))) > 0 {
		if err := xml.Unmarshal(req.Body, &cfg); err != nil {
			return nil, errBadRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
	}
	region := cfg.LocationConstraint
	switch {
	case region == "" && req.Region != "us-east-1":
		return nil, errBadRequest("IllegalLocationConstraintException",
			"The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	case region == "us-east-1":
		return nil, errBadRequest("InvalidLocationConstraint", "The specified location-constraint is not valid")
	case region != "" && region != req.Region:
		return nil, errBadRequest("IllegalLocationConstraintException",
			"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", region)
	}
	region = req.Region
	lock := false
	if v := req.HTTP.Header.Get("X-Amz-Bucket-Object-Lock-Enabled"); v != "" {
		switch strings.ToLower(v) {
		case "true":
			lock = true
		case "false":
		default:
			return nil, errBadRequest("InvalidArgument", "x-amz-bucket-object-lock-enabled must be true or false")
		}
	}
	if owner, b := req.srv.findBucket(name); b != nil {
		if owner != req.Account {
			return nil, errConflict("BucketAlreadyExists",
				"The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
		}
		// For legacy compatibility us-east-1 answers 200 to re-creating
		// a bucket you own there.
		if b.Region == "us-east-1" && region == "us-east-1" {
			return &restResponse{Header: http.Header{"Location": {"/" + name}}}, nil
		}
		return nil, errConflict("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	}
	// Since 2023 new buckets get SSE-S3 and all four public access block
	// settings; only seeded (legacy) buckets lack them.
	nb := &s3Bucket{
		Name: name, Region: region, Created: req.srv.now().UTC().Truncate(time.Millisecond),
		Encryption: defaultSSE(), PAB: &s3PublicAccessBlock{true, true, true, true},
		objects: map[string]*s3Object{},
	}
	if lock {
		// Object Lock at creation turns versioning on for good.
		nb.ObjectLock = &s3ObjectLockConfiguration{ObjectLockEnabled: "Enabled"}
		nb.Versioning = "Enabled"
	}
	s3StateOf(req.Account).buckets[name] = nb
	loc := "/" + name
	if region != "us-east-1" {
		loc = "http://" + name + ".s3.amazonaws.com/"
	}
	return &restResponse{Header: http.Header{"Location": {loc}}}, nil
}

func s3HeadBucket(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	return &restResponse{Header: http.Header{"X-Amz-Bucket-Region": {b.Region}}}, nil
}

func s3GetBucketLocation(req *request) (any, error) {
	name := req.Path["Bucket"]
	owner, b := req.srv.findBucket(name)
	if b == nil {
		return nil, errNotFound("NoSuchBucket", "The specified bucket does not exist")
	}
	if owner != req.Account {
		return nil, errForbidden("AccessDenied", "Access Denied")
	}
	loc := b.Region
	if loc == "us-east-1" {
		// us-east-1 is reported as an empty LocationConstraint.
		loc = ""
	}
	return &restResponse{Body: struct {
		XMLNS string `xml:"xmlns,attr"`
		Value string `xml:",chardata"`
	}{s3XMLNS, loc}, RootElement: "LocationConstraint"}, nil
}

func s3GetBucketEncryption(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	if b.Encryption == nil {
		return nil, errNotFound("ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found")
	}
	return &restResponse{Body: b.Encryption, RootElement: "ServerSideEncryptionConfiguration"}, nil
}

func s3PutBucketEncryption(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	var cfg s3SSEConfiguration
	if err := xml.Unmarshal(req.Body, &cfg); err != nil || len(cfg.Rules) == 0 {
		return nil, errBadRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	for _, r := range cfg.Rules {
		if r.Default == nil {
			continue
		}
		switch r.Default.SSEAlgorithm {
		case "AES256":
			if r.Default.KMSMasterKeyID != "" {
				return nil, errBadRequest("InvalidArgument", "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse")
			}
		case "aws:kms", "aws:kms:dsse":
		default:
			return nil, errBadRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
	}
	b.Encryption = &cfg
	return nil, nil
}

func s3DeleteBucketEncryption(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	// Since 2023 S3 cannot turn default encryption off: deleting the
	// configuration resets it to SSE-S3.
	b.Encryption = defaultSSE()
	return &restResponse{Status: http.StatusNoContent}, nil
}

func s3GetBucketPolicy(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	if b.Policy == "" {
		return nil, errNotFound("NoSuchBucketPolicy", "The bucket policy does not exist")
	}
	return &restResponse{Header: http.Header{"Content-Type": {"application/json"}}, Raw: []byte(b.Policy)}, nil
}

func s3PutBucketPolicy(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(req.Body, &doc); err != nil {
		return nil, errBadRequest("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
	}
	if _, ok := doc["Statement"]; !ok {
		return nil, errBadRequest("MalformedPolicy", "Missing required field Statement")
	}
	if b.PAB != nil && b.PAB.BlockPublicPolicy && policyIsPublic(doc) {
		return nil, errForbidden("AccessDenied", "User is not authorized to perform: s3:PutBucketPolicy because public policies are blocked by the BlockPublicPolicy block public access setting.")
	}
	b.Policy = string(req.Body)
	return &restResponse{Status: http.StatusNoContent}, nil
}

// policyIsPublic reports whether an Allow statement names "*" as principal
// without a condition, the simplest case S3 treats as public.
func policyIsPublic(doc map[string]any) bool {
	stmts, _ := doc["Statement"].([]any)
	if m, ok := doc["Statement"].(map[string]any); ok {
		stmts = []any{m}
	}
	for _, s := range stmts {
		st, _ := s.(map[string]any)
		if st["Effect"] != "Allow" || st["Condition"] != nil {
			continue
		}
		switch p := st["Principal"].(type) {
		case string:
			if p == "*" {
				return true
			}
		case map[string]any:
			if p["AWS"] == "*" {
				return true
			}
		}
	}
	return false
}

func s3DeleteBucketPolicy(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	b.Policy = ""
	return &restResponse{Status: http.StatusNoContent}, nil
}

func s3GetPublicAccessBlock(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	if b.PAB == nil {
		return nil, errNotFound("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
	}
	return &restResponse{Body: b.PAB, RootElement: "PublicAccessBlockConfiguration"}, nil
}

func s3PutPublicAccessBlock(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	var p s3PublicAccessBlock
	if err := xml.Unmarshal(req.Body, &p); err != nil {
		return nil, errBadRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	b.PAB = &p
	return nil, nil
}

func s3DeletePublicAccessBlock(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	b.PAB = nil
	return &restResponse{Status: http.StatusNoContent}, nil
}

// s3LifecycleDoc is parsed only to validate PutBucketLifecycleConfiguration.
type s3LifecycleDoc struct {
	Rules []struct {
		ID     string `xml:"ID"`
		Status string `xml:"Status"`
	} `xml:"Rule"`
}

func s3GetBucketLifecycle(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	if b.Lifecycle == nil {
		return nil, errNotFound("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")
	}
	return &restResponse{Header: http.Header{"Content-Type": {"application/xml"}}, Raw: b.Lifecycle}, nil
}

func s3PutBucketLifecycle(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	var doc s3LifecycleDoc
	if err := xml.Unmarshal(req.Body, &doc); err != nil || len(doc.Rules) == 0 {
		return nil, errBadRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	ids := map[string]bool{}
	for _, r := range doc.Rules {
		if r.Status != "Enabled" && r.Status != "Disabled" {
			return nil, errBadRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		if r.ID != "" && ids[r.ID] {
			return nil, errBadRequest("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule")
		}
		ids[r.ID] = true
	}
	b.Lifecycle = append([]byte(nil), req.Body...)
	return nil, nil
}

func s3DeleteBucketLifecycle(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	b.Lifecycle = nil
	return &restResponse{Status: http.StatusNoContent}, nil
}

// s3BucketsSorted lists an account's buckets by name (for Config evaluators).
func s3BucketsSorted(a *account) []*s3Bucket {
	st := s3StateOf(a)
	out := make([]*s3Bucket, 0, len(st.buckets))
	for _, n := range sortedKeys(st.buckets) {
		out = append(out, st.buckets[n])
	}
	return out
}
