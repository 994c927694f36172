package activities

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// The read cache lets the guardrails of one account share what they read
// in one run: the Config rules of a region are listed once, not once per
// rule; the IAM credential report is generated and read once per account,
// not once per IAM control; global services (IAM, Organizations) are read
// once per account, not once per region. It sits in the SDK's middleware
// stack of the configurations handed to kinds (before rate limits,
// retries and signing, so a hit costs nothing), so kinds need not know.
//
// What it may serve, and when it may not:
//   - Reads only (Describe*, Get*, List*, Head*, GenerateCredentialReport),
//     successful or "not found", for one (run, account, role, epoch,
//     region — "global" for global services). Anything else is a write
//     and drops every entry of the account, in every run.
//   - Only checks of CheckAccountRegion read through it. Applies,
//     rollbacks and verification re-checks (CheckGuardrail) bypass it and
//     only drop what their writes may have changed, so a verify never sees
//     a cached read. A write another worker makes is behind a new epoch
//     (CheckAccountRegionInput.Epoch): the baseline counts its applies.
//   - A guardrail that reads the same thing twice is polling (a credential
//     report, a drift detection): the second read goes to AWS.
//   - Entries live until the account's baseline ends (ReleaseRun), at most
//     readCacheTTL, within a bound on entries and (estimated) bytes.
//
// Outputs are deep-copied in and out: kinds own what they get back.

const (
	// DefaultReadCacheEntries and DefaultReadCacheBytes bound the cache. An
	// account of the baseline pack leaves about 50 entries of a few KB; a
	// worker's 50 activity slots keep a few hundred accounts in flight at
	// most. ReleaseRun drops an account's entries when its baseline ends,
	// on the worker that runs it; other workers' entries age out.
	DefaultReadCacheEntries = 20_000
	DefaultReadCacheBytes   = 32 << 20
	// readCacheTTL bounds how old a served read may be, whatever else
	// happens (a baseline that never released its account, or released it
	// on another worker). An account's checks take seconds to minutes.
	readCacheTTL = 10 * time.Minute
)

// globalRegion keys the reads of global services.
const globalRegion = "global"

// ReadCacheStats counts what the cache did since the worker started.
type ReadCacheStats struct {
	Hits    int64 // reads served from the cache
	Shared  int64 // reads that waited for the same read in flight, then were served
	Misses  int64 // reads that went to AWS and were stored
	Bypass  int64 // reads that went to AWS around the cache (applies, verifies, polls)
	Dropped int64 // entries dropped by writes, ReleaseRun, age or the bounds
	Entries int
	Bytes   int64
}

type readMode int

const (
	// readsCached: reads are served from and stored in the cache.
	readsCached readMode = iota
	// readsBypass: reads go to AWS; writes still drop the account's entries.
	readsBypass
)

// readScope is what a configuration's reads are cached under.
type readScope struct {
	run, account, role, region string
	epoch                      int
	mode                       readMode
	// fresh: every read goes to AWS and refreshes the cache (a retried
	// check, which may have failed on what it read).
	fresh bool
}

type readKey struct {
	run, account, role string
	epoch              int
	region             string // globalRegion for global services
	service, operation string
	params             string // SHA-256 of the input's JSON
}

type readEntry struct {
	key  readKey
	out  any   // a private deep copy of the output; nil with err
	err  error // a "not found" answer
	size int64
	at   time.Time
}

type readCache struct {
	maxEntries int
	maxBytes   int64
	now        func() time.Time

	mu       sync.Mutex
	lru      *list.List // of *readEntry, most recently used first
	entries  map[readKey]*list.Element
	accounts map[string]map[*list.Element]struct{}
	// gens counts the writes per account: a read that was in flight across
	// a write is not stored.
	gens     map[string]uint64
	inflight map[readKey]chan struct{}
	bytes    int64
	stats    ReadCacheStats
}

func newReadCache(maxEntries int, maxBytes int64) *readCache {
	return &readCache{
		maxEntries: maxEntries, maxBytes: maxBytes, now: time.Now,
		lru: list.New(), entries: map[readKey]*list.Element{}, accounts: map[string]map[*list.Element]struct{}{},
		gens: map[string]uint64{}, inflight: map[readKey]chan struct{}{},
	}
}

// Stats reports what the cache did.
func (c *readCache) Stats() ReadCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes = c.lru.Len(), c.bytes
	return s
}

// attach puts the cache in front of every client built from cfg. Each
// call makes a new view: one per guardrail, which is what tells polling
// (the same read twice in one view) from sharing.
func (c *readCache) attach(cfg *aws.Config, s readScope) {
	v := &readView{c: c, s: s, seen: map[readKey]bool{}}
	// Clip: configurations are copied by value and share the slice.
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("orgguardReadCache", v.handle), middleware.Before)
	})
}

type readView struct {
	c    *readCache
	s    readScope
	mu   sync.Mutex
	seen map[readKey]bool
}

