package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Postgres is the cluster's private PostgreSQL: a data directory under
// the state directory owned by the postgres user, listening on one
// loopback address and port only, with TCP password (SCRAM) logins and no
// Unix socket. It is not the distribution's system cluster.
type Postgres struct {
	// Dir is the data directory (<state dir>/pg).
	Dir string
	// BinDir holds initdb and pg_ctl.
	BinDir string
	IP     string
	Port   int
	// User is the superuser initdb creates; Temporal connects as it.
	User     string
	Password string
	// osUser runs initdb and pg_ctl: "postgres" when this process is
	// root (PostgreSQL refuses to run as root), "" for the current user.
	osUser string
	out    io.Writer
}

const (
	// DataDirName is the data directory under the state directory.
	DataDirName = "pg"
	// PasswordFileName, under the state directory, holds the password of
	// the database superuser; readable by the cluster's owner only.
	PasswordFileName = "postgres.password"
	superuser        = "temporal"
	osPostgresUser   = "postgres"
	// confFileName is written into the data directory at every start and
	// included by postgresql.conf: the settings the flags decide.
	confFileName = "orgguard.conf"
)

// Addr is host:port.
func (p *Postgres) Addr() string { return net.JoinHostPort(p.IP, strconv.Itoa(p.Port)) }

// newPostgres finds the binaries (installing PostgreSQL when they are
// absent) and reads or creates the superuser's password.
func newPostgres(ctx context.Context, stateDir, ip string, port int, out io.Writer) (*Postgres, error) {
	dir, err := dataDir(stateDir)
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: dir, IP: ip, Port: port, User: superuser, out: out}
	if os.Geteuid() == 0 {
		p.osUser = osPostgresUser
	}
	if p.BinDir, err = findBinDir(); err != nil {
		if err := installPostgres(ctx, out); err != nil {
			return nil, err
		}
		if p.BinDir, err = findBinDir(); err != nil {
			return nil, fmt.Errorf("after apt-get install postgresql: %w", err)
		}
	}
	if p.Password, err = password(filepath.Join(stateDir, PasswordFileName), p.Dir); err != nil {
		return nil, err
	}
	return p, nil
}

// dataDir is the state directory's data directory, absolute: PostgreSQL's
// programs run in / (see command).
func dataDir(stateDir string) (string, error) {
	abs, err := filepath.Abs(filepath.Join(stateDir, DataDirName))
	if err != nil {
		return "", fmt.Errorf("the data directory under %s: %w", stateDir, err)
	}
	return abs, nil
}

// binSearchPath is where Debian's postgresql-NN packages put initdb and
// pg_ctl (not on PATH: /usr/bin has only the pg_ctlcluster wrappers).
var binSearchPath = "/usr/lib/postgresql/*/bin"

// findBinDir returns the directory of initdb and pg_ctl: pg_ctl's on PATH
// if initdb sits beside it, else the newest /usr/lib/postgresql/NN/bin.
func findBinDir() (string, error) {
	if path, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil && isFile(filepath.Join(filepath.Dir(real), "initdb")) {
			return filepath.Dir(real), nil
		}
	}
	dirs, _ := filepath.Glob(binSearchPath)
	var found []string
	for _, d := range dirs {
		if isFile(filepath.Join(d, "pg_ctl")) && isFile(filepath.Join(d, "initdb")) {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("PostgreSQL server binaries (initdb, pg_ctl) are neither on PATH nor in %s", binSearchPath)
	}
	sort.Slice(found, func(i, j int) bool { return majorVersion(found[i]) < majorVersion(found[j]) })
	return found[len(found)-1], nil
}

