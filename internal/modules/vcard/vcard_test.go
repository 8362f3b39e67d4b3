package vcard_test

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
	for _, c := range []string{"forbidden", "not-acceptable", "bad-request", "service-unavailable", "item-not-found", "not-allowed"} {
		if strings.Contains(answer, "<"+c) {
			return c
		}
	}
	return "unknown: " + answer
}

const card = `<vCard xmlns='vcard-temp'><FN>Juliet Capulet</FN><NICKNAME>jul &amp; co</NICKNAME></vCard>`

func TestVCardSetGetDurable(t *testing.T) {
	dir := t.TempDir()
	s := xmpptest.StartIn(t, dir, "")
	s.AddUser(t, "juliet", "secret")
	s.AddUser(t, "romeo", "secret")
	juliet := login(t, s, "juliet")
	romeo := login(t, s, "romeo")

	// Nothing set yet: an empty vCard, own and other's (XEP-0054 §3.1).
	for _, a := range []string{
		iq(t, juliet, `<iq type='get'><vCard xmlns='vcard-temp'/></iq>`),
		iq(t, romeo, `<iq type='get' to='juliet@localhost'><vCard xmlns='vcard-temp'/></iq>`),
	} {
		if condition(a) != "" || !strings.Contains(a, "vCard") || strings.Contains(a, "FN") {
			t.Fatalf("empty vCard: %s", a)
		}
	}
	if a := iq(t, juliet, `<iq type='set'>`+card+`</iq>`); condition(a) != "" || !strings.Contains(a, `type="result"`) {
		t.Fatalf("set: %s", a)
	}
	for _, a := range []string{
		iq(t, juliet, `<iq type='get'><vCard xmlns='vcard-temp'/></iq>`),
		iq(t, juliet, `<iq type='get' to='juliet@localhost'><vCard xmlns='vcard-temp'/></iq>`),
		iq(t, romeo, `<iq type='get' to='juliet@localhost'><vCard xmlns='vcard-temp'/></iq>`),
	} {
		if !strings.Contains(a, "Juliet Capulet") || !strings.Contains(a, "jul &amp; co") || !strings.Contains(a, `xmlns="vcard-temp"`) {
			t.Fatalf("get: %s", a)
		}
	}
	// A second set replaces the first.
	iq(t, juliet, `<iq type='set'><vCard xmlns='vcard-temp'><FN>J.</FN></vCard></iq>`)
	if a := iq(t, romeo, `<iq type='get' to='juliet@localhost'><vCard xmlns='vcard-temp'/></iq>`); !strings.Contains(a, ">J.<") || strings.Contains(a, "Capulet") {
		t.Fatalf("after replace: %s", a)
	}

	// The store survives a restart.
	s.Stop()
	s = xmpptest.StartIn(t, dir, "")
	romeo = login(t, s, "romeo")
	if a := iq(t, romeo, `<iq type='get' to='juliet@localhost'><vCard xmlns='vcard-temp'/></iq>`); !strings.Contains(a, ">J.<") {
		t.Fatalf("after restart: %s", a)
	}
}

func TestVCardErrors(t *testing.T) {
	s := xmpptest.Start(t, "config module 'vcard'\n\toption max_size '1k'\n")
	s.AddUser(t, "juliet", "secret")
	s.AddUser(t, "romeo", "secret")
	juliet := login(t, s, "juliet")
	romeo := login(t, s, "romeo")
	iq(t, juliet, `<iq type='set'>`+card+`</iq>`)

	for _, tc := range []struct{ name, in, want string }{
		{"set another's", `<iq type='set' to='juliet@localhost'><vCard xmlns='vcard-temp'><FN>Romeo</FN></vCard></iq>`, "forbidden"},
		{"too large", `<iq type='set'><vCard xmlns='vcard-temp'><DESC>` + strings.Repeat("x", 1100) + `</DESC></vCard></iq>`, "not-acceptable"},
		{"no such account", `<iq type='get' to='nobody@localhost'><vCard xmlns='vcard-temp'/></iq>`, "service-unavailable"},
		{"fits", `<iq type='set'><vCard xmlns='vcard-temp'><DESC>` + strings.Repeat("x", 900) + `</DESC></vCard></iq>`, ""},
	} {
		if got := condition(iq(t, romeo, tc.in)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	// Juliet's vCard is untouched by Romeo's attempt.
	if a := iq(t, juliet, `<iq type='get'><vCard xmlns='vcard-temp'/></iq>`); !strings.Contains(a, "Juliet Capulet") {
		t.Fatalf("juliet's vCard: %s", a)
	}
}
