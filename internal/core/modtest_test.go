package core_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// Modules the tests of the module manager enable; none is Auto, so the
// other tests of the package never load them.
func init() {
	reg := func(m core.ModuleInfo) { core.Register(m) }
	reg(core.ModuleInfo{Name: "test_z_base", New: func() core.Module { return loader(func(a *core.API) error { return a.Provide("zbase", a) }) }})
	// Sorted by name it would load before test_z_base, whose service its
	// Load needs.
	reg(core.ModuleInfo{Name: "test_a_user", Requires: []string{"test_z_base"}, New: func() core.Module {
		return loader(func(a *core.API) error {
			if a.Service("zbase") == nil {
				return errors.New("test_z_base is not loaded yet")
			}
			return nil
		})
	}})
	reg(core.ModuleInfo{Name: "test_b_optional", Optional: []string{"test_z_base"}, New: func() core.Module {
		return loader(func(a *core.API) error { record("b_optional sees zbase:", a.Service("zbase") != nil); return nil })
	}})
	reg(core.ModuleInfo{Name: "test_cycle_a", Requires: []string{"test_cycle_b"}, New: func() core.Module { return loader(nil) }})
	reg(core.ModuleInfo{Name: "test_cycle_b", Requires: []string{"test_cycle_a"}, New: func() core.Module { return loader(nil) }})
	reg(core.ModuleInfo{Name: "test_missing", Requires: []string{"test_not_compiled_in"}, New: func() core.Module { return loader(nil) }})
	reg(core.ModuleInfo{Name: "test_dup", New: func() core.Module { return loader(func(a *core.API) error { return a.Provide("zbase", a) }) }})

	// test_echo answers <query xmlns='urn:xmppd:test:echo'/> to the host
	// with a result naming its option tag; test_fail fails to load when
	// told to.
	reg(core.ModuleInfo{Name: "test_echo",
		Options: func(r *config.Reader) { r.String("tag", ""); r.Unknown() },
		New: func() core.Module {
			return loader(func(a *core.API) error {
				tag := a.Options().String("tag", "")
				a.Options().Unknown()
				a.AddFeature("urn:xmppd:test:echo")
				a.Hook(core.IQEvent(core.TargetHost, "urn:xmppd:test:echo", "query"), core.PriorityModule, func(ev *core.Event) bool {
					a.Result(ev, []byte("<query xmlns='urn:xmppd:test:echo'>"+tag+"</query>"))
					return true
				})
				return nil
			})
		}})
	reg(core.ModuleInfo{Name: "test_fail",
		Options: func(r *config.Reader) { r.Bool("fail", false); r.Unknown() },
		New: func() core.Module {
			return loader(func(a *core.API) error {
				if a.Options().Bool("fail", false) {
					return errors.New("told to fail")
				}
				a.Options().Unknown()
				return nil
			})
		}})
	// test_unbind writes down, in its store, each session that ends.
	reg(core.ModuleInfo{Name: "test_unbind", New: func() core.Module {
		return loader(func(a *core.API) error {
			kv := a.KeyVal("test_unbind", true)
			a.Hook(core.EventResourceUnbind, core.PriorityModule, func(ev *core.Event) bool {
				err := kv.Set(ev.Origin.JID.Local(), &core.AccountRecord{Created: 1})
				record("unbind stored:", err == nil)
				return false
			})
			a.OnUnload(func() { record("test_unbind unloaded") })
			return nil
		})
	}})
	// test_ghttp and test_hhttp serve HTTP, for the whole server and for
	// their host: the body names whom.
	serve := func(a *core.API) error {
		who := "global"
		if a.Host() != nil {
			who = a.Host().Name
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, who) })
		a.HandleHTTP("", h)
		if a.Host() != nil {
			a.HandleHTTPAt("/.well-known/test/", h)
			a.AdvertiseHTTP("urn:xmppd:test", "/.well-known/test")
		}
		return nil
	}
	reg(core.ModuleInfo{Name: "test_ghttp", Global: true, New: func() core.Module { return loader(serve) }})
	reg(core.ModuleInfo{Name: "test_hhttp", New: func() core.Module { return loader(serve) }})
	// test_comp serves comp.<host>, answering the echo query there with its
	// option tag.
	reg(core.ModuleInfo{Name: "test_comp",
		Options: func(r *config.Reader) { r.String("tag", ""); r.Unknown() },
		New: func() core.Module {
			return loader(func(a *core.API) error {
				tag := a.Options().String("tag", "")
				a.Options().Unknown()
				comp, err := a.AddComponent("comp")
				if err != nil {
					return err
				}
				a.HookOn(comp, core.IQEvent(core.TargetHost, "urn:xmppd:test:echo", "query"), core.PriorityModule, func(ev *core.Event) bool {
					a.Result(ev, []byte("<query xmlns='urn:xmppd:test:echo'>"+tag+"</query>"))
					return true
				})
				return nil
			})
		}})
	// test_api hands its API to the tests.
	reg(core.ModuleInfo{Name: "test_api", New: func() core.Module {
		return loader(func(a *core.API) error { apis <- a; return nil })
	}})
}

// apis passes the API of each test_api instance to the test that loaded it.
var apis = make(chan *core.API, 8)

// loader is a module whose Load is a function.
type loader func(*core.API) error

func (l loader) Load(a *core.API) error {
	if l == nil {
		return nil
	}
	return l(a)
}

// records is what test modules noted, in order.
var records = struct {
	sync.Mutex
	list []string
}{}

func record(args ...any) {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch v := a.(type) {
		case string:
			b.WriteString(v)
		case bool:
			if v {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
		}
	}
	records.Lock()
	records.list = append(records.list, b.String())
	records.Unlock()
}

func recorded() []string {
	records.Lock()
	defer records.Unlock()
	out := records.list
	records.list = nil
	return out
}

// testUCI is a configuration for localhost with global lines extra and
// host lines hostExtra, data in dir.
func testUCI(dir, extra, hostExtra string) string {
	return "config xmppd 'main'\n\toption data_dir '" + dir + "'\n" + extra +
		"config host 'h'\n\toption domain 'localhost'\n" + hostExtra
}

func parseUCI(tb testing.TB, uci string) *config.Config {
	tb.Helper()
	f, err := config.Parse("test.uci", []byte(uci))
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.FromFile(f)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Listeners = nil
	return cfg
}

// startUCI starts a server on uci, or returns Start's error.
func startUCI(tb testing.TB, uci string) (*core.Server, error) {
	tb.Helper()
	srv, err := core.New(parseUCI(tb, uci), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	tb.Cleanup(srv.Stop)
	return srv, nil
}

// recorder is a link that keeps what the session is sent, safe for
// concurrent use.
type recorder struct {
	mu  sync.Mutex
	out []string
}

func (r *recorder) Queue(p []byte) error {
	r.mu.Lock()
	r.out = append(r.out, string(p))
	r.mu.Unlock()
	return nil
}
func (r *recorder) Flush()               {}
func (r *recorder) Close(string, string) {}
func (r *recorder) Info() core.LinkInfo  { return core.LinkInfo{Transport: "test"} }

// take returns what was sent since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.out
	r.out = nil
	return out
}

// last returns the last stanza sent, parsed.
func (r *recorder) last(tb testing.TB) *stanza.Stanza {
	tb.Helper()
	out := r.take()
	if len(out) == 0 {
		tb.Fatal("nothing was sent")
	}
	return readStanza(tb, out[len(out)-1])
}