func (v *readView) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	service, op := operationOf(ctx, in.Parameters)
	switch opClass(op) {
	case opWrite:
		out, md, err := next.HandleInitialize(ctx, in)
		// Whatever the answer: a write that failed may have been applied.
		v.c.invalidate(v.s.account)
		return out, md, err
	case opOther:
		return next.HandleInitialize(ctx, in)
	}
	key, ok := v.key(service, op, in.Parameters)
	if !ok || v.s.mode == readsBypass {
		v.c.count(func(s *ReadCacheStats) { s.Bypass++ })
		return next.HandleInitialize(ctx, in)
	}
	v.mu.Lock()
	again := v.seen[key] || v.s.fresh
	v.seen[key] = true
	v.mu.Unlock()
	return v.c.read(ctx, key, again, func() (middleware.InitializeOutput, middleware.Metadata, error) {
		return next.HandleInitialize(ctx, in)
	})
}

func (v *readView) key(service, op string, params any) (readKey, bool) {
	b, err := json.Marshal(params)
	if err != nil {
		return readKey{}, false
	}
	sum := sha256.Sum256(b)
	region := v.s.region
	if globalOperation(service, op) {
		region = globalRegion
	}
	return readKey{run: v.s.run, account: v.s.account, role: v.s.role, epoch: v.s.epoch, region: region,
		service: service, operation: op, params: hex.EncodeToString(sum[:])}, true
}

// read serves key from the cache, or calls AWS once for every reader of
// key that comes while the call is in flight. again (a poll) always calls
// AWS and stores the fresher answer.
func (c *readCache) read(ctx context.Context, key readKey, again bool, call func() (middleware.InitializeOutput, middleware.Metadata, error)) (middleware.InitializeOutput, middleware.Metadata, error) {
	waited := false
	for {
		c.mu.Lock()
		if !again {
			if e, ok := c.lookup(key); ok {
				if waited {
					c.stats.Shared++
				} else {
					c.stats.Hits++
				}
				c.lru.MoveToFront(c.entries[key])
				c.mu.Unlock()
				if e.err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, e.err
				}
				out, _, _ := deepCopy(e.out)
				return middleware.InitializeOutput{Result: out}, middleware.Metadata{}, nil
			}
			if ch, ok := c.inflight[key]; ok {
				c.mu.Unlock()
				select {
				case <-ch:
					waited = true
					continue
				case <-ctx.Done():
					return middleware.InitializeOutput{}, middleware.Metadata{}, ctx.Err()
				}
			}
		}
		ch := make(chan struct{})
		if !again {
			c.inflight[key] = ch
		}
		gen := c.gens[key.account]
		c.mu.Unlock()

		out, md, err := call()

		c.mu.Lock()
		if !again {
			delete(c.inflight, key)
		}
		if c.gens[key.account] == gen {
			c.store(key, out.Result, err)
		}
		c.mu.Unlock()
		close(ch)
		return out, md, err
	}
}

// lookup returns a live entry; called with c.mu held.
func (c *readCache) lookup(key readKey) (*readEntry, bool) {
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*readEntry)
	if c.now().Sub(e.at) >= readCacheTTL {
		c.drop(el)
		return nil, false
	}
	return e, true
}

// store keeps a successful or "not found" answer; called with c.mu held.
func (c *readCache) store(key readKey, out any, err error) {
	e := &readEntry{key: key, at: c.now()}
	switch {
	case err == nil:
		cp, size, ok := deepCopy(out)
		if !ok {
			return
		}
		e.out, e.size = cp, size
	case notFound(err):
		e.err, e.size = err, int64(len(err.Error()))
	default:
		return
	}
	if old, ok := c.entries[key]; ok {
		c.drop(old)
	}
	c.stats.Misses++
	el := c.lru.PushFront(e)
	c.entries[key] = el
	if c.accounts[key.account] == nil {
		c.accounts[key.account] = map[*list.Element]struct{}{}
	}
	c.accounts[key.account][el] = struct{}{}
	c.bytes += e.size
	for c.lru.Len() > c.maxEntries || (c.bytes > c.maxBytes && c.lru.Len() > 1) {
		c.drop(c.lru.Back())
	}
	// What nobody read for a whole TTL is past its age anyway.
	for back := c.lru.Back(); back != nil && c.now().Sub(back.Value.(*readEntry).at) >= readCacheTTL; back = c.lru.Back() {
		c.drop(back)
	}
}

// drop removes one entry; called with c.mu held.
func (c *readCache) drop(el *list.Element) {
	e := el.Value.(*readEntry)
	c.lru.Remove(el)
	delete(c.entries, e.key)
	if m := c.accounts[e.key.account]; m != nil {
		delete(m, el)
		if len(m) == 0 {
			delete(c.accounts, e.key.account)
		}
	}
	c.bytes -= e.size
	c.stats.Dropped++
}

// invalidate drops every entry of an account (all runs, roles, regions):
// a write changed something there.
func (c *readCache) invalidate(account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[account]++
	for el := range c.accounts[account] {
		c.drop(el)
	}
}

