package scale

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a process the harness started (a worker, the dev server); the
// harness stops it by its own PID, never by name.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startProc starts bin with args and env, its output to logPath. When
// ready is not empty, startProc waits (up to wait) for a line of the
// process's standard output that starts with it and returns that line.
func startProc(name, logPath string, env []string, ready string, wait time.Duration, bin string, args ...string) (*proc, string, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = log
	// A harness that dies takes its processes along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out io.ReadCloser
	if ready == "" {
		cmd.Stdout = log
	} else if out, err = cmd.StdoutPipe(); err != nil {
		_ = log.Close()
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		if out != nil {
			sc := bufio.NewScanner(out)
			found := false
			for sc.Scan() {
				fmt.Fprintln(log, sc.Text())
				if !found && strings.HasPrefix(sc.Text(), ready) {
					found = true
					lines <- sc.Text()
				}
			}
		}
		p.err = cmd.Wait()
		_ = log.Close()
		close(p.done)
	}()
	if ready == "" {
		return p, "", nil
	}
	select {
	case line := <-lines:
		return p, line, nil
	case <-p.done:
		return nil, "", fmt.Errorf("%s exited before it was ready: %v (log %s)", name, p.err, logPath)
	case <-time.After(wait):
		p.stop(5 * time.Second)
		return nil, "", fmt.Errorf("%s not ready after %s (log %s)", name, wait, logPath)
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process ended (and why).
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	if done, _ := p.exited(); done {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// peakRSS is a process's peak resident set size in bytes (VmHWM in
// /proc/PID/status): read it before the process ends.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
}
