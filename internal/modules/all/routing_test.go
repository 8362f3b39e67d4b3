package all_test

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
	"xmppd/internal/xmpptest"
)

// routed records what the test_component module saw.
var routed = struct {
	sync.Mutex
	out, remote []string
	comp        *core.Host
}{}

func init() {
	core.Register(core.ModuleInfo{Name: "test_component", New: func() core.Module { return componentModule{} }})
}

// componentModule serves svc.<host> as a component, watches messages
// leaving its host's sessions, and takes stanzas for remote domains, as
// pubsub, carbons and federation will.
type componentModule struct{}

func (componentModule) Load(api *core.API) error {
	comp, err := api.AddComponent("svc")
	if err != nil {
		return err
	}
	routed.Lock()
	routed.comp = comp
	routed.Unlock()
	api.HookOn(comp, core.IQEvent(core.TargetHost, "urn:example", "q"), core.PriorityModule, func(ev *core.Event) bool {
		core.Result(ev, []byte("<q xmlns='urn:example'>served</q>"))
		return true
	})
	api.Hook(core.OutEvent(stanza.Message), core.PriorityModule, func(ev *core.Event) bool {
		routed.Lock()
		routed.out = append(routed.out, string(ev.Stanza.To()))
		routed.Unlock()
		return false
	})
	api.HookServer(core.EventRouteRemote, core.PriorityModule, func(ev *core.Event) bool {
		routed.Lock()
		routed.remote = append(routed.remote, ev.To.String())
		routed.Unlock()
		return true
	})
	return nil
}

// TestComponentsAndRouting: a component's domain answers stanzas, cannot
// be logged in to, and originates stanzas without a session; messages to
// any destination pass the sender's message/out; stanzas to other domains
// go to route/remote.
func TestComponentsAndRouting(t *testing.T) {
	s := xmpptest.Start(t, "\tlist modules_enabled 'test_component'\n")
	s.AddUser(t, "juliet", "x")
	h := s.Host("localhost")
	link := &collect{}
	juliet := s.NewSession(h, jid.MustParse("juliet@localhost"), link)
	if _, err := h.Bind(juliet, "chamber", core.ConflictKickOld); err != nil {
		t.Fatal(err)
	}
	route := func(raw string) {
		st, err := stanza.Reparse([]byte(raw), stanza.NSClient)
		if err != nil {
			t.Fatal(err)
		}
		s.Route(juliet, st)
		juliet.FlushTouched()
	}
	route("<iq type='get' id='c1' to='svc.localhost'><q xmlns='urn:example'/></iq>")
	if got := link.take(); !strings.Contains(got, "served") || !strings.Contains(got, "from='svc.localhost'") {
		t.Fatalf("component answered %q", got)
	}
	route("<message to='romeo@remote.example' type='chat'><body>far</body></message>")
	route("<message to='nobody@svc.localhost' type='chat'><body>x</body></message>")
	if got := link.take(); !strings.Contains(got, "service-unavailable") {
		t.Fatalf("a message to an unknown JID of the component got %q", got)
	}
	routed.Lock()
	out, remote, comp := strings.Join(routed.out, " "), strings.Join(routed.remote, " "), routed.comp
	routed.Unlock()
	if out != "romeo@remote.example nobody@svc.localhost" || remote != "romeo@remote.example" {
		t.Fatalf("message/out saw %q, route/remote %q", out, remote)
	}

	// The component speaks first.
	st, _ := stanza.Reparse([]byte("<message to='juliet@localhost/chamber' type='headline'><body>news</body></message>"), stanza.NSClient)
	s.RouteFrom(jid.MustParse("svc.localhost"), st)
	if got := link.take(); !strings.Contains(got, "from='svc.localhost'") || !strings.Contains(got, "news") {
		t.Fatalf("from the component: %q", got)
	}
	if comp.Kind != core.HostComponent || comp.Parent != h || s.Host("svc.localhost") != comp {
		t.Fatalf("component host %+v", comp)
	}
	if err := s.Accounts.Create("svc.localhost", "x", "pw"); err == nil {
		t.Fatal("an account was created on a component's domain")
	}
	// Nobody logs in to it.
	c, err := net.Dial("tcp", s.StartTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='svc.localhost' version='1.0'>"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	if !strings.Contains(string(got), "<host-unknown ") {
		t.Fatalf("a stream to the component's domain got %q", got)
	}
}

// collect keeps what a session is sent.
type collect struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (c *collect) Queue(p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	return nil
}
func (c *collect) Flush()               {}
func (c *collect) Close(string, string) {}
func (c *collect) Info() core.LinkInfo  { return core.LinkInfo{Transport: "test"} }
func (c *collect) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.buf.String()
	c.buf.Reset()
	return s
}
