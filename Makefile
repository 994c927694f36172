# orgguard — everything a fresh clone needs runs through this Makefile.
# Only Go is required; tools run through `go run module@version`.

GO          ?= go
BIN         := bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
WORKFLOWCHK := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0
# Packages that link the embedded Temporal server are slow to build with the
# race detector on 2 cores; they run without it, everything else with it.
SERVER_PKGS := ./internal/devserver/... ./cmd/worker/... ./internal/e2e/... ./internal/chaos/... ./internal/cluster/... ./cmd/orgguard-cluster/...
TEST_TIMEOUT ?= 30m

.PHONY: all build test test-race test-server test-browser test-chaos lint demo bench clean help

all: build

help:
	@echo "make build   build bin/orgguard, bin/orgguard-worker, bin/awssim"
	@echo "make test    unit + integration tests (race detector where it fits), also with simulated eventual consistency"
	@echo "make test-browser the web console in headless Chromium (installed from Debian when missing, as root); screenshots in .orgguard/artifacts/browser"
	@echo "make test-chaos  200-account apply under faults, SIGKILLs and server restarts; writes docs/reliability.md"
	@echo "make cluster      Temporal on PostgreSQL in the background (state in .orgguard/cluster), prints its address"
	@echo "make cluster-stop stop it (Temporal and PostgreSQL)"
	@echo "make test-cluster 200-account apply on Temporal on PostgreSQL, two workers, one SIGKILLed (see docs/cluster.md)"
	@echo "make demo    the whole story on a simulated organization"
	@echo "make lint    go vet, staticcheck, workflowcheck"
	@echo "make bench   benchmarks"
	@echo "make bench-audit  orgguard audit --approver alice --since 720h over AUDIT_RECORDS (100000) remediations on the dev server; AUDIT_FILL closed|open; AUDIT_STATE_DIR keeps the fill (see docs/performance.md)"
	@echo "make bench-scale  scale harness: SCALE_ACCOUNTS (1000) accounts through Temporal vs a bare Go fan-out vs the lower bound; SCALE_WORKERS, SCALE_ADDRESS; writes docs/performance.md"
	@echo "make clean   remove binaries and local state"

build:
	@echo "==> building $(BIN)/orgguard, $(BIN)/orgguard-worker, $(BIN)/awssim (the first build compiles the Temporal server: several minutes)"
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/orgguard ./cmd/starter
	$(GO) build -o $(BIN)/orgguard-worker ./cmd/worker
	$(GO) build -o $(BIN)/awssim ./cmd/awssim

test: test-race test-server test-consistency test-browser

test-race:
	@echo "==> unit and simulator tests with the race detector"
	$(GO) test -race -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v -e /internal/devserver -e /cmd/worker -e /internal/e2e -e /internal/chaos -e /internal/cluster -e /cmd/orgguard-cluster)

test-server:
	@echo "==> tests on the embedded Temporal server (no race detector: it would double a long build)"
	$(GO) test -timeout $(TEST_TIMEOUT) $$($(GO) list $(SERVER_PKGS) | grep -v /internal/e2e/browser)

# The web console in a real browser: Debian's headless Chromium (the test
# installs it with apt-get when missing and running as root, and skips only
# when it can do neither), driven by chromedp against the simulator, the
# embedded Temporal server and the worker. About a minute and a half on 2
# cores once built; screenshots of every page in ARTIFACTS.
ARTIFACTS ?= $(CURDIR)/.orgguard/artifacts
test-browser:
	@echo "==> web console in headless Chromium: login, approve, refusals; screenshots in $(ARTIFACTS)/browser"
	ORGGUARD_ARTIFACTS=$(ARTIFACTS)/browser $(GO) test -count=1 -v -timeout 15m ./internal/e2e/browser/

# With the simulator's eventual consistency on (docs/awssim.md): the
# activities' simulator tests, and the baseline pack end to end through the
# real worker's retries (the only e2e test whose pack writes IAM, KMS and
# Config). About a minute and a half on 2 cores, most of it the e2e test.
.PHONY: test-consistency
test-consistency:
	@echo "==> simulator tests and the baseline pack end to end with eventual consistency (AWSSIM_CONSISTENCY_DELAY=2s)"
	AWSSIM_CONSISTENCY_DELAY=2s $(GO) test -race -timeout $(TEST_TIMEOUT) ./activities/
	AWSSIM_CONSISTENCY_DELAY=2s $(GO) test -timeout $(TEST_TIMEOUT) -run '^TestBaselinePackOnDemoOrganization$$' ./internal/e2e/baseline/

# The chaos test kills bin/orgguard-worker, a separate process, and writes
# its figures to docs/reliability.md (docs/reliability.md says what they mean).
test-chaos:
	@echo "==> chaos test: 200-account apply with faults, 5 SIGKILLs of the worker, 2 server restarts (tens of minutes on 2 cores)"
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/orgguard-worker ./cmd/worker
	ORGGUARD_CHAOS=1 ORGGUARD_WORKER_BIN=$(CURDIR)/$(BIN)/orgguard-worker ORGGUARD_CHAOS_WRITE=$(CURDIR)/docs/reliability.md \
		$(GO) test -count=1 -v -timeout 150m -run TestChaosApply ./internal/chaos/

