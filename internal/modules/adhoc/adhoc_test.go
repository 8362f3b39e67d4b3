package adhoc_test

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"xmppd/internal/xmpptest"
)

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

// client is a logged-in real client; the messages it gets are collected.
type client struct {
	sess     *xmpp.Session
	messages chan string
	done     chan error
}

func login(t *testing.T, s *xmpptest.Server, user, pass string) *client {
	t.Helper()
	sess, _ := s.Dial(t, user, pass)
	c := &client{sess: sess, messages: make(chan string, 16), done: make(chan error, 1)}
	go func() {
		c.done <- sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
			if start.Name.Local != "message" {
				return nil
			}
			var buf bytes.Buffer
			enc := xml.NewEncoder(&buf)
			xmlstream.Copy(enc, xmlstream.MultiReader(xmlstream.Token(*start), xmlstream.Inner(r), xmlstream.Token(start.End())))
			enc.Flush()
			c.messages <- buf.String()
			return nil
		}))
	}()
	return c
}

// iq sends an iq written as text and returns the answer as text, with
// double quotes made single.
func (c *client) iq(t *testing.T, text string) string {
	t.Helper()
	ctx := xmpptest.Context(t, 5*time.Second)
	rc, err := c.sess.SendIQ(ctx, rawTokens{xml.NewDecoder(strings.NewReader(text))})
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
	return strings.ReplaceAll(buf.String(), `"`, "'")
}

// condition returns the first stanza error condition of an answer, or "".
func condition(a string) string {
	if !strings.Contains(a, "type='error'") {
		return ""
	}
	m := regexp.MustCompile(`<([a-z-]+) xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'`).FindStringSubmatch(a)
	if m == nil {
		return "?" + a
	}
	return m[1]
}

const admin = "http://jabber.org/protocol/admin#"

// execute starts a command with no form.
func execute(node string) string {
	return "<iq type='set' to='localhost'><command xmlns='http://jabber.org/protocol/commands' node='" + admin + node + "' action='execute'/></iq>"
}

// submit sends a command's form, in session id ("" for none).
func submit(node, id string, fields map[string][]string) string {
	var b strings.Builder
	b.WriteString("<iq type='set' to='localhost'><command xmlns='http://jabber.org/protocol/commands' node='" + admin + node + "'")
	if id != "" {
		b.WriteString(" sessionid='" + id + "'")
	}
	b.WriteString(" action='complete'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/admin</value></field>")
	for k, vs := range fields {
		b.WriteString("<field var='" + k + "'>")
		for _, v := range vs {
			b.WriteString("<value>" + v + "</value>")
		}
		b.WriteString("</field>")
	}
	b.WriteString("</x></command></iq>")
	return b.String()
}

func sessionID(t *testing.T, a string) string {
	t.Helper()
	m := regexp.MustCompile(`sessionid='([^']+)'`).FindStringSubmatch(a)
	if m == nil {
		t.Fatalf("no session id: %s", a)
	}
	return m[1]
}

func start(t *testing.T, extra string) *xmpptest.Server {
	t.Helper()
	s := xmpptest.Start(t, "config module 'adhoc'\n\tlist admins 'admin@localhost'\n"+extra)
	s.AddUser(t, "admin", "pw")
	s.AddUser(t, "juliet", "pw")
	return s
}

func TestAdhocDiscovery(t *testing.T) {
	s := start(t, "")
	a := login(t, s, "admin", "pw")
	j := login(t, s, "juliet", "pw")
	items := a.iq(t, "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>")
	for _, n := range []string{"add-user", "delete-user", "change-user-password", "end-user-session", "get-online-users-list", "announce"} {
		if !strings.Contains(items, "node='"+admin+n+"'") {
			t.Errorf("commands list lacks %s: %s", n, items)
		}
	}
	// XEP-0050 §2.2: only the commands the requester may run.
	if items := j.iq(t, "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>"); strings.Contains(items, "<item") || condition(items) != "" {
		t.Errorf("commands listed to a non-admin: %s", items)
	}
	if info := a.iq(t, "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='"+admin+"add-user'/></iq>"); !strings.Contains(info, "command-node") || !strings.Contains(info, "jabber:x:data") {
		t.Errorf("command node info: %s", info)
	}
	if info := a.iq(t, "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"); !strings.Contains(info, "var='http://jabber.org/protocol/commands'") {
		t.Errorf("host info lacks commands: %s", info)
	}
	if root := a.iq(t, "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"); !strings.Contains(root, "node='http://jabber.org/protocol/commands'") {
		t.Errorf("host items lack the commands node: %s", root)
	}
	if c := condition(a.iq(t, "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='nonsense'/></iq>")); c != "item-not-found" {
		t.Errorf("unknown node: %q", c)
	}
	// Not an admin: forbidden, and nothing happens.
	if c := condition(j.iq(t, submit("add-user", "", map[string][]string{"accountjid": {"evil@localhost"}, "password": {"x"}, "password-verify": {"x"}}))); c != "forbidden" {
		t.Errorf("non-admin: %q", c)
	}
	if c := condition(j.iq(t, execute("add-user"))); c != "forbidden" {
		t.Errorf("non-admin execute: %q", c)
	}
	if s.Accounts.Exists("localhost", "evil") {
		t.Fatal("a non-admin created an account")
	}
	if c := condition(a.iq(t, execute("reboot"))); c != "item-not-found" {
		t.Errorf("unknown command: %q", c)
	}
}

