package chaos

import (
	"fmt"
	"sort"
	"strings"

	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

// findingKey identifies one finding: the unit (account ID or
// "organization"), guardrail, region and resource.
type findingKey struct{ Unit, Guardrail, Region, Resource string }

func (k findingKey) String() string {
	return fmt.Sprintf("%s %s %s %s", k.Unit, k.Guardrail, k.Region, k.Resource)
}

// remediated lists, per unit, the findings a run's apply remediated: auto
// items verified remediated, and approval items whose remediation ended
// remediated. Other outcomes of a remediation are returned as failures.
func remediated(r *runResult) (done map[string]map[findingKey]bool, failures map[string][]string) {
	done, failures = map[string]map[findingKey]bool{}, map[string][]string{}
	for unit, b := range r.baselines {
		done[unit] = map[findingKey]bool{}
		for _, it := range b.res.Items {
			k := findingKey{unit, it.Finding.GuardrailID, it.Finding.Region, it.Finding.Resource}
			switch it.Status {
			case workflows.ItemRemediated:
				done[unit][k] = true
			case workflows.ItemPendingApproval:
				o := r.remediations[it.RemediationID]
				if o.st.Status == workflows.RemRemediated {
					done[unit][k] = true
				} else {
					failures[unit] = append(failures[unit], fmt.Sprintf("%s: remediation %s ended %q %s%s", k, it.RemediationID, o.st.Status, o.st.Error, o.err))
				}
			case workflows.ItemError, workflows.ItemNotVerified:
				failures[unit] = append(failures[unit], fmt.Sprintf("%s: %s %s", k, it.Status, it.Error))
			}
		}
	}
	return done, failures
}

// convergence is the first figure.
type convergence struct {
	Units, Converged int
	// Remediated counts the findings the apply remediated (auto and
	// approved), RemediatedClean the clean run's.
	Remediated, RemediatedAuto, RemediatedApproved, RemediatedClean int
	// Rechecked counts the remediated findings (of this run or the clean
	// one) the final check found compliant.
	Rechecked, Wanted int
	NotConverged      map[string][]string
}

// measureConvergence: a unit (an account, or the organization wave) has
// converged when its apply baseline completed, every remediation of it
// ended remediated, and the final check finds every finding that this
// run's apply or the clean run's apply remediated in it compliant.
func measureConvergence(r, clean *runResult) convergence {
	done, failures := remediated(r)
	var cleanDone map[string]map[findingKey]bool
	if clean != nil {
		cleanDone, _ = remediated(clean)
	}
	c := convergence{NotConverged: map[string][]string{}}
	for unit, b := range r.baselines {
		c.Units++
		var why []string
		if b.err != "" {
			why = append(why, "apply baseline failed: "+firstLine(b.err))
		}
		why = append(why, failures[unit]...)
		want := map[findingKey]bool{}
		for k := range done[unit] {
			want[k] = true
			c.Remediated++
		}
		for k := range cleanDone[unit] {
			want[k] = true
			c.RemediatedClean++
		}
		chk, ok := r.checks[unit]
		switch {
		case !ok:
			why = append(why, "the final check did not check it")
		case chk.err != "":
			why = append(why, "final check failed: "+firstLine(chk.err))
		}
		got := map[findingKey]workflows.ItemStatus{}
		// byPlace: the statuses of each guardrail × region, for findings
		// about a resource the remediation created (a GuardDuty detector
		// has an ID only once it exists).
		byPlace := map[findingKey][]workflows.ItemStatus{}
		for _, it := range chk.res.Items {
			got[findingKey{unit, it.Finding.GuardrailID, it.Finding.Region, it.Finding.Resource}] = it.Status
			place := findingKey{unit, it.Finding.GuardrailID, it.Finding.Region, ""}
			byPlace[place] = append(byPlace[place], it.Status)
		}
		for k := range want {
			c.Wanted++
			st, seen := got[k]
			switch {
			case st == workflows.ItemCompliant:
				c.Rechecked++
			case !seen && allCompliant(byPlace[findingKey{k.Unit, k.Guardrail, k.Region, ""}]):
				c.Rechecked++
			case !seen:
				why = append(why, fmt.Sprintf("%s: the final check has no compliant finding for it (%v)", k, byPlace[findingKey{k.Unit, k.Guardrail, k.Region, ""}]))
			default:
				why = append(why, fmt.Sprintf("%s: the final check finds it %s", k, st))
			}
		}
		if len(why) == 0 {
			c.Converged++
		} else {
			sort.Strings(why)
			c.NotConverged[unit] = why
		}
	}
	for _, b := range r.baselines {
		for _, it := range b.res.Items {
			switch {
			case it.Status == workflows.ItemRemediated:
				c.RemediatedAuto++
			case it.Status == workflows.ItemPendingApproval && r.remediations[it.RemediationID].st.Status == workflows.RemRemediated:
				c.RemediatedApproved++
			}
		}
	}
	return c
}

func allCompliant(l []workflows.ItemStatus) bool {
	for _, st := range l {
		if st != workflows.ItemCompliant {
			return false
		}
	}
	return len(l) > 0
}

// readOnly are operations that change no resource although their names do
// not say so: they ask AWS for credentials, a report, a drift detection or
// a rule evaluation.
var readOnly = map[string]bool{
	"AssumeRole": true, "GetCallerIdentity": true, "GenerateCredentialReport": true,
	"DetectStackDrift": true, "StartConfigRulesEvaluation": true, "HeadBucket": true,
}

// isWrite: an applied call that can change a resource.
func isWrite(c awssim.Call) bool {
	if !c.Applied() || readOnly[c.Operation] {
		return false
	}
	for _, p := range []string{"Describe", "List", "Get", "Head", "Search", "Lookup"} {
		if strings.HasPrefix(c.Operation, p) {
			return false
		}
	}
	return true
}

// idempotentOps are writes AWS documents as returning the existing
// resource for an identical request, and that orgguard calls as its "get or
// create": SNS CreateTopic returns the ARN of the topic with that name (and
// attributes) and creates nothing. Their repeats are counted apart.
var idempotentOps = map[string]bool{"sns:CreateTopic": true}

// volatileParams differ between two requests for the same change: the
// SDK's idempotency tokens. A repeated token is an idempotent retry that
// AWS answers without a second change, so it is counted apart.
var volatileParams = map[string]bool{"ClientToken": true, "ClientRequestToken": true, "IdempotencyToken": true}

// writeKey is what a duplicate write repeats: service, operation, account,
// region and the request's resource parameters.
func writeKey(c awssim.Call) string {
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		if !volatileParams[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%s %s %s", c.Service, c.Operation, c.AccountID, c.Region)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, c.Params[k])
	}
	return b.String()
}

func clientToken(c awssim.Call) string {
	for k := range volatileParams {
		if v := c.Params[k]; v != "" {
			return v
		}
	}
	return ""
}

// duplicates is the second figure.
type duplicates struct {
	Writes, Keys int
	// Duplicate counts the writes beyond the first of each key (a key
	// written three times counts 2); Keys lists them with their count.
	Duplicate int
	DupKeys   map[string]int
	// TokenRetries are repeats that carried the first request's client
	// token (AWS returns the first result and changes nothing).
	TokenRetries int
	// IdempotentRepeats are repeats of idempotentOps, IdempotentKeys them.
	IdempotentRepeats int
	IdempotentKeys    map[string]int
	ByOperation       map[string]int
	ResponseLost      int
}

func measureDuplicates(calls []awssim.Call) duplicates {
	d := duplicates{DupKeys: map[string]int{}, IdempotentKeys: map[string]int{}, ByOperation: map[string]int{}}
	count := map[string]int{}
	tokens := map[string]map[string]bool{}
	for _, c := range calls {
		if !isWrite(c) {
			continue
		}
		d.Writes++
		d.ByOperation[c.Service+":"+c.Operation]++
		if c.ResponseLost {
			d.ResponseLost++
		}
		k := writeKey(c)
		if tok := clientToken(c); tok != "" {
			if tokens[k] == nil {
				tokens[k] = map[string]bool{}
			}
			if tokens[k][tok] {
				d.TokenRetries++
				continue
			}
			tokens[k][tok] = true
		}
		count[k]++
	}
	d.Keys = len(count)
	for k, n := range count {
		switch {
		case n < 2:
		case idempotentOps[strings.SplitN(k, " ", 2)[0]]:
			d.IdempotentRepeats += n - 1
			d.IdempotentKeys[k] = n
		default:
			d.Duplicate += n - 1
			d.DupKeys[k] = n
		}
	}
	return d
}

// approvalsLost is the third figure.
type approvalsLost struct {
	Requests, Voted, Accepted, Refused int
	DownVotes, DownAccepted            int
	// DownAPI counts the votes while down sent through the Temporal API
	// (the others went through the CLI).
	DownAPI, DownAPIAccepted int
	// Lost: votes the CLI reported recorded that the remediation's final
	// state does not hold. Disappeared: requests seen pending that closed
	// without a decision (or could not be read).
	Lost, Disappeared []string
	Refusals          map[string]int
}

func measureApprovals(r *runResult) approvalsLost {
	a := approvalsLost{Refusals: map[string]int{}}
	a.Requests = len(r.remediations)
	voted := map[string]bool{}
	for _, v := range r.votes {
		if v.WorkerDown {
			a.DownVotes++
			if v.API {
				a.DownAPI++
			}
		}
		if !v.Accepted {
			a.Refused++
			a.Refusals[refusal(v.Output)]++
			continue
		}
		a.Accepted++
		voted[v.ID] = true
		if v.WorkerDown {
			a.DownAccepted++
			if v.API {
				a.DownAPIAccepted++
			}
		}
		st := r.remediations[v.ID].st
		found := false
		for _, rec := range st.Votes {
			if rec.Approver == v.Approver && rec.Reason == v.Reason && rec.Approve {
				found = true
			}
		}
		if !found {
			a.Lost = append(a.Lost, fmt.Sprintf("%s by %s (%q, CLI: %s): final state %s with %d votes", v.ID, v.Approver, v.Reason, firstLine(v.Output), st.Status, len(st.Votes)))
		}
	}
	a.Voted = len(voted)
	for id, o := range r.remediations {
		decided := len(o.st.Votes) > 0 && (o.st.Status == workflows.RemRemediated || o.st.Status == workflows.RemNotVerified ||
			o.st.Status == workflows.RemFailed || o.st.Status == workflows.RemRejected)
		if !decided {
			a.Disappeared = append(a.Disappeared, fmt.Sprintf("%s: status %q, %d votes %s", id, o.st.Status, len(o.st.Votes), o.err))
		}
	}
	sort.Strings(a.Lost)
	sort.Strings(a.Disappeared)
	return a
}

// refusal shortens a refused vote's output to its reason.
func refusal(out string) string {
	l := firstLine(out)
	if i := strings.Index(l, "refused: "); i >= 0 {
		l = l[i+len("refused: "):]
	}
	if len(l) > 140 {
		l = l[:140] + "…"
	}
	return l
}

// faultCounts counts the injected faults the simulator answered.
type faultCounts struct {
	Calls, Throttled, ServerErrors, AccessDenied int
}

func measureFaults(calls []awssim.Call) faultCounts {
	var f faultCounts
	for _, c := range calls {
		f.Calls++
		switch c.ErrorCode {
		case "ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException", "LimitExceededException", "SlowDown":
			f.Throttled++
		case "InternalFailure", "InternalError", "InternalServerException", "ServiceException", "InternalException", "InternalServiceError",
			"ServiceUnavailable", "Unavailable", "ServiceUnavailableException":
			f.ServerErrors++
		}
	}
	return f
}
