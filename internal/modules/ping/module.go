// Package ping answers XEP-0199 pings sent to the server and, when a
// keepalive interval is configured, pings every bound client in turn and
// closes the streams of clients that stopped answering: a dead mobile link
// or NAT mapping otherwise keeps a session (and its presence) alive until
// TCP gives up, which can take hours.
package ping

import (
	"strconv"
	"sync/atomic"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
)

// NS is the namespace of XEP-0199.
const NS = "urn:xmpp:ping"

// idPrefix starts the id of every keepalive ping, so that answers to them
// are told apart from answers to anything else the server asked.
const idPrefix = "xmppd-ping-"

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
	host     *core.Host
	interval time.Duration
	key      *core.Key
	seq      atomic.Uint64

	sent, timeouts *core.Counter
}

// state is what the keepalive keeps on a session: the sequence number of
// the ping not answered yet, 0 when none is outstanding.
type state struct {
	pending atomic.Uint64
	closed  atomic.Bool
}

// Load reads the keepalive option, answers pings to the server and starts
// the keepalive rounds when the interval is not 0.
func (m *Module) Load(api *core.API) error {
	m.host = api.Host()
	m.interval = readKeepalive(api.Options())

	api.AddFeature(NS)
	// XEP-0199 §4.2: a ping to the server, or with no 'to' or the client's
	// own bare JID, which the server handles as if sent to itself.
	api.Hook("iq/"+core.TargetHost+"/"+NS+":ping", core.PriorityModule, m.pong)
	api.Hook("iq/"+core.TargetSelf+"/"+NS+":ping", core.PriorityModule, m.pong)

	m.sent = api.Counter("keepalive_sent", "keepalive pings sent to clients")
	m.timeouts = api.Counter("keepalive_timeouts", "client streams closed for not answering a keepalive ping")
	if m.interval == 0 {
		return nil
	}
	m.key = core.NewKey("ping")
	// The client answers to the server (to='domain', XEP-0199 §4.1) or,
	// from some clients, with no 'to' at all.
	api.Hook("iq/"+core.TargetHost, core.PriorityModule, m.answer)
	api.Hook("iq/"+core.TargetSelf, core.PriorityModule, m.answer)
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
	core.Result(ev, nil)
	return true
}

// answer takes a client's answer to the keepalive ping it was sent. A
// result and an error both prove the stream alive (XEP-0199 §4.1: a client
// without ping support answers service-unavailable).
func (m *Module) answer(ev *core.Event) bool {
	typ := string(ev.Stanza.Type())
	if (typ != "result" && typ != "error") || ev.Origin == nil {
		return false
	}
	st, _ := ev.Origin.Get(m.key).(*state)
	if st == nil {
		return false
	}
	n, ok := parseID(ev.Stanza.ID())
	if !ok {
		return false
	}
	// An answer to an earlier round, come late, is still taken (and
	// dropped): nothing else asked for it.
	st.pending.CompareAndSwap(n, 0)
	return true
}

// round is one keepalive round: a session that left the previous round's
// ping unanswered is closed, every other one gets a new ping. So a dead
// client is gone between one and two intervals after its last answer.
func (m *Module) round() {
	for _, s := range m.host.AllSessions() {
		st, _ := s.Get(m.key).(*state)
		if st == nil {
			st = &state{}
			s.Set(m.key, st)
		}
		if st.closed.Load() {
			continue // closing: it stays listed until its connection is gone
		}
		if st.pending.Load() != 0 {
			st.closed.Store(true)
			m.timeouts.Inc()
			s.Close(stream.ConnectionTimeout, "no answer to a ping within "+m.interval.String())
			continue
		}
		n := m.seq.Add(1)
		// Recorded before sending: the answer may arrive before Send returns.
		st.pending.Store(n)
		m.sent.Inc()
		s.Send(pingIQ(m.host.Name, s.JID.String(), n))
	}
}

// pingIQ is the server-to-client ping of XEP-0199 §4.1.
func pingIQ(from, to string, n uint64) []byte {
	var b stanza.Builder
	b.Reset(make([]byte, 0, 128)).Start("iq").Attr("type", "get").Attr("id", idPrefix+strconv.FormatUint(n, 10)).
		Attr("from", from).Attr("to", to)
	b.Start("ping").Attr("xmlns", NS).End()
	return b.Bytes()
}

// parseID returns the sequence number of a keepalive ping's id.
func parseID(id []byte) (uint64, bool) {
	if len(id) <= len(idPrefix) || string(id[:len(idPrefix)]) != idPrefix {
		return 0, false
	}
	n, err := strconv.ParseUint(string(id[len(idPrefix):]), 10, 64)
	return n, err == nil && n != 0
}

var _ core.Module = (*Module)(nil)
