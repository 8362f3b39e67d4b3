package core

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"xmppd/internal/stanza"
)

// Counter is a monotonically increasing metric: one series of a family,
// with its labels fixed when it is made, so counting is one atomic add.
type Counter struct {
	name, help string
	labels     string // formatted: kind="message"; "" for none
	v          atomic.Uint64
}

// Add increases the counter.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Inc increases the counter by one.
func (c *Counter) Inc() { c.v.Add(1) }

// Value returns the current count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// gaugeFunc is a gauge family read when scraped: f calls emit once per
// series, with label name/value pairs (none for a plain gauge).
type gaugeFunc struct {
	name, help string
	f          func(emit func(v float64, labels ...string))
}

// Metrics holds the server's metrics and writes them in the OpenMetrics
// text format.
type Metrics struct {
	mu       sync.Mutex
	counters map[string]*Counter // by name and labels
	// Each name's gauges, newest last: while a reload runs a module's new
	// instance beside the old one, both have registered, and whichever is
	// unloaded first must leave the other's.
	gauges map[string][]*gaugeFunc

	// The router's own counts, by stanza.Kind; indexed, so counting a
	// stanza needs no lookup.
	stanzasIn, stanzasOut [stanza.IQ + 1]*Counter
	transports            sync.Map // transport name → *TransportCounters
}

func newMetrics() *Metrics {
	m := &Metrics{counters: map[string]*Counter{}, gauges: map[string][]*gaugeFunc{}}
	for _, k := range []stanza.Kind{stanza.Message, stanza.Presence, stanza.IQ} {
		m.stanzasIn[k] = m.counterWith("stanzas_in", "stanzas received from local clients", "kind", k.String())
		m.stanzasOut[k] = m.counterWith("stanzas_out", "stanzas sent to local clients", "kind", k.String())
	}
	return m
}

// TransportCounters are the byte counts of one client transport.
type TransportCounters struct {
	In, Out *Counter
}

// Transport returns the byte counters of a transport ("c2s", "websocket",
// "bosh"), the same ones for every caller: a transport looks them up once
// and adds what each read and write moved.
func (m *Metrics) Transport(name string) *TransportCounters {
	if v, ok := m.transports.Load(name); ok {
		return v.(*TransportCounters)
	}
	t := &TransportCounters{
		In:  m.counterWith("bytes_received", "bytes read from clients, after TLS", "transport", name),
		Out: m.counterWith("bytes_sent", "bytes queued for clients, before TLS", "transport", name),
	}
	v, _ := m.transports.LoadOrStore(name, t)
	return v.(*TransportCounters)
}

// countIn counts a stanza from a local session.
func (m *Metrics) countIn(k stanza.Kind) {
	if int(k) < len(m.stanzasIn) && m.stanzasIn[k] != nil {
		m.stanzasIn[k].v.Add(1)
	}
}

// countOut counts p, a stanza (isStanza) handed to a session's link.
func (m *Metrics) countOut(p []byte) {
	k := stanza.IQ
	switch p[1] {
	case 'm':
		k = stanza.Message
	case 'p':
		k = stanza.Presence
	}
	m.stanzasOut[k].v.Add(1)
}

// counter returns the named counter, shared by every host's instance of a
// module, so the figure is server-wide.
func (m *Metrics) counter(name, help string) *Counter { return m.counterWith(name, help) }

// counterWith returns the series of family name with the given label
// name/value pairs, made on first use.
func (m *Metrics) counterWith(name, help string, labels ...string) *Counter {
	l := formatLabels(labels)
	m.mu.Lock()
	defer m.mu.Unlock()
	key := name + "{" + l
	if c, ok := m.counters[key]; ok {
		return c
	}
	c := &Counter{name: name, help: help, labels: l}
	m.counters[key] = c
	return c
}

func (m *Metrics) gauge(name, help string, f func(emit func(v float64, labels ...string))) func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := &gaugeFunc{name, help, f}
	m.gauges[name] = append(m.gauges[name], g)
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		list := slices.DeleteFunc(m.gauges[name], func(x *gaugeFunc) bool { return x == g })
		if len(list) == 0 {
			delete(m.gauges, name)
		} else {
			m.gauges[name] = list
		}
	}
}

// family is one metric family as written: its metadata and its samples.
type family struct {
	name, typ, help string
	samples         []string
}

// ContentType is the media type of what WriteTo writes.
const ContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

// WriteTo writes every metric, prefixed xmppd_, in the OpenMetrics text
// format (families sorted by name, each with TYPE and HELP), ending with
// the # EOF line the format requires.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	fams := map[string]*family{}
	fam := func(name, typ, help string) *family {
		f := fams[name]
		if f == nil {
			f = &family{name: "xmppd_" + name, typ: typ, help: help}
			fams[name] = f
		}
		return f
	}
	m.mu.Lock()
	for _, c := range m.counters {
		f := fam(c.name, "counter", c.help)
		f.samples = append(f.samples, f.name+"_total"+braced(c.labels)+" "+strconv.FormatUint(c.Value(), 10)+"\n")
	}
	var gauges []*gaugeFunc
	for _, list := range m.gauges {
		gauges = append(gauges, list[len(list)-1])
	}
	m.mu.Unlock()
	// Read outside the lock: a gauge may take locks of its own (a module's
	// connection table), which may be held by code that registers metrics.
	for _, g := range gauges {
		f := fam(g.name, "gauge", g.help)
		g.f(func(v float64, labels ...string) {
			f.samples = append(f.samples, f.name+braced(formatLabels(labels))+" "+formatFloat(v)+"\n")
		})
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(fams)) {
		f := fams[name]
		fmt.Fprintf(&b, "# TYPE %s %s\n# HELP %s %s\n", f.name, f.typ, f.name, escape(f.help))
		slices.Sort(f.samples)
		for _, s := range f.samples {
			b.WriteString(s)
		}
	}
	b.WriteString("# EOF\n")
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// formatLabels writes name/value pairs as OpenMetrics labels, without braces.
func formatLabels(pairs []string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pairs[i])
		b.WriteString(`="`)
		b.WriteString(escape(pairs[i+1]))
		b.WriteByte('"')
	}
	return b.String()
}

