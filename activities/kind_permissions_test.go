package activities

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/orgguard/orgguard/internal/awsclient"
)

var update = flag.Bool("update", false, "rewrite the generated files under deploy/iam")

// TestIAMPolicies keeps deploy/iam in step with what the kinds declare:
// go test ./activities -run TestIAMPolicies -update regenerates the files.
func TestIAMPolicies(t *testing.T) {
	member, management := New(nil).Policies(awsclient.DefaultRoleName)
	files := map[string][]byte{
		"member-role-policy.json":     member.JSON(),
		"management-role-policy.json": management.JSON(),
	}
	for name, want := range files {
		path := filepath.Join("..", "deploy", "iam", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./activities -run TestIAMPolicies -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date with the kinds' Permissions(); run go test ./activities -run TestIAMPolicies -update", path)
		}
	}
}

func TestIAMAction(t *testing.T) {
	t.Parallel()
	cases := []struct {
		svc, op string
		params  map[string]string
		want    string
	}{
		{"ec2", "RevokeSecurityGroupIngress", nil, "ec2:RevokeSecurityGroupIngress"},
		{"monitoring", "PutMetricAlarm", nil, "cloudwatch:PutMetricAlarm"},
		{"s3", "GetBucketEncryption", map[string]string{"Bucket": "b"}, "s3:GetEncryptionConfiguration"},
		{"s3", "PutPublicAccessBlock", map[string]string{"Bucket": "b"}, "s3:PutBucketPublicAccessBlock"},
		{"s3", "PutPublicAccessBlock", map[string]string{}, "s3:PutAccountPublicAccessBlock"},
		{"s3", "ListBuckets", nil, "s3:ListAllMyBuckets"},
	}
	for _, c := range cases {
		if got := IAMAction(c.svc, c.op, c.params); got != c.want {
			t.Errorf("IAMAction(%s, %s) = %s, want %s", c.svc, c.op, got, c.want)
		}
	}
}
