// Package uptime answers XEP-0012 Last Activity queries to the server with
// the time since it started, and serves the same figure over HTTP. It is
// also the worked example of docs/modules.md: a hook, a feature, an
// option, a metric and an HTTP route, all undone on unload.
package uptime

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// NS is the Last Activity namespace (XEP-0012).
const NS = "jabber:iq:last"

func init() {
	core.Register(core.ModuleInfo{Name: "uptime", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readStatus(r) }})
}

// readStatus reads the module's options, for Load and for the
// configuration checks alike. config module 'uptime' / option status
// 'text': the status text of the answer (XEP-0012 §4 lets the server say
// something about itself).
func readStatus(opts *config.Reader) string {
	status := opts.String("status", "")
	opts.Unknown()
	return status
}

// Module is the uptime module of one host.
type Module struct {
	srv     *core.Server
	status  string
	queries *core.Counter
}

// Load wires the module in; everything goes through api, so nothing needs
// undoing by hand.
func (m *Module) Load(api *core.API) error {
	m.srv = api.Server()
	m.status = readStatus(api.Options())
	m.queries = api.Counter("queries", "XEP-0012 queries answered")
	api.AddFeature(NS)
	api.Hook(core.IQEvent(core.TargetHost, NS, "query"), core.PriorityModule, m.query)
	api.HandleHTTP("", http.HandlerFunc(m.serveHTTP))
	return nil
}

// query answers <query xmlns='jabber:iq:last'/> sent to the server: seconds
// since start (XEP-0012 §4).
func (m *Module) query(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "get" {
		return false // a set falls through to service-unavailable
	}
	m.queries.Inc()
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", NS).Attr("seconds", strconv.Itoa(int(m.uptime().Seconds())))
	if m.status != "" {
		b.Text(m.status)
	}
	core.Result(ev, b.Bytes())
	return true
}

func (m *Module) uptime() time.Duration { return time.Since(m.srv.Started) }

// serveHTTP serves {"seconds": N} at /uptime/.
func (m *Module) serveHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int64{"seconds": int64(m.uptime().Seconds())})
}

var _ core.Module = (*Module)(nil)
