package core_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"xmppd/internal/core"
)

// echo routes a test_echo query from s and returns the answer's payload
// text, or the error condition.
func echo(t *testing.T, srv *core.Server, s *core.Session, l *recorder) string {
	srv.Route(s, readStanza(t, "<iq type='get' id='e' to='localhost'><query xmlns='urn:xmppd:test:echo'/></iq>"))
	out := strings.Join(l.take(), "")
	switch {
	case strings.Contains(out, "type='error'"):
		return "error " + out
	case strings.Contains(out, "type='result'"):
		i := strings.Index(out, "'urn:xmppd:test:echo'>")
		j := strings.Index(out, "</query>")
		if i < 0 || j < i {
			return "result " + out
		}
		return out[i+len("'urn:xmppd:test:echo'>") : j]
	}
	return "nothing: " + out
}

func echoUCI(dir, tag, fail string, more ...string) string {
	return testUCI(dir, "\tlist modules_enabled 'test_echo'\n\tlist modules_enabled 'test_fail'\n"+strings.Join(more, ""), "") +
		"config module 'test_echo'\n\toption tag '" + tag + "'\nconfig module 'test_fail'\n\toption fail '" + fail + "'\n"
}

// TestReloadAllOrNothing: when one module fails to load with the new
// configuration, nothing of it applies: modules whose options changed run
// on with the old ones, modules newly enabled are not loaded, and the
// error says so; the next reload of a good file applies all of it and
// leaves no trace of the instances it replaced.
func TestReloadAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	srv, err := startUCI(t, echoUCI(dir, "a", "0"))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Host("localhost")
	var l recorder
	s := bind(t, srv, "juliet@localhost", "balcony", &l)
	running := srv.Config

	_, err = srv.Reload(parseUCI(t, echoUCI(dir, "b", "1", "\tlist modules_enabled 'test_z_base'\n")))
	if !errors.Is(err, core.ErrNotApplied) || !strings.Contains(err.Error(), "told to fail") {
		t.Fatalf("reload error %v", err)
	}
	if got := echo(t, srv, s, &l); got != "a" {
		t.Errorf("after a failed reload test_echo answers %q, want its old option a", got)
	}
	if h.Service("zbase") != nil {
		t.Error("a module the failed reload enabled is loaded")
	}
	if srv.Config != running {
		t.Error("a failed reload changed srv.Config")
	}

	if _, err := srv.Reload(parseUCI(t, echoUCI(dir, "b", "0", "\tlist modules_enabled 'test_z_base'\n"))); err != nil {
		t.Fatal(err)
	}
	if got := echo(t, srv, s, &l); got != "b" {
		t.Errorf("after the reload test_echo answers %q, want b", got)
	}
	if h.Service("zbase") == nil {
		t.Error("test_z_base, enabled by the reload, is not loaded")
	}
	if n := strings.Count(strings.Join(h.Features(), " "), "urn:xmppd:test:echo"); n != 1 {
		t.Errorf("the echo feature is listed %d times: the old instance left it", n)
	}
}

// TestReloadNoFallbackWindow: while a module is loaded again with new
// options, stanzas for it keep being answered, never by the fallback.
func TestReloadNoFallbackWindow(t *testing.T) {
	dir := t.TempDir()
	srv, err := startUCI(t, echoUCI(dir, "t0", "0"))
	if err != nil {
		t.Fatal(err)
	}
	var l recorder
	s := bind(t, srv, "juliet@localhost", "balcony", &l)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad []string
	seen := map[string]bool{}
	wg.Go(func() {
		for !stop.Load() {
			got := echo(t, srv, s, &l)
			if !strings.HasPrefix(got, "t") {
				bad = append(bad, got)
			}
			seen[got] = true
		}
	})
	const reloads = 30
	for i := 1; i <= reloads; i++ {
		if _, err := srv.Reload(parseUCI(t, echoUCI(dir, "t"+string(rune('0'+i%10)), "0"))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d of the answers during reloads were not the module's, such as %q", len(bad), bad[0])
	}
	if len(seen) < 2 {
		t.Errorf("answers %v: the reloads did not show", slices.Collect(func(yield func(string) bool) {
			for k := range seen {
				if !yield(k) {
					return
				}
			}
		}))
	}
}

// TestReloadComponent: a module serving a component domain, which only one
// instance can hold, is replaced in place by a reload, and loaded again
// with its old options when the reload fails.
func TestReloadComponent(t *testing.T) {
	dir := t.TempDir()
	uci := func(tag, fail string) string {
		return testUCI(dir, "\tlist modules_enabled 'test_comp'\n\tlist modules_enabled 'test_fail'\n", "") +
			"config module 'test_comp'\n\toption tag '" + tag + "'\nconfig module 'test_fail'\n\toption fail '" + fail + "'\n"
	}
	srv, err := startUCI(t, uci("a", "0"))
	if err != nil {
		t.Fatal(err)
	}
	var l recorder
	s := bind(t, srv, "juliet@localhost", "balcony", &l)
	ask := func() string {
		srv.Route(s, readStanza(t, "<iq type='get' id='c' to='comp.localhost'><query xmlns='urn:xmppd:test:echo'/></iq>"))
		out := strings.Join(l.take(), "")
		if i, j := strings.Index(out, "echo'>"), strings.Index(out, "</query>"); i >= 0 && j > i {
			return out[i+len("echo'>") : j]
		}
		return out
	}
	if got := ask(); got != "a" {
		t.Fatalf("comp.localhost answers %q", got)
	}
	if _, err := srv.Reload(parseUCI(t, uci("b", "1"))); !errors.Is(err, core.ErrNotApplied) {
		t.Fatalf("reload error %v", err)
	}
	if got := ask(); got != "a" {
		t.Errorf("after a failed reload comp.localhost answers %q, want a", got)
	}
	if _, err := srv.Reload(parseUCI(t, uci("b", "0"))); err != nil {
		t.Fatal(err)
	}
	if got := ask(); got != "b" {
		t.Errorf("after the reload comp.localhost answers %q, want b", got)
	}
	srv.Stop()
	if srv.Host("comp.localhost") != nil {
		t.Error("the component outlived its module")
	}
}
