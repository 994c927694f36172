// Command orgguard-scale is the scale harness behind `make bench-scale`
// (internal/scale, docs/performance.md): a check of the baseline pack over a
// generated organization through Temporal, as a bare Go fan-out, and
// against the lower bound from the simulator's call log, in one run.
//
//	orgguard-scale --accounts 1000 --write docs/performance.md
//
// Every flag defaults to its SCALE_* environment variable. `orgguard-scale
// temporal-dev` serves the embedded dev server in a process of its own (the
// harness starts it that way so that its memory can be measured).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orgguard/orgguard/internal/scale"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "temporal-dev" {
		err = serveDev(ctx, os.Args[2:], os.Stdout)
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "orgguard-scale:", err)
		os.Exit(1)
	}
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	n, err := strconv.Atoi(env(key, strconv.Itoa(def)))
	if err != nil {
		return def
	}
	return n
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("orgguard-scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg scale.Config
	var pids, write, jsonOut, unit string
	var timeout time.Duration
	var vars multi
	fs.IntVar(&cfg.Accounts, "accounts", envInt("SCALE_ACCOUNTS", 1000), "accounts in the generated organization (env SCALE_ACCOUNTS)")
	fs.IntVar(&cfg.Workers, "workers", envInt("SCALE_WORKERS", 1), "orgguard-worker processes (env SCALE_WORKERS)")
	fs.IntVar(&cfg.Slots, "slots", envInt("SCALE_SLOTS", 50), "activities per worker at once, --max-concurrent-activities (env SCALE_SLOTS)")
	fs.IntVar(&cfg.Window, "window", envInt("SCALE_WINDOW", 50), "accounts in flight, the rollout's --concurrency (env SCALE_WINDOW)")
	fs.StringVar(&cfg.Address, "address", os.Getenv("SCALE_ADDRESS"), "external Temporal frontend host:port; empty starts the embedded dev server (env SCALE_ADDRESS)")
	fs.StringVar(&cfg.Namespace, "namespace", env("SCALE_NAMESPACE", "default"), "Temporal namespace (env SCALE_NAMESPACE)")
	fs.StringVar(&pids, "server-pids", os.Getenv("SCALE_SERVER_PIDS"), "comma-separated PIDs of an external server, for its peak RSS (env SCALE_SERVER_PIDS)")
	fs.StringVar(&cfg.WorkerBin, "worker-bin", env("SCALE_WORKER_BIN", "bin/orgguard-worker"), "the orgguard-worker binary (env SCALE_WORKER_BIN)")
	fs.StringVar(&cfg.Pack, "pack", env("SCALE_PACK", "guardrails/packs/baseline"), "pack to check (env SCALE_PACK)")
	fs.Var(&vars, "var", "pack variable name=value (repeatable; default: the generated organization's scp_ous)")
	fs.StringVar(&cfg.Dir, "dir", os.Getenv("SCALE_DIR"), "directory for logs and the dev server's database (default: a new temporary one)")
	fs.BoolVar(&cfg.NoLatency, "no-latency", os.Getenv("SCALE_NO_LATENCY") != "", "simulator without AWS latency (env SCALE_NO_LATENCY)")
	fs.BoolVar(&cfg.NoQuotas, "no-quotas", os.Getenv("SCALE_NO_QUOTAS") != "", "simulator without AWS quotas (env SCALE_NO_QUOTAS)")
	fs.StringVar(&unit, "unit", os.Getenv("SCALE_UNIT"), "the bare fan-out's unit: guardrail or account-region; default: the check activity the run through Temporal scheduled (env SCALE_UNIT)")
	fs.DurationVar(&cfg.CapacityFor, "capacity-for", 5*time.Second, "length of the simulator's saturation run")
	fs.DurationVar(&timeout, "timeout", 4*time.Hour, "give up after this long")
	fs.Uint64Var(&cfg.RandSeed, "seed", 20261203, "seed of the generated organization's drift")
	fs.StringVar(&write, "write", os.Getenv("SCALE_WRITE"), "write the table into this markdown file (docs/performance.md) (env SCALE_WRITE)")
	fs.StringVar(&jsonOut, "json", os.Getenv("SCALE_JSON"), "also write every figure as JSON to this file (env SCALE_JSON)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Vars = vars
	switch scale.Unit(unit) {
	case "", scale.UnitGuardrail, scale.UnitAccountRegion:
		cfg.Unit = scale.Unit(unit)
	default:
		return fmt.Errorf("--unit %q: want %s or %s", unit, scale.UnitGuardrail, scale.UnitAccountRegion)
	}
	if len(cfg.Vars) == 0 {
		cfg.Vars = scale.GeneratedOrgVars
	}
	for _, p := range strings.FieldsFunc(pids, func(r rune) bool { return r == ',' || r == ' ' }) {
		pid, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("--server-pids: %q is not a PID", p)
		}
		cfg.ServerPIDs = append(cfg.ServerPIDs, pid)
	}
	if cfg.Workers < 1 {
		return errors.New("--workers: at least 1")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.ServerCommand = []string{self, "temporal-dev"}
	if cfg.WorkerBin, err = filepath.Abs(cfg.WorkerBin); err != nil {
		return err
	}
	if _, err := os.Stat(cfg.WorkerBin); err != nil {
		return fmt.Errorf("the worker binary (make bench-scale builds it): %w", err)
	}
	cfg.Progress = stderr
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := scale.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, res.Table())
	if jsonOut != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	if write != "" {
		if err := res.WriteMarkdown(write); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwritten to %s (section %q)\n", write, res.Key())
	}
	return nil
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ", ") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
