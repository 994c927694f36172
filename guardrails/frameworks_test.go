package guardrails

import (
	"strings"
	"testing"
)

func TestParseControl(t *testing.T) {
	for _, tc := range []struct {
		in              string
		fw, version, id string
		warn            bool
		ok              bool
		short           string
	}{
		{"CIS v3.0.0 5.4", "CIS", "v3.0.0", "5.4", false, true, "CIS v3.0.0 5.4"},
		{"CIS v1.2.0 4.3", "CIS", "v1.2.0", "4.3", false, true, "CIS v1.2.0 4.3"},
		{"CIS v9.9.9 1.1", "CIS", "v9.9.9", "1.1", true, true, "CIS v9.9.9 1.1"},
		{"CIS 4.3", "CIS", VersionUnspecified, "4.3", true, true, "CIS unspecified 4.3"},
		{"FSBP EC2.2", "FSBP", "v1.0.0", "EC2.2", false, true, "FSBP v1.0.0 EC2.2"},
		{"PCI.EC2.2", "PCI", "v3.2.1", "PCI.EC2.2", false, true, "PCI DSS v3.2.1 PCI.EC2.2"},
		{"PCI DSS v4.0.1 PCI.EC2.2", "PCI", "v4.0.1", "PCI.EC2.2", false, true, "PCI DSS v4.0.1 PCI.EC2.2"},
		{"NIST CSF 2.0 PR.AA", "NIST CSF", "2.0", "PR.AA", false, true, "NIST CSF 2.0 PR.AA"},
		{"NIST CSF PR.AC-4", "NIST CSF", "1.1", "PR.AC-4", false, true, "NIST CSF 1.1 PR.AC-4"},
		{"SOC2 CC6.1", "", "", "", false, false, ""},
	} {
		ref, warn, ok := ParseControl(tc.in)
		if ok != tc.ok {
			t.Fatalf("%q: ok %v, want %v", tc.in, ok, tc.ok)
		}
		if !ok {
			continue
		}
		if ref.Framework != tc.fw || ref.Version != tc.version || ref.ID != tc.id {
			t.Errorf("%q: got %+v, want %s %s %s", tc.in, ref, tc.fw, tc.version, tc.id)
		}
		if (warn != "") != tc.warn {
			t.Errorf("%q: warning %q, want one: %v", tc.in, warn, tc.warn)
		}
		if ref.Short() != tc.short {
			t.Errorf("%q: Short %q, want %q", tc.in, ref.Short(), tc.short)
		}
	}
}

func TestCSFVersion(t *testing.T) {
	for in, want := range map[string]string{"PR.AA": "2.0", "PR.AC": "1.1", "PR.AC-4": "1.1", "PR": "2.0", "DE.CM": "2.0", "PR.PT": "1.1", "GV.OC": "2.0"} {
		if got := CSFVersion(in); got != want {
			t.Errorf("CSFVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// The shipped packs name every CIS control with its benchmark version:
// "CIS 4.3" once tagged both the default security group and the root
// activity alarm.
func TestShippedPacksHaveVersionedControls(t *testing.T) {
	for _, dir := range []string{"packs/baseline", "packs/example"} {
		set := loadClean(t, dir, LoadOptions{})
		for _, g := range set.Guardrails {
			for _, ref := range ControlRefs(g.Controls, g.CSF) {
				if ref.Version == VersionUnspecified || ref.Version == "" {
					t.Errorf("%s: guardrail %s: control %s has no version", dir, g.ID, ref.ID)
				}
			}
		}
	}
}

// An unversioned CIS ID loads with a warning at its file:line:col.
func TestUnversionedCISWarns(t *testing.T) {
	src := []byte(`control "c" {
  kind     = "ec2.default_security_group_closed"
  controls = ["FSBP EC2.2", "CIS 4.3"]
  description = "d"
  severity = "high"
  csf = "PR.IR"
}
`)
	set, _, diags := LoadSources(".", []Source{{Filename: "p.hcl", Src: src}}, LoadOptions{Now: fixedNow})
	if set == nil || diags.HasErrors() {
		t.Fatalf("want a set with warnings, got %v", diags)
	}
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, "CIS v3.0.0 4.3") || diags[0].Subject.Start.Line != 3 || diags[0].Subject.Start.Column != 29 {
		t.Fatalf("want one warning on p.hcl:3:29, got %+v", diags)
	}
}