# Temporal on PostgreSQL on this machine (docs/cluster.md).
CLUSTER_DIR ?= .orgguard/cluster
.PHONY: cluster cluster-stop test-cluster
cluster:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/orgguard-cluster ./cmd/orgguard-cluster
	$(BIN)/orgguard-cluster start --state-dir $(CLUSTER_DIR)

cluster-stop:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/orgguard-cluster ./cmd/orgguard-cluster
	$(BIN)/orgguard-cluster stop --state-dir $(CLUSTER_DIR)

# A cluster of its own, from an empty database, on ports of its own so that
# a `make cluster` can run beside it; stopped at the end, pass or fail.
TEST_CLUSTER_DIR  := .orgguard/test-cluster
TEST_CLUSTER_PORT := 7533
TEST_CLUSTER_PG_PORT := 7532
test-cluster:
	@echo "==> Temporal on PostgreSQL: started twice on one database, then a 200-account apply with two workers, one SIGKILLed"
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/orgguard-cluster ./cmd/orgguard-cluster
	$(GO) build -o $(BIN)/orgguard-worker ./cmd/worker
	ORGGUARD_CLUSTER=1 $(GO) test -count=1 -v -timeout 10m -run '^TestClusterStartsTwiceOnOneDatabase$$' ./internal/cluster/
	$(BIN)/orgguard-cluster stop --state-dir $(TEST_CLUSTER_DIR)
	rm -rf $(TEST_CLUSTER_DIR)
	$(BIN)/orgguard-cluster start --state-dir $(TEST_CLUSTER_DIR) --port $(TEST_CLUSTER_PORT) --pg-port $(TEST_CLUSTER_PG_PORT)
	ORGGUARD_CLUSTER=1 ORGGUARD_CLUSTER_ADDRESS=127.0.0.1:$(TEST_CLUSTER_PORT) ORGGUARD_WORKER_BIN=$(CURDIR)/$(BIN)/orgguard-worker \
		$(GO) test -count=1 -v -timeout 90m -run '^TestClusterApply$$' ./internal/chaos/; \
		status=$$?; $(BIN)/orgguard-cluster stop --state-dir $(TEST_CLUSTER_DIR); exit $$status

lint:
	@echo "==> go vet"
	$(GO) vet ./...
	@echo "==> staticcheck"
	$(GO) run $(STATICCHECK) ./...
	@echo "==> workflowcheck (workflows must be deterministic)"
	$(GO) run $(WORKFLOWCHK) ./workflows/...

demo: build
	@echo "==> orgguard demo: simulator + dev worker + the baseline pack (check, plan, apply with approval, audit)"
	$(BIN)/orgguard demo

# The audit benchmark fills its own server for minutes before it measures
# anything: it runs from bench-audit only.
bench:
	@echo "==> benchmarks (bench-audit runs the audit benchmark)"
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v -e /internal/e2e/auditbench)

# issue 12 §7: AUDIT_RECORDS remediation executions (default 100,000) on an
# embedded dev server, then `orgguard audit --approver alice --since 720h`
# through the real CLI code. The fill is not timed; on 2 shared cores it
# takes over an hour, so AUDIT_STATE_DIR keeps the server's state and a
# later run (or an interrupted one) resumes the fill instead of redoing it.
AUDIT_RECORDS   ?= 100000
AUDIT_STATE_DIR ?=
AUDIT_FILL      ?= closed
.PHONY: bench-audit
bench-audit:
	@echo "==> audit at scale: $(AUDIT_RECORDS) remediation records, $(AUDIT_FILL) rows$(if $(AUDIT_STATE_DIR), kept in $(AUDIT_STATE_DIR))"
	AUDIT_RECORDS=$(AUDIT_RECORDS) AUDIT_FILL=$(AUDIT_FILL) AUDIT_STATE_DIR=$(if $(AUDIT_STATE_DIR),$(abspath $(AUDIT_STATE_DIR))) \
		$(GO) test -count=1 -v -timeout 6h -run '^$$' -bench '^BenchmarkAuditApprover$$' ./internal/e2e/auditbench/

# The scale harness (docs/performance.md): a check of the baseline pack over
# SCALE_ACCOUNTS generated accounts through SCALE_WORKERS worker processes
# (against the embedded dev server, or SCALE_ADDRESS), beside the same
# checks as a bare Go fan-out and the lower bound from the simulator's
# call log. Nothing else should load the machine meanwhile.
SCALE_ACCOUNTS ?= 1000
SCALE_WORKERS  ?= 1
SCALE_ADDRESS  ?=
.PHONY: bench-scale
bench-scale:
	@echo "==> scale harness: $(SCALE_ACCOUNTS) accounts, $(SCALE_WORKERS) worker(s), $(if $(SCALE_ADDRESS),Temporal at $(SCALE_ADDRESS),embedded dev server)"
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/orgguard-worker ./cmd/worker
	$(GO) build -o $(BIN)/orgguard-scale ./cmd/orgguard-scale
	$(BIN)/orgguard-scale --accounts $(SCALE_ACCOUNTS) --workers $(SCALE_WORKERS) --address "$(SCALE_ADDRESS)" \
		--worker-bin $(BIN)/orgguard-worker --write docs/performance.md

clean:
	rm -rf $(BIN) .orgguard
