package awsclient

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Limit is a token bucket: RPS refill, Burst capacity.
type Limit struct {
	RPS   float64
	Burst int
}

// DefaultLimits follow AWS's published quotas, per account (and region, for
// regional services). Keys are "service:Operation", "service:Prefix*" or
// "service:*" with the SDK's service ID lower-cased.
var DefaultLimits = map[string]Limit{
	"securityhub:BatchEnableStandards":   {RPS: 1, Burst: 1},
	"securityhub:BatchDisableStandards":  {RPS: 1, Burst: 1},
	"securityhub:UpdateStandardsControl": {RPS: 1, Burst: 1},
	"securityhub:*":                      {RPS: 10, Burst: 30},
	"sts:*":                              {RPS: 600, Burst: 600},
	"organizations:*":                    {RPS: 10, Burst: 20},
	"ec2:Describe*":                      {RPS: 20, Burst: 100},
	"ec2:*":                              {RPS: 5, Burst: 50},
	"iam:*":                              {RPS: 10, Burst: 20},
	"config:*":                           {RPS: 5, Burst: 20},
}

// Limiter shares token buckets between every client of a worker.
type Limiter struct {
	rules   map[string]Limit
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	waits   map[string]int
}

// NewLimiter merges overrides into the defaults.
func NewLimiter(overrides map[string]Limit) *Limiter {
	rules := map[string]Limit{}
	for k, v := range DefaultLimits {
		rules[k] = v
	}
	for k, v := range overrides {
		rules[k] = v
	}
	return &Limiter{rules: rules, buckets: map[string]*rate.Limiter{}, waits: map[string]int{}}
}

// rule finds the most specific rule for service:operation.
func (l *Limiter) rule(service, op string) (string, Limit, bool) {
	if r, ok := l.rules[service+":"+op]; ok {
		return service + ":" + op, r, true
	}
	best, bestLen := "", -1
	for k := range l.rules {
		svc, pat, _ := strings.Cut(k, ":")
		if svc != service || !strings.HasSuffix(pat, "*") {
			continue
		}
		if p := strings.TrimSuffix(pat, "*"); strings.HasPrefix(op, p) && len(p) > bestLen {
			best, bestLen = k, len(p)
		}
	}
	if bestLen < 0 {
		return "", Limit{}, false
	}
	return best, l.rules[best], true
}

// Wait blocks until the call may go out.
func (l *Limiter) Wait(ctx context.Context, account, region, service, op string) error {
	key, r, ok := l.rule(service, op)
	if !ok {
		return nil
	}
	bucketKey := fmt.Sprintf("%s|%s|%s", key, account, region)
	l.mu.Lock()
	b, ok := l.buckets[bucketKey]
	if !ok {
		b = rate.NewLimiter(rate.Limit(r.RPS), max(r.Burst, 1))
		l.buckets[bucketKey] = b
	}
	l.waits[bucketKey]++
	l.mu.Unlock()
	return b.Wait(ctx)
}

// Waits counts the calls that went through each bucket
// ("rule|account|region"), for tests and diagnostics.
func (l *Limiter) Waits() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.waits))
	for k, v := range l.waits {
		out[k] = v
	}
	return out
}

// Attach adds the limiter to every client built from cfg.
func (l *Limiter) Attach(cfg *aws.Config, account string) {
	region := cfg.Region
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		// Finalize, not Initialize: the service ID and operation name are in
		// the context only once the Initialize step registered them.
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("orgguardRateLimit",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				svc := strings.ToLower(strings.ReplaceAll(awsmiddleware.GetServiceID(ctx), " ", ""))
				switch svc {
				case "configservice":
					svc = "config"
				case "cloudwatchlogs":
					svc = "logs"
				}
				if err := l.Wait(ctx, account, region, svc, awsmiddleware.GetOperationName(ctx)); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.Before)
	})
}
