package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/orgguard/orgguard/internal/awsclient"
	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/temporalclient"
)

// evidenceFlags configure where runs' evidence goes (docs/evidence.md).
type evidenceFlags struct {
	where    string
	kmsKey   string
	lockMode string
	lockDays int
}

func (e *evidenceFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&e.where, "evidence", os.Getenv("ORGGUARD_EVIDENCE"),
		"evidence store: s3://BUCKET/PREFIX or a directory (env ORGGUARD_EVIDENCE; default <state-dir>/evidence)")
	fl.StringVar(&e.kmsKey, "evidence-kms-key", os.Getenv("ORGGUARD_EVIDENCE_KMS_KEY"), "S3 store: KMS key ID or ARN for SSE-KMS (default: the bucket's default key)")
	fl.StringVar(&e.lockMode, "evidence-lock-mode", "", "S3 store with Object Lock: GOVERNANCE (default) or COMPLIANCE")
	fl.IntVar(&e.lockDays, "evidence-lock-days", 0, "S3 store with Object Lock: days each object is retained (0: the bucket's default retention)")
}

// open builds the store (evidence.Open). A directory is created when
// missing; an S3 bucket is written with the worker's own credentials, and
// one list call checks bucket, region and permissions at start.
func (e evidenceFlags) open(ctx context.Context, factory *awsclient.Factory, stateDir string) (*evidence.Store, error) {
	where := e.where
	if where == "" {
		where = filepath.Join(stateDir, "evidence")
	}
	var opts evidence.Options
	if strings.HasPrefix(where, "s3://") {
		opts = evidence.Options{KMSKeyID: e.kmsKey, LockMode: e.lockMode, LockDays: e.lockDays}
	}
	st, err := evidence.Open(ctx, where, factory.Base(), opts)
	if err != nil {
		return nil, fmt.Errorf("--evidence %s: %w", where, err)
	}
	return &st, nil
}

// setRetention makes the dev namespace keep closed workflows for d: the
// dev server sets it when it creates the namespace, and this updates a
// namespace created earlier with another value.
func setRetention(ctx context.Context, c client.Client, namespace string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--dev-retention %s: must be positive", d)
	}
	if namespace == "" {
		namespace = temporalclient.DefaultNamespace
	}
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	if desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() == d {
		return nil
	}
	_, err = c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: namespace,
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(d)},
	})
	if err != nil {
		return fmt.Errorf("set retention of namespace %s to %s: %w", namespace, d, err)
	}
	return nil
}
