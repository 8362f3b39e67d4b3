// Package time answers XEP-0202 entity time queries to the server with its
// clock in UTC and the offset of its local time zone.
package time

import (
	"time"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// NS is the namespace of XEP-0202.
const NS = "urn:xmpp:time"

// Layouts of XEP-0082 §3.2 (DateTime profile, in UTC with milliseconds) and
// of the time zone definition (TZD) of XEP-0082 §2, always as ±hh:mm:
// "Z" is allowed too, but clients parse the numeric form more reliably.
const (
	utcLayout = "2006-01-02T15:04:05.000Z"
	tzoLayout = "-07:00"
)

func init() {
	core.Register(core.ModuleInfo{Name: "time", Auto: true, New: func() core.Module { return &Module{} }})
}

// Module answers entity time queries.
type Module struct{}

// Load hooks time queries to the server.
func (m *Module) Load(api *core.API) error {
	api.Options().Unknown()
	api.AddFeature(NS)
	api.Hook(core.IQEvent(core.TargetHost, NS, "time"), core.PriorityModule, m.answer)
	return nil
}

// answer answers a get (XEP-0202 §2: tzo and utc, both required); a set is
// left to the fallback's service-unavailable.
func (m *Module) answer(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "get" || ev.Origin == nil {
		return false
	}
	var b stanza.Builder
	b.Reset(make([]byte, 0, 128))
	appendTime(&b, time.Now())
	core.Result(ev, b.Bytes())
	return true
}

// appendTime writes the <time/> payload for t: the offset of t's zone and
// t in UTC.
func appendTime(b *stanza.Builder, t time.Time) {
	b.Start("time").Attr("xmlns", NS)
	b.Start("tzo").Text(t.Format(tzoLayout)).End()
	b.Start("utc").Text(t.UTC().Format(utcLayout)).End()
	b.End()
}

var _ core.Module = (*Module)(nil)
