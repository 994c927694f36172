package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/orgguard/orgguard/internal/awssim"
	"github.com/orgguard/orgguard/internal/cli"
	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/devserver"
	"github.com/orgguard/orgguard/internal/temporalclient"
	"github.com/orgguard/orgguard/workflows"
)

// identityEnv is what both runs share: the dev OIDC issuer, the worker's
// trust config for it and the CLI's token cache.
type identityEnv struct {
	idp       *devidp.Issuer
	trustPath string
}

func newIdentity(t *testing.T, dir string) *identityEnv {
	idp, err := devidp.Start(devidp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = idp.Close() })
	path := filepath.Join(dir, "trust.hcl")
	require.NoError(t, os.WriteFile(path, []byte(idp.TrustConfig()), 0o600))
	t.Setenv("ORGGUARD_TOKEN_CACHE", filepath.Join(dir, "tokens"))
	t.Setenv("ORGGUARD_AS", "")
	t.Setenv("TEMPORAL_ADDRESS", "")
	return &identityEnv{idp: idp, trustPath: path}
}

// env is one run's world: a simulator, a Temporal server, and
// orgguard-worker processes (one per worker slot) as separate OS
// processes. The server is embedded in this process, where it can be
// stopped and started again on its SQLite file and port, or it is an
// external cluster (orgguard-cluster) the run only connects to.
type env struct {
	t         *testing.T
	name      string
	id        *identityEnv
	seed      *awssim.Seed
	sim       *awssim.Server
	dir       string // the CLI's --state-dir (dev.json) and the server's database
	logDir    string
	port      int    // the embedded server's frontend port
	external  string // an external cluster's frontend; empty: the embedded server
	workerBin string
	workerEnv []string
	start     time.Time // of the apply: timeline offsets count from here
	runID     string    // of the apply
	// successes counts the simulator's successful calls: the chaos
	// events fire at points of this count.
	successes atomic.Int64

	mu       sync.Mutex
	srv      *devserver.Server
	client   client.Client
	workers  []*workerSlot
	workerN  int
	timeline []event
	died     []string
	refused  []string // workers that exited at start: no server to connect to
}

// workerSlot is the place of one worker process: the chaos run has one,
// the cluster run two. A worker that exits on its own is started again in
// its slot by the supervisor; a killed one is started again by the driver.
type workerSlot struct {
	cmd    *exec.Cmd
	exited chan struct{}
	down   bool // the driver keeps the slot's worker down
}

// event is one entry of the kill/restart timeline.
type event struct {
	At     time.Duration `json:"at"`
	What   string        `json:"what"`
	Detail string        `json:"detail,omitempty"`
}

// newEnv starts the run's simulator and, unless cluster names an external
// cluster's frontend, its embedded server; workers is the number of worker
// slots.
func newEnv(t *testing.T, name string, id *identityEnv, seed *awssim.Seed, simOpts awssim.Options, workerBin, logDir, cluster string, workers int) *env {
	e := &env{t: t, name: name, id: id, seed: seed, workerBin: workerBin, logDir: filepath.Join(logDir, name), external: cluster}
	for range max(workers, 1) {
		e.workers = append(e.workers, &workerSlot{})
	}
	require.NoError(t, os.MkdirAll(e.logDir, 0o755))
	e.dir = t.TempDir()
	simOpts.Seed = seed
	simOpts.IgnoreEnvironment = true
	simOpts.OnCall = func(c awssim.Call) {
		if c.ErrorCode == "" {
			e.successes.Add(1)
		}
	}
	sim, err := awssim.New(simOpts)
	require.NoError(t, err)
	e.sim = sim
	t.Cleanup(func() { _ = sim.Close() })

	if e.external == "" {
		e.port = frontendPort(t)
		e.startServer()
	}
	c, err := client.Dial(client.Options{HostPort: e.addr(), Logger: quietLogger{}})
	require.NoError(t, err)
	e.client = c
	require.NoError(t, temporalclient.WriteDevState(e.dir, temporalclient.DevState{Address: e.addr(), Namespace: "default", Issuer: id.idp.URL()}))
	t.Cleanup(e.close)

	// The worker sees the simulator only through the AWS SDK's standard
	// environment, as in production.
	key, secret := sim.ManagementCredentials()
	none := filepath.Join(e.dir, "none")
	e.workerEnv = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"AWS_ENDPOINT_URL=" + sim.URL(), "AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none,
		// S3 Control addresses <account>.<endpoint host>; the simulator
		// proxies those names (docs/awssim.md).
		"HTTP_PROXY=" + sim.URL(),
	}
	return e
}

