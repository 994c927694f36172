package scale

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is everything one harness run measured.
type Result struct {
	Config  RunConfig `json:"config"`
	Machine Machine   `json:"machine"`
	// Accounts are the generated organization's ACTIVE accounts: the
	// denominator of every per-account figure.
	Accounts      int            `json:"accounts"`
	Capacity      Capacity       `json:"simulator_capacity"`
	Direct        DirectResult   `json:"direct"`
	DirectCalls   CallStats      `json:"direct_calls"`
	Temporal      TemporalResult `json:"temporal"`
	TemporalCalls CallStats      `json:"temporal_calls"`
	// Bound is (c) for (a)'s calls; DirectBound the same for (b)'s.
	Bound       Bound `json:"bound"`
	DirectBound Bound `json:"direct_bound"`

	AOverB           float64 `json:"a_over_b"`
	AOverC           float64 `json:"a_over_c"`
	EventsPerAccount float64 `json:"events_per_account"`
}

// RunConfig is the part of Config a report states.
type RunConfig struct {
	Accounts int    `json:"accounts"`
	Regions  int    `json:"regions"`
	Pack     string `json:"pack"`
	Workers  int    `json:"workers"`
	Slots    int    `json:"slots"`
	Window   int    `json:"window"`
	Server   string `json:"server"`
	Latency  bool   `json:"latency"`
	Quotas   bool   `json:"quotas"`
}

func (c Config) summary() RunConfig {
	server := "embedded dev server (SQLite file), own process"
	if c.Address != "" {
		server = "external at " + c.Address
	}
	return RunConfig{Accounts: c.Accounts, Regions: 2, Pack: c.Pack, Workers: c.Workers, Slots: c.Slots, Window: c.Window,
		Server: server, Latency: !c.NoLatency, Quotas: !c.NoQuotas}
}

// Machine is where and from what the run ran.
type Machine struct {
	Date      time.Time `json:"date"`
	CPUs      int       `json:"cpus"`
	CPUModel  string    `json:"cpu_model"`
	MemTotal  string    `json:"mem_total"`
	LoadStart string    `json:"load_start"`
	LoadEnd   string    `json:"load_end"`
	Go        string    `json:"go"`
	Commit    string    `json:"commit"`
	WorkerBin string    `json:"worker_bin"`
}

func machine(workerBin string) Machine {
	m := Machine{Date: time.Now().UTC(), CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if x := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); x != nil {
			m.CPUModel = string(x[1])
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if x := regexp.MustCompile(`(?m)^MemTotal:\s*(\d+) kB`).FindSubmatch(b); x != nil {
			var kb int64
			_, _ = fmt.Sscan(string(x[1]), &kb)
			m.MemTotal = mib(kb << 10)
		}
	}
	m.Commit = gitOut("rev-parse", "--short", "HEAD")
	if gitOut("status", "--porcelain", "--untracked-files=no") != "" {
		m.Commit += " (with uncommitted changes)"
	}
	if st, err := os.Stat(workerBin); err == nil {
		m.WorkerBin = fmt.Sprintf("%s, built %s", workerBin, st.ModTime().UTC().Format(time.RFC3339))
	}
	return m
}

