package evidence

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// ErrNotFound is returned by Blobs.Get for a key that does not exist.
var ErrNotFound = errors.New("evidence: not found")

// Blobs is the object store under the evidence layout: a directory or an
// S3 bucket. Keys use "/" and never start with it.
type Blobs interface {
	// Put writes the whole object (replacing it).
	Put(ctx context.Context, key string, body []byte) error
	// Get opens an object; ErrNotFound when it does not exist.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List yields the keys under prefix in lexical order.
	List(ctx context.Context, prefix string) iter.Seq2[string, error]
	// Where names the store for messages ("dir /var/lib/…", "s3://bucket/prefix").
	Where() string
}

// Store reads and writes evidence objects.
type Store struct{ B Blobs }

// Key builders of the layout.
func runKey(run string) string { return "runs/" + safe(run) + "/run.json" }
func accountKey(run, acct string) string {
	return "runs/" + safe(run) + "/accounts/" + safe(acct) + ".jsonl"
}
func remediationKey(id, wfRun string) string {
	return "remediations/" + safe(id) + "/" + safe(wfRun) + ".json"
}
func packKey(pack, started, run string) string {
	return "packs/" + safe(pack) + "/" + safe(started) + "_" + safe(run)
}

// safe keeps a key segment to a portable character set: every byte
// outside [A-Za-z0-9._-] (each byte of a multi-byte UTF-8 character, and
// "~" itself) becomes "~xx", so unsafe can reverse it exactly.
func safe(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "~%02x", c)
		}
	}
	out := b.String()
	if out == "." || out == ".." {
		out = strings.ReplaceAll(out, ".", "~2e")
	}
	return out
}

func unsafe(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '~' && i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.WriteByte(v[0])
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// PutRun writes a run's manifest and, the first time, its pack marker.
func (s Store) PutRun(ctx context.Context, m RunManifest) error {
	m.Schema = SchemaVersion
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := s.B.Put(ctx, runKey(m.RunID), body); err != nil {
		return err
	}
	if m.Pack != "" {
		return s.B.Put(ctx, packKey(m.Pack, m.StartedAt.UTC().Format("20060102T150405Z"), m.RunID), nil)
	}
	return nil
}

// Run reads a run's manifest.
func (s Store) Run(ctx context.Context, run string) (RunManifest, error) {
	var m RunManifest
	err := s.getJSON(ctx, runKey(run), &m)
	if errors.Is(err, ErrNotFound) {
		return m, fmt.Errorf("run %q has no evidence in %s: %w", run, s.B.Where(), ErrNotFound)
	}
	return m, err
}

// PutAccount writes one account's records of one run (the whole object:
// a retried write replaces it).
func (s Store) PutAccount(ctx context.Context, run, account string, recs []Record) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range recs {
		recs[i].Schema = SchemaVersion
		if err := enc.Encode(&recs[i]); err != nil {
			return err
		}
	}
	return s.B.Put(ctx, accountKey(run, account), buf.Bytes())
}

// Accounts yields the accounts with records in a run, in ID order.
func (s Store) Accounts(ctx context.Context, run string) iter.Seq2[string, error] {
	prefix := "runs/" + safe(run) + "/accounts/"
	return func(yield func(string, error) bool) {
		for k, err := range s.B.List(ctx, prefix) {
			if err != nil {
				yield("", err)
				return
			}
			name := strings.TrimSuffix(strings.TrimPrefix(k, prefix), ".jsonl")
			if !yield(unsafe(name), nil) {
				return
			}
		}
	}
}