// close stops the workers, the client and the embedded server: a
// finished run leaves nothing running beside the next one.
func (e *env) close() {
	for slot := range e.workers {
		e.stopWorker(slot)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client != nil {
		e.client.Close()
		e.client = nil
	}
	if e.srv != nil {
		e.srv.Stop()
		e.srv = nil
	}
}

func (e *env) addr() string {
	if e.external != "" {
		return e.external
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(e.port))
}

func (e *env) offset() time.Duration {
	if e.start.IsZero() {
		return 0
	}
	return time.Since(e.start)
}

func (e *env) record(what, detail string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.timeline = append(e.timeline, event{At: e.offset().Round(100 * time.Millisecond), What: what, Detail: detail})
	e.t.Logf("%s +%s %s %s", e.name, e.offset().Round(100*time.Millisecond), what, detail)
}

func (e *env) events() []event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]event(nil), e.timeline...)
}

// startServer starts the embedded server on the run's database and port,
// retrying while the port is still held by the stopped one.
func (e *env) startServer() {
	var err error
	for i := 0; i < 30; i++ {
		var srv *devserver.Server
		srv, err = devserver.Start(context.Background(), devserver.Options{
			StateDir: filepath.Join(e.dir, "temporal"), FrontendPort: e.port, UIPort: -1,
			SearchAttributes: workflows.SearchAttributes(),
		})
		if err == nil {
			e.mu.Lock()
			e.srv = srv
			e.mu.Unlock()
			return
		}
		time.Sleep(time.Second)
	}
	require.NoError(e.t, err, "start the embedded Temporal server again")
}

// restartServer stops the embedded server, waits down, and starts it
// again on the same SQLite file and port.
func (e *env) restartServer(down time.Duration) {
	e.mu.Lock()
	srv := e.srv
	e.srv = nil
	e.mu.Unlock()
	began := time.Now()
	srv.Stop()
	e.record("server stopped", fmt.Sprintf("in %s", time.Since(began).Round(100*time.Millisecond)))
	time.Sleep(down)
	began = time.Now()
	e.startServer()
	e.record("server started", fmt.Sprintf("same database and port, ready in %s", time.Since(began).Round(100*time.Millisecond)))
}

// startWorker starts a new orgguard-worker process in a slot.
func (e *env) startWorker(slot int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.workerN++
	n := e.workerN
	w := e.workers[slot]
	// Each slot's worker has a state directory of its own.
	stateDir := "worker"
	if slot > 0 {
		stateDir = fmt.Sprintf("worker%d", slot+1)
	}
	logPath := filepath.Join(e.logDir, fmt.Sprintf("worker-%d.log", e.workerN))
	log, err := os.Create(logPath)
	require.NoError(e.t, err)
	cmd := exec.Command(e.workerBin,
		"--address", e.addr(),
		"--trust-config", e.id.trustPath,
		"--role-name", e.seed.MemberRole.Name,
		"--external-id", e.seed.MemberRole.ExternalID,
		"--state-dir", filepath.Join(e.dir, stateDir),
		"--log-format", "json", "--log-level", "warn",
	)
	cmd.Env = e.workerEnv
	// A test binary that dies (timeout, ^C) takes its worker along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(e.t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		_ = log.Close()
		e.mu.Lock()
		if w.cmd == cmd {
			// Nobody killed it: the worker exited on its own. One that
			// could not reach the server when it started (a restart under
			// way) fails fast, as it should; any other exit is reported.
			msg := fmt.Sprintf("worker #%d (pid %d) exited at +%s: %v: %s", n, cmd.Process.Pid, e.offset().Round(100*time.Millisecond), err, lastLine(logPath))
			if strings.Contains(msg, "connect to temporal") {
				e.refused = append(e.refused, msg)
			} else {
				e.died = append(e.died, msg)
			}
			w.cmd = nil
		}
		e.mu.Unlock()
		close(exited)
	}()
	w.cmd, w.exited, w.down = cmd, exited, false
}

