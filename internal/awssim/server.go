package awssim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value serves the demo organization.
type Options struct {
	// Seed is the organization to serve; nil means DemoSeed().
	Seed *Seed
	// Addr is the listen address; default "127.0.0.1:0" (a free port).
	Addr string
	// PageSize caps every list operation's page size (and is its default
	// when the client sends no limit), so tests exercise pagination with a
	// small organization. 0 keeps each API's AWS default.
	PageSize int
	// Faults are active from the start; see also (*Server).SetFaults.
	Faults []Fault
	// Now is the clock for resource ages, credential expiry and the call
	// log; default time.Now.
	Now func() time.Time
	// RandSeed seeds the generator of resource IDs, credentials and fault
	// error rates, so two servers with the same options hand out the same IDs.
	RandSeed uint64
	// CallLogLimit bounds the call log for long-running servers: past it
	// the oldest calls are dropped. 0 keeps every call (tests).
	CallLogLimit int
	// OnCall, when set, is called after every logged call, outside the
	// server lock (cmd/awssim prints calls with it). It must not block.
	OnCall func(Call)
	// ConsistencyDelay turns on eventual consistency: IAM roles and their
	// policies, KMS keys, key policies and aliases become usable by other
	// services, and AWS Config evaluations complete, only this long (on
	// the Now clock) after they were written or started. 0 reads
	// AWSSIM_CONSISTENCY_DELAY; negative, or neither set, is off: every
	// write is visible at once. See consistency.go.
	ConsistencyDelay time.Duration
	// IgnoreEnvironment makes New ignore AWSSIM_CONSISTENCY_DELAY and
	// AWSSIM_FAULTS, for tests that must see exactly their options.
	IgnoreEnvironment bool
}

// Server is a simulated AWS organization behind one HTTP endpoint. Create it
// with New; it is safe for concurrent use.
type Server struct {
	opts    Options
	seed    *Seed
	now     func() time.Time
	ln      net.Listener
	httpSrv *http.Server
	url     string

	services []*service
	byTarget map[string]*service   // JSON target prefix -> service
	byName   map[string][]*service // signing name -> services (s3 and s3control share "s3")
	// bySmithyName maps RPC v2 CBOR service names to services.
	bySmithyName map[string]*service

	faults *faultSet
	// consistencyDelay is Options.ConsistencyDelay (or the environment's);
	// 0 means off.
	consistencyDelay time.Duration

	// mu guards everything below. Every operation runs with it held, which
	// keeps operations atomic as AWS API calls are and makes the simulator
	// race-free without per-resource locking.
	mu           sync.Mutex
	rng          *rand.Rand
	org          *organization
	accounts     map[string]*account
	accountOrder []string
	creds        map[string]*principal
	issued       int // sessions issued, to purge expired ones now and then
	calls        []Call
	mgmtKeyID    string
}

// New builds the state from the seed and starts serving on Options.Addr.
func New(opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	if err := s.listen(opts.Addr); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) listen(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("awssim listen: %w", err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpSrv.Serve(ln) }()
	return nil
}

