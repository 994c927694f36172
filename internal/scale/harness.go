package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/orgguard/orgguard/activities"
	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/workflows"
)

// ServerReady starts the line the dev server process (ServerCommand)
// prints on standard output once it accepts connections, followed by its
// frontend host:port.
const ServerReady = "temporal-dev ready "

// Config is one harness run.
type Config struct {
	// Accounts in the generated organization, the management account
	// included (awssim.GenerateSeed); default 1000.
	Accounts int
	// RandSeed varies the generated drift; the same seed, the same org.
	RandSeed uint64
	// Pack and Vars: the pack to check and its --var flags.
	Pack string
	Vars []string
	// Slots are the activities a worker runs at once
	// (--max-concurrent-activities), default 50; the bare fan-out runs
	// Slots × Workers units at once.
	Slots int
	// Window is the rollout's --concurrency, accounts in flight; default 50.
	Window int
	// Workers is the number of orgguard-worker processes; default 1.
	Workers int
	// WorkerBin is the orgguard-worker binary.
	WorkerBin string
	// Address of an external Temporal frontend; empty starts the dev
	// server with ServerCommand (a command that serves the embedded dev
	// server and prints ServerReady).
	Address       string
	Namespace     string
	ServerCommand []string
	// ServerPIDs are the external server's processes, whose peak RSS the
	// report then shows.
	ServerPIDs []int
	// Dir keeps the run's logs and databases; default a temporary one.
	Dir string
	// NoLatency and NoQuotas turn the simulator's AWS latency profile and
	// request quotas off (they are on by default).
	NoLatency, NoQuotas bool
	// Unit is the bare fan-out's granularity; empty takes the check
	// activity the run through Temporal scheduled.
	Unit Unit
	// CapacityFor is how long the simulator's saturation run lasts;
	// default 5s.
	CapacityFor time.Duration
	// Progress receives a line per phase.
	Progress io.Writer
}

func (c Config) namespace() string {
	if c.Namespace == "" {
		return "default"
	}
	return c.Namespace
}