// supervise restarts a worker that exited on its own, as systemd or
// Kubernetes would (each such exit is reported), until ctx ends.
func (e *env) supervise(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		var restart []int
		e.mu.Lock()
		for slot, w := range e.workers {
			if w.cmd == nil && !w.down {
				restart = append(restart, slot)
			}
		}
		e.mu.Unlock()
		for _, slot := range restart {
			e.startWorker(slot)
			e.record("worker restarted by the supervisor", "it had exited on its own")
		}
	}
}

// killWorker sends SIGKILL to a slot's worker process (the one this test
// started, by its PID) and waits for it to be gone.
func (e *env) killWorker(slot int) int {
	e.mu.Lock()
	w := e.workers[slot]
	cmd, exited := w.cmd, w.exited
	w.cmd, w.down = nil, true
	e.mu.Unlock()
	if cmd == nil {
		return 0
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	return cmd.Process.Pid
}

// stopWorker ends a slot's worker at the end of a run (SIGTERM, then
// SIGKILL).
func (e *env) stopWorker(slot int) {
	e.mu.Lock()
	w := e.workers[slot]
	cmd, exited := w.cmd, w.exited
	w.cmd, w.down = nil, true
	e.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
}

// lastLine is the last line of a worker's log, where it says why it exited.
func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	l := lines[len(lines)-1]
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}

// waitPolling waits until the worker process pid polls the task queue, so
// that the next event hits a running worker, not one still starting.
func (e *env) waitPolling(ctx context.Context, pid int) time.Duration {
	began := time.Now()
	suffix := fmt.Sprintf(":%d", pid)
	for time.Since(began) < time.Minute && ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := e.client.DescribeTaskQueue(cctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		cancel()
		if err == nil {
			for _, p := range resp.Pollers {
				if strings.HasSuffix(p.Identity, suffix) {
					return time.Since(began)
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(began)
}

func (e *env) workerPID(slot int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if w := e.workers[slot]; w.cmd != nil {
		return w.cmd.Process.Pid
	}
	return 0
}

func (e *env) refusedStarts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.refused...)
}

func (e *env) deaths() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.died...)
}

// cli runs the orgguard CLI in this process against the run's server.
func (e *env) cli(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cli.Run(ctx, append([]string{"--state-dir", e.dir}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func (e *env) login(names ...string) {
	for _, n := range names {
		code, out, errOut := e.cli(context.Background(), "login", "--as", n)
		require.Equal(e.t, 0, code, out+errOut)
	}
}

// retry calls f until it succeeds or ctx ends: the server may be down for
// a restart, and a workflow's result waits for a worker.
func retry(ctx context.Context, f func(ctx context.Context) error) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := f(cctx)
		cancel()
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// frontendPort picks a free port below Linux's ephemeral range (32768 and
// up): the server gives it up at every restart, and an outgoing connection
// must not take it meanwhile.
func frontendPort(t *testing.T) int {
	for range 100 {
		port := 20000 + rand.IntN(10000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			_ = ln.Close()
			return port
		}
	}
	t.Fatal("no free port between 20000 and 30000")
	return 0
}

// quietLogger drops the SDK's logs: reconnect warnings during a server
// restart are expected here.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

var errNotDone = errors.New("not done yet")

// retryable: anything but the workflow's own failure or its absence, which
// waiting does not change.
func retryable(err error) bool {
	var wee *temporal.WorkflowExecutionError
	var nf *serviceerror.NotFound
	return !errors.As(err, &wee) && !errors.As(err, &nf)
}
