package scale

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/orgguard/orgguard/guardrails"
	"github.com/orgguard/orgguard/internal/awssim"
)

// GeneratedOrgVars are the baseline pack's variables for a generated
// organization (awssim.GenerateSeed): its top-level OUs receive the SCPs
// the root has no room for, as in the chaos test.
var GeneratedOrgVars = []string{`scp_ous=["Root/BusinessUnit01","Root/BusinessUnit02","Root/BusinessUnit03","Root/BusinessUnit04"]`}

// loadPack compiles a pack as the CLI does for the same --var flags (and
// ORGGUARD_VAR_* from the environment).
func loadPack(dir string, vars []string) (*guardrails.Set, error) {
	m := map[string]string{}
	for _, kv := range vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("variable %q: want name=value", kv)
		}
		m[k] = v
	}
	set, files, diags := guardrails.LoadDir(dir, guardrails.LoadOptions{Vars: m, Env: os.Environ()})
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = guardrails.WriteDiagnostics(&b, files, diags, false)
		return nil, fmt.Errorf("pack %s:\n%s", dir, b.String())
	}
	return set, nil
}

// BenchOrg is the organization of the per-account Go benchmarks (make
// bench): accounts in two top-level OUs, so that the discovery is short
// and the checks dominate, with the baseline pack's variables for it.
func BenchOrg(accounts int) (*awssim.Seed, []string) {
	seed := awssim.GenerateSeed(awssim.GenerateOptions{Accounts: accounts, TopLevelOUs: 2, RandSeed: 20261203})
	return seed, []string{`scp_ous=["Root/BusinessUnit01","Root/BusinessUnit02"]`}
}
