package scale

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgguard/orgguard/internal/awssim"
)

// Capacity is what the simulator alone serves: clients calling it as fast
// as they can, no latency, no quotas.
type Capacity struct {
	CallsPerSecond float64       `json:"calls_per_second"`
	Clients        int           `json:"clients"`
	Calls          int64         `json:"calls"`
	Errors         int64         `json:"errors"`
	Duration       time.Duration `json:"duration"`
}

// measureCapacity saturates a simulator serving seed with clients
// goroutines for d, each calling a mix of the operations the checks use
// most (signed, verified and logged like every call). The clients run in
// this process, so their CPU counts against the simulator: the figure is a
// floor of its capacity on this machine.
func measureCapacity(ctx context.Context, seed *awssim.Seed, clients int, d time.Duration) (Capacity, error) {
	sim, err := newSim(seed, nil, 1, newCallLog())
	if err != nil {
		return Capacity{}, err
	}
	defer sim.Close()
	cfg, err := rootConfig(ctx, sim, false)
	if err != nil {
		return Capacity{}, err
	}
	stsc, ec2c, iamc, cfgc := sts.NewFromConfig(cfg), ec2.NewFromConfig(cfg), iam.NewFromConfig(cfg), configservice.NewFromConfig(cfg)
	calls := []func(context.Context) error{
		func(ctx context.Context) error {
			return second(stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
		},
		func(ctx context.Context) error {
			return second(ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}))
		},
		func(ctx context.Context) error {
			return second(iamc.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}))
		},
		func(ctx context.Context) error {
			return second(cfgc.DescribeConfigRules(ctx, &configservice.DescribeConfigRulesInput{}))
		},
	}
	var n, errs atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for j := i; ctx.Err() == nil; j++ {
				if err := calls[j%len(calls)](ctx); err != nil {
					if ctx.Err() != nil {
						return
					}
					errs.Add(1)
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	return Capacity{CallsPerSecond: float64(n.Load()) / took.Seconds(), Clients: clients, Calls: n.Load(), Errors: errs.Load(), Duration: took}, nil
}

func second[T any](_ T, err error) error { return err }
