package core_test

import (
	"bytes"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
	"xmppd/internal/xml"

	_ "xmppd/internal/modules/message"
)

// sink is a Sender that counts what it would have written.
type sink struct{ bytes, flushes atomic.Int64 }

func (s *sink) Queue(p []byte) error { s.bytes.Add(int64(len(p))); return nil }
func (s *sink) Flush()               { s.flushes.Add(1) }
func (s *sink) Close(string, string) {}
func (s *sink) Info() core.LinkInfo  { return core.LinkInfo{Transport: "test"} }

func newServer(tb testing.TB) *core.Server {
	tb.Helper()
	f, err := config.Parse("bench.uci", []byte("config xmppd 'main'\n\toption data_dir '"+tb.TempDir()+"'\nconfig host 'h'\n\toption domain 'localhost'\n"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.FromFile(f)
	if err != nil {
		tb.Fatal(err)
	}
	// The kernel and the delivery module alone: no listeners.
	cfg.Listeners = nil
	srv, err := core.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Stop)
	return srv
}

func bind(tb testing.TB, srv *core.Server, bare, resource string, out core.Link) *core.Session {
	h := srv.Host("localhost")
	s := srv.NewSession(h, jid.MustParse(bare), out)
	if _, err := h.Bind(s, resource, core.ConflictKickOld); err != nil {
		tb.Fatal(err)
	}
	return s
}

func readStanza(tb testing.TB, raw string) *stanza.Stanza {
	r := stanza.NewReader(xml.Limits{})
	w := []byte("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" + raw)
	for {
		ev, err := r.Next(w)
		if err != nil {
			tb.Fatal(err)
		}
		if ev == stanza.EventStanza {
			return r.Stanza().Clone()
		}
	}
}

// BenchmarkRouteChat routes one chat message between two bound local
// sessions: address parsing, event dispatch, delivery with 'from' stamped,
// and the batched flush. The routing path must not allocate.
func BenchmarkRouteChat(b *testing.B) {
	srv := newServer(b)
	var a, r sink
	from := bind(b, srv, "juliet@localhost", "balcony", &a)
	bind(b, srv, "romeo@localhost", "orchard", &r)
	st := readStanza(b, "<message to='romeo@localhost/orchard' type='chat' id='m1'><body>Wherefore art thou?</body></message>")
	srv.Route(from, st)
	from.FlushTouched()
	b.ReportAllocs()
	b.SetBytes(int64(len(st.Raw)))
	for b.Loop() {
		srv.Route(from, st)
		from.FlushTouched()
	}
	if r.flushes.Load() == 0 || r.bytes.Load() == 0 {
		b.Fatal("nothing delivered")
	}
}

func TestRouteChatAllocs(t *testing.T) {
	srv := newServer(t)
	var a, r sink
	from := bind(t, srv, "juliet@localhost", "balcony", &a)
	romeo := bind(t, srv, "romeo@localhost", "orchard", &r)
	romeo.SetPresence([]byte("<presence/>"), 0)
	for _, raw := range []string{
		"<message to='romeo@localhost/orchard' type='chat'><body>to the full JID</body></message>",
		"<message to='romeo@localhost' type='chat'><body>to the bare JID</body></message>",
		"<iq to='romeo@localhost/orchard' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>",
	} {
		st := readStanza(t, raw)
		srv.Route(from, st)
		from.FlushTouched()
		if n := testing.AllocsPerRun(100, func() { srv.Route(from, st); from.FlushTouched() }); n != 0 {
			t.Errorf("%s: %v allocs per message", raw, n)
		}
	}
	if r.bytes.Load() == 0 {
		t.Fatal("nothing delivered")
	}
}

func TestRouteErrors(t *testing.T) {
	srv := newServer(t)
	var a sink
	from := bind(t, srv, "juliet@localhost", "balcony", &a)
	var got []byte
	cap := &capture{&got}
	from.Attach(cap)
	for _, c := range []struct{ raw, want string }{
		{"<iq type='get' id='1' to='localhost'><query xmlns='urn:unknown'/></iq>", "<service-unavailable"},
		{"<iq type='get' id='2' to='nobody@localhost/x'><query xmlns='urn:unknown'/></iq>", "<service-unavailable"},
		{"<message type='chat' to='nobody@localhost'><body>x</body></message>", "<service-unavailable"},
		{"<message type='chat' to='someone@remote.example'><body>x</body></message>", "<remote-server-not-found"},
		{"<message type='chat' to='a@b@c'><body>x</body></message>", "<jid-malformed"},
	} {
		got = got[:0]
		srv.Route(from, readStanza(t, c.raw))
		if !bytes.Contains(got, []byte(c.want)) || !bytes.Contains(got, []byte("type='error'")) {
			t.Errorf("%s: got %s", c.raw, got)
		}
	}
	// Results and errors are never answered (RFC 6120 §8.3.1).
	got = got[:0]
	srv.Route(from, readStanza(t, "<iq type='result' id='3' to='localhost'/>"))
	srv.Route(from, readStanza(t, "<message type='error' to='nobody@localhost'/>"))
	if len(got) != 0 {
		t.Errorf("answered a result or error: %s", got)
	}
}

type capture struct{ b *[]byte }

func (c *capture) Queue(p []byte) error { *c.b = append(*c.b, p...); return nil }
func (c *capture) Flush()               {}
func (c *capture) Info() core.LinkInfo  { return core.LinkInfo{} }
func (c *capture) Close(string, string) {}
