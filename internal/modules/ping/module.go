// Package ping answers XEP-0199 pings sent to the server and, when a
// keepalive interval is configured, pings every bound client in turn and
// closes the streams of clients that stopped answering: a dead mobile link
// or NAT mapping otherwise keeps a session (and its presence) alive until
// TCP gives up, which can take hours.
package ping

import (
	"errors"
	"sync/atomic"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
)

// NS is the namespace of XEP-0199.
const NS = "urn:xmpp:ping"

// MinKeepalive is the shortest keepalive interval accepted: a client needs
// a round trip to answer, and shorter rounds would only cost battery.
const MinKeepalive = time.Second

func init() {
	core.Register(core.ModuleInfo{Name: "ping", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readKeepalive(r) }})
}

// readKeepalive reads the module's options, for Load and for the
// configuration checks alike: the keepalive interval, 0 for none.
func readKeepalive(opts *config.Reader) time.Duration {
	d := opts.Duration("keepalive", 0, 0, 24*time.Hour)
	if d > 0 && d < MinKeepalive {
		opts.Errorf("keepalive", "option keepalive: '%s' is too short: use 0 (off) or at least %s", d, MinKeepalive)
		d = 0
	}
	opts.Unknown()
	return d
}

// Module answers pings and runs the keepalive.
type Module struct {
	api      *core.API
	host     *core.Host
	interval time.Duration
	key      *core.Key

	sent, timeouts *core.Counter
}

// waiting is what the keepalive keeps on a session: whether a ping to it
// is still unanswered, so that a round sends it no second one.
type waiting struct{ atomic.Bool }

// payload is the <ping/> of every keepalive ping (XEP-0199 §4.1).
var payload = []byte("<ping xmlns='" + NS + "'/>")

// Load reads the keepalive option, answers pings to the server and starts
// the keepalive rounds when the interval is not 0.
func (m *Module) Load(api *core.API) error {
	m.api, m.host = api, api.Host()
	m.interval = readKeepalive(api.Options())

	api.AddFeature(NS)
	// XEP-0199 §4.2: a ping to the server, or with no 'to' or the client's
	// own bare JID, which the server handles as if sent to itself.
	api.Hook(core.IQEvent(core.TargetHost, NS, "ping"), core.PriorityModule, m.pong)
	api.Hook(core.IQEvent(core.TargetSelf, NS, "ping"), core.PriorityModule, m.pong)

	m.sent = api.Counter("keepalive_sent", "keepalive pings sent to clients")
	m.timeouts = api.Counter("keepalive_timeouts", "client streams closed for not answering a keepalive ping")
	if m.interval == 0 {
		return nil
	}
	m.key = core.NewKey("ping")
	api.Every(m.interval, m.round)
	return nil
}

// pong answers a ping to the server with an empty result (XEP-0199 §4.2).
func (m *Module) pong(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "get" || ev.Origin == nil {
		return false
	}
	// From the address the client wrote: the domain, or its own bare JID
	// on whose behalf the server answers (RFC 6120 §8.1.2.1).
	m.api.Result(ev, nil)
	return true
}

// round pings every bound session that has answered the last ping it got.
// A ping unanswered after an interval closes the stream, so a dead client
// is gone between one and two intervals after its last answer.
func (m *Module) round() {
	for _, s := range m.host.AllSessions() {
		if s.Link() == nil {
			// Detached (kept by stream management for resumption): there
			// is no peer to answer, and the module keeping it decides
			// when it ends.
			continue
		}
		w, _ := s.Get(m.key).(*waiting)
		if w == nil {
			w = &waiting{}
			s.Set(m.key, w)
		}
		if !w.CompareAndSwap(false, true) {
			continue // still waiting, or closing
		}
		err := m.api.SendIQ(s, "get", payload, m.interval, func(_ *stanza.Stanza, err error) {
			// A result and an error both prove the stream alive (XEP-0199
			// §4.1: a client without ping support answers
			// service-unavailable).
			if err == nil || errors.As(err, new(*core.StanzaError)) {
				w.Store(false)
				return
			}
			if errors.Is(err, core.ErrIQTimeout) {
				// w stays set: the session is closing, and stays listed
				// until its connection is gone.
				m.timeouts.Inc()
				s.Close(stream.ConnectionTimeout, "no answer to a ping within "+m.interval.String())
			}
		})
		if err != nil {
			w.Store(false) // gone already, or too much waits: next round
			continue
		}
		m.sent.Inc()
	}
}

var _ core.Module = (*Module)(nil)
