package monitor_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"xmppd/internal/xmpptest"
)

const (
	nsPubsub = "http://jabber.org/protocol/pubsub"
	monNS    = "urn:xmppd:monitor:0"
)

// xmlnsAttr matches the declarations encoding/xml repeats on every
// element, which the tests' matching ignores.
var xmlnsAttr = regexp.MustCompile(` xmlns="[^"]*"`)

// viewer is a logged-in client that collects what it gets as text.
type viewer struct {
	jid  string
	sess *xmpp.Session
	in   chan string
}

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

func login(t *testing.T, s *xmpptest.Server, user string) *viewer {
	t.Helper()
	sess, _ := s.Dial(t, user, "pw")
	v := &viewer{jid: sess.LocalAddr().String(), sess: sess, in: make(chan string, 256)}
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var buf bytes.Buffer
		e := xml.NewEncoder(&buf)
		if _, err := xmlstream.Copy(e, xmlstream.MultiReader(xmlstream.Token(*start), r)); err != nil {
			return err
		}
		e.Flush()
		v.in <- xmlnsAttr.ReplaceAllString(buf.String(), "")
		return nil
	}))
	return v
}

func (v *viewer) send(t *testing.T, s string) {
	t.Helper()
	ctx := xmpptest.Context(t, 5*time.Second)
	if err := v.sess.Send(ctx, rawTokens{xml.NewDecoder(strings.NewReader(s))}); err != nil {
		t.Fatal(err)
	}
}

// expect waits for a stanza containing every part, skipping others.
func (v *viewer) expect(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case raw := <-v.in:
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(raw, p)
			}
			if ok {
				return raw
			}
		case <-deadline:
			t.Fatalf("%s: nothing with %q", v.jid, parts)
		}
	}
}

func subscribeIQ(v *viewer, node string) string {
	return "<iq type='set' id='s-" + node + "' to='monitor@localhost'><pubsub xmlns='" + nsPubsub + "'><subscribe node='" +
		node + "' jid='" + v.jid + "'/></pubsub></iq>"
}

// memTotal is MemTotal of this machine's /proc/meminfo, in bytes.
func memTotal(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skip("no /proc/meminfo:", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no MemTotal")
	return 0
}

// TestPublishesRealValues: with the module enabled, the monitor account is
// created, publishes this machine's load and memory, and a viewer that
// subscribes gets them pushed; a stranger may not subscribe (presence
// access model).
func TestPublishesRealValues(t *testing.T) {
	total := memTotal(t)
	s := xmpptest.Start(t, `	list modules_enabled 'monitor'
config module 'monitor'
	list viewers 'viewer@localhost'
	option min_interval '50ms'
	option interval '200ms'
`)
	if !s.Accounts.Exists("localhost", "monitor") {
		t.Fatal("the monitor account was not created")
	}
	s.AddUser(t, "viewer", "pw")
	s.AddUser(t, "stranger", "pw")
	v := login(t, s, "viewer")
	v.send(t, "<presence/>")
	v.send(t, subscribeIQ(v, monNS+"#memory"))
	v.expect(t, "<iq", `id="s-`+monNS+`#memory"`, `type="result"`)
	mem := v.expect(t, "<message", `from="monitor@localhost"`, `node="`+monNS+`#memory"`)
	if !strings.Contains(mem, "<total>"+strconv.FormatInt(total, 10)+"</total>") {
		t.Fatalf("memory payload without this machine's MemTotal %d: %s", total, mem)
	}
	v.send(t, subscribeIQ(v, monNS+"#load"))
	load := v.expect(t, "<message", `node="`+monNS+`#load"`, "<avg1>", "<uptime>")
	// Pushed again as it changes or the interval passes: a second one.
	v.expect(t, "<message", `node="`+monNS+`#load"`, "<avg1>")
	if !strings.Contains(load, "<cpu>") {
		// CPU use needs two samples; the last item may predate the second.
		v.expect(t, "<message", `node="`+monNS+`#load"`, "<cpu>")
	}

	st := login(t, s, "stranger")
	st.send(t, "<presence/>")
	st.send(t, subscribeIQ(st, monNS+"#load"))
	if e := st.expect(t, "<iq", `type="error"`); !strings.Contains(e, "presence-subscription-required") {
		t.Fatalf("stranger subscribes: %s", e)
	}
}
