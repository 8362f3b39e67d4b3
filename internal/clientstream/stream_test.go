package clientstream_test

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"xmppd/internal/clientstream"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
	"xmppd/internal/xml"
	"xmppd/internal/xmpptest"
)

// service is the machine's shared state, made by the test module in a real
// server (its log and metrics come from the module API).
var service = make(chan *clientstream.Service, 1)

func init() {
	core.Register(core.ModuleInfo{Name: "test_streams", Global: true, New: func() core.Module { return streamsModule{} }})
}

type streamsModule struct{}

func (streamsModule) Load(api *core.API) error {
	c := api.Server().Config.C2S
	service <- clientstream.NewService(api, nil, &c)
	return nil
}

// memTransport frames nothing: it is the machine's transport in memory,
// as a WebSocket or BOSH transport is, without their framing.
type memTransport struct {
	mu     sync.Mutex
	out    strings.Builder
	closed string
}

func (m *memTransport) Queue(p []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed != "" {
		return errors.New("closed")
	}
	m.out.Write(p)
	return nil
}
func (m *memTransport) Flush() {}
func (m *memTransport) Close(condition, text string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = "closed:" + condition
}
func (m *memTransport) Info() core.LinkInfo {
	return core.LinkInfo{Transport: "memory", Remote: "192.0.2.7", Secure: true}
}
func (m *memTransport) Open(h stream.Header)      { m.Queue([]byte("<open from='" + h.From + "'/>")) }
func (m *memTransport) CanStartTLS() bool         { return false }
func (m *memTransport) StartTLS(func(error))      {}
func (m *memTransport) TLS() *tls.ConnectionState { return nil }

// take returns what was written since the last call.
func (m *memTransport) take() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.out.String()
	m.out.Reset()
	return s
}

// drive feeds client bytes to the machine as a transport does: it parses
// them and reports headers, elements and the end.
type drive struct {
	t  *testing.T
	st *clientstream.Stream
	r  *stanza.Reader
	in []byte
}

func (d *drive) send(s string) clientstream.Next {
	d.t.Helper()
	d.in = append(d.in, s...)
	next := clientstream.Continue
	for {
		ev, err := d.r.Next(d.in)
		if errors.Is(err, xml.ErrNeedMore) {
			return next
		}
		if err != nil {
			d.t.Fatal(err)
		}
		switch ev {
		case stanza.EventHeader:
			d.st.Header(stream.ParseHeader(d.r.Header(), stanza.NSClient))
		case stanza.EventStanza:
			next = d.st.Element(d.r.Stanza())
		case stanza.EventEnd:
			d.st.End()
		}
		if next == clientstream.Restart {
			d.in = d.in[:0]
			d.r.Reset()
			return next
		}
	}
}

const header = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

// TestNegotiateInMemory: a transport with no negotiation code of its own
// gets a bound session through the shared machine, whose stanzas are
// routed like any other session's.
func TestNegotiateInMemory(t *testing.T) {
	s := xmpptest.Start(t, "\tlist modules_enabled 'test_streams'\n")
	s.AddUser(t, "juliet", "balcony")
	svc := <-service
	tr := &memTransport{}
	bound := false
	st := svc.NewStream(tr, clientstream.Options{IP: "192.0.2.7", Secure: true, OnBound: func() { bound = true }})
	d := &drive{t: t, st: st, r: stanza.NewReader(xml.Limits{MaxStanzaBytes: 1 << 16})}

	d.send(header)
	feats := tr.take()
	if !strings.Contains(feats, "<open from='localhost'/>") || !strings.Contains(feats, "<mechanism>PLAIN</mechanism>") || strings.Contains(feats, "starttls") {
		t.Fatalf("features: %s", feats)
	}
	if n := d.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00juliet\x00balcony")) + "</auth>"); n != clientstream.Restart {
		t.Fatalf("after success: %v, want a restart; got %s", n, tr.take())
	}
	if got := tr.take(); !strings.Contains(got, "<success") {
		t.Fatalf("auth: %s", got)
	}
	d.send(header)
	if got := tr.take(); !strings.Contains(got, "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>") {
		t.Fatalf("features after auth: %s", got)
	}
	d.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>mem</resource></bind></iq>")
	if got := tr.take(); !strings.Contains(got, "<jid>juliet@localhost/mem</jid>") || !bound || !st.Bound() {
		t.Fatalf("bind: %s (bound callback %v)", got, bound)
	}
	if info := st.Session().Info(); info.Transport != "memory" || !info.Secure {
		t.Fatalf("the session's link says %+v", info)
	}

	// A stanza routed from another session reaches this one, and one it
	// sends is routed.
	h := s.Host("localhost")
	other := &memTransport{}
	romeo := s.NewSession(h, jid.MustParse("juliet@localhost"), other)
	if _, err := h.Bind(romeo, "other", core.ConflictKickOld); err != nil {
		t.Fatal(err)
	}
	d.send("<message to='juliet@localhost/other' type='chat'><body>hi</body></message>")
	st.Session().FlushTouched()
	if got := other.take(); !strings.Contains(got, "from='juliet@localhost/mem'") {
		t.Fatalf("routed: %q", got)
	}
	d.send("<unknown xmlns='urn:example'/>")
	if tr.closed != "closed:unsupported-stanza-type" {
		t.Fatalf("an unknown element after bind: %q", tr.closed)
	}
}

// TestStreamElementHooks: modules take stream-level elements in each
// phase and add stream features, through events any transport fires.
func TestStreamElementHooks(t *testing.T) {
	s := xmpptest.Start(t, "\tlist modules_enabled 'test_streams'\n")
	s.AddUser(t, "juliet", "balcony")
	svc := <-service
	h := s.Host("localhost")
	var phases []string
	for _, phase := range []string{core.StreamPreAuth, core.StreamPreBind, core.StreamBound} {
		unhook := h.Events.Hook(core.StreamEvent(phase, "urn:example", "ping"), core.PriorityModule, func(ev *core.Event) bool {
			phases = append(phases, phase)
			ev.Data.(core.Stream).Send([]byte("<pong xmlns='urn:example'/>"))
			return true
		})
		t.Cleanup(unhook)
	}
	t.Cleanup(h.Events.Hook(core.EventStreamFeatures, core.PriorityModule, func(ev *core.Event) bool {
		f := ev.Data.(*core.Features)
		f.B.Start("extra").Attr("xmlns", "urn:example").End()
		return false
	}))
	tr := &memTransport{}
	st := svc.NewStream(tr, clientstream.Options{IP: "192.0.2.7", Secure: true})
	d := &drive{t: t, st: st, r: stanza.NewReader(xml.Limits{MaxStanzaBytes: 1 << 16})}
	d.send(header)
	if got := tr.take(); !strings.Contains(got, "<extra xmlns='urn:example'/></stream:features>") {
		t.Fatalf("features: %s", got)
	}
	d.send("<ping xmlns='urn:example'/>")
	d.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00juliet\x00balcony")) + "</auth>")
	d.send(header)
	d.send("<ping xmlns='urn:example'/>")
	d.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	d.send("<ping xmlns='urn:example'/>")
	if strings.Join(phases, " ") != "preauth prebind bound" || strings.Count(tr.take(), "<pong") != 3 || tr.closed != "" {
		t.Fatalf("phases %v, closed %q", phases, tr.closed)
	}
}