// newServer builds a Server without listening; New and tests use it.
func newServer(opts Options) (*Server, error) {
	if err := applyEnvironment(&opts); err != nil {
		return nil, err
	}
	seed := opts.Seed
	if seed == nil {
		var err error
		if seed, err = DemoSeed(); err != nil {
			return nil, err
		}
	} else if err := seed.validate(); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	s := &Server{
		opts:         opts,
		seed:         seed,
		now:          opts.Now,
		byTarget:     map[string]*service{},
		byName:       map[string][]*service{},
		bySmithyName: map[string]*service{},
		faults:       newFaultSet(opts.Faults, opts.RandSeed),
		rng:          rand.New(rand.NewPCG(opts.RandSeed, 0xa55e55)),
		accounts:     map[string]*account{},
		creds:        map[string]*principal{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.consistencyDelay = max(opts.ConsistencyDelay, 0)
	for _, svc := range services() {
		svc.defaultCodes()
		s.services = append(s.services, svc)
		if svc.TargetPrefix != "" {
			s.byTarget[svc.TargetPrefix] = svc
		}
		if svc.SmithyServiceName != "" {
			s.bySmithyName[svc.SmithyServiceName] = svc
		}
		s.byName[svc.Name] = append(s.byName[svc.Name], svc)
	}
	if err := s.buildState(seed); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	for _, svc := range s.services {
		if svc.Init != nil {
			if err := svc.Init(s, seed); err != nil {
				return nil, fmt.Errorf("seed %s: %w", svc.Name, err)
			}
		}
	}
	s.mgmtKeyID = seed.ManagementCredentials.AccessKeyID
	s.creds[s.mgmtKeyID] = managementPrincipal(seed)
	return s, nil
}

// URL is the endpoint to use as the SDK's BaseEndpoint / AWS_ENDPOINT_URL.
func (s *Server) URL() string { return s.url }

// Close stops the server and drops open connections.
func (s *Server) Close() error {
	if s.httpSrv == nil {
		return nil
	}
	return s.httpSrv.Close()
}

// ManagementCredentials returns the seed's long-term keys of the management
// account principal.
func (s *Server) ManagementCredentials() (accessKeyID, secretAccessKey string) {
	c := s.seed.ManagementCredentials
	return c.AccessKeyID, c.SecretAccessKey
}

// ManagementAccountID is the organization's management account.
func (s *Server) ManagementAccountID() string { return s.seed.ManagementAccountID }

// Seed returns the seed the server was built from. Treat it as read-only.
func (s *Server) Seed() *Seed { return s.seed }

// StateSummary describes the served organization, for the ready line of
// cmd/awssim and for logs.
type StateSummary struct {
	OrganizationID      string
	ManagementAccountID string
	RootID              string
	Accounts            int
	ActiveAccounts      int
	SuspendedAccounts   int
	OUs                 int
	Regions             []string
}

// Summary counts the organization's accounts and OUs.
func (s *Server) Summary() StateSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := StateSummary{
		OrganizationID: s.org.ID, ManagementAccountID: s.org.MasterID, RootID: s.org.RootID,
		Accounts: len(s.accountOrder), OUs: len(s.org.ous), Regions: append([]string(nil), s.seed.Regions...),
	}
	for _, id := range s.accountOrder {
		switch s.accounts[id].Status {
		case "ACTIVE":
			sum.ActiveAccounts++
		case "SUSPENDED":
			sum.SuspendedAccounts++
		}
	}
	return sum
}

// SetFaults replaces the active faults and resets their token buckets.
func (s *Server) SetFaults(faults ...Fault) { s.faults.set(faults) }

// request is one call being served, handed to the operation.
type request struct {
	srv    *Server
	svc    *service
	Op     string
	Caller *principal
	// Account is the caller's account.
	Account *account
	// Region is the signing region, us-east-1 for global services.
	Region string
	HTTP   *http.Request
	Body   []byte
	// Form holds Query protocol parameters.
	Form url.Values
	// Path holds REST path parameters.
	Path map[string]string
	// jsonParams is the decoded JSON body (JSON protocols), for the call log.
	jsonParams map[string]any
	// received is when ServeHTTP got the request (zero for requests the
	// simulator makes itself), for Call.Duration.
	received time.Time
}

// ServeHTTP routes the request the way AWS does, authenticates it, applies
// faults, runs the operation and logs the call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	if r.Method != http.MethodHead && acceptsGzip(r) {
		cw := &compressingWriter{w: w}
		defer cw.finish()
		w = cw
	}
	reqID := s.requestID()
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	auth, authErr := parseAuthorization(r.Header.Get("Authorization"))
	req, handler, resolveErr := s.resolve(r, body, auth)
	if req == nil {
		// No service could be determined, so no protocol shape either;
		// answer in the Query shape, the most widely understood.
		writeQueryError(w, "", reqID, resolveErr)
		return
	}
	req.received = received
	call := Call{Service: req.svc.Name, Operation: req.Op, Region: req.Region}
	fail := func(e *apiError) {
		call.ErrorCode = e.Code
		s.logCall(&call, req)
		s.notify(call)
		s.writeError(w, req, reqID, e)
	}

	// Authentication comes first, as in AWS: an unknown key or bad signature
	// is reported even for unknown operations.
	codes := req.svc.Codes
	if authErr != nil {
		code := "MissingAuthenticationToken"
		if req.svc.Protocol.isJSON() || req.svc.Protocol == protoRESTJSON {
			code = "MissingAuthenticationTokenException"
		}
		fail(errForbidden(code, "Request is missing Authentication Token"))
		return
	}
	s.mu.Lock()
	p := s.creds[auth.AccessKeyID]
	s.mu.Unlock()
	if p == nil {
		fail(newError(statusFor(codes.UnknownKey), codes.UnknownKey, "The security token included in the request is invalid."))
		return
	}
	call.AccountID, call.Principal = p.AccountID, p.ARN
	call.SessionName, call.SourceIdentity = p.SessionName, p.SourceIdentity
	if !verifySigV4(r, body, auth, p.secret) {
		fail(errForbidden("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."))
		return
	}
	if p.sessionToken != "" && r.Header.Get("X-Amz-Security-Token") != p.sessionToken {
		fail(newError(statusFor(codes.UnknownKey), codes.UnknownKey, "The security token included in the request is invalid."))
		return
	}
	if !p.expires.IsZero() && !s.now().Before(p.expires) {
		fail(newError(statusFor(codes.ExpiredToken), codes.ExpiredToken, "The security token included in the request is expired"))
		return
	}
	req.Caller = p
	s.mu.Lock()
	req.Account = s.accounts[p.AccountID]
	s.mu.Unlock()
	if req.Account != nil && !s.regionEnabled(req.Account, req.Region) {
		// An account's credentials are not valid in a region it has not
		// enabled: AWS answers with the service's invalid-token error
		// (InvalidClientTokenId, UnrecognizedClientException, AuthFailure),
		// "The security token included in the request is invalid". Not
		// OptInRequired, which EC2 documents for services the account has
		// not subscribed to. See "Manage AWS STS in an AWS Region" (IAM
		// User Guide) and DisableRegion ("removes all IAM access to any
		// resources that reside in that Region").
		fail(newError(statusFor(codes.UnknownKey), codes.UnknownKey, "The security token included in the request is invalid."))
		return
	}
	if resolveErr != nil {
		fail(resolveErr)
		return
	}

	v := s.faults.evaluate(req.svc.Name, req.Op, p.AccountID, req.Region)
	call.Latency, call.Throttled = v.latency, v.throttled && !v.accessDenied
	if v.latency > 0 {
		t := time.NewTimer(v.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case v.accessDenied:
		fail(errForbidden(codes.AccessDenied, "User: %s is not authorized to perform: %s:%s", p.ARN, req.svc.Name, req.Op))
		return
	case v.throttled:
		fail(newError(codes.throttlingStatus(), codes.Throttling, "Rate exceeded"))
		return
	case v.internal:
		fail(internalError(codes))
		return
	case v.unavailable:
		fail(unavailableError(codes))
		return
	}

	var lost *apiError
	if v.lost {
		lost = internalError(codes)
		if v.lostUnavailable {
			lost = unavailableError(codes)
		}
	}
	out, ae := s.runOp(handler, req, &call, lost)
	s.notify(call)
	if ae != nil {
		s.writeError(w, req, reqID, ae)
		return
	}
	if lost != nil {
		s.writeError(w, req, reqID, lost)
		return
	}
	s.writeResult(w, req, reqID, out)
}

