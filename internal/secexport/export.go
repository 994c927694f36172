package secexport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/workflows"
)

// Permissions are the IAM actions the export calls as the member role;
// deploy/iam/member-role-policy.json grants them.
var Permissions = []string{"securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings", "securityhub:GetFindings"}

// API is the part of the Security Hub client the exporter uses.
type API interface {
	BatchImportFindings(context.Context, *securityhub.BatchImportFindingsInput, ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
	BatchUpdateFindings(context.Context, *securityhub.BatchUpdateFindingsInput, ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error)
	securityhub.GetFindingsAPIClient
}

// ConfigFunc returns the AWS configuration for Security Hub calls in an
// account and region. It must be the account's own credentials (the
// member role): with the default product ARN, Security Hub accepts a
// finding only from the account the finding is about.
type ConfigFunc func(ctx context.Context, account, region string) (aws.Config, error)

// FactoryConfigs adapts the worker's AWS client factory: the member role
// in each account, with the session named after the run so CloudTrail in
// the member account shows which run's export wrote the findings.
func FactoryConfigs(f *awsclient.Factory, runID string) ConfigFunc {
	return func(ctx context.Context, account, region string) (aws.Config, error) {
		cfg, _, err := f.Account(ctx, account, region, runID, "")
		return cfg, err
	}
}

// Rates are the exporter's own request rates per account and region. They
// stay below Security Hub's quotas (BatchImportFindings and
// BatchUpdateFindings 10 requests/s with a burst of 30, GetFindings 3/s
// with a burst of 6, per account and Region) so that other callers in the
// account — Security Hub's console, SIEM integrations — keep some room.
type Rates struct {
	Import, Update, Get float64
}

// DefaultRates are 80% of the quotas (GetFindings rounded down to 2/s).
var DefaultRates = Rates{Import: 8, Update: 8, Get: 2}

// Options tune an export.
type Options struct {
	// HomeRegion receives the findings of organization-wide guardrails
	// (records in workflows.OrgRegion, SCPs): Security Hub is regional.
	// Default us-east-1.
	HomeRegion string
	// Concurrency is how many accounts are exported at once (default 4);
	// each holds one account's records in memory.
	Concurrency int
	// BatchSize is the findings per BatchImportFindings call, at most
	// (and by default) 100.
	BatchSize int
	// Rates default to DefaultRates.
	Rates Rates
	// MaxAttempts bounds the attempts of one call that Security Hub
	// throttles or fails with a 5xx (default 10), on top of the SDK's own
	// retries; Backoff is the first wait (default 500 ms), doubled per
	// attempt up to 20 s, with full jitter.
	MaxAttempts int
	Backoff     time.Duration
	// Progress, when set, is called once per account when it is done
	// (from the goroutine that exported it, never concurrently).
	Progress func(AccountResult)
	// Now is the clock of UpdatedAt; default time.Now.
	Now func() time.Time
	// NewClient builds the client from a configuration; default
	// securityhub.NewFromConfig.
	NewClient func(aws.Config) API
}

// Failure is one thing Security Hub refused or that could not be sent.
type Failure struct {
	Account, Region string
	// Action is the API action, "securityhub:BatchImportFindings".
	Action string
	// FindingID is set when Security Hub refused one finding; empty when
	// a whole call failed, then Findings says how many it carried.
	FindingID string
	Findings  int
	Code      string
	Message   string
}

func (f Failure) String() string {
	what := fmt.Sprintf("finding %s", f.FindingID)
	switch {
	case f.FindingID != "":
	case f.Findings == 1:
		what = "1 finding"
	default:
		what = fmt.Sprintf("%d findings", f.Findings)
	}
	msg := f.Message
	if f.Code != "" && !strings.Contains(msg, f.Code) {
		msg = f.Code + ": " + msg
	}
	return fmt.Sprintf("%s in account %s region %s: %s: %s", f.Action, f.Account, f.Region, what, msg)
}

// AccountResult is what an export did in one account.
type AccountResult struct {
	Account string
	Regions []string
	// Imported are findings Security Hub did not have; Updated existing
	// ones imported again. Resolved are findings set RESOLVED because the
	// resource passes now where it failed before, or because this run no
	// longer saw the resource (those are also archived: Archived). New
	// findings that pass are resolved as they are imported, as Security
	// Hub's own control findings are, and counted as imported only.
	Imported, Updated, Resolved, Archived int
	// Skipped are findings Security Hub holds from a later run than the
	// one exported: exporting an old run again does not roll them back.
	Skipped int
	// Failed counts findings not imported or not resolved.
	Failed   int
	Failures []Failure
}

// Summary totals an export.
type Summary struct {
	RunID                                                  string
	Accounts                                               int
	Imported, Updated, Resolved, Archived, Skipped, Failed int
	Failures                                               []Failure
}

// Export sends the findings of one run to Security Hub, account by
// account (never more than Concurrency accounts' records in memory) and
// per region, in the account's own Security Hub. It returns an error when
// the evidence cannot be read or ctx ends; what Security Hub refused is
// in the summary's failures, and the export goes on with the rest.
func Export(ctx context.Context, store evidence.Store, runID string, configs ConfigFunc, opts Options) (Summary, error) {
	opts = opts.withDefaults()
	sum := Summary{RunID: runID}
	m, err := store.Run(ctx, runID)
	if err != nil {
		return sum, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	accounts := make(chan string)
	for range opts.Concurrency {
		wg.Go(func() {
			for acct := range accounts {
				res, err := exportAccount(ctx, store, m, acct, configs, opts)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				} else {
					sum.add(res)
					if opts.Progress != nil {
						opts.Progress(res)
					}
				}
				mu.Unlock()
			}
		})
	}
	send := func(acct string) bool {
		select {
		case accounts <- acct:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for acct, err := range store.Accounts(ctx, runID) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("list the accounts of run %s: %w", runID, err)
			}
			mu.Unlock()
			break
		}
		if !send(acct) {
			break
		}
	}
	close(accounts)
	wg.Wait()
	slices.SortStableFunc(sum.Failures, func(a, b Failure) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return sum, firstErr
}

func (s *Summary) add(r AccountResult) {
	s.Accounts++
	s.Imported += r.Imported
	s.Updated += r.Updated
	s.Resolved += r.Resolved
	s.Archived += r.Archived
	s.Skipped += r.Skipped
	s.Failed += r.Failed
	s.Failures = append(s.Failures, r.Failures...)
}

func (o Options) withDefaults() Options {
	if o.HomeRegion == "" {
		o.HomeRegion = "us-east-1"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.BatchSize <= 0 || o.BatchSize > 100 {
		o.BatchSize = 100
	}
	if o.Rates.Import <= 0 {
		o.Rates.Import = DefaultRates.Import
	}
	if o.Rates.Update <= 0 {
		o.Rates.Update = DefaultRates.Update
	}
	if o.Rates.Get <= 0 {
		o.Rates.Get = DefaultRates.Get
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewClient == nil {
		o.NewClient = func(cfg aws.Config) API { return securityhub.NewFromConfig(cfg) }
	}
	return o
}

// exportAccount exports one account's records, region by region.
func exportAccount(ctx context.Context, store evidence.Store, m evidence.RunManifest, account string, configs ConfigFunc, opts Options) (AccountResult, error) {
	res := AccountResult{Account: account}
	recs, err := store.AccountRecords(ctx, m.RunID, account)
	if err != nil {
		return res, fmt.Errorf("read evidence of account %s in run %s: %w", account, m.RunID, err)
	}
	byRegion := map[string][]evidence.Record{}
	for _, r := range recs {
		if r.AccountID == "" {
			r.AccountID = account
		}
		if r.AccountID != account {
			// Security Hub would refuse the whole batch for it.
			res.Failures = append(res.Failures, Failure{Account: account, Region: r.Region, Action: "evidence",
				FindingID: FindingID(r), Findings: 1, Message: fmt.Sprintf("record of account %s stored under account %s; not exported", r.AccountID, account)})
			res.Failed++
			continue
		}
		region := r.Region
		if region == "" || region == workflows.OrgRegion {
			region = opts.HomeRegion
		}
		byRegion[region] = append(byRegion[region], r)
	}
	res.Regions = make([]string, 0, len(byRegion))
	for region := range byRegion {
		res.Regions = append(res.Regions, region)
	}
	slices.Sort(res.Regions)
	for _, region := range res.Regions {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		x := &regionExport{account: account, region: region, run: m, opts: opts, res: &res}
		cfg, err := configs(ctx, account, region)
		if err != nil {
			x.fail("aws configuration", "", len(byRegion[region]), err)
			continue
		}
		x.api = &limited{api: opts.NewClient(cfg), opts: opts,
			imp: rate.NewLimiter(rate.Limit(opts.Rates.Import), 1),
			upd: rate.NewLimiter(rate.Limit(opts.Rates.Update), 1),
			get: rate.NewLimiter(rate.Limit(opts.Rates.Get), 1)}
		if err := x.export(ctx, byRegion[region]); err != nil {
			return res, err
		}
	}
	return res, nil
}

// regionExport is the export of one account and region.
type regionExport struct {
	account, region string
	run             evidence.RunManifest
	opts            Options
	api             API
	res             *AccountResult
}

// prior is what Security Hub holds of a finding orgguard exported before.
type prior struct {
	finding  types.AwsSecurityFinding
	workflow types.WorkflowStatus
	seen     bool // in this run
}

func (x *regionExport) product() string {
	return DefaultProductARN(Partition(x.region), x.region, x.account)
}

// fail records a failed call (findingID empty) or a refused finding.
func (x *regionExport) fail(action, findingID string, n int, err error) {
	f := Failure{Account: x.account, Region: x.region, Action: action, FindingID: findingID, Findings: n}
	var api smithy.APIError
	if errors.As(err, &api) {
		f.Code, f.Message = api.ErrorCode(), api.ErrorMessage()
	} else {
		f.Message = err.Error()
	}
	x.res.Failures = append(x.res.Failures, f)
	x.res.Failed += n
}

func (x *regionExport) export(ctx context.Context, recs []evidence.Record) error {
	existing, err := x.existing(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Without the current state (Security Hub not enabled, no
		// access) nothing can be imported either: one failure for the
		// region, with AWS's answer.
		x.fail("securityhub:GetFindings", "", len(recs), err)
		return nil
	}
	meta := Meta{Pack: x.run.Pack, PackDigest: x.run.Digest, Now: x.opts.Now()}
	// One finding per ID: a record repeated in the run replaces the
	// earlier one, as a re-import would.
	var order []string
	findings := map[string]types.AwsSecurityFinding{}
	for _, r := range recs {
		f := Finding(r, x.region, meta)
		id := aws.ToString(f.Id)
		if p := existing[id]; p != nil && observedAfter(p.finding, r.RecordedAt) {
			p.seen = true
			x.res.Skipped++
			continue
		}
		if p := existing[id]; p != nil && p.finding.CreatedAt != nil {
			// The issue was first seen when the finding was created.
			f.CreatedAt = p.finding.CreatedAt
			f.FirstObservedAt = cmp.Or(p.finding.FirstObservedAt, p.finding.CreatedAt)
		}
		if _, dup := findings[id]; !dup {
			order = append(order, id)
		}
		findings[id] = f
	}
	var resolve []string
	for batch := range slices.Chunk(order, x.opts.BatchSize) {
		in := make([]types.AwsSecurityFinding, len(batch))
		for i, id := range batch {
			in[i] = findings[id]
		}
		ok, err := x.importBatch(ctx, in)
		if err != nil {
			return err
		}
		for _, id := range batch {
			if !ok[id] {
				continue
			}
			p := existing[id]
			if p == nil {
				x.res.Imported++
			} else {
				x.res.Updated++
				p.seen = true
			}
			if findings[id].Compliance.Status != types.ComplianceStatusPassed {
				continue
			}
			switch {
			case p == nil:
				resolve = append(resolve, id)
			case p.workflow == types.WorkflowStatusNew || p.workflow == types.WorkflowStatusNotified || p.workflow == "":
				resolve = append(resolve, id)
				x.res.Resolved++
			}
		}
	}
	// Findings orgguard exported before whose resource this run did not
	// see: archived (the provider's way to say a finding no longer
	// applies) and resolved.
	var stale []string
	for id, p := range existing {
		// A finding a later run wrote is that run's to resolve.
		if !p.seen && findings[id].Id == nil && !observedAfter(p.finding, x.run.StartedAt) {
			stale = append(stale, id)
		}
	}
	slices.Sort(stale)
	var archive []types.AwsSecurityFinding
	for _, id := range stale {
		p := existing[id]
		if p.finding.RecordState != types.RecordStateArchived {
			f := p.finding
			f.RecordState = types.RecordStateArchived
			f.UpdatedAt = aws.String(meta.Now.UTC().Format(time.RFC3339Nano))
			f.ProductFields = providerFields(f.ProductFields)
			f.ProductFields[FieldArchivedByRun] = x.run.RunID
			// When the resource was last known to be gone: an export of an
			// older run then leaves the archived finding alone.
			f.ProductFields[FieldRecordedAt] = cmp.Or(x.run.StartedAt, meta.Now).UTC().Format(time.RFC3339)
			archive = append(archive, f)
		}
	}
	archived := map[string]bool{}
	for batch := range slices.Chunk(archive, x.opts.BatchSize) {
		ok, err := x.importBatch(ctx, batch)
		if err != nil {
			return err
		}
		for id := range ok {
			archived[id] = true
			x.res.Archived++
		}
	}
	for _, id := range stale {
		p := existing[id]
		wasActive := p.finding.RecordState != types.RecordStateArchived
		if wasActive && !archived[id] {
			continue // its failure is reported
		}
		if p.workflow == types.WorkflowStatusNew || p.workflow == types.WorkflowStatusNotified || p.workflow == "" {
			resolve = append(resolve, id)
			x.res.Resolved++
		}
	}
	return x.resolve(ctx, resolve)
}

// observedAfter reports whether the finding records a check later than t
// (orgguard/recorded_at, second precision); false when either is unknown.
func observedAfter(f types.AwsSecurityFinding, t time.Time) bool {
	at, err := time.Parse(time.RFC3339, f.ProductFields[FieldRecordedAt])
	return err == nil && !t.IsZero() && at.After(t.Truncate(time.Second))
}

// existing reads the findings orgguard exported before in this account
// and region for this pack.
func (x *regionExport) existing(ctx context.Context) (map[string]*prior, error) {
	eq := func(v string) []types.StringFilter {
		return []types.StringFilter{{Value: aws.String(v), Comparison: types.StringFilterComparisonEquals}}
	}
	filters := &types.AwsSecurityFindingFilters{
		ProductArn:   eq(x.product()),
		AwsAccountId: eq(x.account),
		GeneratorId:  []types.StringFilter{{Value: aws.String(GeneratorPrefix), Comparison: types.StringFilterComparisonPrefix}},
	}
	if x.run.Pack != "" {
		// Another pack's findings are that pack's to resolve.
		filters.ProductFields = []types.MapFilter{{Key: aws.String(FieldPack), Value: aws.String(x.run.Pack), Comparison: types.MapFilterComparisonEquals}}
	}
	out := map[string]*prior{}
	p := securityhub.NewGetFindingsPaginator(x.api, &securityhub.GetFindingsInput{Filters: filters, MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, f := range page.Findings {
			pr := &prior{finding: f}
			if f.Workflow != nil {
				pr.workflow = f.Workflow.Status
			}
			out[aws.ToString(f.Id)] = pr
		}
	}
	return out, nil
}

// importBatch imports up to 100 findings and returns the IDs Security Hub
// accepted. A failed call is reported for its findings; only ctx ending is
// an error.
func (x *regionExport) importBatch(ctx context.Context, batch []types.AwsSecurityFinding) (map[string]bool, error) {
	ok := map[string]bool{}
	out, err := x.api.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		x.fail("securityhub:BatchImportFindings", "", len(batch), err)
		return ok, nil
	}
	failed := map[string]bool{}
	for _, f := range out.FailedFindings {
		id := aws.ToString(f.Id)
		failed[id] = true
		x.res.Failures = append(x.res.Failures, Failure{Account: x.account, Region: x.region, Action: "securityhub:BatchImportFindings",
			FindingID: id, Findings: 1, Code: aws.ToString(f.ErrorCode), Message: aws.ToString(f.ErrorMessage)})
		x.res.Failed++
	}
	for _, f := range batch {
		if id := aws.ToString(f.Id); !failed[id] {
			ok[id] = true
		}
	}
	return ok, nil
}

// resolve sets the findings' workflow status to RESOLVED, 100 at a time.
func (x *regionExport) resolve(ctx context.Context, ids []string) error {
	product := x.product()
	for batch := range slices.Chunk(ids, 100) {
		fis := make([]types.AwsSecurityFindingIdentifier, len(batch))
		for i, id := range batch {
			fis[i] = types.AwsSecurityFindingIdentifier{Id: aws.String(id), ProductArn: aws.String(product)}
		}
		out, err := x.api.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
			FindingIdentifiers: fis, Workflow: &types.WorkflowUpdate{Status: types.WorkflowStatusResolved}})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			x.fail("securityhub:BatchUpdateFindings", "", len(batch), err)
			continue
		}
		for _, u := range out.UnprocessedFindings {
			id := ""
			if u.FindingIdentifier != nil {
				id = aws.ToString(u.FindingIdentifier.Id)
			}
			x.res.Failures = append(x.res.Failures, Failure{Account: x.account, Region: x.region, Action: "securityhub:BatchUpdateFindings",
				FindingID: id, Findings: 1, Code: aws.ToString(u.ErrorCode), Message: aws.ToString(u.ErrorMessage)})
			x.res.Failed++
		}
	}
	return nil
}

// limited wraps the client: each call waits for the exporter's rate
// limit and is tried again, with backoff, while Security Hub throttles or
// fails with a 5xx.
type limited struct {
	api           API
	opts          Options
	imp, upd, get *rate.Limiter
}

func (l *limited) BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, o ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error) {
	return retried(ctx, l.opts, l.imp, func() (*securityhub.BatchImportFindingsOutput, error) {
		return l.api.BatchImportFindings(ctx, in, o...)
	})
}

