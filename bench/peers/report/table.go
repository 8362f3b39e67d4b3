package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// record is one line of results.jsonl: a load generator's JSON object with
// server, variant and run added.
type record map[string]any

func (r record) str(k string) string {
	s, _ := r[k].(string)
	return s
}

func (r record) num(k string) (float64, bool) {
	return toFloat(r[k])
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	case float64:
		return x, true
	}
	return 0, false
}

func (r record) run() int {
	f, _ := r.num("run")
	return int(f)
}

func (r record) exit() int {
	f, _ := r.num("exit")
	return int(f)
}

// notBuilt: the load generator's way of saying the server lacks the
// feature the scenario needs (exit status 3 with an error).
func (r record) notBuilt() bool { return r.exit() == 3 && r.str("error") != "" }

// meta is what run.sh records about the whole run, in a {"meta": …} line.
type meta struct {
	Runs      int               `json:"runs"`
	Servers   []string          `json:"servers"`
	Variants  []string          `json:"variants"`
	Versions  map[string]string `json:"versions"`
	Commands  map[string]string `json:"commands"` // scenario → load generator flags
	IdleSteps string            `json:"idle_steps"`
	Accounts  int               `json:"accounts"`
	Cores     int               `json:"cores"`
	Started   string            `json:"started"`
	Mech      string            `json:"mech"`
}

var serverNames = map[string]string{"xmppd": "xmppd", "prosody": "Prosody", "ejabberd": "ejabberd"}

var variantTitles = map[string]string{
	"plain":    "plain c2s, no TLS",
	"starttls": "STARTTLS (TLS before SASL)",
}

var scenarioNames = map[string]string{
	"idle":  "idle ramp",
	"msg":   "chat messages",
	"pep":   "PEP",
	"login": "login",
}

// metric is one row of a table.
type metric struct {
	label    string
	scenario string
	field    string // the load generator's field, for notes about a missing one
	better   int    // -1 lower is better, +1 higher is better, 0 no ratio
	value    func(record) (float64, bool)
	format   func(float64) string
}

func field(name string, scale float64) func(record) (float64, bool) {
	return func(r record) (float64, bool) {
		v, ok := r.num(name)
		return v * scale, ok
	}
}

// step is the idle scenario's i-th memory sample: rss_kib, anon_kib, sessions.
func step(r record, i int, name string) (float64, bool) {
	steps, _ := r["steps"].([]any)
	if i < 0 || i >= len(steps) {
		return 0, false
	}
	s, _ := steps[i].(map[string]any)
	return toFloat(s[name])
}

// perSession is PEERS.md's memory per idle session: the RSS growth between
// the first and the last step over the sessions added, or else the load
// generator's own figure.
func perSession(r record) (float64, bool) {
	steps, _ := r["steps"].([]any)
	if n := len(steps); n >= 2 {
		r0, ok0 := step(r, 0, "rss_kib")
		r1, ok1 := step(r, n-1, "rss_kib")
		s0, ok2 := step(r, 0, "sessions")
		s1, ok3 := step(r, n-1, "sessions")
		if ok0 && ok1 && ok2 && ok3 && s1 > s0 {
			return (r1 - r0) * 1024 / (s1 - s0), true
		}
	}
	return r.num("bytes_per_session")
}

func fmtFixed(prec int) func(float64) string {
	return func(v float64) string { return strconv.FormatFloat(v, 'f', prec, 64) }
}