func gitOut(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (r *Result) compute() {
	r.Machine.LoadEnd = loadavg()
	if r.Direct.Wall > 0 {
		r.AOverB = r.Temporal.Wall.Seconds() / r.Direct.Wall.Seconds()
	}
	if r.Bound.Value > 0 {
		r.AOverC = r.Temporal.Wall.Seconds() / r.Bound.Value.Seconds()
	}
	if r.Accounts > 0 {
		r.EventsPerAccount = float64(r.Temporal.Histories.Events) / float64(r.Accounts)
	}
}

// Key names the kind of run a report section holds: docs/performance.md
// keeps the latest run of each kind.
func (r *Result) Key() string {
	server := "dev"
	if r.Temporal.Server == "external" {
		server = "external"
	}
	return fmt.Sprintf("accounts=%d workers=%d server=%s", r.Config.Accounts, r.Config.Workers, server)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func dur(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func (r *Result) perAccount(n int) float64 {
	if r.Accounts == 0 {
		return 0
	}
	return float64(n) / float64(r.Accounts)
}

// rows is the table: figure, measured, target.
func (r *Result) rows() [][3]string {
	a, b, c := r.Temporal, r.Direct, r.Bound
	h := a.Histories
	var rows [][3]string
	add := func(figure, measured, target string) { rows = append(rows, [3]string{figure, measured, target}) }
	add("(a) wall time through Temporal", dur(a.Wall), "")
	add("(b) wall time, bare Go fan-out", fmt.Sprintf("%s (%d %s units, %d retried, %d failed)", dur(b.Wall), b.Units, b.Unit, b.Retries, b.Failed), "")
	add("    timeline (a)", fmt.Sprintf("first member baseline at +%s (organization wave %s); member baselines mean %s, longest %s",
		dur(h.FirstMember), dur(h.OrgWave), dur(h.BaselineMean), dur(h.BaselineLong)), "")
	add("    timeline (b)", fmt.Sprintf("discovery %s; accounts mean %s, longest %s", dur(b.Discovery), dur(b.AccountMean), dur(b.AccountLong)), "")
	add("(c) lower bound", fmt.Sprintf("%s (binding: %s)", dur(c.Value), c.Binding), "")
	add("    serial critical path", fmt.Sprintf("%s (discovery %s, then account %s)", dur(c.Critical), dur(c.Discovery), c.CriticalAccount), "")
	add("    largest quota bucket", fmt.Sprintf("%s (%d calls: %s)", dur(c.Quota), c.QuotaCalls, c.QuotaBucket), "")
	add("    discovery + call time ÷ concurrency", fmt.Sprintf("%s (discovery, then %s of calls ÷ %d)", dur(c.Work),
		dur((c.Work-c.Discovery)*time.Duration(c.Concurrency)), c.Concurrency), "")
	add("(a)/(b)", fmt.Sprintf("%.2f", r.AOverB), "≤ 1.3: "+verdict(r.AOverB <= 1.3))
	add("(a)/(c)", fmt.Sprintf("%.2f", r.AOverC), "≤ 1.5: "+verdict(r.AOverC <= 1.5))
	add("(b)/(c) for (b)'s own calls", fmt.Sprintf("%.2f", b.Wall.Seconds()/max(r.DirectBound.Value.Seconds(), 1e-9)), "")
	add("history events per account", fmt.Sprintf("%.1f (%d events, %s)", r.EventsPerAccount, h.Events, mib(h.Bytes)), "≤ 60: "+verdict(r.EventsPerAccount <= 60))
	add("history events per rollout run", fmt.Sprintf("max %d over %d run(s)", h.RolloutMax, h.RolloutRuns), "< 10,000: "+verdict(h.RolloutMax < 10000))
	if h.Baselines > 0 {
		add("    per AccountBaseline", fmt.Sprintf("mean %.1f, max %d (%d workflows)", float64(h.BaselineEvents)/float64(h.Baselines), h.BaselineMax, h.Baselines), "")
	}
	add("    activities scheduled", activityCounts(h.Activities), "")
	var worker int64
	for _, w := range a.WorkerRSS {
		worker = max(worker, w)
	}
	rssTarget := ""
	if r.Config.Accounts >= 10000 {
		rssTarget = "≤ 512 MiB: " + verdict(worker <= 512<<20)
	}
	add("worker peak RSS (VmHWM, largest worker)", mib(worker), rssTarget)
	server := "not measured (external server: pass its PIDs)"
	if a.ServerRSS > 0 {
		server = mib(a.ServerRSS)
	}
	add("Temporal server peak RSS (VmHWM)", server, "")
	tc, dc := r.TemporalCalls, r.DirectCalls
	add("AWS calls per account (a)", fmt.Sprintf("%.1f (%d calls, %d throttled)", r.perAccount(tc.Total), tc.Total, tc.Throttled), "")
	add("AWS calls per account (b)", fmt.Sprintf("%.1f (%d calls, %d throttled)", r.perAccount(dc.Total), dc.Total, dc.Throttled), "")
	add("reads repeated within the run (a)", fmt.Sprintf("%.1f per account (%d of %d reads); most: %s", r.perAccount(tc.RepeatedReads), tc.RepeatedReads, tc.Reads, opCounts(tc.TopRepeated)), "")
	add("simulator capacity", fmt.Sprintf("%.0f calls/s at %d clients (no latency); (a) used %.0f calls/s, (b) %.0f",
		r.Capacity.CallsPerSecond, r.Capacity.Clients, rate(tc.Total, a.Wall), rate(dc.Total, b.Wall)), "")
	add("simulator time per call (a)", fmt.Sprintf("mean %s served, of which AWS-like latency %s", tc.MeanServed.Round(time.Millisecond),
		(time.Duration(tc.CallSeconds*float64(time.Second))/time.Duration(max(tc.Total-tc.Throttled, 1))).Round(time.Millisecond)), "")
	if a.Failed > 0 || b.Failed > 0 {
		add("failed baselines (a) / checks (b)", fmt.Sprintf("%d: %s / %d: %s", a.Failed, short(a.FirstFail, 300), b.Failed, short(b.FirstError, 300)), "")
	}
	return rows
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func activityCounts(m map[string]int) string {
	var parts []string
	for _, c := range topCounts(m, 8) {
		parts = append(parts, fmt.Sprintf("%s %d", c.Op, c.Count))
	}
	return strings.Join(parts, ", ")
}

func opCounts(cs []OpCount) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %d", c.Op, c.Count))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (r *Result) heading() string {
	c := r.Config
	sim := "AWS latency and quotas"
	switch {
	case !c.Latency && !c.Quotas:
		sim = "no latency, no quotas"
	case !c.Latency:
		sim = "quotas, no latency"
	case !c.Quotas:
		sim = "latency, no quotas"
	}
	return fmt.Sprintf("%d accounts (%d active) × %d regions, %s, check mode; %d worker process(es) × %d activity slots, %d accounts in flight; Temporal: %s; simulator: %s",
		c.Accounts, r.Accounts, c.Regions, c.Pack, c.Workers, c.Slots, c.Window, c.Server, sim)
}

func (r *Result) machineLine() string {
	m := r.Machine
	return fmt.Sprintf("%s; %d CPUs (%s), %s RAM; load average %s at the start, %s at the end; %s; commit %s; worker %s",
		m.Date.Format("2006-01-02 15:04 MST"), m.CPUs, m.CPUModel, m.MemTotal, m.LoadStart, m.LoadEnd, m.Go, m.Commit, m.WorkerBin)
}

// warning says when a run's figures are not those of a clean run.
func (r *Result) warning() string {
	if r.Temporal.Failed == 0 && r.Direct.Failed == 0 {
		return ""
	}
	return fmt.Sprintf("NOT A CLEAN RUN: %d of %d baselines failed through Temporal, %d checks in the bare fan-out; the figures below include the failures (first: %s)",
		r.Temporal.Failed, r.Temporal.Accounts, r.Direct.Failed, short(firstNonEmpty(r.Temporal.FirstFail, r.Direct.FirstError), 400))
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Table is the report for a terminal.
func (r *Result) Table() string {
	var b bytes.Buffer
	fmt.Fprintln(&b, r.heading())
	fmt.Fprintln(&b, r.machineLine())
	if w := r.warning(); w != "" {
		fmt.Fprintln(&b, w)
	}
	fmt.Fprintln(&b)
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "figure\ttarget\tmeasured")
	for _, row := range r.rows() {
		fmt.Fprintf(w, "%s\t%s\t%s\n", row[0], row[2], row[1])
	}
	_ = w.Flush()
	return b.String()
}

// Markdown is the report as a docs/performance.md section.
func (r *Result) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", r.Key())
	fmt.Fprintf(&b, "%s.\n\nMachine: %s.\n\n", r.heading(), r.machineLine())
	if w := r.warning(); w != "" {
		fmt.Fprintf(&b, "**%s.**\n\n", w)
	}
	fmt.Fprintln(&b, "| figure | measured | target |")
	fmt.Fprintln(&b, "|---|---|---|")
	for _, row := range r.rows() {
		fig := strings.TrimLeft(row[0], " ")
		if fig != row[0] {
			fig = "&nbsp;&nbsp;" + fig
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", fig, strings.ReplaceAll(row[1], "|", "\\|"), row[2])
	}
	return b.String()
}

const (
	sectionBegin = "<!-- bench-scale: "
	sectionEnd   = "<!-- /bench-scale -->"
	resultsEnd   = "<!-- bench-scale results end -->"
)

// WriteMarkdown puts the report into the doc at path: it replaces the
// section of the same Key, or adds one before the results-end marker.
func (r *Result) WriteMarkdown(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(b)
	section := sectionBegin + r.Key() + " -->\n" + r.Markdown() + sectionEnd
	begin := sectionBegin + r.Key() + " -->"
	if i := strings.Index(doc, begin); i >= 0 {
		j := strings.Index(doc[i:], sectionEnd)
		if j < 0 {
			return fmt.Errorf("%s: section %q has no end marker", path, r.Key())
		}
		doc = doc[:i] + section + doc[i+j+len(sectionEnd):]
	} else if i := strings.Index(doc, resultsEnd); i >= 0 {
		doc = doc[:i] + section + "\n\n" + doc[i:]
	} else {
		return fmt.Errorf("%s has no %q marker", path, resultsEnd)
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
