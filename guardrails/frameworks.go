package guardrails

import (
	"regexp"
	"strings"
)

// ControlRef is one framework control with the framework's version, as
// reports and exports name it: {CIS, "CIS AWS Foundations Benchmark",
// "v3.0.0", "5.4"}.
type ControlRef struct {
	// Framework is the short name: CIS, FSBP, PCI or NIST CSF.
	Framework string `json:"framework"`
	// Title is the framework's full name.
	Title string `json:"title"`
	// Version is the framework version ("v3.0.0", "v3.2.1", "2.0"), or
	// "unspecified" when the pack did not say (an unversioned CIS ID).
	Version string `json:"version"`
	ID      string `json:"id"`
}

// String is the versioned form: "CIS AWS Foundations Benchmark v3.0.0 5.4".
func (c ControlRef) String() string { return c.Title + " " + c.Version + " " + c.ID }

// Short is the compact versioned form used in tables: "CIS v3.0.0 5.4".
func (c ControlRef) Short() string {
	if c.Framework == "PCI" {
		return "PCI DSS " + c.Version + " " + c.ID
	}
	return c.Framework + " " + c.Version + " " + c.ID
}

// Framework titles and the versions orgguard knows.
const (
	TitleCIS  = "CIS AWS Foundations Benchmark"
	TitleFSBP = "AWS Foundational Security Best Practices"
	TitlePCI  = "PCI DSS"
	TitleCSF  = "NIST Cybersecurity Framework"
)

// CISVersions are the CIS AWS Foundations Benchmark versions Security Hub
// implements; CIS renumbers controls between them (4.3 is the default
// security group in v1.2.0 and the root-usage alarm in v1.4.0), so a CIS
// ID means nothing without one.
var CISVersions = []string{"v1.2.0", "v1.4.0", "v3.0.0"}

// VersionUnspecified marks a control ID written without its version.
const VersionUnspecified = "unspecified"

var (
	cisVersionedRe = regexp.MustCompile(`^CIS (v\d+\.\d+\.\d+) ([0-9][0-9.]*)$`)
	cisBareRe      = regexp.MustCompile(`^CIS ([0-9][0-9.]*)$`)
	fsbpRe         = regexp.MustCompile(`^FSBP ([A-Za-z0-9]+\.[0-9]+)$`)
	pciRe          = regexp.MustCompile(`^PCI(?: DSS (v\d+\.\d+(?:\.\d+)?))?[ .]?((?:PCI\.)?[A-Za-z0-9]+\.[0-9]+)$`)
	csfIDRe        = regexp.MustCompile(`^(?:NIST CSF|CSF)(?: (1\.1|2\.0))? ([A-Z]{2}(?:\.[A-Z]{2}(?:-[0-9]+)?)?)$`)
)

// ParseControl resolves a control ID as packs write it to a versioned
// reference. Accepted forms:
//
//	"CIS v3.0.0 5.4"          CIS with its benchmark version
//	"FSBP EC2.2"              AWS FSBP (one version: v1.0.0)
//	"PCI.EC2.2"               Security Hub's PCI DSS v3.2.1 control
//	"PCI DSS v3.2.1 PCI.EC2.2"
//	"NIST CSF 2.0 PR.AA"      (without a version: see CSFVersion)
//
// An unversioned CIS ID ("CIS 4.3") is resolved with Version
// VersionUnspecified and a warning the pack loader shows. ok is false
// for an ID of no known framework.
func ParseControl(s string) (ref ControlRef, warning string, ok bool) {
	s = strings.TrimSpace(s)
	if m := cisVersionedRe.FindStringSubmatch(s); m != nil {
		ref = ControlRef{Framework: "CIS", Title: TitleCIS, Version: m[1], ID: m[2]}
		known := false
		for _, v := range CISVersions {
			known = known || v == m[1]
		}
		if !known {
			warning = "CIS AWS Foundations Benchmark " + m[1] + " is not a version orgguard knows (" + strings.Join(CISVersions, ", ") + "); it is reported as written."
		}
		return ref, warning, true
	}
	if m := cisBareRe.FindStringSubmatch(s); m != nil {
		return ControlRef{Framework: "CIS", Title: TitleCIS, Version: VersionUnspecified, ID: m[1]},
			"CIS renumbers controls between benchmark versions (4.3 is the default security group in v1.2.0 and the root-usage alarm in v1.4.0), so \"" + s + "\" is ambiguous in evidence. Write the version: \"CIS v3.0.0 " + m[1] + "\" (known: " + strings.Join(CISVersions, ", ") + ").", true
	}
	if m := fsbpRe.FindStringSubmatch(s); m != nil {
		return ControlRef{Framework: "FSBP", Title: TitleFSBP, Version: "v1.0.0", ID: m[1]}, "", true
	}
	if m := pciRe.FindStringSubmatch(s); m != nil && strings.HasPrefix(s, "PCI") {
		v := m[1]
		if v == "" {
			v = "v3.2.1" // Security Hub's PCI.* control IDs are its PCI DSS v3.2.1 standard's
		}
		id := m[2]
		if !strings.HasPrefix(id, "PCI.") {
			id = "PCI." + id
		}
		return ControlRef{Framework: "PCI", Title: TitlePCI, Version: v, ID: id}, "", true
	}
	if m := csfIDRe.FindStringSubmatch(s); m != nil {
		v := m[1]
		if v == "" {
			v = CSFVersion(m[2])
		}
		return ControlRef{Framework: "NIST CSF", Title: TitleCSF, Version: v, ID: m[2]}, "", true
	}
	return ControlRef{}, "", false
}