// fmtRate is a whole number with thousands separators.
func fmtRate(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtMs(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func parseSteps(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = []int{1000, 5000}
	}
	return out
}

func metrics(m meta) []metric {
	mib, kib := fmtFixed(1), fmtFixed(1)
	steps := parseSteps(m.IdleSteps)
	out := []metric{
		{"RSS idle, no connections (VmRSS), MiB", "idle", "rss_idle_kib", -1, field("rss_idle_kib", 1.0/1024), mib},
		{"private memory idle (RssAnon), MiB", "idle", "anon_idle_kib", -1, field("anon_idle_kib", 1.0/1024), mib},
	}
	for i, n := range steps {
		out = append(out, metric{fmt.Sprintf("RSS at %s idle logged-in sessions, MiB", fmtRate(float64(n))), "idle", "steps", -1,
			func(r record) (float64, bool) { v, ok := step(r, i, "rss_kib"); return v / 1024, ok }, mib})
	}
	perLabel := "memory per idle session, KiB"
	if len(steps) >= 2 {
		perLabel = fmt.Sprintf("memory per idle session, (RSS@%s − RSS@%s)/%s, KiB", shortCount(steps[len(steps)-1]), shortCount(steps[0]), shortCount(steps[len(steps)-1]-steps[0]))
	}
	out = append(out,
		metric{perLabel, "idle", "steps", -1, func(r record) (float64, bool) { v, ok := perSession(r); return v / 1024, ok }, kib},
		metric{fmt.Sprintf("logins/s, ramp to %s sessions", fmtRate(float64(steps[len(steps)-1]))), "idle", "logins_per_sec", +1, field("logins_per_sec", 1), fmtRate},
		metric{"logins/s, login scenario (connect → bind → presence)", "login", "logins_per_sec", +1, field("logins_per_sec", 1), fmtRate},
		metric{"login latency p50, ms", "login", "login_p50_ms", -1, field("login_p50_ms", 1), fmtMs},
		metric{"login latency p99, ms", "login", "login_p99_ms", -1, field("login_p99_ms", 1), fmtMs},
		metric{"chat msgs/s", "msg", "msgs_per_sec", +1, field("msgs_per_sec", 1), fmtRate},
		metric{"message latency p50, ms", "msg", "lat_p50_ms", -1, field("lat_p50_ms", 1), fmtMs},
		metric{"message latency p99, ms", "msg", "lat_p99_ms", -1, field("lat_p99_ms", 1), fmtMs},
		metric{"server CPU s per 100k chat messages", "msg", "server_cpu_per_100k_sec", -1, field("server_cpu_per_100k_sec", 1), fmtFixed(2)},
		metric{"PEP notifications/s", "pep", "notifications_per_sec", +1, field("notifications_per_sec", 1), fmtRate},
		metric{"PEP latency p50, ms", "pep", "lat_p50_ms", -1, field("lat_p50_ms", 1), fmtMs},
		metric{"PEP latency p99, ms", "pep", "lat_p99_ms", -1, field("lat_p99_ms", 1), fmtMs},
	)
	for _, sc := range []string{"idle", "msg", "pep", "login"} {
		out = append(out, metric{"load generator CPU s, " + scenarioNames[sc], sc, "loadgen_cpu_sec", 0, field("loadgen_cpu_sec", 1), fmtFixed(2)})
	}
	return out
}

// shortCount writes 4000 as 4k, for compact labels.
func shortCount(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return fmtRate(float64(n))
}

// cell is one server's figure for one metric: the median over the runs.
type cell struct {
	state   string // "", "not run", "failed", "not built yet"
	value   float64
	partial bool // fewer values than runs
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func compute(recs []record, m metric) cell {
	if len(recs) == 0 {
		return cell{state: "not run"}
	}
	notBuilt := true
	var vals []float64
	for _, r := range recs {
		notBuilt = notBuilt && r.notBuilt()
		if r.str("error") != "" {
			continue
		}
		if v, ok := m.value(r); ok {
			vals = append(vals, v)
		}
	}
	switch {
	case notBuilt:
		return cell{state: "not built yet"}
	case len(vals) == 0:
		return cell{state: "failed"}
	}
	return cell{value: median(vals), partial: len(vals) < len(recs)}
}

func (c cell) String(m metric) string {
	if c.state != "" {
		return c.state
	}
	s := m.format(c.value)
	if c.partial {
		s += " *"
	}
	return s
}

// ratio is xmppd's figure over a peer's, with which way is better.
func ratio(x, p cell, m metric) string {
	switch {
	case m.better == 0:
		return ""
	case x.state == "not built yet":
		return "xmppd: not built yet"
	case x.state != "" || p.state != "" || p.value == 0:
		return "—"
	}
	r := x.value / p.value
	var s string
	switch {
	case r >= 10:
		s = strconv.FormatFloat(r, 'f', 0, 64)
	case r >= 1:
		s = strconv.FormatFloat(r, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(r, 'f', 2, 64)
	}
	switch {
	case math.Abs(r-1) < 0.03:
		return s + "× (same)"
	case (r < 1) == (m.better < 0):
		return s + "× (better)"
	default:
		return s + "× (worse)"
	}
}

type key struct{ server, variant, scenario string }

func table(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	outFile := fs.String("o", "", "also write the tables to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("table needs the results file")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	m, recs, err := load(f)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	render(&b, m, recs)
	if *outFile != "" {
		if err := os.WriteFile(*outFile, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	_, err = stdout.Write(b.Bytes())
	return err
}

// load reads results.jsonl; lines that are not JSON objects are skipped so
// that one torn line (an interrupted run) costs one figure, not the table.
func load(r io.Reader) (meta, map[key][]record, error) {
	var m meta
	recs := map[key][]record{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var rec record
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		if d.Decode(&rec) != nil {
			continue
		}
		if raw, ok := rec["meta"]; ok {
			b, _ := json.Marshal(raw)
			var mm meta
			if json.Unmarshal(b, &mm) == nil {
				m = mm
			}
			continue
		}
		k := key{rec.str("server"), rec.str("variant"), rec.str("scenario")}
		recs[k] = append(recs[k], rec)
	}
	if err := sc.Err(); err != nil {
		return m, nil, err
	}
	for _, rs := range recs {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].run() < rs[j].run() })
	}
	// Without a meta line, take servers and variants from the records.
	if len(m.Servers) == 0 || len(m.Variants) == 0 {
		seenS, seenV := map[string]bool{}, map[string]bool{}
		for k := range recs {
			seenS[k.server], seenV[k.variant] = true, true
		}
		if len(m.Servers) == 0 {
			for _, s := range []string{"xmppd", "prosody", "ejabberd"} {
				if seenS[s] {
					m.Servers = append(m.Servers, s)
				}
			}
		}
		if len(m.Variants) == 0 {
			for _, v := range []string{"plain", "starttls"} {
				if seenV[v] {
					m.Variants = append(m.Variants, v)
				}
			}
		}
	}
	return m, recs, nil
}

func display(s string) string {
	if n, ok := serverNames[s]; ok {
		return n
	}
	return s
}

func render(w io.Writer, m meta, recs map[key][]record) {
	ms := metrics(m)
	hasX := false
	var peers []string
	for _, s := range m.Servers {
		if s == "xmppd" {
			hasX = true
		} else {
			peers = append(peers, s)
		}
	}
	for vi, v := range m.Variants {
		if vi > 0 {
			fmt.Fprintln(w)
		}
		title := variantTitles[v]
		if title == "" {
			title = v
		}
		fmt.Fprintf(w, "### %s\n\n", title)
		head := []string{"metric"}
		for _, s := range m.Servers {
			head = append(head, display(s))
		}
		if hasX {
			for _, p := range peers {
				head = append(head, "xmppd/"+display(p))
			}
		}
		fmt.Fprintf(w, "| %s |\n|---|%s\n", strings.Join(head, " | "), strings.Repeat("---:|", len(head)-1))
		anyPartial := false
		for _, mt := range ms {
			row := []string{mt.label}
			cells := map[string]cell{}
			ran := false
			for _, s := range m.Servers {
				c := compute(recs[key{s, v, mt.scenario}], mt)
				cells[s] = c
				anyPartial = anyPartial || c.partial
				ran = ran || c.state != "not run"
				row = append(row, c.String(mt))
			}
			if !ran {
				continue // a scenario left out of this run (SCENARIOS)
			}
			if hasX {
				for _, p := range peers {
					row = append(row, ratio(cells["xmppd"], cells[p], mt))
				}
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
		notes := variantNotes(m, v, recs, ms)
		if anyPartial {
			notes = append([]string{"\\* median of the runs that produced the figure; the others are listed below."}, notes...)
		}
		if len(notes) > 0 {
			fmt.Fprintln(w)
			for _, n := range notes {
				fmt.Fprintf(w, "- %s\n", n)
			}
		}
	}
	fmt.Fprintln(w)
	for _, n := range globalNotes(m) {
		fmt.Fprintf(w, "- %s\n", n)
	}
}

// variantNotes explains every missing or doubtful figure of one variant:
// errors, failed clients, and fields the load generator did not report.
func variantNotes(m meta, v string, recs map[key][]record, ms []metric) []string {
	var notes []string
	for _, s := range m.Servers {
		for _, sc := range []string{"idle", "msg", "pep", "login"} {
			rs := recs[key{s, v, sc}]
			// Group identical messages so three failed runs make one note.
			var order []string
			runs := map[string][]string{}
			addNote := func(msg string, run int) {
				if _, ok := runs[msg]; !ok {
					order = append(order, msg)
				}
				runs[msg] = append(runs[msg], strconv.Itoa(run))
			}
			for _, r := range rs {
				if e := r.str("error"); e != "" {
					if r.notBuilt() {
						e = "not built yet: " + e
					}
					addNote(e, r.run())
					continue
				}
				if f, ok := r.num("failed"); ok && f > 0 {
					addNote(fmt.Sprintf("%s clients failed (their figures are left out of the rates)", fmtRate(f)), r.run())
				}
				var missing []string
				seen := map[string]bool{}
				for _, mt := range ms {
					if mt.scenario != sc || seen[mt.field] {
						continue
					}
					seen[mt.field] = true
					if _, ok := mt.value(r); !ok {
						missing = append(missing, mt.field)
					}
				}
				if len(missing) > 0 {
					addNote("the load generator reported no "+strings.Join(missing, ", "), r.run())
				}
			}
			for _, msg := range order {
				notes = append(notes, fmt.Sprintf("%s, %s, run %s: %s", display(s), scenarioNames[sc], strings.Join(runs[msg], ", "), msg))
			}
		}
	}
	return notes
}

func globalNotes(m meta) []string {
	runs := "each figure is the median of the runs"
	switch {
	case m.Runs == 1:
		runs = "each figure is from a single run"
	case m.Runs > 1:
		runs = fmt.Sprintf("each figure is the median of %d runs", m.Runs)
	}
	var versions []string
	for _, s := range m.Servers {
		if ver := m.Versions[s]; ver != "" {
			versions = append(versions, display(s)+" "+ver)
		}
	}
	cores := ""
	if m.Cores > 0 {
		cores = fmt.Sprintf(" (%d cores, shared by the servers and the load generator)", m.Cores)
	}
	mech := m.Mech
	if mech == "" {
		mech = "SCRAM-SHA-1"
	}
	notes := []string{
		fmt.Sprintf("Measured%s%s on 127.0.0.1%s; %s. Every scenario starts its server afresh from a copy of a prepared data dir with %s accounts.",
			prefixed(" ", m.Started), versionsClause(versions), cores, runs, fmtRate(float64(m.Accounts))),
		"Ratios are xmppd ÷ peer; each says whether that is better or worse for the metric (lower memory, latency and CPU are better; higher rates are better).",
		fmt.Sprintf("Passwords: all three servers store only SCRAM-SHA-1 credentials with 4096 PBKDF2 rounds (Prosody `authentication = \"internal_hashed\"`, ejabberd `auth_password_format: scram` with `auth_scram_hash: sha`, xmppd always), never the password, and every login uses %s. The load generator caches salted passwords as real clients do, so no server runs PBKDF2 during a login. PEERS.md's peer figures were taken with stored passwords and PLAIN instead; in both cases login cost is a few hashes on the server, but the two sets of figures are separate measurements.", mech),
		"Configuration as PEERS.md's fair settings (the scripts in bench/peers/ write the files): Prosody without mod_limits, s2s and dialback, plaintext authentication allowed; ejabberd with shaper none, listen backlog 128, no mod_pres_counter, and no s2s, HTTP, STUN or MQTT; xmppd with `c2s_plain_on_loopback` and no per-IP connection cap. STARTTLS is offered, not required, by all three, with one shared self-signed ECDSA P-256 certificate for localhost; all three negotiate TLS 1.3 with X25519.",
	}
	if len(m.Commands) > 0 {
		var cmds []string
		for _, sc := range []string{"idle", "msg", "pep", "login"} {
			if c := m.Commands[sc]; c != "" {
				cmds = append(cmds, fmt.Sprintf("%s `loadgen %s`", scenarioNames[sc], c))
			}
		}
		notes = append(notes, "Load generator: "+strings.Join(cmds, "; ")+" (plus `-tls` for STARTTLS).")
	}
	return notes
}

func versionsClause(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return " with " + strings.Join(v, ", ")
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
