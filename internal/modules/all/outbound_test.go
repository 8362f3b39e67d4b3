package all_test

import (
	"strings"
	"sync"
	"testing"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
	"xmppd/internal/xmpptest"
)

// seen is what the test filter module saw, per session JID.
var seen = struct {
	sync.Mutex
	m map[string][]string
}{m: map[string][]string{}}

func init() {
	core.Register(core.ModuleInfo{Name: "test_filter", New: func() core.Module { return filterModule{} }})
}

// filterModule watches every stanza going to a session of its host, as
// blocking, carbons or client state indication will.
type filterModule struct{}

func (filterModule) Load(api *core.API) error {
	api.FilterOutgoing(core.PriorityPolicy, func(s *core.Session, out *core.Outgoing) bool {
		st, err := out.Stanza()
		if err != nil {
			panic(err)
		}
		seen.Lock()
		seen.m[s.JID.String()] = append(seen.m[s.JID.String()], st.Kind.String()+" "+string(st.Type())+" "+string(st.ChildName())+" from "+string(st.From()))
		seen.Unlock()
		return false
	})
	return nil
}

// nullLink takes a session's output and drops it.
type nullLink struct{}

func (nullLink) Queue([]byte) error   { return nil }
func (nullLink) Flush()               {}
func (nullLink) Close(string, string) {}
func (nullLink) Info() core.LinkInfo  { return core.LinkInfo{Transport: "test"} }

// TestOutgoingFilterSeesEverything: one outbound path carries a routed
// message, a presence broadcast and a roster push alike.
func TestOutgoingFilterSeesEverything(t *testing.T) {
	s := xmpptest.Start(t, "\tlist modules_enabled 'test_filter'\n")
	s.AddUser(t, "juliet", "x")
	s.AddUser(t, "romeo", "x")
	h := s.Host("localhost")
	bind := func(full string) *core.Session {
		j := jid.MustParse(full)
		sess := s.NewSession(h, j.Bare(), nullLink{})
		if _, err := h.Bind(sess, j.Resource(), core.ConflictKickOld); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	route := func(from *core.Session, raw string) {
		st, err := stanza.Reparse([]byte(raw), stanza.NSClient)
		if err != nil {
			t.Fatal(err)
		}
		s.Route(from, st)
		from.FlushTouched()
	}
	juliet, balcony := bind("juliet@localhost/chamber"), bind("juliet@localhost/balcony")
	romeo := bind("romeo@localhost/orchard")
	route(juliet, "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>") // wants pushes
	route(juliet, "<presence/>")

	route(romeo, "<message to='juliet@localhost/chamber' type='chat'><body>hi</body></message>")
	route(juliet, "<presence type='subscribe' to='romeo@localhost'/>")
	route(romeo, "<presence type='subscribed' to='juliet@localhost'/>")
	route(romeo, "<presence/>")
	route(balcony, "<iq type='set' id='r2'><query xmlns='jabber:iq:roster'><item jid='nurse@localhost'/></query></iq>")

	seen.Lock()
	got := strings.Join(seen.m["juliet@localhost/chamber"], "\n")
	seen.Unlock()
	for _, want := range []string{"iq result query", "message chat body from romeo@localhost/orchard", "presence   from romeo@localhost/orchard", "iq set query"} {
		if !strings.Contains(got, want) {
			t.Errorf("the filter did not see %q going to juliet/chamber; it saw:\n%s", want, got)
		}
	}
}