func (l *limited) BatchUpdateFindings(ctx context.Context, in *securityhub.BatchUpdateFindingsInput, o ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error) {
	return retried(ctx, l.opts, l.upd, func() (*securityhub.BatchUpdateFindingsOutput, error) {
		return l.api.BatchUpdateFindings(ctx, in, o...)
	})
}

func (l *limited) GetFindings(ctx context.Context, in *securityhub.GetFindingsInput, o ...func(*securityhub.Options)) (*securityhub.GetFindingsOutput, error) {
	return retried(ctx, l.opts, l.get, func() (*securityhub.GetFindingsOutput, error) { return l.api.GetFindings(ctx, in, o...) })
}

func retried[T any](ctx context.Context, opts Options, lim *rate.Limiter, call func() (T, error)) (T, error) {
	var zero T
	wait := opts.Backoff
	for attempt := 1; ; attempt++ {
		if err := lim.Wait(ctx); err != nil {
			return zero, err
		}
		out, err := call()
		if err == nil || attempt >= opts.MaxAttempts || !awsclient.Retryable(err) || ctx.Err() != nil {
			return out, err
		}
		t := time.NewTimer(rand.N(wait) + 1)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return zero, ctx.Err()
		}
		wait = min(2*wait, 20*time.Second)
	}
}

// providerFields copies a finding's product fields without those Security
// Hub adds itself ("aws/securityhub/…"), which a provider does not send.
func providerFields(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		if !strings.HasPrefix(k, "aws/securityhub/") {
			out[k] = v
		}
	}
	return out
}