func braced(labels string) string {
	if labels == "" {
		return ""
	}
	return "{" + labels + "}"
}

// escape escapes a label value or help text as OpenMetrics requires.
func escape(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// serverMetrics registers what the server itself knows: sessions by host
// and transport, the store's size and the Go runtime's memory. They cost
// nothing until scraped.
func (srv *Server) serverMetrics() {
	m := srv.Metrics
	m.gauge("sessions", "bound client sessions, by host and transport (detached: kept for resumption)", func(emit func(float64, ...string)) {
		for _, h := range srv.hostList {
			count := map[string]int{}
			for _, s := range h.AllSessions() {
				t := s.Info().Transport
				if t == "" {
					t = "detached"
				}
				count[t]++
			}
			for _, t := range slices.Sorted(maps.Keys(count)) {
				emit(float64(count[t]), "host", h.Name, "transport", t)
			}
		}
	})
	m.gauge("store_disk_bytes", "disk space the store's files use", func(emit func(float64, ...string)) {
		emit(float64(srv.DB.Metrics().DiskBytes))
	})
	m.gauge("store_memory_bytes", "memory the store holds in memtables and block cache", func(emit func(float64, ...string)) {
		st := srv.DB.Metrics()
		emit(float64(st.MemTableBytes) + float64(st.CacheBytes))
	})
	m.gauge("start_time_seconds", "when the server started, in seconds since the epoch", func(emit func(float64, ...string)) {
		emit(float64(srv.Started.UnixNano()) / 1e9)
	})
	runtimeGauges(m)
}

// runtimeSamples are the Go runtime figures exported, read with
// runtime/metrics, which does not stop the world as ReadMemStats does.
var runtimeSamples = []struct{ key, name, help string }{
	{"/memory/classes/heap/objects:bytes", "go_heap_bytes", "bytes of live and not yet swept heap objects"},
	{"/memory/classes/total:bytes", "go_sys_bytes", "bytes of memory the Go runtime has mapped from the system"},
	{"/memory/classes/heap/released:bytes", "go_heap_released_bytes", "bytes of heap memory returned to the system"},
	{"/sched/goroutines:goroutines", "go_goroutines", "goroutines that exist"},
	{"/gc/cycles/total:gc-cycles", "go_gc_cycles", "garbage collection cycles completed since start"},
	{"/gc/heap/goal:bytes", "go_gc_heap_goal_bytes", "heap size the next garbage collection aims at"},
}

func runtimeGauges(m *Metrics) {
	for _, r := range runtimeSamples {
		key := r.key
		m.gauge(r.name, r.help, func(emit func(float64, ...string)) {
			s := []metrics.Sample{{Name: key}}
			metrics.Read(s)
			switch s[0].Value.Kind() {
			case metrics.KindUint64:
				emit(float64(s[0].Value.Uint64()))
			case metrics.KindFloat64:
				emit(s[0].Value.Float64())
			}
		})
	}
}

// CounterWith returns the series of counter <module>_<name> with the given
// label name/value pairs ("kind", "message"): a family whose series a
// module fixes once and then counts with atomic adds.
func (a *API) CounterWith(name, help string, labels ...string) *Counter {
	return a.srv.Metrics.counterWith(a.info.Name+"_"+name, help, labels...)
}

// GaugeVec registers gauge family <module>_<name>, read when scraped: f
// calls emit once per series, with that series' label name/value pairs.
func (a *API) GaugeVec(name, help string, f func(emit func(v float64, labels ...string))) {
	a.OnUnload(a.srv.Metrics.gauge(a.info.Name+"_"+name, help, f))
}

// Status is a module's reported health.
type Status struct {
	Level slog.Level
	Msg   string
}

// setStatus records a module instance's status under key (module@host).
func (srv *Server) setStatus(owner *API, key string, level slog.Level, msg string) {
	srv.statusMu.Lock()
	defer srv.statusMu.Unlock()
	srv.status[key] = Status{level, msg}
	if srv.statusBy == nil {
		srv.statusBy = map[string]*API{}
	}
	srv.statusBy[key] = owner
}

// clearStatus removes owner's status: an old instance unloaded after a
// reload must not clear what its replacement reported.
func (srv *Server) clearStatus(owner *API, key string) {
	srv.statusMu.Lock()
	defer srv.statusMu.Unlock()
	if by, ok := srv.statusBy[key]; ok && by != owner {
		return
	}
	delete(srv.status, key)
	delete(srv.statusBy, key)
}

// Statuses returns a copy of every module's status, keyed module@host.
func (srv *Server) Statuses() map[string]Status {
	srv.statusMu.Lock()
	defer srv.statusMu.Unlock()
	out := make(map[string]Status, len(srv.status))
	for k, v := range srv.status {
		out[k] = v
	}
	return out
}
