package private_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"xmppd/internal/xmpptest"
)

// rawTokens reads XML without resolving namespaces, so that a stanza
// written as text is sent exactly as written.
type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

// login logs user in with a real client and serves its session.
func login(t *testing.T, s *xmpptest.Server, user string) *xmpp.Session {
	t.Helper()
	sess, _ := s.Dial(t, user, "secret")
	go sess.Serve(nil)
	return sess
}

// iq sends an iq written as text and returns the answer as text.
func iq(t *testing.T, sess *xmpp.Session, text string) string {
	t.Helper()
	ctx := xmpptest.Context(t, 5*time.Second)
	rc, err := sess.SendIQ(ctx, rawTokens{xml.NewDecoder(strings.NewReader(text))})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if _, err := xmlstream.Copy(enc, rc); err != nil {
		t.Fatal(err)
	}
	enc.Flush()
	return buf.String()
}

// condition returns the stanza error condition of an answer, or "".
func condition(answer string) string {
	if !strings.Contains(answer, `type="error"`) {
		return ""
	}
	for _, c := range []string{"forbidden", "not-acceptable", "bad-request", "service-unavailable", "item-not-found", "not-allowed", "resource-constraint"} {
		if strings.Contains(answer, "<"+c) {
			return c
		}
	}
	return "unknown: " + answer
}

const bookmarks = `<storage xmlns='storage:bookmarks'><conference jid='council@conference.example.org' autojoin='true' name='Council'><nick>jul</nick></conference></storage>`

func TestPrivateSetGetDurable(t *testing.T) {
	dir := t.TempDir()
	s := xmpptest.StartIn(t, dir, "")
	s.AddUser(t, "juliet", "secret")
	juliet := login(t, s, "juliet")

	// Nothing stored: the element comes back empty (XEP-0049 §2.3).
	a := iq(t, juliet, `<iq type='get'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>`)
	if condition(a) != "" || !strings.Contains(a, `xmlns="storage:bookmarks"`) || strings.Contains(a, "conference") {
		t.Fatalf("empty get: %s", a)
	}
	if a := iq(t, juliet, `<iq type='set'><query xmlns='jabber:iq:private'>`+bookmarks+`<prefs xmlns='exodus:prefs'><nick>J</nick></prefs></query></iq>`); condition(a) != "" {
		t.Fatalf("set: %s", a)
	}
	a = iq(t, juliet, `<iq type='get' to='juliet@localhost'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>`)
	if !strings.Contains(a, "council@conference.example.org") || !strings.Contains(a, ">jul<") || strings.Contains(a, "exodus") {
		t.Fatalf("get bookmarks: %s", a)
	}
	// Same name, other namespace: another fragment.
	if a := iq(t, juliet, `<iq type='get'><query xmlns='jabber:iq:private'><storage xmlns='storage:rosternotes'/></query></iq>`); strings.Contains(a, "council") {
		t.Fatalf("namespaces mixed up: %s", a)
	}
	s.Stop()
	s = xmpptest.StartIn(t, dir, "")
	juliet = login(t, s, "juliet")
	if a := iq(t, juliet, `<iq type='get'><query xmlns='jabber:iq:private'><prefs xmlns='exodus:prefs'/></query></iq>`); !strings.Contains(a, ">J<") {
		t.Fatalf("after restart: %s", a)
	}
	// Deleting the account deletes its fragments.
	if err := s.Accounts.Delete("localhost", "juliet"); err != nil {
		t.Fatal(err)
	}
	s.AddUser(t, "juliet", "secret")
	juliet = login(t, s, "juliet")
	if a := iq(t, juliet, `<iq type='get'><query xmlns='jabber:iq:private'><prefs xmlns='exodus:prefs'/></query></iq>`); strings.Contains(a, ">J<") {
		t.Fatalf("after deletion: %s", a)
	}
}

func TestPrivateErrors(t *testing.T) {
	s := xmpptest.Start(t, "config module 'private'\n\toption max_items '2'\n\toption max_size '1k'\n")
	s.AddUser(t, "juliet", "secret")
	s.AddUser(t, "romeo", "secret")
	juliet := login(t, s, "juliet")
	romeo := login(t, s, "romeo")
	iq(t, juliet, `<iq type='set'><query xmlns='jabber:iq:private'>`+bookmarks+`</query></iq>`)

	for _, tc := range []struct{ name, in, want string }{
		{"another's get", `<iq type='get' to='juliet@localhost'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>`, "forbidden"},
		{"another's set", `<iq type='set' to='juliet@localhost'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>`, "forbidden"},
		{"no child", `<iq type='get'><query xmlns='jabber:iq:private'/></iq>`, "not-acceptable"},
		{"jabber: namespace", `<iq type='set'><query xmlns='jabber:iq:private'><query xmlns='jabber:iq:roster'/></query></iq>`, "not-acceptable"},
		{"inherited namespace", `<iq type='set'><query xmlns='jabber:iq:private'><foo/></query></iq>`, "not-acceptable"},
		{"vcard-temp", `<iq type='get'><query xmlns='jabber:iq:private'><vCard xmlns='vcard-temp'/></query></iq>`, "not-acceptable"},
		{"two in a get", `<iq type='get'><query xmlns='jabber:iq:private'><a xmlns='x:a'/><b xmlns='x:b'/></query></iq>`, "bad-request"},
		{"too large", `<iq type='set'><query xmlns='jabber:iq:private'><a xmlns='x:a'>` + strings.Repeat("x", 1100) + `</a></query></iq>`, "not-acceptable"},
		{"first", `<iq type='set'><query xmlns='jabber:iq:private'><a xmlns='x:a'/></query></iq>`, ""},
		{"second", `<iq type='set'><query xmlns='jabber:iq:private'><b xmlns='x:b'/></query></iq>`, ""},
		{"replace", `<iq type='set'><query xmlns='jabber:iq:private'><b xmlns='x:b'>2</b></query></iq>`, ""},
		{"third", `<iq type='set'><query xmlns='jabber:iq:private'><c xmlns='x:c'/></query></iq>`, "resource-constraint"},
	} {
		if got := condition(iq(t, romeo, tc.in)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	// Romeo's attempts left Juliet's bookmarks alone.
	if a := iq(t, juliet, `<iq type='get'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>`); !strings.Contains(a, "council@") {
		t.Fatalf("juliet's bookmarks: %s", a)
	}
}