// AccountRecords reads one account's records of a run.
func (s Store) AccountRecords(ctx context.Context, run, account string) ([]Record, error) {
	rc, err := s.B.Get(ctx, accountKey(run, account))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var out []Record
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %s line %d: %w", s.B.Where(), accountKey(run, account), line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// Records streams every record of a run, one account at a time.
func (s Store) Records(ctx context.Context, run string) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for acct, err := range s.Accounts(ctx, run) {
			if err != nil {
				yield(Record{}, err)
				return
			}
			recs, err := s.AccountRecords(ctx, run, acct)
			if err != nil {
				yield(Record{}, err)
				return
			}
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

// PutRemediation writes one remediation workflow's record.
func (s Store) PutRemediation(ctx context.Context, r RemediationRecord) error {
	r.Schema = SchemaVersion
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return s.B.Put(ctx, remediationKey(r.WorkflowID, r.RunID), body)
}

// Remediation reads the latest record of a remediation ID (the last
// workflow run with that ID to finish), ErrNotFound when none finished.
func (s Store) Remediation(ctx context.Context, id string) (RemediationRecord, error) {
	var latest RemediationRecord
	found := false
	for k, err := range s.B.List(ctx, "remediations/"+safe(id)+"/") {
		if err != nil {
			return latest, err
		}
		var r RemediationRecord
		if err := s.getJSON(ctx, k, &r); err != nil {
			return latest, err
		}
		if !found || r.RecordedAt.After(latest.RecordedAt) {
			latest, found = r, true
		}
	}
	if !found {
		return latest, ErrNotFound
	}
	return latest, nil
}

// PackRuns lists the run IDs of one pack, oldest first.
func (s Store) PackRuns(ctx context.Context, pack string) ([]string, error) {
	prefix := "packs/" + safe(pack) + "/"
	var out []string
	for k, err := range s.B.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(k, prefix)
		if i := strings.IndexByte(name, '_'); i >= 0 {
			out = append(out, unsafe(name[i+1:]))
		}
	}
	return out, nil
}

func (s Store) getJSON(ctx context.Context, key string, v any) error {
	rc, err := s.B.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("%s: %s: %w", s.B.Where(), key, err)
	}
	return nil
}

// Dir is Blobs on a local directory. Put writes a temporary file and
// renames it, so a reader never sees half an object and a crash leaves
// the old one (or none).
type Dir struct{ Root string }

func (d Dir) Where() string { return "dir " + d.Root }

// path maps a key to a file under Root. Keys come from the layout's
// builders, but Blobs is an interface anyone may call: a key that is not a
// clean relative path ("../x", "/x", "a//b", "a/") would leave Root or
// alias another key, so it is refused.
func (d Dir) path(key string) (string, error) {
	if key == "" || key == "." || path.Clean(key) != key || path.IsAbs(key) || key == ".." || strings.HasPrefix(key, "../") ||
		strings.ContainsRune(key, '\\') || strings.ContainsRune(key, 0) {
		return "", fmt.Errorf("%s: invalid key %q: want a clean relative path", d.Where(), key)
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

func (d Dir) Put(_ context.Context, key string, body []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("evidence store %s: write %s: %w", d.Root, key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("evidence store %s: write %s: %w", d.Root, key, err)
	}
	tmp := f.Name()
	_, werr := f.Write(body)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, p)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("evidence store %s: write %s: %w", d.Root, key, werr)
	}
	return nil
}

func (d Dir) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, fmt.Errorf("%s: %s: %w", d.Where(), key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("evidence store %s: read %s: %w", d.Root, key, err)
	}
	// A directory is a key prefix, not an object (as in S3).
	if st, err := f.Stat(); err != nil || st.IsDir() {
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("evidence store %s: read %s: %w", d.Root, key, err)
		}
		return nil, fmt.Errorf("%s: %s: %w", d.Where(), key, ErrNotFound)
	}
	return f, nil
}

func (d Dir) List(_ context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		// The prefix's directory part is walked; names are filtered by the rest.
		dir := ""
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			dir = prefix[:i]
		}
		var keys []string
		root := d.Root
		if dir != "" {
			p, err := d.path(dir)
			if err != nil {
				yield("", err)
				return
			}
			root = p
		}
		err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				// No such directory (or a file where one would be):
				// nothing has the prefix.
				if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
					return filepath.SkipAll
				}
				return err
			}
			if e.IsDir() || strings.HasPrefix(e.Name(), ".put-") {
				return nil
			}
			rel, err := filepath.Rel(d.Root, p)
			if err != nil {
				return err
			}
			k := filepath.ToSlash(rel)
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
			return nil
		})
		if err != nil {
			yield("", fmt.Errorf("%s: list %s: %w", d.Where(), prefix, err))
			return
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !yield(k, nil) {
				return
			}
		}
	}
}
