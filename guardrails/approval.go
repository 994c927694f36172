package guardrails

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// DefaultApprovalTimeout applies when an approval policy names no timeout:
// three days spans a weekend's worth of on-call rotation.
const DefaultApprovalTimeout = 72 * time.Hour

type groupBlock struct {
	Members hcl.Expression `hcl:"members"`
}

type approvalPolicyBlock struct {
	Approvers          hcl.Expression `hcl:"approvers,optional"`
	Groups             hcl.Expression `hcl:"groups,optional"`
	Quorum             hcl.Expression `hcl:"quorum,optional"`
	SeparationOfDuties hcl.Expression `hcl:"separation_of_duties,optional"`
	Timeout            hcl.Expression `hcl:"timeout,optional"`
	OnTimeout          hcl.Expression `hcl:"on_timeout,optional"`
	EscalateTo         hcl.Expression `hcl:"escalate_to,optional"`
	Notify             *notifyBlock   `hcl:"notify,block"`
}

type notifyBlock struct {
	SNSTopicArn hcl.Expression `hcl:"sns_topic_arn,optional"`
	WebhookURL  hcl.Expression `hcl:"webhook_url,optional"`
}

var snsArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

func (l *loader) loadGroup(d *decl) ([]string, bool) {
	var gb groupBlock
	// Decoding goes on after unsupported arguments so every problem is reported.
	diags := gohcl.DecodeBody(d.block.Body, nil, &gb)
	l.add(diags...)
	if !l.requireAttrs(d.block.Body, "members") {
		return nil, false
	}
	members, ok := l.strings(gb.Members, "members")
	if !ok {
		return nil, false
	}
	if len(members) == 0 {
		l.errorf(gb.Members.Range(), "Empty group", "The group %q has no members.", d.name)
	}
	return dedupe(members), true
}

// policyRanges remembers where each policy's escalate_to was written.
type policyRef struct {
	escalateTo string
	rng        hcl.Range
}