// majorVersion of /usr/lib/postgresql/NN/bin.
func majorVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// installPostgres runs `apt-get install -y postgresql` (Debian's package
// of the distribution's supported major version: 15 on bookworm), with an
// `apt-get update` first when the package lists do not know it yet.
func installPostgres(ctx context.Context, out io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("PostgreSQL is not installed and installing it needs root: run `apt-get install -y postgresql` as root (or put initdb and pg_ctl on PATH)")
	}
	fmt.Fprintln(out, "PostgreSQL is not installed: apt-get install -y postgresql")
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "postgresql")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = out, out
		return cmd.Run()
	}
	if err := install(); err == nil {
		return nil
	}
	fmt.Fprintln(out, "apt-get install failed; apt-get update and once more")
	update := exec.CommandContext(ctx, "apt-get", "update")
	update.Stdout, update.Stderr = out, out
	if err := update.Run(); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	if err := install(); err != nil {
		return fmt.Errorf("apt-get install -y postgresql: %w", err)
	}
	return nil
}

// password reads the superuser's password, or makes one for a data
// directory that initdb has not initialised yet.
func password(path, dataDir string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the database password: %w", err)
	}
	if isFile(filepath.Join(dataDir, "PG_VERSION")) {
		return "", fmt.Errorf("the database password file %s is missing, and the data directory %s was initialised with it: restore the file, or remove the directory to start with an empty database", path, dataDir)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	pw := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the database password: %w", err)
	}
	return pw, nil
}

