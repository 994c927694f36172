// Package chaos holds orgguard's chaos test (`make test-chaos`): a
// 200-account apply of the baseline pack against the AWS organization
// simulator with throttling, 5xx and eventual consistency, while the worker
// (a separate OS process) is killed with SIGKILL, the embedded Temporal
// server is restarted and approvals are voted on while no worker runs. It
// measures convergence, duplicate writes, lost approvals and wall time
// against a clean run, and writes them to docs/reliability.md. The package
// has no code of its own outside its tests.
package chaos