func (l *loader) loadApprovalPolicy(d *decl, groups map[string][]string) {
	var pb approvalPolicyBlock
	// Decoding goes on after unsupported arguments so every problem is reported.
	diags := gohcl.DecodeBody(d.block.Body, nil, &pb)
	l.add(diags...)
	p := ApprovalPolicy{Name: d.name, Quorum: 1, SeparationOfDuties: true, Timeout: DefaultApprovalTimeout, OnTimeout: "expire"}
	approvers, _ := l.strings(pb.Approvers, "approvers")
	p.Approvers = nonEmpty(dedupe(approvers))
	groupNames, groupsOK := l.refs(pb.Groups, "groups", "group")
	if !present(pb.Groups) {
		groupsOK = true
	}
	p.Groups = nonEmpty(dedupe(groupNames))
	everyone := append([]string(nil), p.Approvers...)
	for _, g := range p.Groups {
		if members, ok := groups[g]; ok {
			if p.GroupMembers == nil {
				p.GroupMembers = map[string][]string{}
			}
			p.GroupMembers[g] = members
			everyone = append(everyone, members...)
		}
	}
	everyone = dedupe(everyone)
	if len(everyone) == 0 && groupsOK {
		l.errorf(d.labelRange(), "No approvers", "The approval policy %q names no approvers and no groups with members, so nothing it gates could ever be approved.", d.name)
	}
	if q, ok := l.integer(pb.Quorum, "quorum", 1, 100); ok {
		p.Quorum = q
		if groupsOK && len(everyone) > 0 && q > len(everyone) {
			l.errorf(pb.Quorum.Range(), "Quorum larger than the approver list",
				"quorum = %d, but the policy %q has only %d approver(s) (%s), so no remediation could ever be approved.",
				q, d.name, len(everyone), strings.Join(everyone, ", "))
		}
	}
	p.SeparationOfDuties = l.boolean(pb.SeparationOfDuties, "separation_of_duties", true)
	if s, ok := l.str(pb.Timeout, "timeout"); ok {
		dur, err := ParseDuration(s)
		switch {
		case err != nil:
			l.errorf(pb.Timeout.Range(), "Invalid duration", "timeout: %s. Use a duration such as \"4h\", \"90m\" or \"3d\".", err)
		case dur <= 0:
			l.errorf(pb.Timeout.Range(), "Invalid duration", "timeout must be positive.")
		default:
			p.Timeout = dur
		}
	}
	if s, ok := l.str(pb.OnTimeout, "on_timeout"); ok {
		switch s {
		case "expire", "escalate":
			p.OnTimeout = s
		default:
			l.errorf(pb.OnTimeout.Range(), "Invalid on_timeout", "on_timeout must be \"expire\" or \"escalate\", not %q.%s", s, suggest(s, []string{"expire", "escalate"}))
		}
	}
	if _, name, ok := l.ref(pb.EscalateTo, "escalate_to", "approval_policy"); ok {
		p.EscalateTo = name
		if name == d.name {
			l.errorf(pb.EscalateTo.Range(), "Policy escalates to itself", "An approval policy cannot escalate to itself; name another policy, or use on_timeout = \"expire\".")
		}
	}
	if p.OnTimeout == "escalate" && !present(pb.EscalateTo) {
		l.errorf(pb.OnTimeout.Range(), "Missing escalate_to", "on_timeout = \"escalate\" needs escalate_to = approval_policy.<name>.")
	}
	if p.OnTimeout == "expire" && present(pb.EscalateTo) && present(pb.OnTimeout) {
		l.warnf(pb.EscalateTo.Range(), "escalate_to is ignored", "on_timeout is \"expire\", so the request expires instead of escalating.")
	}
	if !present(pb.OnTimeout) && p.EscalateTo != "" {
		p.OnTimeout = "escalate"
	}
	if pb.Notify != nil {
		if s, ok := l.str(pb.Notify.SNSTopicArn, "sns_topic_arn"); ok {
			if !snsArnRe.MatchString(s) {
				l.errorf(pb.Notify.SNSTopicArn.Range(), "Invalid SNS topic ARN", "%q is not an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:orgguard-approvals.", s)
			}
			p.Notify.SNSTopicArn = s
		}
		if s, ok := l.str(pb.Notify.WebhookURL, "webhook_url"); ok {
			if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
				l.errorf(pb.Notify.WebhookURL.Range(), "Invalid webhook URL", "%q is not an http(s) URL.", s)
			}
			p.Notify.WebhookURL = s
		}
	}
	if l.escalations == nil {
		l.escalations = map[string]policyRef{}
	}
	if p.EscalateTo != "" {
		l.escalations[d.name] = policyRef{escalateTo: p.EscalateTo, rng: pb.EscalateTo.Range()}
	}
	l.set.ApprovalPolicies = append(l.set.ApprovalPolicies, p)
}

// checkEscalations reports escalation cycles (a → b → a), which would keep a
// remediation waiting forever.
func (l *loader) checkEscalations() {
	names := sortedKeys(l.escalations)
	reported := map[string]bool{}
	for _, start := range names {
		seen := []string{start}
		cur := start
		for {
			next, ok := l.escalations[cur]
			if !ok {
				break
			}
			if next.escalateTo == start {
				// Self-escalation is reported where it is decoded.
				if len(seen) > 1 && !reported[start] {
					for _, n := range seen {
						reported[n] = true
					}
					l.errorf(l.escalations[start].rng, "Escalation cycle",
						"Escalating from %q leads back to it: %s → %s.", start, strings.Join(seen, " → "), start)
				}
				break
			}
			if contains(seen, next.escalateTo) {
				break
			}
			seen = append(seen, next.escalateTo)
			cur = next.escalateTo
		}
	}
}

// ParseDuration is time.ParseDuration plus a "d" (24h) unit: "3d", "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	if i := strings.Index(s, "d"); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 3650 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		rest := time.Duration(0)
		if s[i+1:] != "" {
			rest, err = time.ParseDuration(s[i+1:])
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