// release drops the entries of one account in one run (ReleaseRun).
func (c *readCache) release(run, account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := range c.accounts[account] {
		if el.Value.(*readEntry).key.run == run {
			c.drop(el)
		}
	}
}

func (c *readCache) count(f func(*ReadCacheStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

type opKind int

const (
	opRead  opKind = iota // cached
	opWrite               // drops the account's entries
	opOther               // neither: starts an evaluation, changes nothing a check reads
)

// opClass sorts an operation by its name: AWS names reads Describe, Get,
// List and Head. GenerateCredentialReport only asks IAM for a report as
// fresh as four hours; DetectStackDrift and StartConfigRulesEvaluation
// start evaluations and change no resource.
func opClass(op string) opKind {
	switch {
	case op == "GenerateCredentialReport":
		return opRead
	case strings.HasPrefix(op, "Detect"), op == "StartConfigRulesEvaluation":
		return opOther
	}
	for _, p := range []string{"Describe", "Get", "List", "Head"} {
		if strings.HasPrefix(op, p) {
			return opRead
		}
	}
	return opWrite
}

// globalOperation: reads whose answer is the same from every region of an
// account.
func globalOperation(service, op string) bool {
	switch service {
	case "iam", "organizations":
		return true
	case "s3":
		return op == "ListBuckets"
	}
	return false
}

// operationOf names the service (the SDK's service ID, lower case, no
// spaces: "iam", "configservice") and operation of a call.
func operationOf(ctx context.Context, params any) (service, op string) {
	service = strings.ToLower(strings.ReplaceAll(awsmiddleware.GetServiceID(ctx), " ", ""))
	op = awsmiddleware.GetOperationName(ctx)
	if service == "" || op == "" {
		// Every SDK input is *<service package>.<Operation>Input.
		t := reflect.TypeOf(params)
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t != nil {
			service = t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
			op = strings.TrimSuffix(t.Name(), "Input")
		}
	}
	return service, op
}

// notFound reports an answer that a resource does not exist: as good a
// read as any (GetRole of a role a check looks for), so it is cached too.
func notFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorFault() == smithy.FaultServer {
		return false
	}
	code := ae.ErrorCode()
	return strings.HasPrefix(code, "NoSuch") || strings.Contains(code, "NotFound")
}

var readerType = reflect.TypeFor[io.Reader]()

// deepCopy copies an SDK output: pointers, structs (exported fields deep,
// the SDK's unexported bookkeeping by value), slices, maps and interfaces.
// size estimates the bytes it holds. ok is false for outputs that cannot
// be replayed (a streaming body).
func deepCopy(v any) (out any, size int64, ok bool) {
	if v == nil {
		return nil, 0, true
	}
	c := copier{}
	cp, ok := c.copy(reflect.ValueOf(v))
	if !ok {
		return nil, 0, false
	}
	return cp.Interface(), c.size, true
}

type copier struct{ size int64 }

// elems copies the elements of a slice or array into dst.
func (c *copier) elems(src, dst reflect.Value) (reflect.Value, bool) {
	for i := range src.Len() {
		e, ok := c.copy(src.Index(i))
		if !ok {
			return src, false
		}
		dst.Index(i).Set(e)
	}
	return dst, true
}

func (c *copier) copy(src reflect.Value) (reflect.Value, bool) {
	c.size += 8
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return src, true
		}
		if src.Type().Implements(readerType) {
			return src, false
		}
		e, ok := c.copy(src.Elem())
		if !ok {
			return src, false
		}
		dst := reflect.New(src.Type().Elem())
		dst.Elem().Set(e)
		return dst, true
	case reflect.Struct:
		dst := reflect.New(src.Type()).Elem()
		dst.Set(src)
		for i := range src.NumField() {
			if !src.Type().Field(i).IsExported() {
				continue
			}
			f, ok := c.copy(src.Field(i))
			if !ok {
				return src, false
			}
			dst.Field(i).Set(f)
		}
		return dst, true
	case reflect.Slice:
		if src.IsNil() {
			return src, true
		}
		dst := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		if src.Type().Elem().Kind() == reflect.Uint8 {
			reflect.Copy(dst, src)
			c.size += int64(src.Len())
			return dst, true
		}
		return c.elems(src, dst)
	case reflect.Array:
		return c.elems(src, reflect.New(src.Type()).Elem())
	case reflect.Map:
		if src.IsNil() {
			return src, true
		}
		dst := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			k, ok := c.copy(it.Key())
			if !ok {
				return src, false
			}
			e, ok := c.copy(it.Value())
			if !ok {
				return src, false
			}
			dst.SetMapIndex(k, e)
		}
		return dst, true
	case reflect.Interface:
		if src.IsNil() {
			return src, true
		}
		if src.Elem().Type().Implements(readerType) {
			return src, false
		}
		e, ok := c.copy(src.Elem())
		if !ok {
			return src, false
		}
		dst := reflect.New(src.Type()).Elem()
		dst.Set(e)
		return dst, true
	case reflect.String:
		c.size += int64(src.Len())
		return src, true
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return src, src.IsNil()
	}
	return src, true
}
