package core

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
)

// Counter is a monotonically increasing metric.
type Counter struct {
	name, help string
	v          atomic.Uint64
}

// Add increases the counter.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Inc increases the counter by one.
func (c *Counter) Inc() { c.v.Add(1) }

// Value returns the current count.
func (c *Counter) Value() uint64 { return c.v.Load() }

type gaugeFunc struct {
	name, help string
	f          func() float64
}

// Metrics holds the server's metrics and writes them in the OpenMetrics
// text format.
type Metrics struct {
	mu       sync.Mutex
	counters map[string]*Counter
	// Each name's gauges, newest last: while a reload runs a module's new
	// instance beside the old one, both have registered, and whichever is
	// unloaded first must leave the other's.
	gauges map[string][]*gaugeFunc
}

func newMetrics() *Metrics {
	return &Metrics{counters: map[string]*Counter{}, gauges: map[string][]*gaugeFunc{}}
}

// counter returns the named counter, shared by every host's instance of a
// module, so the figure is server-wide.
func (m *Metrics) counter(name, help string) *Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.counters[name]; ok {
		return c
	}
	c := &Counter{name: name, help: help}
	m.counters[name] = c
	return c
}

func (m *Metrics) gauge(name, help string, f func() float64) func() {
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

// WriteTo writes every metric, prefixed xmppd_, in the OpenMetrics text format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	var lines []string
	for _, c := range m.counters {
		lines = append(lines, fmt.Sprintf("# TYPE xmppd_%s counter\n# HELP xmppd_%s %s\nxmppd_%s_total %d\n", c.name, c.name, c.help, c.name, c.Value()))
	}
	for _, list := range m.gauges {
		g := list[len(list)-1]
		lines = append(lines, fmt.Sprintf("# TYPE xmppd_%s gauge\n# HELP xmppd_%s %s\nxmppd_%s %g\n", g.name, g.name, g.help, g.name, g.f()))
	}
	m.mu.Unlock()
	slices.Sort(lines)
	var n int64
	for _, l := range append(lines, "# EOF\n") {
		k, err := io.WriteString(w, l)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
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