func internalError(codes errorCodes) *apiError {
	return newError(statusFor(codes.Internal), codes.Internal, "We encountered an internal error. Please try again.")
}

func unavailableError(codes errorCodes) *apiError {
	return newError(statusFor(codes.Unavailable), codes.Unavailable, "Service is unavailable. Please try again later.")
}

// runOp runs the operation and logs the call under the lock. A panicking
// operation (a simulator bug) must not leave the lock held and wedge every
// later request, so it is turned into the service's 5xx error. lost, when
// set, is the error a LoseResponse fault answers instead of a successful
// result; the call is logged with its code and ResponseLost.
func (s *Server) runOp(handler operation, req *request, call *Call, lost *apiError) (out any, ae *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			out, ae = nil, newError(http.StatusInternalServerError, req.svc.Codes.Internal, "simulator panic in %s: %v", req.Op, p)
		}
		if ae != nil {
			call.ErrorCode = ae.Code
		} else if lost != nil {
			call.ErrorCode, call.ResponseLost = lost.Code, true
		}
		s.logCallLocked(call, req)
	}()
	out, err := handler(req)
	if err != nil {
		return nil, asAPIError(err, req.svc.Codes.Internal)
	}
	return out, nil
}

// resolve finds the service and operation. It returns a nil request only
// when not even the service is known; otherwise the error (unknown
// operation, malformed body) is reported after authentication.
func (s *Server) resolve(r *http.Request, body []byte, auth *sigV4Auth) (*request, operation, *apiError) {
	req := &request{srv: s, HTTP: r, Body: body}
	if auth != nil {
		req.Region = auth.Region
	}
	finish := func(svc *service) {
		req.svc = svc
		if svc.Global {
			req.Region = "us-east-1"
		}
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		svc := s.byTarget[prefix]
		if svc == nil {
			// Answer in JSON, the shape the client expects, and log the
			// call under the signing name so a missing service shows up.
			name := prefix
			if auth != nil {
				name = auth.Service
			}
			svc = &service{Name: name, Protocol: protoJSON11}
			svc.defaultCodes()
			finish(svc)
			req.Op = op
			return req, nil, errBadRequest("UnknownOperationException", "the simulator does not implement %s", target)
		}
		finish(svc)
		req.Op = op
		req.jsonParams = map[string]any{}
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := jsonUnmarshal(body, &req.jsonParams); err != nil {
				return req, nil, errBadRequest("SerializationException", "Start of structure or map found where not expected")
			}
		}
		h := svc.Ops[op]
		if h == nil {
			return req, nil, errBadRequest(svc.Codes.UnknownOp, "%s is not a valid operation", op)
		}
		return req, h, nil
	}
	if r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor" {
		name, op, ok := parseRPCv2Path(r.URL.Path)
		svc := s.bySmithyName[name]
		if !ok || svc == nil {
			return nil, nil, errBadRequest("UnknownOperationException", "unknown RPC v2 path %q", r.URL.Path)
		}
		finish(svc)
		req.Op = op
		req.jsonParams = map[string]any{}
		if len(body) > 0 {
			if err := cborUnmarshal(body, &req.jsonParams); err != nil {
				return req, nil, errBadRequest("SerializationException", "could not decode CBOR body: %v", err)
			}
		}
		h := svc.Ops[op]
		if h == nil {
			return req, nil, errBadRequest(svc.Codes.UnknownOp, "%s is not a valid operation", op)
		}
		return req, h, nil
	}
	if auth == nil {
		return nil, nil, errForbidden("MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	candidates := s.byName[auth.Service]
	form, isQuery := queryForm(r, body)
	if len(candidates) == 0 {
		// Log and answer calls to services the simulator lacks, so a test
		// that needs one sees which service and operation it called.
		svc := &service{Name: auth.Service, Protocol: protoRESTJSON}
		req.Op = r.Method + " " + r.URL.Path
		if isQuery {
			svc.Protocol, req.Form, req.Op = protoQuery, form, form.Get("Action")
		}
		svc.defaultCodes()
		finish(svc)
		return req, nil, errBadRequest("UnknownService", "the simulator does not implement service %q", auth.Service)
	}
	if isQuery {
		for _, svc := range candidates {
			if !svc.Protocol.isQuery() {
				continue
			}
			finish(svc)
			req.Form = form
			req.Op = form.Get("Action")
			h := svc.Ops[req.Op]
			if h == nil {
				return req, nil, errBadRequest(svc.Codes.UnknownOp, "The action %s is not valid for this web service.", req.Op)
			}
			return req, h, nil
		}
	}
	for _, svc := range candidates {
		for _, rt := range svc.Routes {
			if params, ok := matchRoute(rt, r); ok {
				finish(svc)
				req.Op, req.Path = rt.Op, params
				return req, rt.Handler, nil
			}
		}
	}
	finish(candidates[0])
	req.Op = r.Method + " " + r.URL.Path
	return req, nil, newError(http.StatusNotFound, candidates[0].Codes.UnknownOp, "no route for %s %s", r.Method, r.URL.Path)
}

// queryForm extracts Query protocol parameters: a form-encoded POST body, or
// the URL query of a GET, carrying Action.
func queryForm(r *http.Request, body []byte) (url.Values, bool) {
	ct := r.Header.Get("Content-Type")
	if r.Method == http.MethodPost && strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		v, err := url.ParseQuery(string(body))
		if err == nil && v.Get("Action") != "" {
			return v, true
		}
	}
	if r.Method == http.MethodGet {
		v := r.URL.Query()
		if v.Get("Action") != "" {
			return v, true
		}
	}
	return nil, false
}

