// Package scale is orgguard's scale harness (make bench-scale,
// docs/performance.md). On one machine and in one run it measures a check
// of the baseline pack over a generated organization three ways:
//
//   - (a) through Temporal: orgguard-worker processes against a Temporal
//     server (the embedded dev server in a process of its own, or any
//     server at an address), started and followed like an operator does;
//   - (b) as a bare Go fan-out: the same activity code called directly
//     (activities.CheckDirect) with the same concurrency, no Temporal;
//   - (c) as a lower bound computed from the simulator's call log: the
//     largest of the slowest account's serial critical path, every quota
//     bucket's calls over its refill rate, and the total call time over
//     the concurrency.
//
// It also reads the run's workflow histories, the peak RSS of the worker
// and server processes, the AWS calls per account and the reads repeated
// within the run, and measures the simulator's own capacity so that it is
// never the unseen bottleneck. The simulator adds AWS-like latency per
// service (awssim.AWSLatency) and AWS's request quotas (awssim.AWSQuotas).
package scale
