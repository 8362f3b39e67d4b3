package c2s_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
	"xmppd/internal/xmpptest"
)

// kept holds the sessions the test_keep module claimed when their links
// died, as stream management keeps them for resumption.
var kept = make(chan *core.Session, 4)

func init() {
	core.Register(core.ModuleInfo{Name: "test_keep", New: func() core.Module { return keepModule{} }})
}

type keepModule struct{}

func (keepModule) Load(api *core.API) error {
	api.Hook(core.EventSessionDetached, core.PriorityModule, func(ev *core.Event) bool {
		kept <- ev.Origin
		return true
	})
	return nil
}

// bufLink collects what a session sends it.
type bufLink struct {
	mu  sync.Mutex
	got strings.Builder
}

func (l *bufLink) Queue(p []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got.Write(p)
	return nil
}
func (l *bufLink) Flush()               {}
func (l *bufLink) Close(string, string) {}
func (l *bufLink) Info() core.LinkInfo  { return core.LinkInfo{Transport: "test"} }
func (l *bufLink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.got.String()
}

// TestSessionOutlivesLink: when a module claims a session whose TCP
// connection died, it stays bound, and attached to a new link it gets what
// is routed to it; unclaimed, it is unbound as before.
func TestSessionOutlivesLink(t *testing.T) {
	for _, claim := range []bool{true, false} {
		extra := "\toption c2s_plain_on_loopback '1'\n"
		if claim {
			extra += "\tlist modules_enabled 'test_keep'\n"
		}
		s := xmpptest.Start(t, extra)
		s.AddUser(t, "juliet", "balcony")
		s.AddUser(t, "romeo", "orchard")
		h := s.Host("localhost")
		r := dialRaw(t, s.StartTLS)
		r.login("juliet", "balcony", "phone")

		if claim {
			// A client that closes its stream leaves: its session is not
			// offered for keeping.
			bye := dialRaw(t, s.StartTLS)
			bye.login("juliet", "balcony", "laptop")
			bye.send("</stream:stream>")
			bye.closed()
			deadline := time.Now().Add(10 * time.Second)
			for n, _ := h.Count(); n != 1; n, _ = h.Count() {
				if time.Now().After(deadline) {
					t.Fatal("the session of a stream closed cleanly stayed bound")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		r.c.Close() // the phone loses its network
		if !claim {
			deadline := time.Now().Add(10 * time.Second)
			for n, _ := h.Count(); n != 0; n, _ = h.Count() {
				if time.Now().After(deadline) {
					t.Fatal("an unclaimed session stayed bound after its connection died")
				}
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		var sess *core.Session
		select {
		case sess = <-kept:
		case <-time.After(10 * time.Second):
			t.Fatal("the detached session was never offered")
		}
		if n, _ := h.Count(); n != 1 || !sess.Bound() || sess.Link() != nil {
			t.Fatalf("claimed session: %d bound, Bound %v, link %v", n, sess.Bound(), sess.Link())
		}
		l := &bufLink{}
		sess.Attach(l)
		romeo := dialRaw(t, s.StartTLS)
		romeo.login("romeo", "orchard", "r")
		romeo.send("<message to='juliet@localhost/phone' type='chat'><body>still there?</body></message>")
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(l.String(), "still there?") {
			if time.Now().After(deadline) {
				t.Fatalf("the re-attached session got %q", l.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if st, err := stanza.Reparse([]byte(l.String()), stanza.NSClient); err != nil || string(st.From()) != "romeo@localhost/r" {
			t.Fatalf("delivered %q (%v)", l.String(), err)
		}
	}
}
