package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
)

// The postgres user must be able to search every directory above its data
// directory, and the state directory often sits below one it cannot
// (.orgguard is 0750, a test's temporary directory 0700). grantSearch
// gives it search permission, and nothing else, with a POSIX ACL entry
// (user:postgres:--x) on each such directory: no mode bit changes, so
// other users still cannot reach what is inside.

// xattrACL is the extended attribute the kernel keeps a POSIX access ACL
// in (what setfacl writes).
const xattrACL = "system.posix_acl_access"

// ACL entry tags and the header version of the kernel's xattr format
// (include/uapi/linux/posix_acl.h, posix_acl_xattr.h).
const (
	aclVersion     = 2
	aclUserObj     = 0x01
	aclUser        = 0x02
	aclGroupObj    = 0x04
	aclGroup       = 0x08
	aclMask        = 0x10
	aclOther       = 0x20
	aclUndefinedID = 0xffffffff
	permExecute    = 1
)

type aclEntry struct {
	tag, perm uint16
	id        uint32
}

// grantSearch lets osUser search every directory above dir, from the root
// down, adding an ACL entry where it may not yet; each grant is reported
// on out.
func grantSearch(ctx context.Context, dir, osUser string, out io.Writer) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	u, err := user.Lookup(osUser)
	if err != nil {
		return fmt.Errorf("the %s user: %w", osUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return fmt.Errorf("uid of %s: %w", osUser, err)
	}
	var above []string
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		above = append(above, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	for i := len(above) - 1; i >= 0; i-- {
		d := above[i]
		if canSearch(ctx, d, osUser) {
			continue
		}
		if err := addSearchACL(d, uint32(uid)); err != nil {
			return fmt.Errorf("let %s reach %s: it cannot search %s, and adding an ACL entry failed: %w (run `chmod o+x %s`, or choose a --state-dir it can reach)", osUser, dir, d, err, d)
		}
		if !canSearch(ctx, d, osUser) {
			return fmt.Errorf("let %s reach %s: it still cannot search %s after the ACL entry user:%s:--x (run `chmod o+x %s`, or choose a --state-dir it can reach)", osUser, dir, d, osUser, d)
		}
		fmt.Fprintf(out, "PostgreSQL: %s may now search (not list) %s (ACL entry user:%s:--x)\n", osUser, d, osUser)
	}
	return nil
}

// canSearch asks the kernel, as osUser, whether it may search dir.
func canSearch(ctx context.Context, dir, osUser string) bool {
	return exec.CommandContext(ctx, "runuser", "-u", osUser, "--", "test", "-x", dir).Run() == nil
}

// addSearchACL adds user:uid:--x to dir's access ACL (made from its mode
// when it has none), and search to the mask so the entry takes effect.
func addSearchACL(dir string, uid uint32) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	entries, err := readACL(dir, st.Mode().Perm())
	if err != nil {
		return err
	}
	return syscall.Setxattr(dir, xattrACL, encodeACL(withUserSearch(entries, uid)), 0)
}

func readACL(dir string, perm fs.FileMode) ([]aclEntry, error) {
	n, err := syscall.Getxattr(dir, xattrACL, nil)
	if errors.Is(err, syscall.ENODATA) {
		return modeACL(perm), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the ACL of %s: %w", dir, err)
	}
	buf := make([]byte, n)
	if n, err = syscall.Getxattr(dir, xattrACL, buf); err != nil {
		return nil, fmt.Errorf("read the ACL of %s: %w", dir, err)
	}
	return decodeACL(buf[:n])
}

// modeACL is the minimal ACL equivalent to a mode.
func modeACL(perm fs.FileMode) []aclEntry {
	return []aclEntry{
		{aclUserObj, uint16(perm>>6) & 7, aclUndefinedID},
		{aclGroupObj, uint16(perm>>3) & 7, aclUndefinedID},
		{aclOther, uint16(perm) & 7, aclUndefinedID},
	}
}

// withUserSearch adds search for uid and makes the mask let it through.
// A new mask is the union of the group class (as setfacl computes it); an
// existing one only gains search, so no other entry gains more.
func withUserSearch(entries []aclEntry, uid uint32) []aclEntry {
	out := append([]aclEntry(nil), entries...)
	found, masked := false, false
	var group uint16
	for i, e := range out {
		switch e.tag {
		case aclUser:
			if e.id == uid {
				out[i].perm |= permExecute
				found = true
			}
			group |= out[i].perm
		case aclGroupObj, aclGroup:
			group |= e.perm
		case aclMask:
			out[i].perm |= permExecute
			masked = true
		}
	}
	if !found {
		out = append(out, aclEntry{aclUser, permExecute, uid})
		group |= permExecute
	}
	if !masked {
		out = append(out, aclEntry{aclMask, group, aclUndefinedID})
	}
	// The kernel wants entries by tag, then by id.
	sort.Slice(out, func(i, j int) bool {
		if out[i].tag != out[j].tag {
			return out[i].tag < out[j].tag
		}
		return out[i].id < out[j].id
	})
	return out
}

func encodeACL(entries []aclEntry) []byte {
	b := binary.LittleEndian.AppendUint32(nil, aclVersion)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}

func decodeACL(b []byte) ([]aclEntry, error) {
	if len(b) < 4 || (len(b)-4)%8 != 0 || binary.LittleEndian.Uint32(b) != aclVersion {
		return nil, fmt.Errorf("unexpected ACL format (%d bytes)", len(b))
	}
	var entries []aclEntry
	for b = b[4:]; len(b) > 0; b = b[8:] {
		entries = append(entries, aclEntry{binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]), binary.LittleEndian.Uint32(b[4:])})
	}
	return entries, nil
}
