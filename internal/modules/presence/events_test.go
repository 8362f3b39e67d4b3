package presence_test

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/modules/presence"
	"xmppd/internal/xmpptest"
)

// seen is what test_presence_events noted.
var seen struct {
	sync.Mutex
	list []string
}

// test_presence_events notes the presence events, as PEP will use them.
func init() {
	core.Register(core.ModuleInfo{Name: "test_presence_events", Requires: []string{"presence"},
		New: func() core.Module { return eventsModule{} }})
}

type eventsModule struct{}

func (eventsModule) Load(api *core.API) error {
	note := func(s string) {
		seen.Lock()
		seen.list = append(seen.list, s)
		seen.Unlock()
	}
	api.Hook(presence.EventAvailable, core.PriorityModule, func(ev *core.Event) bool {
		c := presence.ChangeOf(ev)
		note("available " + ev.Origin.JID.Local() + " initial=" + strconv.FormatBool(c.Initial) +
			" prio=" + strconv.Itoa(c.Priority) + " caps=" + c.Caps.Hash + "," + c.Caps.Node + "," + c.Caps.Ver +
			" from=" + ev.From.String() + " stanza=" + strconv.FormatBool(ev.Stanza != nil))
		return false
	})
	api.Hook(presence.EventUnavailable, core.PriorityModule, func(ev *core.Event) bool {
		note("unavailable " + ev.Origin.JID.Local() + " stanza=" + strconv.FormatBool(ev.Stanza != nil))
		return false
	})
	return nil
}

func waitSeen(t *testing.T, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		seen.Lock()
		got := slices.Clone(seen.list)
		seen.Unlock()
		if len(got) >= n {
			return got
		}
	}
	seen.Lock()
	defer seen.Unlock()
	t.Fatalf("%d presence events, want %d: %q", len(seen.list), n, seen.list)
	return nil
}

// TestPresenceEvents: initial presence, a change and unavailable presence
// fire the module's events with the session, its caps and the stanza; a
// session that ends while available fires "unavailable" without one, and
// one that was never available fires nothing.
func TestPresenceEvents(t *testing.T) {
	s := xmpptest.Start(t, "\tlist modules_enabled 'test_presence_events'\n")
	users(t, s, "juliet", "romeo", "nurse")
	juliet := login(t, s, "juliet")
	const caps = "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org/client' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>"
	juliet.send(t, "<presence><priority>5</priority>"+caps+"</presence>")
	juliet.expect(t, juliet.jid, "")
	juliet.send(t, "<presence><show>away</show></presence>")
	juliet.expect(t, juliet.jid, "")
	juliet.send(t, "<presence type='unavailable'/>")
	juliet.expect(t, juliet.jid, "unavailable")

	romeo := online(t, s, "romeo")
	romeo.conn.Close()
	nurse := login(t, s, "nurse")
	nurse.conn.Close()

	got := waitSeen(t, 5)
	jfull := juliet.jid
	rfull := romeo.jid
	want := []string{
		"available juliet initial=true prio=5 caps=sha-1,https://example.org/client,QgayPKawpkPSDYmwT/WM94uAlu0= from=" + jfull + " stanza=true",
		"available juliet initial=false prio=0 caps=,, from=" + jfull + " stanza=true",
		"unavailable juliet stanza=true",
		"available romeo initial=true prio=0 caps=,, from=" + rfull + " stanza=true",
		"unavailable romeo stanza=false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n%q\nwant\n%q", got, want)
	}
	// The nurse, never available, ends without an event.
	time.Sleep(200 * time.Millisecond)
	if got := waitSeen(t, 5); len(got) != 5 {
		t.Errorf("extra events: %q", got[5:])
	}
}
