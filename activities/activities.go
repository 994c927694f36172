// Package activities holds every side effect of orgguard: AWS calls through
// the client factory, and notifications. Each activity is idempotent and
// returns classified errors (see internal/awsclient.Classify).
package activities

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/identity"
	"github.com/orgguard/orgguard/internal/notify"
	"github.com/orgguard/orgguard/workflows"
)

// Activities is registered once per worker; its methods are the activities.
type Activities struct {
	AWS  *awsclient.Factory
	HTTP *http.Client
	// Identity names this worker in Ping answers.
	Identity string
	// Trust holds the worker's trust config and issuer keys (nil: none).
	Trust *identity.Provider
	// Temporal reads other workflows' state for rollback and holds (nil:
	// those activities fail non-retryably).
	Temporal client.Client
	// Evidence is the evidence store the runs' records go to (nil: none,
	// and RecordBaseline fails non-retryably: the rollout counts it).
	Evidence *evidence.Store
	// HeartbeatEvery is how often CheckGuardrail and ApplyRemediation
	// heartbeat while a kind runs; 0 means DefaultHeartbeatEvery.
	HeartbeatEvery time.Duration
	// Notify is the worker's notification config (--notify-config): where
	// NotifyEvent sends events besides the approval policies' destinations.
	// Nil: only those, and the log.
	Notify *notify.Config
	// NotifyRetry bounds webhook retries within one NotifyEvent attempt;
	// zero means notify.DefaultRetryPolicy.
	NotifyRetry notify.RetryPolicy
	// CheckParallelism bounds the guardrails CheckAccountRegion checks at
	// once; 0 means DefaultCheckParallelism.
	CheckParallelism int
	kinds            map[string]Kind
	roles            *roleWriter
	reads            *readCache
	sets             *setStore
}

// New builds the activities with every built-in guardrail kind registered.
func New(f *awsclient.Factory) *Activities {
	a := &Activities{AWS: f, HTTP: &http.Client{Timeout: 15 * time.Second}, kinds: map[string]Kind{}, roles: newRoleWriter(),
		reads: newReadCache(DefaultReadCacheEntries, DefaultReadCacheBytes), sets: newSetStore()}
	registerBuiltins(a)
	return a
}

// Register adds (or replaces) a guardrail kind implementation. The key is the
// guardrail kind, or "control:<type>" for native controls.
func (a *Activities) Register(key string, k Kind) { a.kinds[key] = k }

