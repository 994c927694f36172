package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/orgguard/orgguard/internal/evidence"
	"github.com/orgguard/orgguard/internal/report"
	"github.com/orgguard/orgguard/internal/secexport"
)

// evidenceStore opens the store the CLI reads: --evidence, else
// ORGGUARD_EVIDENCE, else <state-dir>/evidence (the dev worker's).
func (a *app) evidenceStore(ctx context.Context, where string) (*evidence.Store, error) {
	if where == "" {
		where = os.Getenv("ORGGUARD_EVIDENCE")
	}
	if where == "" {
		where = filepath.Join(a.temporal.StateDir, "evidence")
	}
	if strings.HasPrefix(where, "s3://") {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, failf(exitFindings, "--evidence %s: AWS configuration: %v", where, err)
		}
		st, err := evidence.Open(ctx, where, cfg, evidence.Options{})
		if err != nil {
			return nil, failf(exitFindings, "%v", err)
		}
		return &st, nil
	}
	dir := strings.TrimPrefix(where, "file://")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, failf(exitFindings, "evidence store %s not found: run a worker first (it writes there), or pass --evidence DIR|s3://BUCKET/PREFIX", dir)
	}
	st, err := evidence.Open(ctx, where, aws.Config{}, evidence.Options{})
	if err != nil {
		return nil, failf(exitFindings, "%v", err)
	}
	return &st, nil
}

func reportCmd(a *app) *cobra.Command {
	var format, framework, out, where, export string
	var trend int
	cmd := &cobra.Command{
		Use:   "report RUN",
		Short: "Write a run's evidence as an HTML, JSON or CSV report",
		Long: `Read a run's findings from the evidence store the worker writes (docs/evidence.md) and write a report:

  html  one self-contained, printable file: a heatmap of accounts (grouped by OU) × controls, a rollup per
        framework and NIST CSF function and category, the trend across the pack's last runs, and the evidence
        and decision trail of every failing finding
  csv   one row per finding, with versioned control IDs ("CIS v3.0.0 5.4")
  json  the run's manifest, every finding with its remediation record, and a summary
  asff  every finding as AWS Security Finding Format ({"Findings": [...]}), as --export sends it

--framework cis|fsbp|pci|csf keeps one framework's controls. Reports stream the store one account at a time.

--export securityhub sends the run's findings to each account's own Security Hub instead (BatchImportFindings
in batches of 100, stable finding IDs: a re-run updates them, a fixed finding is set RESOLVED), assuming the
member role as the worker does (ORGGUARD_ROLE_NAME, ORGGUARD_EXTERNAL_ID); see docs/evidence.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.evidenceStore(cmd.Context(), where)
			if err != nil {
				return err
			}
			switch strings.ToLower(export) {
			case "":
			case "securityhub":
				return exportSecurityHub(cmd.Context(), a, *st, args[0], cmd.OutOrStdout())
			default:
				return failf(exitUsage, "--export %q: want securityhub", export)
			}
			var w io.Writer = cmd.OutOrStdout()
			var f *os.File
			if out != "" && out != "-" {
				if f, err = os.Create(out); err != nil {
					return failf(exitFindings, "report: %v", err)
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriterSize(w, 256<<10)
			if strings.EqualFold(format, report.FormatASFF) {
				err = writeASFF(cmd.Context(), st, args[0], bw)
			} else {
				err = report.Report(cmd.Context(), st, args[0], bw, report.Options{Format: format, Framework: framework, Trend: trend})
			}
			if err != nil {
				return failf(exitFindings, "report: %v", err)
			}
			if err := bw.Flush(); err != nil {
				return failf(exitFindings, "report: %v", err)
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return failf(exitFindings, "report: %v", err)
				}
				abs, _ := filepath.Abs(out)
				fmt.Fprintln(cmd.ErrOrStderr(), "report written to", abs)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "html", "html, csv, json or asff")
	fl.StringVar(&export, "export", "", "send the findings instead of writing a report: securityhub")
	fl.StringVar(&framework, "framework", "", "only one framework's controls: cis, fsbp, pci or csf")
	fl.StringVarP(&out, "output", "o", "", "write to this file (default: standard output)")
	fl.StringVar(&where, "evidence", "", "evidence store: a directory or s3://BUCKET/PREFIX (env ORGGUARD_EVIDENCE; default <state-dir>/evidence)")
	fl.IntVar(&trend, "trend", 10, "HTML: how many of the pack's runs the trend shows")
	return cmd
}

// writeASFF streams a run's findings as ASFF, {"Findings": [...]}, as the
// Security Hub export builds them (account-wide findings in AWS_REGION).
func writeASFF(ctx context.Context, st *evidence.Store, run string, w io.Writer) error {
	man, err := st.Run(ctx, run)
	if err != nil && !errors.Is(err, evidence.ErrNotFound) {
		return err
	}
	home := os.Getenv("AWS_REGION")
	if home == "" {
		home = "us-east-1"
	}
	meta := secexport.Meta{Pack: man.Pack, PackDigest: man.Digest, Now: time.Now().UTC()}
	if _, err := io.WriteString(w, "{\"Findings\": ["); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	n := 0
	for rec, err := range st.Records(ctx, run) {
		if err != nil {
			return err
		}
		region := rec.Region
		if region == "" || region == "global" {
			region = home
		}
		sep := ",\n"
		if n == 0 {
			sep = "\n"
		}
		n++
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if err := enc.Encode(secexport.Finding(rec, region, meta)); err != nil {
			return err
		}
	}
	if n == 0 {
		return fmt.Errorf("run %q has no evidence in %s", run, st.B.Where())
	}
	_, err = io.WriteString(w, "]}\n")
	return err
}