func (s *Server) notify(c Call) {
	if s.opts.OnCall != nil {
		s.opts.OnCall(c)
	}
}

func (s *Server) logCall(c *Call, req *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logCallLocked(c, req)
}

func (s *Server) logCallLocked(c *Call, req *request) {
	params := map[string]string{}
	switch {
	case req.Form != nil:
		params = flattenForm(req.Form)
	case req.jsonParams != nil:
		flattenJSON("", req.jsonParams, params)
	case req.Path != nil:
		// REST: path parameters, query string and a JSON body's members,
		// flattened into one map (names as on the wire).
		for k, vs := range req.HTTP.URL.Query() {
			if len(vs) > 0 {
				params[k] = vs[0]
			}
		}
		var body map[string]any
		if req.svc.Protocol == protoRESTJSON && len(req.Body) > 0 && jsonUnmarshal(req.Body, &body) == nil {
			flattenJSON("", body, params)
		}
		for k, v := range req.Path {
			params[k] = v
		}
	}
	c.Params = params
	c.ParamsDigest = digestParams(params)
	c.Time = s.now()
	c.served(req)
	if lim := s.opts.CallLogLimit; lim > 0 && len(s.calls) >= lim {
		// Drop the oldest quarter at once so trimming stays amortised O(1).
		drop := max(lim/4, 1)
		s.calls = append(s.calls[:0:0], s.calls[drop:]...)
	}
	s.calls = append(s.calls, *c)
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.randomID(32, lowerHex)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