// command runs a PostgreSQL binary as the postgres user when this process
// is root (runuser), else as the current user. Its directory is / so
// that it needs no access to ours.
func (p *Postgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	bin := filepath.Join(p.BinDir, name)
	var cmd *exec.Cmd
	if p.osUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.osUser, "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// run runs a PostgreSQL binary; the error says what ran where and ends
// with its output.
func (p *Postgres) run(ctx context.Context, name string, args ...string) error {
	cmd := p.command(ctx, name, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		as := p.osUser
		if as == "" {
			as = "the current user"
		}
		return fmt.Errorf("%s as %s in %s: %w: %s", name, as, p.Dir, err, strings.TrimSpace(buf.String()))
	}
	return nil
}

// owner is the uid and gid the data directory belongs to.
func (p *Postgres) owner() (uid, gid int, err error) {
	if p.osUser == "" {
		return os.Geteuid(), os.Getegid(), nil
	}
	u, err := user.Lookup(p.osUser)
	if err != nil {
		return 0, 0, fmt.Errorf("the %s user (the postgresql package creates it): %w", p.osUser, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// initialised: initdb has run in Dir.
func (p *Postgres) initialised() bool { return isFile(filepath.Join(p.Dir, "PG_VERSION")) }

// initdb creates the data directory: UTF-8, C locale, data checksums, the
// superuser with the password, SCRAM authentication.
func (p *Postgres) initdb(ctx context.Context) error {
	uid, gid, err := p.owner()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return fmt.Errorf("create the data directory %s: %w", p.Dir, err)
	}
	if err := os.Chown(p.Dir, uid, gid); err != nil {
		return fmt.Errorf("give the data directory %s to %s: %w", p.Dir, p.osUser, err)
	}
	if p.osUser != "" {
		if err := grantSearch(ctx, p.Dir, p.osUser, p.out); err != nil {
			return err
		}
	}
	// initdb reads the password from a file the postgres user can read,
	// beside the data directory, removed right after.
	pwFile := p.Dir + ".initdb-password"
	if err := os.WriteFile(pwFile, []byte(p.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", pwFile, err)
	}
	defer os.Remove(pwFile)
	if err := os.Chown(pwFile, uid, gid); err != nil {
		return fmt.Errorf("give %s to %s: %w", pwFile, p.osUser, err)
	}
	return p.run(ctx, "initdb", "-D", p.Dir, "-U", p.User, "--pwfile", pwFile, "--auth", "scram-sha-256",
		"--encoding", "UTF8", "--no-locale", "--data-checksums")
}

// conf is orgguard.conf: the address and port of the flags, TCP only,
// connections for the Temporal services' pools, logs in the data
// directory's log/ with a week's rotation.
func (p *Postgres) conf() string {
	return fmt.Sprintf(`# Written by orgguard-cluster at every start (its flags decide these).
listen_addresses = '%s'
port = %d
unix_socket_directories = ''
max_connections = 200
logging_collector = on
log_directory = 'log'
log_filename = 'postgresql-%%a.log'
log_truncate_on_rotation = on
log_rotation_age = 1d
log_rotation_size = 0
`, p.IP, p.Port)
}

const includeLine = "include_if_exists = '" + confFileName + "'"

// configure writes orgguard.conf and makes postgresql.conf include it.
func (p *Postgres) configure() error {
	uid, gid, err := p.owner()
	if err != nil {
		return err
	}
	path := filepath.Join(p.Dir, confFileName)
	if err := os.WriteFile(path, []byte(p.conf()), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("give %s to %s: %w", path, p.osUser, err)
	}
	main := filepath.Join(p.Dir, "postgresql.conf")
	b, err := os.ReadFile(main)
	if err != nil {
		return fmt.Errorf("read %s: %w", main, err)
	}
	if bytes.Contains(b, []byte(includeLine)) {
		return nil
	}
	f, err := os.OpenFile(main, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", main, err)
	}
	_, err = fmt.Fprintf(f, "\n# orgguard-cluster's settings, last so that they win.\n%s\n", includeLine)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append to %s: %w", main, err)
	}
	return nil
}

// Running reports whether the data directory's server runs (pg_ctl status).
func (p *Postgres) Running(ctx context.Context) (bool, error) {
	if !p.initialised() {
		return false, nil
	}
	cmd := p.command(ctx, "pg_ctl", "status", "-D", p.Dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return false, nil
	default:
		return false, fmt.Errorf("pg_ctl status in %s: %w: %s", p.Dir, err, strings.TrimSpace(string(out)))
	}
}

// startupLog is pg_ctl's log of the server's start, before its logging
// collector takes over (log/ in the data directory).
func (p *Postgres) startupLog() string { return filepath.Join(p.Dir, "startup.log") }

// Start initialises the data directory if needed and starts the server
// unless it runs; it returns once the server accepts connections.
func (p *Postgres) Start(ctx context.Context) error {
	if !p.initialised() {
		fmt.Fprintf(p.out, "PostgreSQL: initdb %s (binaries %s)\n", p.Dir, p.BinDir)
		if err := p.initdb(ctx); err != nil {
			return err
		}
	}
	running, err := p.Running(ctx)
	if err != nil {
		return err
	}
	if running {
		// postmaster.pid's fourth line is the port it listens on.
		if b, err := os.ReadFile(filepath.Join(p.Dir, "postmaster.pid")); err == nil {
			if lines := strings.Split(string(b), "\n"); len(lines) > 3 && strings.TrimSpace(lines[3]) != strconv.Itoa(p.Port) {
				return fmt.Errorf("PostgreSQL in %s runs on port %s, not %d: stop the cluster first (orgguard-cluster stop) to change it", p.Dir, strings.TrimSpace(lines[3]), p.Port)
			}
		}
		fmt.Fprintf(p.out, "PostgreSQL: already running in %s\n", p.Dir)
		return p.waitAccepting(ctx)
	}
	if err := p.configure(); err != nil {
		return err
	}
	fmt.Fprintf(p.out, "PostgreSQL: starting on %s (data %s)\n", p.Addr(), p.Dir)
	if err := p.run(ctx, "pg_ctl", "start", "-D", p.Dir, "-l", p.startupLog(), "-w", "-t", "120"); err != nil {
		return fmt.Errorf("%w; see %s and %s", err, p.startupLog(), filepath.Join(p.Dir, "log"))
	}
	return p.waitAccepting(ctx)
}

// waitAccepting waits until the server's port answers: pg_ctl -w returns
// when the server is ready, but one started by someone else may still be
// starting up.
func (p *Postgres) waitAccepting(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", p.Addr())
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("PostgreSQL in %s does not accept connections on %s: %w", p.Dir, p.Addr(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the server if it runs (fast shutdown: open transactions are
// rolled back, everything committed is on disk).
func (p *Postgres) Stop(ctx context.Context) error {
	running, err := p.Running(ctx)
	if err != nil || !running {
		return err
	}
	return p.run(ctx, "pg_ctl", "stop", "-D", p.Dir, "-m", "fast", "-w", "-t", "120")
}
