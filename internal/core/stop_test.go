package core_test

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// slowLink is a transport that takes a while to close: like a TCP stream
// flushing its last bytes, it reports the link lost from a goroutine of
// its own, some time after Close.
type slowLink struct {
	recorder
	h *core.Host
	s *core.Session
}

func (l *slowLink) Close(string, string) {
	go func() {
		time.Sleep(100 * time.Millisecond)
		record("transport closed")
		l.h.LinkLost(l.s, l)
	}()
}

// TestStopDrains: Stop lets transports close their streams after
// "server-stopping" and waits for the sessions to end before it unloads
// the modules and closes the store, so what a session's end sets off
// (here, a durable write) still happens; a second Stop does nothing.
func TestStopDrains(t *testing.T) {
	dir := t.TempDir()
	uci := testUCI(dir, "\tlist modules_enabled 'test_unbind'\n", "")
	srv, err := startUCI(t, uci)
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Host("localhost")
	l := &slowLink{h: h}
	l.s = bind(t, srv, "juliet@localhost", "balcony", l)
	// A session stream management keeps, with no transport, ends too.
	kept := bind(t, srv, "romeo@localhost", "orchard", &recorder{})
	h.Events.Hook(core.EventSessionDetached, core.PriorityModule, func(*core.Event) bool { return true })
	h.LinkLost(kept, kept.Link())
	// The transport closes its streams when the server stops, as c2s does.
	srv.Events.Hook(core.EventServerStopping, core.PriorityModule, func(*core.Event) bool {
		l.Close("system-shutdown", "")
		return false
	})
	recorded()
	srv.Stop()
	srv.Stop()
	want := []string{"unbind stored: true", "transport closed", "unbind stored: true", "test_unbind unloaded"}
	if got := recorded(); !slices.Equal(got, want) {
		t.Fatalf("stop did %q, want %q", got, want)
	}

	// The writes reached the store.
	srv2, err := core.New(parseUCI(t, uci), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.DB.Close()
	kv := srv2.DB.KeyVal("test_unbind", true)
	for _, u := range []string{"juliet", "romeo"} {
		var rec core.AccountRecord
		if found, err := kv.Get("localhost", u, &rec); !found || err != nil {
			t.Errorf("%s's end was not stored: %v %v", u, found, err)
		}
	}
}

// TestConcurrentDeliver: module goroutines (an archive, offline delivery)
// deliver to a session while other sessions' stanzas are routed to it; the
// race detector watches, and every stanza arrives and is counted.
func TestConcurrentDeliver(t *testing.T) {
	srv, err := startUCI(t, testUCI(t.TempDir(), "", ""))
	if err != nil {
		t.Fatal(err)
	}
	var jl, rl recorder
	juliet := bind(t, srv, "juliet@localhost", "balcony", &jl)
	juliet.SetPresence([]byte("<presence/>"), 0)
	juliet.KeepUnacked(1 << 30)
	romeo := bind(t, srv, "romeo@localhost", "orchard", &rl)
	from := romeo.JID.Clone()
	const goroutines, each = 4, 200
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			st := readStanza(t, "<message type='chat' to='juliet@localhost'><body>from the archive</body></message>")
			for range each {
				srv.Deliver(nil, juliet, st, from)
			}
		})
	}
	wg.Go(func() {
		for _, to := range []string{"juliet@localhost/balcony", "juliet@localhost"} {
			st := readStanza(t, "<message type='chat' to='"+to+"'><body>routed</body></message>")
			for range each {
				srv.Route(romeo, st)
				romeo.FlushTouched()
			}
		}
	})
	wg.Wait()
	want := goroutines*each + 2*each
	if got := len(jl.take()); got != want {
		t.Errorf("juliet received %d stanzas, want %d", got, want)
	}
	if got := juliet.Sent(); got != uint64(want) {
		t.Errorf("juliet's session counted %d stanzas, want %d", got, want)
	}
	if got := len(juliet.Unacked()); got != want {
		t.Errorf("juliet's session kept %d unacknowledged stanzas, want %d", got, want)
	}
	for _, p := range juliet.Unacked() {
		if _, err := stanza.Reparse(p, stanza.NSClient); err != nil {
			t.Fatalf("kept %q: %v", p, err)
		}
	}
}

// TestRoutesPerHost: a global module's HTTP route answers for any host; a
// host module's only for its host, chosen by the Host header or, without
// one, the TLS server name.
func TestRoutesPerHost(t *testing.T) {
	srv, err := startUCI(t, testUCI(t.TempDir(), "\tlist modules_enabled 'test_ghttp'\n", "\tlist modules_enabled 'test_hhttp'\n")+
		"config host 'o'\n\toption domain 'other.example'\n")
	if err != nil {
		t.Fatal(err)
	}
	get := func(host, sni, path string) string {
		req := httptest.NewRequest("GET", path, nil)
		req.Host = host
		if sni != "" {
			req.TLS = &tls.ConnectionState{ServerName: sni}
		}
		w := httptest.NewRecorder()
		srv.HTTP.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			return strconv.Itoa(w.Code)
		}
		return w.Body.String()
	}
	for _, c := range []struct{ host, sni, path, want string }{
		{"localhost", "", "/test_ghttp/", "global"},
		{"other.example", "", "/test_ghttp/x", "global"},
		{"localhost:5280", "", "/test_hhttp/", "localhost"},
		{"", "localhost", "/test_hhttp/", "localhost"},
		{"other.example", "", "/test_hhttp/", "404"},
		{"", "other.example", "/test_hhttp/", "404"},
		{"localhost", "", "/.well-known/test", "localhost"},
		{"localhost", "", "/.well-known/test/x", "localhost"},
		{"localhost", "", "/.well-known/testx", "404"},
	} {
		if got := get(c.host, c.sni, c.path); got != c.want {
			t.Errorf("%s (SNI %q) %s: %s, want %s", c.host, c.sni, c.path, got, c.want)
		}
	}
	if want := []string{"/test_ghttp/", "localhost/.well-known/test/", "localhost/test_hhttp/"}; !slices.Equal(srv.HTTP.Paths(), want) {
		t.Errorf("paths %q, want %q", srv.HTTP.Paths(), want)
	}
	want := []core.HTTPLink{{Rel: "urn:xmppd:test", Path: "/.well-known/test"}}
	if got := srv.HTTP.Links("localhost"); !slices.Equal(got, want) {
		t.Errorf("links of localhost %v, want %v", got, want)
	}
	if got := srv.HTTP.Links("other.example"); len(got) != 0 {
		t.Errorf("links of other.example %v, want none", got)
	}
}
