package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Files of a running cluster in its state directory.
const (
	// StateFileName is written by the serving process once the frontend
	// answers with the namespace and search attributes in place, and
	// removed when it stops.
	StateFileName = "cluster.json"
	// LogFileName receives a background cluster's output.
	LogFileName = "cluster.log"
	// lockFileName is held (flock) by the process that serves, or that
	// prepares PostgreSQL; it holds that process's PID.
	lockFileName = "cluster.lock"
)

// State describes a serving cluster, for `orgguard-cluster status` and
// `stop` and for scripts.
type State struct {
	PID       int       `json:"pid"`
	Address   string    `json:"address"`
	Namespace string    `json:"namespace"`
	UI        string    `json:"ui,omitempty"`
	Postgres  string    `json:"postgres"`
	DataDir   string    `json:"data_dir"`
	Started   time.Time `json:"started"`
}

// WriteState records st, atomically.
func WriteState(dir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, StateFileName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return os.Rename(tmp, filepath.Join(dir, StateFileName))
}

// ReadState reads what the serving process wrote; os.ErrNotExist when
// none serves.
func ReadState(dir string) (State, error) {
	var st State
	path := filepath.Join(dir, StateFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// RemoveState forgets the serving process.
func RemoveState(dir string) { _ = os.Remove(filepath.Join(dir, StateFileName)) }

// ErrNotInitialised: the state directory has no PostgreSQL data directory.
var ErrNotInitialised = errors.New("no PostgreSQL data directory")

// ErrRunning: another process holds the state directory.
var ErrRunning = errors.New("the cluster runs")

// Lock takes the state directory's lock and writes this process's PID into
// it; the lock goes with the process, however it ends. ErrRunning (with
// the holder's PID) when another process holds it.
func Lock(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("create the state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockFileName)
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fh.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w in %s (pid %d holds %s)", ErrRunning, dir, LockHolder(dir), path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := fh.Truncate(0); err == nil {
		_, _ = fh.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { _ = syscall.Flock(int(fh.Fd()), syscall.LOCK_UN); fh.Close() }, nil
}

// Locked reports whether a process holds the state directory's lock.
func Locked(dir string) bool {
	fh, err := os.Open(filepath.Join(dir, lockFileName))
	if err != nil {
		return false
	}
	defer fh.Close()
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(fh.Fd()), syscall.LOCK_UN)
	return false
}

// LockHolder is the PID written into the lock file, 0 if none.
func LockHolder(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, lockFileName))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// StartBackground runs `exe args...` (the serving command) detached from
// this process, in its own session, with its output appended to the state
// directory's log, and waits until it has written its state (it serves),
// or has exited (its log's last lines become the error), or wait is over
// (it is stopped).
func StartBackground(ctx context.Context, dir, exe string, args []string, wait time.Duration) (State, error) {
	RemoveState(dir)
	logPath := filepath.Join(dir, LogFileName)
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return State{}, fmt.Errorf("open %s: %w", logPath, err)
	}
	defer log.Close()
	fmt.Fprintf(log, "\n==> %s %s %s\n", time.Now().UTC().Format(time.RFC3339), exe, strings.Join(args, " "))
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return State{}, fmt.Errorf("start %s: %w", exe, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(wait)
	for {
		if st, err := ReadState(dir); err == nil && st.PID == pid {
			return st, nil
		}
		select {
		case err := <-exited:
			return State{}, fmt.Errorf("the cluster process (pid %d) exited before serving: %v; the end of %s:\n%s", pid, err, logPath, tail(logPath, 15))
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return State{}, fmt.Errorf("the cluster process (pid %d) was not serving after %s, so it was stopped; the end of %s:\n%s", pid, wait, logPath, tail(logPath, 15))
		case <-ctx.Done():
			return State{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tail is the last n lines of a file.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Stop stops the cluster of a state directory, whichever process runs it:
// SIGTERM to the lock's holder (it stops the Temporal server and
// PostgreSQL), SIGKILL if it has not exited after grace; then PostgreSQL,
// if it still runs (its serving process was killed, or only prepared it).
// Nothing running is no error.
func Stop(ctx context.Context, dir string, grace time.Duration, out io.Writer) error {
	if Locked(dir) {
		pid := LockHolder(dir)
		if pid <= 0 {
			return fmt.Errorf("the lock %s is held but names no process", filepath.Join(dir, lockFileName))
		}
		if !isClusterProcess(pid) {
			return fmt.Errorf("the lock %s names pid %d, which is not an orgguard-cluster process: not signalling it", filepath.Join(dir, lockFileName), pid)
		}
		fmt.Fprintf(out, "stopping the cluster process (pid %d)\n", pid)
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal pid %d: %w", pid, err)
		}
		if !waitUnlocked(ctx, dir, grace) {
			fmt.Fprintf(out, "pid %d still runs after %s: SIGKILL\n", pid, grace)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if !waitUnlocked(ctx, dir, 30*time.Second) {
				return fmt.Errorf("pid %d still holds %s after SIGKILL", pid, filepath.Join(dir, lockFileName))
			}
		}
	}
	RemoveState(dir)
	return StopPostgres(ctx, dir, out)
}

// StopPostgres stops the state directory's PostgreSQL if it runs.
func StopPostgres(ctx context.Context, dir string, out io.Writer) error {
	pg, err := openPostgres(dir, out)
	if errors.Is(err, ErrNotInitialised) {
		return nil
	}
	if err != nil {
		return err
	}
	running, err := pg.Running(ctx)
	if err != nil || !running {
		return err
	}
	fmt.Fprintf(out, "stopping PostgreSQL in %s\n", pg.Dir)
	return pg.Stop(ctx)
}

func waitUnlocked(ctx context.Context, dir string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Locked(dir) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

// isClusterProcess: pid runs an orgguard-cluster binary (a recycled PID
// is not signalled).
func isClusterProcess(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	argv0, _, _ := bytes.Cut(b, []byte{0})
	return strings.Contains(filepath.Base(string(argv0)), "orgguard-cluster")
}

// openPostgres is the state directory's PostgreSQL, for stopping it.
func openPostgres(dir string, out io.Writer) (*Postgres, error) {
	data, err := dataDir(dir)
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: data, out: out}
	if !p.initialised() {
		return nil, ErrNotInitialised
	}
	if os.Geteuid() == 0 {
		p.osUser = osPostgresUser
	}
	if p.BinDir, err = findBinDir(); err != nil {
		return nil, err
	}
	return p, nil
}
