package core_test

import (
	"testing"
	"time"

	"xmppd/internal/core"
)

// dying is a Sender whose connection turns out to be dead when written to:
// like netio after a reset, it runs the close path at once, which unbinds.
type dying struct {
	h *core.Host
	s *core.Session
}

func (d *dying) Queue([]byte) error   { return nil }
func (d *dying) Flush()               { d.h.Unbind(d.s) }
func (d *dying) Close(string, string) { d.h.Unbind(d.s) }
func (d *dying) Info() core.LinkInfo  { return core.LinkInfo{} }

// TestSendToDeadSessionUnbinds: delivering to each of a user's sessions
// while one of them dies must not deadlock on the host's lock.
func TestSendToDeadSessionUnbinds(t *testing.T) {
	srv := newServer(t)
	h := srv.Host("localhost")
	var ok sink
	bind(t, srv, "juliet@localhost", "balcony", &ok)
	d := &dying{h: h}
	d.s = bind(t, srv, "juliet@localhost", "tomb", d)

	done := make(chan int)
	go func() {
		n := 0
		h.Sessions("juliet", func(s *core.Session) { s.Send([]byte("<message/>")); n++ })
		done <- n
	}()
	select {
	case n := <-done:
		if n != 2 {
			t.Fatalf("fn ran for %d sessions, want the 2 bound at the call", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: Sessions holds the host's lock while a send unbinds")
	}
	if sessions, _ := h.Count(); sessions != 1 {
		t.Fatalf("%d sessions bound after one died, want 1", sessions)
	}
}
