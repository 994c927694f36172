package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/workflows"
)

// Workflows name guardrails by the compiled set's digest (issue 11)
// instead of copying definitions into every child and activity input. The
// definitions come from where history already pins them: the input of
// the rollout's first run, read once per worker and digest through the
// Temporal client and verified against the digest, so what runs is what
// the rollout was started with. (A continued run's input is not used: the
// governance floor may have replaced approval policies in it.) The scale
// harness, which runs without Temporal, hands the set over with RegisterSet.

// ErrSetUnavailable is the ApplicationError type of a guardrail set that
// cannot be read or does not match its digest.
const ErrSetUnavailable = "GuardrailSetUnavailable"

// maxCachedSets bounds the sets kept: one per pack version in use.
const maxCachedSets = 16

type setStore struct {
	mu       sync.Mutex
	sets     map[string]*guardrails.Set
	order    []string // digests, oldest first
	inflight map[string]chan struct{}
}

func newSetStore() *setStore {
	return &setStore{sets: map[string]*guardrails.Set{}, inflight: map[string]chan struct{}{}}
}

// RegisterSet makes a compiled set available by its digest without
// reading it from Temporal (the scale harness's direct checks; a worker
// that knows its packs). The set must match its digest.
func (a *Activities) RegisterSet(set *guardrails.Set) error {
	if err := verifySet(set, set.Digest); err != nil {
		return err
	}
	a.sets.put(set)
	return nil
}

func verifySet(set *guardrails.Set, digest string) error {
	if digest == "" || set.Digest != digest || set.ComputeDigest() != digest {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("guardrail set %s: its content does not match the digest", guardrails.ShortDigest(digest)), ErrSetUnavailable, nil)
	}
	return nil
}

func (s *setStore) put(set *guardrails.Set) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sets[set.Digest]; ok {
		return
	}
	s.sets[set.Digest] = set
	s.order = append(s.order, set.Digest)
	for len(s.order) > maxCachedSets {
		delete(s.sets, s.order[0])
		s.order = s.order[1:]
	}
}

// guardrailSet returns the compiled set with the digest, reading it once
// (for all concurrent activities) from the input of the run's rollout.
func (a *Activities) guardrailSet(ctx context.Context, runID, digest string) (*guardrails.Set, error) {
	s := a.sets
	for {
		s.mu.Lock()
		if set, ok := s.sets[digest]; ok {
			s.mu.Unlock()
			return set, nil
		}
		if ch, ok := s.inflight[digest]; ok {
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		s.inflight[digest] = ch
		s.mu.Unlock()
		set, err := a.loadSet(ctx, runID, digest)
		if err == nil {
			s.put(set)
		}
		s.mu.Lock()
		delete(s.inflight, digest)
		s.mu.Unlock()
		close(ch)
		return set, err
	}
}

// loadSet reads the set from the start event of the rollout's first run.
func (a *Activities) loadSet(ctx context.Context, runID, digest string) (*guardrails.Set, error) {
	if a.Temporal == nil || !activity.IsActivity(ctx) {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("guardrail set %s is not registered with this worker and it has no Temporal client to read it from run %s", guardrails.ShortDigest(digest), runID),
			ErrSetUnavailable, nil)
	}
	id := workflows.RolloutID(runID)
	desc, err := a.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("guardrail set %s: rollout %s not found: %v", guardrails.ShortDigest(digest), id, err), ErrSetUnavailable, nil)
	}
	if err != nil {
		// Retryable: the frontend may be restarting.
		return nil, fmt.Errorf("read guardrail set %s: describe rollout %s: %w", guardrails.ShortDigest(digest), id, err)
	}
	exec := desc.GetWorkflowExecutionInfo().GetExecution()
	if first := desc.GetWorkflowExecutionInfo().GetFirstRunId(); first != "" {
		exec = &commonpb.WorkflowExecution{WorkflowId: id, RunId: first}
	}
	// One event, the start, rather than a page of the rollout's history.
	resp, err := a.Temporal.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace:              activity.GetInfo(ctx).Namespace,
		Execution:              exec,
		MaximumPageSize:        1,
		HistoryEventFilterType: enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT,
	})
	if err != nil {
		return nil, fmt.Errorf("read guardrail set %s from rollout %s: %w", guardrails.ShortDigest(digest), id, err)
	}
	events := resp.GetHistory().GetEvents()
	if len(events) == 0 || events[0].GetWorkflowExecutionStartedEventAttributes() == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("guardrail set %s: rollout %s has no start event", guardrails.ShortDigest(digest), id), ErrSetUnavailable, nil)
	}
	var in struct {
		Set guardrails.Set `json:"set"`
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(events[0].GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("guardrail set %s: decode the input of rollout %s: %v", guardrails.ShortDigest(digest), id, err), ErrSetUnavailable, nil)
	}
	if err := verifySet(&in.Set, digest); err != nil {
		return nil, err
	}
	return &in.Set, nil
}

// resolveGuardrail returns g's definition: g itself, or with a digest
// (g a workflows.CompactGuardrail) the guardrail of that ID in the set.
func (a *Activities) resolveGuardrail(ctx context.Context, runID, digest string, g guardrails.Guardrail) (guardrails.Guardrail, error) {
	if digest == "" {
		return g, nil
	}
	set, err := a.guardrailSet(ctx, runID, digest)
	if err != nil {
		return g, err
	}
	full, ok := set.Guardrail(g.ID)
	if !ok {
		return g, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("guardrail %s is not in guardrail set %s", g.ID, guardrails.ShortDigest(digest)), ErrSetUnavailable, nil)
	}
	// The workflow resolved the regions for this account.
	full.Regions = g.Regions
	return full, nil
}
