package evidence

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orgguard/orgguard/workflows"
)

func TestOpenDirectory(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	for _, spec := range []string{
		filepath.Join(base, "a"),
		"file://" + filepath.Join(base, "b"),
		"file://localhost" + filepath.Join(base, "c"),
	} {
		s, err := Open(context.Background(), spec, aws.Config{}, Options{})
		if err != nil {
			t.Errorf("Open(%q): %v", spec, err)
			continue
		}
		d, ok := s.B.(Dir)
		if !ok {
			t.Errorf("Open(%q) = %T, want Dir", spec, s.B)
			continue
		}
		if st, err := os.Stat(d.Root); err != nil || !st.IsDir() {
			t.Errorf("Open(%q) did not create %s: %v", spec, d.Root, err)
		}
	}
}

func TestOpenRefusals(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	us := aws.Config{Region: "us-east-1"}
	for _, tc := range []struct {
		spec string
		cfg  aws.Config
		opts Options
		want string
	}{
		{"", us, Options{}, "no location given"},
		{"gs://bucket/x", us, Options{}, `unsupported scheme "gs"`},
		{"file://example.com/x", us, Options{}, `not host "example.com"`},
		{"file:///x?y=1", us, Options{}, "no query or fragment"},
		{file, us, Options{}, "not a directory"},
		{t.TempDir(), us, Options{KMSKeyID: "alias/x"}, "apply only to s3:// stores"},
		{"s3://", us, Options{}, "not a valid S3 bucket name"},
		{"s3://Bad_Bucket/x", us, Options{}, `"Bad_Bucket" is not a valid S3 bucket name`},
		{"s3://192.168.1.1/x", us, Options{}, "not a valid S3 bucket name"},
		{"s3://orgguard-evidence/a/../b", us, Options{}, "empty, . or .. segment"},
		{"s3://orgguard-evidence/a//b", us, Options{}, "empty, . or .. segment"},
		{"s3://orgguard-evidence/x?versionId=1", us, Options{}, "no query or fragment"},
		{"s3://orgguard-evidence", us, Options{LockMode: "LEGAL"}, `lock mode "LEGAL"`},
		{"s3://orgguard-evidence", us, Options{LockMode: "COMPLIANCE"}, "without lock days"},
		{"s3://orgguard-evidence", us, Options{LockDays: -1}, "lock days -1"},
		{"s3://orgguard-evidence", aws.Config{}, Options{}, "no AWS region configured"},
	} {
		_, err := Open(context.Background(), tc.spec, tc.cfg, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q, %+v) = %v, want an error containing %q", tc.spec, tc.opts, err, tc.want)
		}
	}
}

func TestOpenS3(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	ctx := context.Background()
	s, err := Open(ctx, "s3://"+e.bucket+"/orgguard/prod/", e.cfg, Options{KMSKeyID: "alias/other", LockMode: "governance", LockDays: 30, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	b, ok := s.B.(S3)
	if !ok || b.Bucket != e.bucket || b.Prefix != "orgguard/prod/" || b.LockMode != "GOVERNANCE" || b.LockDays != 30 || b.KMSKeyID != "alias/other" {
		t.Fatalf("Open = %+v", s.B)
	}
	if b.Where() != "s3://"+e.bucket+"/orgguard/prod/" {
		t.Errorf("Where = %s", b.Where())
	}
	if err := s.PutRun(ctx, RunManifest{RecordRunInput: workflows.RecordRunInput{RunID: "r1", Pack: "baseline", Status: "running"}}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Run(ctx, "r1"); err != nil || m.Status != "running" {
		t.Errorf("Run = %+v, %v", m, err)
	}
	// Lock days alone mean GOVERNANCE; a prefix without a slash gets one.
	s, err = Open(ctx, "s3://"+e.bucket+"/ev", e.cfg, Options{LockDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	if b := s.B.(S3); b.LockMode != "GOVERNANCE" || b.Prefix != "ev/" {
		t.Errorf("Open = %+v", b)
	}
	// A bucket that is not there fails at Open, naming it and the action.
	_, err = Open(ctx, "s3://orgguard-missing-bucket/ev", e.cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "s3:ListObjectsV2 orgguard-missing-bucket in us-east-1") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("Open of a missing bucket: %v", err)
	}
}
