package cluster

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithUserSearch(t *testing.T) {
	const pg = 101
	for _, tc := range []struct {
		name string
		in   []aclEntry
		want []aclEntry
	}{
		{
			"a 0750 directory without ACL gains the entry and a mask of the group class",
			modeACL(0o750),
			[]aclEntry{{aclUserObj, 7, aclUndefinedID}, {aclUser, 1, pg}, {aclGroupObj, 5, aclUndefinedID}, {aclMask, 5, aclUndefinedID}, {aclOther, 0, aclUndefinedID}},
		},
		{
			"a 0700 directory: the mask is search only, so the group gains nothing",
			modeACL(0o700),
			[]aclEntry{{aclUserObj, 7, aclUndefinedID}, {aclUser, 1, pg}, {aclGroupObj, 0, aclUndefinedID}, {aclMask, 1, aclUndefinedID}, {aclOther, 0, aclUndefinedID}},
		},
		{
			"an existing entry for the user keeps its read and gains search; the mask only gains search",
			[]aclEntry{{aclUserObj, 7, aclUndefinedID}, {aclUser, 4, pg}, {aclUser, 6, 7}, {aclGroupObj, 0, aclUndefinedID}, {aclMask, 4, aclUndefinedID}, {aclOther, 0, aclUndefinedID}},
			[]aclEntry{{aclUserObj, 7, aclUndefinedID}, {aclUser, 6, 7}, {aclUser, 5, pg}, {aclGroupObj, 0, aclUndefinedID}, {aclMask, 5, aclUndefinedID}, {aclOther, 0, aclUndefinedID}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := withUserSearch(tc.in, pg)
			assert.Equal(t, tc.want, got)
			back, err := decodeACL(encodeACL(got))
			require.NoError(t, err)
			assert.Equal(t, got, back, "encode and decode")
		})
	}
}

func TestDecodeACLRejectsOtherFormats(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 0, 0, 0}, {2, 0, 0, 0, 1}} {
		_, err := decodeACL(b)
		assert.Error(t, err, "%v", b)
	}
}

// TestGrantSearch lets the postgres user into a directory below two it
// could not search (a test's temporary directory is 0700), and checks with
// the kernel that it can reach it then, and that nobody else can.
func TestGrantSearch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (runuser, ACLs on directories root owns)")
	}
	if _, err := user.Lookup(osPostgresUser); err != nil {
		t.Skip("no postgres user on this machine")
	}
	dir := filepath.Join(t.TempDir(), "private", "state", "pg")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o750))
	ctx := context.Background()
	require.False(t, canSearch(ctx, filepath.Dir(dir), osPostgresUser), "the test's directory must start out closed to postgres")

	var out strings.Builder
	require.NoError(t, grantSearch(ctx, dir, osPostgresUser, &out))
	assert.True(t, canSearch(ctx, filepath.Dir(dir), osPostgresUser), "postgres reaches the data directory's parent")
	assert.Contains(t, out.String(), "may now search (not list) "+filepath.Dir(dir))
	// Search, not read: postgres cannot list what it passes through.
	assert.Error(t, exec.Command("runuser", "-u", osPostgresUser, "--", "ls", filepath.Dir(dir)).Run(), "postgres lists the directory")
	// The mode stays as it was: other users are not let in.
	st, err := os.Stat(filepath.Dir(dir))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), st.Mode().Perm())
	assert.False(t, canSearch(ctx, filepath.Dir(dir), "nobody"), "nobody searches it")

	// A second call finds nothing to do.
	out.Reset()
	require.NoError(t, grantSearch(ctx, dir, osPostgresUser, &out))
	assert.Empty(t, out.String())
}

func TestFindBinDirTakesTheNewestMajorVersion(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9", "13", "15"} {
		bin := filepath.Join(root, v, "bin")
		require.NoError(t, os.MkdirAll(bin, 0o755))
		for _, name := range []string{"initdb", "pg_ctl"} {
			require.NoError(t, os.WriteFile(filepath.Join(bin, name), nil, 0o755))
		}
	}
	// 16 has no initdb: a client-only install.
	require.NoError(t, os.MkdirAll(filepath.Join(root, "16", "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "16", "bin", "pg_ctl"), nil, 0o755))
	t.Setenv("PATH", t.TempDir())
	old := binSearchPath
	binSearchPath = filepath.Join(root, "*", "bin")
	t.Cleanup(func() { binSearchPath = old })

	got, err := findBinDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "15", "bin"), got)

	binSearchPath = filepath.Join(t.TempDir(), "*", "bin")
	_, err = findBinDir()
	assert.ErrorContains(t, err, "initdb, pg_ctl")
}

func TestPasswordIsMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	path, data := filepath.Join(dir, PasswordFileName), filepath.Join(dir, DataDirName)
	pw, err := password(path, data)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(pw), 32)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	again, err := password(path, data)
	require.NoError(t, err)
	assert.Equal(t, pw, again)

	// A data directory initialised with a password that is gone cannot be
	// logged into: say so rather than make a new one.
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.MkdirAll(data, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(data, "PG_VERSION"), []byte("15\n"), 0o600))
	_, err = password(path, data)
	assert.ErrorContains(t, err, "is missing")
}

func TestConfListensOnlyWhereTold(t *testing.T) {
	p := &Postgres{IP: "127.0.0.1", Port: 7432}
	c := p.conf()
	assert.Contains(t, c, "listen_addresses = '127.0.0.1'\n")
	assert.Contains(t, c, "port = 7432\n")
	assert.Contains(t, c, "unix_socket_directories = ''\n")
	assert.Contains(t, c, "log_filename = 'postgresql-%a.log'\n")
}

func TestConfigureIncludesOnce(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "postgresql.conf"), []byte("port = 5432\n"), 0o600))
	p := &Postgres{Dir: dir, IP: "127.0.0.1", Port: 7532}
	require.NoError(t, p.configure())
	p.Port = 7533
	require.NoError(t, p.configure())
	main, err := os.ReadFile(filepath.Join(dir, "postgresql.conf"))
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(main), includeLine), "%s", main)
	inc, err := os.ReadFile(filepath.Join(dir, confFileName))
	require.NoError(t, err)
	assert.Contains(t, string(inc), "port = 7533\n", "the include is rewritten at every start")
}

func TestSameVersion(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"1.19", "1.19", true}, {"v1.19", "1.19", true}, {"1.19.0", "1.19", true}, {"0.0", "0", true},
		{"1.18", "1.19", false}, {"1.1", "1.19", false},
	} {
		assert.Equal(t, tc.same, sameVersion(tc.a, tc.b), "%s vs %s", tc.a, tc.b)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	assert.False(t, Locked(dir), "no lock file yet")
	unlock, err := Lock(dir)
	require.NoError(t, err)
	assert.True(t, Locked(dir))
	assert.Equal(t, os.Getpid(), LockHolder(dir))
	_, err = Lock(dir)
	require.ErrorIs(t, err, ErrRunning)
	assert.ErrorContains(t, err, "pid "+strconv.Itoa(os.Getpid()))
	unlock()
	assert.False(t, Locked(dir))
	unlock, err = Lock(dir)
	require.NoError(t, err)
	unlock()
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadState(dir)
	require.ErrorIs(t, err, os.ErrNotExist)
	st := State{PID: 42, Address: "127.0.0.1:7433", Namespace: "default", Postgres: "127.0.0.1:7432", DataDir: "/x/pg", Started: time.Date(2026, 12, 3, 1, 2, 3, 0, time.UTC)}
	require.NoError(t, WriteState(dir, st))
	got, err := ReadState(dir)
	require.NoError(t, err)
	assert.Equal(t, st, got)
	RemoveState(dir)
	_, err = ReadState(dir)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestStopLeavesForeignProcessesAlone: a lock whose PID is not an
// orgguard-cluster process (a recycled PID) is not signalled.
func TestStopLeavesForeignProcessesAlone(t *testing.T) {
	dir := t.TempDir()
	sleep := exec.Command("sleep", "60")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	// Hold the lock as if sleep did.
	fh, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	defer fh.Close()
	require.NoError(t, syscall.Flock(int(fh.Fd()), syscall.LOCK_EX))
	_, err = fh.WriteString(strconv.Itoa(sleep.Process.Pid))
	require.NoError(t, err)

	err = Stop(context.Background(), dir, time.Second, io.Discard)
	assert.ErrorContains(t, err, "not an orgguard-cluster process")
	assert.NoError(t, sleep.Process.Signal(syscall.Signal(0)), "sleep still runs")
}