func (c *Config) defaults() error {
	if c.Accounts <= 0 {
		c.Accounts = 1000
	}
	if c.Pack == "" {
		return errors.New("no pack")
	}
	if c.Slots <= 0 {
		c.Slots = 50
	}
	if c.Window <= 0 {
		c.Window = 50
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.CapacityFor <= 0 {
		c.CapacityFor = 5 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Address == "" && len(c.ServerCommand) == 0 {
		return errors.New("neither a Temporal address nor a command that starts the dev server")
	}
	if c.WorkerBin == "" {
		return errors.New("no orgguard-worker binary")
	}
	return nil
}

// faults are the simulator's AWS-likeness: quotas and latency.
func (c Config) faults() (quotas, all []awssim.Fault) {
	if !c.NoQuotas {
		quotas = awssim.AWSQuotas()
	}
	all = append(all, quotas...)
	if !c.NoLatency {
		all = append(all, awssim.AWSLatency()...)
	}
	return quotas, all
}

// Run measures (a), (b) and (c) and what goes with them; see the package
// documentation.
func Run(ctx context.Context, cfg Config) (_ *Result, err error) {
	if err = cfg.defaults(); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "orgguard-scale-")
		if err != nil {
			return nil, err
		}
		cfg.Dir = dir
		// Logs and the dev server's database are kept when the run fails.
		defer func() {
			if err == nil {
				_ = os.RemoveAll(dir)
			}
		}()
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	// The CLI that starts the rollout must not pick up a login of the
	// person running the harness: check mode goes without a requester.
	_ = os.Setenv("ORGGUARD_TOKEN_CACHE", filepath.Join(cfg.Dir, "tokens"))
	_ = os.Setenv("ORGGUARD_AS", "")
	set, err := loadPack(cfg.Pack, cfg.Vars)
	if err != nil {
		return nil, err
	}
	seed := awssim.GenerateSeed(awssim.GenerateOptions{Accounts: cfg.Accounts, RandSeed: cfg.RandSeed})
	quotas, faults := cfg.faults()
	res := &Result{Config: cfg.summary(), Machine: machine(cfg.WorkerBin)}
	progress := func(format string, args ...any) {
		fmt.Fprintf(cfg.Progress, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	slots := cfg.Slots * cfg.Workers

	progress("simulator capacity: %d clients for %s, no latency, no quotas", slots, cfg.CapacityFor)
	if res.Capacity, err = measureCapacity(ctx, seed, slots, cfg.CapacityFor); err != nil {
		return nil, fmt.Errorf("simulator capacity: %w", err)
	}
	progress("  %.0f calls/s", res.Capacity.CallsPerSecond)

	// (a), on a simulator of its own.
	temporal := newCallLog()
	sim, err := newSim(seed, faults, cfg.RandSeed, temporal)
	if err != nil {
		return nil, err
	}
	res.Accounts = sim.Summary().ActiveAccounts
	progress("(a) through Temporal: %d accounts (%d active), %d worker process(es) × %d activity slots, %d accounts in flight",
		cfg.Accounts, res.Accounts, cfg.Workers, cfg.Slots, cfg.Window)
	env, err := startTemporal(ctx, cfg, cfg.Dir, sim)
	if err != nil {
		sim.Close()
		return nil, err
	}
	runID := fmt.Sprintf("scale-%d-%s", cfg.Accounts, time.Now().UTC().Format("20060102-150405"))
	res.Temporal, err = env.run(ctx, runID, progress)
	env.stop()
	sim.Close()
	if err != nil {
		return res, fmt.Errorf("through Temporal (logs in %s): %w", cfg.Dir, err)
	}
	temporalCalls := temporal.records()
	res.TemporalCalls = callStats(temporalCalls)
	progress("  %s, %d calls, %d history events", res.Temporal.Wall.Round(time.Millisecond), res.TemporalCalls.Total, res.Temporal.Histories.Events)

	// (b) on a fresh simulator (the same state, full quota buckets), in
	// units of the check activity (a) ran; its calls carry their chains.
	kind := cfg.Unit
	if kind == "" {
		kind = UnitGuardrail
		if res.Temporal.Histories.Activities[workflows.ActivityCheckAccountRegion] > 0 {
			kind = UnitAccountRegion
		}
	}
	direct := newCallLog()
	if sim, err = newSim(seed, faults, cfg.RandSeed, direct); err != nil {
		return nil, err
	}
	progress("(b) bare Go fan-out: %d accounts in flight, %d %s checks at once", cfg.Window, slots, kind)
	root, err := rootConfig(ctx, sim, true)
	if err != nil {
		sim.Close()
		return nil, err
	}
	factory := awsclient.New(root, awsclient.Options{RoleName: seed.MemberRole.Name, ExternalID: seed.MemberRole.ExternalID})
	res.Direct, err = runDirect(ctx, kind, factory, set, "scale-direct", cfg.Window, slots)
	sim.Close()
	if err != nil {
		return nil, fmt.Errorf("bare fan-out: %w", err)
	}
	directCalls := direct.records()
	res.DirectCalls = callStats(directCalls)
	progress("  %s, %d checks, %d calls, %d failed", res.Direct.Wall.Round(time.Millisecond), res.Direct.Units, res.DirectCalls.Total, res.Direct.Failed)

	// (c) for (a)'s calls, with (b)'s chains. An account × region unit
	// checks several guardrails at once, so more calls are in flight.
	par := 1
	if kind == UnitAccountRegion {
		par = activities.DefaultCheckParallelism
	}
	res.Bound = lowerBound(directCalls, temporalCalls, quotas, slots*par, par)
	res.DirectBound = lowerBound(directCalls, directCalls, quotas, slots*par, par)
	res.compute()
	return res, nil
}