// CSF categories of each version. Categories in both (PR.DS, DE.CM, …)
// are read as CSF 2.0.
var (
	csf20Categories = map[string]string{
		"GV.OC": "Organizational Context", "GV.RM": "Risk Management Strategy", "GV.RR": "Roles, Responsibilities, and Authorities",
		"GV.PO": "Policy", "GV.OV": "Oversight", "GV.SC": "Cybersecurity Supply Chain Risk Management",
		"ID.AM": "Asset Management", "ID.RA": "Risk Assessment", "ID.IM": "Improvement",
		"PR.AA": "Identity Management, Authentication, and Access Control", "PR.AT": "Awareness and Training",
		"PR.DS": "Data Security", "PR.PS": "Platform Security", "PR.IR": "Technology Infrastructure Resilience",
		"DE.CM": "Continuous Monitoring", "DE.AE": "Adverse Event Analysis",
		"RS.MA": "Incident Management", "RS.AN": "Incident Analysis", "RS.CO": "Incident Response Reporting and Communication",
		"RS.MI": "Incident Mitigation", "RC.RP": "Incident Recovery Plan Execution", "RC.CO": "Incident Recovery Communication",
	}
	csf11Categories = map[string]string{
		"ID.AM": "Asset Management", "ID.BE": "Business Environment", "ID.GV": "Governance", "ID.RA": "Risk Assessment",
		"ID.RM": "Risk Management Strategy", "ID.SC": "Supply Chain Risk Management",
		"PR.AC": "Identity Management, Authentication and Access Control", "PR.AT": "Awareness and Training",
		"PR.DS": "Data Security", "PR.IP": "Information Protection Processes and Procedures", "PR.MA": "Maintenance",
		"PR.PT": "Protective Technology", "DE.AE": "Anomalies and Events", "DE.CM": "Security Continuous Monitoring",
		"DE.DP": "Detection Processes", "RS.RP": "Response Planning", "RS.CO": "Communications", "RS.AN": "Analysis",
		"RS.MI": "Mitigation", "RS.IM": "Improvements", "RC.RP": "Recovery Planning", "RC.IM": "Improvements", "RC.CO": "Communications",
	}
)

// CSFVersion says which NIST CSF version a function or category belongs
// to: "2.0" for 2.0 categories and for bare functions, "1.1" for
// categories only 1.1 has (PR.AC, PR.IP, PR.PT, …).
func CSFVersion(ref string) string {
	cat := ref
	if i := strings.IndexByte(cat, '-'); i >= 0 {
		cat = cat[:i]
	}
	if len(cat) == 2 {
		return "2.0"
	}
	if _, ok := csf20Categories[cat]; ok {
		return "2.0"
	}
	if _, ok := csf11Categories[cat]; ok {
		return "1.1"
	}
	return "2.0"
}

// CSFCategoryName names a CSF category ("PR.AA") in its version, or "".
func CSFCategoryName(version, category string) string {
	if version == "1.1" {
		return csf11Categories[category]
	}
	return csf20Categories[category]
}

// CSFRef is the versioned reference of a guardrail's csf attribute.
func CSFRef(csf string) (ControlRef, bool) {
	if csf == "" {
		return ControlRef{}, false
	}
	return ControlRef{Framework: "NIST CSF", Title: TitleCSF, Version: CSFVersion(csf), ID: csf}, true
}

// ControlRefs resolves a guardrail's controls and csf attribute; IDs of
// no known framework are left out (the loader refused them already).
func ControlRefs(controls []string, csf string) []ControlRef {
	var out []ControlRef
	for _, c := range controls {
		if ref, _, ok := ParseControl(c); ok {
			out = append(out, ref)
		}
	}
	if ref, ok := CSFRef(csf); ok {
		out = append(out, ref)
	}
	return out
}
