// Package logring keeps the most recent log records in memory, a bounded
// number of them, for the admin UI's log page: a router's log often goes to
// a syslog ring of its own (logread) or nowhere, and the page should not
// need either.
package logring

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Record is one kept log record, flattened to text.
type Record struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Level  string    `json:"level"` // DEBUG, INFO, WARN, ERROR
	Module string    `json:"module,omitempty"`
	Host   string    `json:"host,omitempty"`
	Msg    string    `json:"msg"`
	Attrs  string    `json:"attrs,omitempty"` // the other attributes as key=value
}

// maxAttrs bounds the text kept per record, so a record that carries a
// stanza cannot make the ring large.
const maxAttrs = 1024

// Ring holds the last records written. It is safe for concurrent use.
type Ring struct {
	mu   sync.Mutex
	recs []Record // circular, len == capacity once full
	next int      // where the next record goes
	seq  uint64
}

// New returns a ring that keeps the last n records (at least 1).
func New(n int) *Ring { return &Ring{recs: make([]Record, 0, max(n, 1))} }

func (r *Ring) add(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	rec.Seq = r.seq
	if len(r.recs) < cap(r.recs) {
		r.recs = append(r.recs, rec)
		return
	}
	r.recs[r.next] = rec
	r.next = (r.next + 1) % len(r.recs)
}

// Records returns the kept records, oldest first, that are at least as
// severe as min and, when module is not "", come from that module.
func (r *Ring) Records(min slog.Level, module string) []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Record, 0, len(r.recs))
	for i := range r.recs {
		rec := r.recs[(r.next+i)%len(r.recs)]
		var l slog.Level
		l.UnmarshalText([]byte(rec.Level))
		if l >= min && (module == "" || rec.Module == module) {
			out = append(out, rec)
		}
	}
	return out
}

// Handler passes records to another handler and keeps a copy of each in
// its ring, whether or not the other handler writes it at its level: the
// ring keeps what the configured level lets through, and debug records
// only when the level is debug.
type Handler struct {
	next   slog.Handler
	ring   *Ring
	attrs  []slog.Attr
	groups string // "a.b." prefix of attribute keys
}

// NewHandler returns a Handler writing to next and keeping records in ring.
func NewHandler(next slog.Handler, ring *Ring) *Handler {
	return &Handler{next: next, ring: ring}
}

// Ring returns the handler's ring.
func (h *Handler) Ring() *Ring { return h.ring }

// Enabled is the next handler's.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle keeps a copy of rec and passes it on.
func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	kept := Record{Time: rec.Time, Level: rec.Level.String(), Msg: rec.Message}
	var b strings.Builder
	add := func(prefix string, a slog.Attr) {
		switch {
		case prefix == "" && a.Key == "mod":
			kept.Module = a.Value.String()
		case prefix == "" && a.Key == "host":
			kept.Host = a.Value.String()
		case b.Len() < maxAttrs:
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(prefix + a.Key)
			b.WriteByte('=')
			v := a.Value.Resolve().String()
			if strings.ContainsAny(v, " \"=") {
				v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
			}
			b.WriteString(v)
		}
	}
	for _, a := range h.attrs {
		add("", a)
	}
	rec.Attrs(func(a slog.Attr) bool { add(h.groups, a); return true })
	kept.Attrs = b.String()
	if len(kept.Attrs) > maxAttrs {
		kept.Attrs = kept.Attrs[:maxAttrs] + "…"
	}
	h.ring.add(kept)
	return h.next.Handle(ctx, rec)
}

// WithAttrs returns a handler whose records carry attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	for _, a := range attrs {
		a.Key = h.groups + a.Key
		c.attrs = append(c.attrs[:len(c.attrs):len(c.attrs)], a)
	}
	return &c
}

// WithGroup returns a handler that puts later attributes in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	c.groups += name + "."
	return &c
}

// Of returns the ring of log's handler, or nil when it keeps none.
func Of(log *slog.Logger) *Ring {
	if log == nil {
		return nil
	}
	if h, ok := log.Handler().(*Handler); ok {
		return h.ring
	}
	return nil
}

var _ slog.Handler = (*Handler)(nil)