// Kinds lists the registered implementation keys, sorted.
func (a *Activities) Kinds() []string {
	out := make([]string, 0, len(a.kinds))
	for k := range a.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Ping answers the healthcheck workflow.
func (a *Activities) Ping(ctx context.Context, from string) (string, error) {
	return fmt.Sprintf("pong to %s from %s (attempt %d)", from, a.Identity, activity.GetInfo(ctx).Attempt), nil
}

// DiscoverAccounts walks the organization breadth-first from the root and
// returns every account with its OU path. Pages are heartbeated so a long
// listing that stalls is retried rather than waited on forever. The walk
// goes through the run's Organizations memo: a retry resumes where the
// failed attempt stopped, and the SCP guardrails of the run find the tree
// already read.
func (a *Activities) DiscoverAccounts(ctx context.Context, in workflows.DiscoverInput) (workflows.DiscoverOutput, error) {
	cfg, where, err := a.AWS.ManagementAs(ctx, "", in.RunID, "")
	if err != nil {
		return workflows.DiscoverOutput{}, err
	}
	org := organizations.NewFromConfig(cfg)
	var out workflows.DiscoverOutput
	desc, err := org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return out, awsclient.Classify(err, where)
	}
	out.OrganizationID = aws.ToString(desc.Organization.Id)
	out.ManagementAccountID = aws.ToString(desc.Organization.MasterAccountId)

	type node struct {
		id, path string
		ids      []string
	}
	var queue []node
	roots := organizations.NewListRootsPaginator(org, &organizations.ListRootsInput{})
	for roots.HasMorePages() {
		page, err := roots.NextPage(ctx)
		if err != nil {
			return out, awsclient.Classify(err, where)
		}
		for _, r := range page.Roots {
			queue = append(queue, node{id: aws.ToString(r.Id), path: "Root", ids: []string{aws.ToString(r.Id)}})
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		activity.RecordHeartbeat(ctx, n.path)
		accts := organizations.NewListAccountsForParentPaginator(org, &organizations.ListAccountsForParentInput{ParentId: aws.String(n.id)})
		for accts.HasMorePages() {
			page, err := accts.NextPage(ctx)
			if err != nil {
				return out, awsclient.Classify(err, where)
			}
			for _, acc := range page.Accounts {
				id := aws.ToString(acc.Id)
				if seen[id] {
					continue
				}
				seen[id] = true
				out.Accounts = append(out.Accounts, workflows.Account{
					ID: id, Name: aws.ToString(acc.Name), Email: aws.ToString(acc.Email),
					Status: accountStatus(acc), OUPath: n.path, OUIDs: append([]string(nil), n.ids...),
				})
			}
		}
		ous := organizations.NewListOrganizationalUnitsForParentPaginator(org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(n.id)})
		for ous.HasMorePages() {
			page, err := ous.NextPage(ctx)
			if err != nil {
				return out, awsclient.Classify(err, where)
			}
			for _, ou := range page.OrganizationalUnits {
				id := aws.ToString(ou.Id)
				queue = append(queue, node{id: id, path: n.path + "/" + aws.ToString(ou.Name), ids: append(append([]string(nil), n.ids...), id)})
			}
		}
	}
	if in.WithTags {
		for i := range out.Accounts {
			activity.RecordHeartbeat(ctx, out.Accounts[i].ID)
			tags := organizations.NewListTagsForResourcePaginator(org, &organizations.ListTagsForResourceInput{ResourceId: aws.String(out.Accounts[i].ID)})
			for tags.HasMorePages() {
				page, err := tags.NextPage(ctx)
				if err != nil {
					return out, awsclient.Classify(err, where)
				}
				for _, t := range page.Tags {
					if out.Accounts[i].Tags == nil {
						out.Accounts[i].Tags = map[string]string{}
					}
					out.Accounts[i].Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
		}
	}
	sort.Slice(out.Accounts, func(i, j int) bool { return out.Accounts[i].ID < out.Accounts[j].ID })
	return out, nil
}

func accountStatus(a orgtypes.Account) string {
	if a.State != "" {
		return strings.ToUpper(string(a.State))
	}
	return string(a.Status)
}

// kindFor finds the implementation of a guardrail.
func (a *Activities) kindFor(g guardrails.Guardrail) (Kind, string, error) {
	key := string(g.Kind)
	if g.Kind == guardrails.KindControl && g.Control != nil {
		key = "control:" + g.Control.Type
	}
	k, ok := a.kinds[key]
	if !ok {
		msg := fmt.Sprintf("guardrail %s: this worker has no implementation of %s", g.ID, key)
		return nil, msg, temporal.NewNonRetryableApplicationError(msg, "NotImplemented", nil)
	}
	return k, "", nil
}

func (a *Activities) env(ctx context.Context, account, region, runID, sourceIdentity string, g guardrails.Guardrail) (Env, error) {
	var (
		cfg   aws.Config
		where awsclient.Where
		err   error
	)
	if region == workflows.OrgRegion {
		// Organization-wide guardrails (SCPs) talk to Organizations from the
		// management account; an approved change carries its approver.
		cfg, where, err = a.AWS.ManagementAs(ctx, "", runID, sourceIdentity)
	} else {
		cfg, where, err = a.AWS.Account(ctx, account, region, runID, sourceIdentity)
	}
	if err != nil {
		return Env{}, err
	}
	c, err := a.AWS.Caller(ctx)
	if err != nil {
		return Env{}, err
	}
	return Env{Config: cfg, Where: where, AccountID: account, Region: region, Partition: c.Partition, Guardrail: g, Roles: a.roles}, nil
}

// ReadCacheStats reports what the worker's read cache did.
func (a *Activities) ReadCacheStats() ReadCacheStats { return a.reads.Stats() }

// bypassReads makes env's reads go to AWS and its writes drop the
// account's cached reads: applies, rollbacks and re-checks.
func (a *Activities) bypassReads(env *Env, runID string) {
	a.reads.attach(&env.Config, readScope{run: runID, account: env.AccountID, role: env.Where.Role, region: env.Region, mode: readsBypass})
}

// CheckGuardrail is read-only: it returns a finding per resource the guardrail
// looks at, each non-compliant one with the change that would fix it. It
// reads around the read cache: it is the verification re-check, and the
// check of baselines started before CheckAccountRegion, which do not count
// their applies into the cache's epochs.
func (a *Activities) CheckGuardrail(ctx context.Context, in workflows.CheckInput) (workflows.CheckOutput, error) {
	defer a.keepAlive(ctx, in.Guardrail.ID)()
	g, err := a.resolveGuardrail(ctx, in.RunID, in.Digest, in.Guardrail)
	if err != nil {
		return workflows.CheckOutput{}, err
	}
	in.Guardrail, in.Digest = g, ""
	out, err := a.check(ctx, in)
	err = awsclient.WithPropagationDelay(err, activity.GetInfo(ctx).Attempt)
	if err == nil {
		activity.GetLogger(ctx).Info("checked guardrail", "account_id", in.AccountID, "region", in.Region,
			"guardrail", in.Guardrail.ID, "findings", len(out.Findings))
	}
	return out, err
}

// check is CheckGuardrail without the activity around it (heartbeats,
// activity logger): CheckDirect runs it too.
func (a *Activities) check(ctx context.Context, in workflows.CheckInput) (workflows.CheckOutput, error) {
	k, notChecked, err := a.kindFor(in.Guardrail)
	if notChecked != "" {
		// Reported as not checked rather than failing the account: the
		// other guardrails of the account still run.
		return workflows.CheckOutput{NotChecked: notChecked}, nil
	}
	if err != nil {
		return workflows.CheckOutput{}, err
	}
	env, err := a.env(ctx, in.AccountID, in.Region, in.RunID, "", in.Guardrail)
	if err != nil {
		return workflows.CheckOutput{}, err
	}
	a.bypassReads(&env, in.RunID)
	findings, err := k.Check(ctx, env, in.Resource)
	if err != nil {
		return workflows.CheckOutput{}, awsclient.Classify(err, env.Where)
	}
	for i := range findings {
		f := &findings[i]
		f.GuardrailID, f.AccountID, f.Region = in.Guardrail.ID, in.AccountID, in.Region
		f.Controls, f.CSF, f.Severity = in.Guardrail.Controls, in.Guardrail.CSF, in.Guardrail.Severity
	}
	return workflows.CheckOutput{Findings: findings}, nil
}

// ApplyRemediation applies a finding's planned change. It is idempotent:
// implementations re-read the resource and change only what is still off.
func (a *Activities) ApplyRemediation(ctx context.Context, in workflows.ApplyInput) (workflows.ApplyOutput, error) {
	defer a.keepAlive(ctx, in.Guardrail.ID)()
	g, err := a.resolveGuardrail(ctx, in.RunID, in.Digest, in.Guardrail)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	in.Guardrail, in.Digest = g, ""
	if in.Undo {
		return a.applyUndo(ctx, in)
	}
	if in.Finding.Change == nil {
		return workflows.ApplyOutput{}, temporal.NewNonRetryableApplicationError("finding has no planned change", "InvalidInput", nil)
	}
	k, _, err := a.kindFor(in.Guardrail)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	env, err := a.env(ctx, in.Finding.AccountID, in.Finding.Region, in.RunID, in.SourceIdentity, in.Guardrail)
	if err != nil {
		return workflows.ApplyOutput{}, err
	}
	env.IdempotencyKey = in.IdempotencyKey
	a.bypassReads(&env, in.RunID)
	out, err := k.Apply(ctx, env, in.Finding)
	if err != nil {
		return out, awsclient.WithPropagationDelay(awsclient.Classify(err, env.Where), activity.GetInfo(ctx).Attempt)
	}
	activity.GetLogger(ctx).Info("applied remediation", "account_id", in.Finding.AccountID, "region", in.Finding.Region,
		"guardrail", in.Guardrail.ID, "resource", in.Finding.Resource, "changed", out.Changed, "source_identity", in.SourceIdentity)
	return out, nil
}