func TestAdhocAddUserTwoSteps(t *testing.T) {
	s := start(t, "")
	a := login(t, s, "admin", "pw")
	form := a.iq(t, execute("add-user"))
	for _, want := range []string{"status='executing'", "type='form'", "var='accountjid'", "var='password-verify'", "<complete"} {
		if !strings.Contains(form, want) {
			t.Fatalf("form lacks %s: %s", want, form)
		}
	}
	id := sessionID(t, form)
	done := a.iq(t, submit("add-user", id, map[string][]string{"accountjid": {"romeo@localhost"}, "password": {"R0meo"}, "password-verify": {"R0meo"}}))
	if !strings.Contains(done, "status='completed'") {
		t.Fatalf("completion: %s", done)
	}
	login(t, s, "romeo", "R0meo")
	// The session is over.
	if a := a.iq(t, submit("add-user", id, map[string][]string{"accountjid": {"mercutio@localhost"}, "password": {"x"}, "password-verify": {"x"}})); condition(a) != "bad-request" || !strings.Contains(a, "bad-sessionid") {
		t.Fatalf("reused session: %s", a)
	}
	for _, tc := range []struct {
		name   string
		fields map[string][]string
		want   string
	}{
		{"exists", map[string][]string{"accountjid": {"romeo@localhost"}, "password": {"x"}, "password-verify": {"x"}}, "conflict"},
		{"passwords differ", map[string][]string{"accountjid": {"tybalt@localhost"}, "password": {"x"}, "password-verify": {"y"}}, "not-acceptable"},
		{"other host", map[string][]string{"accountjid": {"tybalt@example.org"}, "password": {"x"}, "password-verify": {"x"}}, "not-allowed"},
		{"missing field", map[string][]string{"accountjid": {"tybalt@localhost"}}, "bad-request"},
	} {
		if c := condition(a.iq(t, submit("add-user", "", tc.fields))); c != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, c, tc.want)
		}
	}
	if s.Accounts.Exists("localhost", "tybalt") {
		t.Fatal("a refused command created an account")
	}
	// Canceling a session (XEP-0050 §3.5).
	id = sessionID(t, a.iq(t, execute("delete-user")))
	c := a.iq(t, "<iq type='set' to='localhost'><command xmlns='http://jabber.org/protocol/commands' node='"+admin+"delete-user' sessionid='"+id+"' action='cancel'/></iq>")
	if !strings.Contains(c, "status='canceled'") {
		t.Fatalf("cancel: %s", c)
	}
}

func TestAdhocAccountsAndSessions(t *testing.T) {
	s := start(t, "")
	s.AddUser(t, "romeo", "pw")
	a := login(t, s, "admin", "pw")
	j := login(t, s, "juliet", "pw")

	list := a.iq(t, submit("get-online-users-list", "", map[string][]string{"max_items": {"25"}}))
	if !strings.Contains(list, ">admin@localhost</value>") || !strings.Contains(list, ">juliet@localhost</value>") || strings.Contains(list, "romeo@") {
		t.Fatalf("online users: %s", list)
	}

	if done := a.iq(t, submit("announce", "", map[string][]string{"subject": {"Maintenance"}, "announcement": {"Reboot at noon"}})); !strings.Contains(done, "completed") {
		t.Fatalf("announce: %s", done)
	}
	select {
	case m := <-j.messages:
		if !strings.Contains(m, "Reboot at noon") || !strings.Contains(m, "Maintenance") || !strings.Contains(m, `from="localhost"`) {
			t.Fatalf("announcement: %s", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no announcement")
	}

	if done := a.iq(t, submit("change-user-password", "", map[string][]string{"accountjid": {"romeo@localhost"}, "password": {"new"}})); !strings.Contains(done, "completed") {
		t.Fatalf("change password: %s", done)
	}
	login(t, s, "romeo", "new")
	if c := condition(a.iq(t, submit("change-user-password", "", map[string][]string{"accountjid": {"nobody@localhost"}, "password": {"x"}}))); c != "item-not-found" {
		t.Fatalf("change password of nobody: %q", c)
	}

	if done := a.iq(t, submit("end-user-session", "", map[string][]string{"accountjids": {"juliet@localhost"}})); !strings.Contains(done, "1 sessions ended") {
		t.Fatalf("end session: %s", done)
	}
	select {
	case <-j.done:
	case <-time.After(5 * time.Second):
		t.Fatal("juliet's session did not end")
	}

	if c := condition(a.iq(t, submit("delete-user", "", map[string][]string{"accountjids": {"romeo@localhost", "nobody@localhost"}}))); c != "item-not-found" {
		t.Fatalf("delete with an unknown account: %q", c)
	}
	if !s.Accounts.Exists("localhost", "romeo") {
		t.Fatal("a refused delete deleted an account")
	}
	if done := a.iq(t, submit("delete-user", "", map[string][]string{"accountjids": {"romeo@localhost", "juliet@localhost"}})); !strings.Contains(done, "completed") {
		t.Fatalf("delete: %s", done)
	}
	if s.Accounts.Exists("localhost", "romeo") || s.Accounts.Exists("localhost", "juliet") {
		t.Fatal("accounts still there")
	}
}

func TestAdhocSessionsBounded(t *testing.T) {
	s := start(t, "\toption max_sessions '2'\n")
	a := login(t, s, "admin", "pw")
	b := login(t, s, "admin", "pw")
	first := sessionID(t, a.iq(t, execute("announce")))
	a.iq(t, execute("announce"))
	if c := condition(a.iq(t, execute("announce"))); c != "resource-constraint" {
		t.Fatalf("third session: %q", c)
	}
	// Only the full JID that started a session continues it.
	if c := condition(b.iq(t, submit("announce", first, map[string][]string{"announcement": {"hi"}}))); c != "bad-request" {
		t.Fatalf("session of another resource: %q", c)
	}
	if _, err := xmpptest.StartErr(t, "config module 'adhoc'\n\tlist admins 'not a jid@@'\n"); err == nil {
		t.Fatal("a bad admin JID was accepted")
	}
}
