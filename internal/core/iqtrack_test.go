package core_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// answers collects what SendIQ's callbacks got, by iq.
type answers struct {
	mu  sync.Mutex
	got map[string][]string
}

func (a *answers) cb(name string) core.IQCallback {
	return func(st *stanza.Stanza, err error) {
		var s string
		var se *core.StanzaError
		switch {
		case errors.As(err, &se):
			s = "error " + se.Condition + " " + string(st.ID())
		case err != nil:
			s = err.Error()
		default:
			s = "result " + string(st.ChildName())
		}
		a.mu.Lock()
		a.got[name] = append(a.got[name], s)
		a.mu.Unlock()
	}
}

func (a *answers) of(name string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.got[name]
}

// wait waits until name has had an answer.
func (a *answers) wait(t *testing.T, name string) []string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got := a.of(name); len(got) > 0 {
			return got
		}
	}
	t.Fatalf("%s: no answer", name)
	return nil
}

// TestSendIQ: an iq the server sends gets its answer, matched by id and
// sender, handed to the callback exactly once: a result, an error, a
// timeout, or the end of the session; another session cannot answer for
// it; waiting iqs are bounded; and the tracker's hooks go when the module
// that used it unloads, without calling back.
func TestSendIQ(t *testing.T) {
	dir := t.TempDir()
	srv, err := startUCI(t, testUCI(dir, "\tlist modules_enabled 'test_api'\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	api := <-apis
	h := srv.Host("localhost")
	var jl, rl recorder
	juliet := bind(t, srv, "juliet@localhost", "balcony", &jl)
	romeo := bind(t, srv, "romeo@localhost", "orchard", &rl)
	a := &answers{got: map[string][]string{}}
	if h.Events.Has("iq/host") {
		t.Fatal("the tracker is hooked before anyone sent an iq")
	}

	send := func(name string, to *core.Session, l *recorder, timeout time.Duration) string {
		t.Helper()
		if err := api.SendIQ(to, "get", []byte("<query xmlns='urn:xmppd:test'/>"), timeout, a.cb(name)); err != nil {
			t.Fatal(err)
		}
		st := l.last(t)
		if string(st.Type()) != "get" || string(st.From()) != "localhost" || string(st.To()) != to.JID.String() || string(st.ChildName()) != "query" {
			t.Fatalf("%s: sent %s", name, st.Raw)
		}
		return string(st.ID())
	}

	// A result, to the domain; the same answer again is a stray result.
	id := send("result", juliet, &jl, time.Minute)
	srv.Route(romeo, readStanza(t, "<iq type='result' id='"+id+"' to='localhost'/>"))
	if got := a.of("result"); len(got) != 0 {
		t.Fatalf("romeo answered for juliet: %q", got)
	}
	answer := readStanza(t, "<iq type='result' id='"+id+"' to='localhost'><query xmlns='urn:xmppd:test'/></iq>")
	srv.Route(juliet, answer)
	srv.Route(juliet, answer)
	if got := a.of("result"); strings.Join(got, ",") != "result query" {
		t.Errorf("result: %q", got)
	}

	// An error, with no 'to'.
	id = send("error", juliet, &jl, time.Minute)
	srv.Route(juliet, readStanza(t, "<iq type='error' id='"+id+"'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"))
	if got := a.of("error"); strings.Join(got, ",") != "error service-unavailable "+id {
		t.Errorf("error: %q", got)
	}

	// No answer in time.
	send("timeout", juliet, &jl, 20*time.Millisecond)
	if got := a.wait(t, "timeout"); strings.Join(got, ",") != core.ErrIQTimeout.Error() {
		t.Errorf("timeout: %q", got)
	}

	// The session ends first.
	send("gone", romeo, &rl, time.Minute)
	h.Unbind(romeo)
	if got := a.of("gone"); strings.Join(got, ",") != core.ErrIQGone.Error() {
		t.Errorf("gone: %q", got)
	}
	if err := api.SendIQ(romeo, "get", nil, time.Minute, a.cb("late")); !errors.Is(err, core.ErrIQGone) {
		t.Errorf("SendIQ to an ended session: %v", err)
	}

	// Bounded per session.
	for range core.MaxPendingIQsPerPeer {
		send("bounded", juliet, &jl, time.Minute)
	}
	if err := api.SendIQ(juliet, "get", nil, time.Minute, a.cb("over")); !errors.Is(err, core.ErrIQLimit) {
		t.Errorf("SendIQ past the bound: %v", err)
	}

	// Unloading forgets what waits, without calling back, and unhooks.
	if _, err := srv.Reload(parseUCI(t, testUCI(dir, "", ""))); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"iq/host", "iq/self"} {
		if h.Events.Has(ev) {
			t.Errorf("%s still hooked after the module unloaded", ev)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if got := a.of("bounded"); len(got) != 0 {
		t.Errorf("called back after unload: %q", got)
	}
	for _, name := range []string{"late", "over"} {
		if got := a.of(name); len(got) != 0 {
			t.Errorf("%s: called back though SendIQ failed: %q", name, got)
		}
	}
}

// TestSendIQRace: answers, timeouts and the session's end racing each
// other still call back exactly once per iq.
func TestSendIQRace(t *testing.T) {
	srv, err := startUCI(t, testUCI(t.TempDir(), "\tlist modules_enabled 'test_api'\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	api := <-apis
	var l recorder
	s := bind(t, srv, "juliet@localhost", "balcony", &l)
	var mu sync.Mutex
	calls := map[int]int{}
	const n = 200
	var sent []int
	for i := range n {
		timeout := time.Duration(i%5) * time.Millisecond
		if timeout == 0 {
			timeout = time.Nanosecond
		}
		err := api.SendIQ(s, "get", nil, timeout, func(*stanza.Stanza, error) {
			mu.Lock()
			calls[i]++
			mu.Unlock()
		})
		if errors.Is(err, core.ErrIQLimit) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, i)
		id := string(l.last(t).ID())
		srv.Route(s, readStanza(t, "<iq type='result' id='"+id+"' to='localhost'/>"))
	}
	srv.Host("localhost").Unbind(s)
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, i := range sent {
		if calls[i] != 1 {
			t.Errorf("iq %d: %d calls", i, calls[i])
		}
	}
}
