package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/orgguard/orgguard/guardrails"
)

// packFlags are the variable inputs of every command that loads a pack.
type packFlags struct {
	vars     []string
	varFiles []string
}

func (p *packFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&p.vars, "var", nil, "set a variable: --var 'name=value' (repeatable)")
	cmd.Flags().StringArrayVar(&p.varFiles, "var-file", nil, "read variables from an HCL file (repeatable)")
}

func (p *packFlags) options() (guardrails.LoadOptions, error) {
	vars := map[string]string{}
	for _, kv := range p.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return guardrails.LoadOptions{}, failf(exitUsage, "--var %q: want name=value", kv)
		}
		vars[k] = v
	}
	return guardrails.LoadOptions{Vars: vars, VarFiles: p.varFiles, Env: os.Environ()}, nil
}

// loadPack loads and validates a pack, printing diagnostics (warnings too)
// to w like Terraform does. It fails with exit code 1 on errors.
func (p *packFlags) loadPack(dir string, w io.Writer) (*guardrails.Set, error) {
	opts, err := p.options()
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, failf(exitUsage, "%s is not a directory of .hcl guardrail files", dir)
	}
	set, files, diags := guardrails.LoadDir(dir, opts)
	if len(diags) > 0 {
		color := false
		if f, ok := w.(*os.File); ok {
			color = term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
		}
		if err := guardrails.WriteDiagnostics(w, files, diags, color); err != nil {
			return nil, err
		}
	}
	if diags.HasErrors() {
		return nil, failf(exitFindings, "%s: %s", dir, countDiags(diags))
	}
	return set, nil
}

func countDiags(diags hcl.Diagnostics) string {
	var errs, warns int
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	return fmt.Sprintf("%d error(s), %d warning(s)", errs, warns)
}

func validateCmd() *cobra.Command {
	var p packFlags
	var asJSON bool
	var trustConfig string
	cmd := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a guardrail pack and print what it contains",
		Long: `validate parses every .hcl file of DIR, reports all problems at once with file:line:col and a
source snippet, and on success prints a summary: guardrails per kind and controls covered per
framework. --json prints the compiled guardrail set (what workflows receive) instead.
--trust-config FILE also checks the pack against the governance floor of a worker's trust config,
as an apply start would.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := p.loadPack(args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if trustConfig != "" {
				if err := checkFloor(set, args[0], trustConfig, cmd.ErrOrStderr()); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(set)
			}
			fmt.Fprintf(out, "%s is valid (digest %s)\n\n%s", args[0], guardrails.ShortDigest(set.Digest), guardrails.Summary(set))
			return nil
		},
	}
	p.bind(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the compiled guardrail set as JSON")
	cmd.Flags().StringVar(&trustConfig, "trust-config", os.Getenv("ORGGUARD_TRUST_CONFIG"), "check the pack against this trust config's governance floor (env ORGGUARD_TRUST_CONFIG)")
	return cmd
}
