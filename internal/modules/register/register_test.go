package register_test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"net"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"xmppd/internal/xmpptest"
)

// enabled loads the module with options, over plain loopback streams.
func enabled(options string) string {
	return "\toption c2s_plain_on_loopback '1'\n\tlist modules_enabled 'register'\nconfig module 'register'\n" + options
}

// rawClient speaks XMPP by hand: registration happens before any login,
// where client libraries have no session to send with.
type rawClient struct {
	t   *testing.T
	c   net.Conn
	got bytes.Buffer
}

const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

// open connects to addr and returns the client and the stream features.
func open(t *testing.T, addr string) (*rawClient, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &rawClient{t: t, c: c}
	r.send(header)
	return r, r.expect("</stream:features>")
}

func (r *rawClient) send(s string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// expect reads until want has arrived and returns what came since the
// last expect.
func (r *rawClient) expect(want string) string {
	r.t.Helper()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(r.got.String(), want) {
		r.c.SetReadDeadline(deadline)
		n, err := r.c.Read(buf)
		r.got.Write(buf[:n])
		if err != nil {
			r.t.Fatalf("waiting for %q: %v; got %q", want, err, r.got.String())
		}
	}
	s := r.got.String()
	i := strings.Index(s, want) + len(want)
	r.got.Reset()
	r.got.WriteString(s[i:])
	return s[:i]
}

// iq sends an iq with the given id and returns its answer.
func (r *rawClient) iq(id, text string) string {
	r.t.Helper()
	r.send(text)
	s := r.expect("id='" + id + "'")
	if s += r.expect(">"); strings.HasSuffix(s, "/>") {
		return s
	}
	return s + r.expect("</iq>")
}

// register asks for an account over the raw stream and returns the
// answer's error condition, or "".
func (r *rawClient) register(user, pass string) string {
	r.t.Helper()
	a := r.iq("r1", "<iq type='set' id='r1'><query xmlns='jabber:iq:register'><username>"+user+"</username><password>"+pass+"</password></query></iq>")
	return condition(a)
}

func condition(a string) string {
	if !strings.Contains(a, "type='error'") {
		return ""
	}
	i := strings.Index(a, "<error")
	j := strings.Index(a[i:], " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'")
	k := strings.LastIndex(a[i:i+j], "<")
	return a[i+k+1 : i+j]
}

// plain authenticates over the same stream with PLAIN.
func (r *rawClient) plain(user, pass string) bool {
	r.t.Helper()
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>")
	s := r.expect("</")
	if !strings.Contains(s, "<success") && !strings.Contains(s, "<failure") {
		s += r.expect(">")
	}
	return strings.Contains(s, "<success")
}

const feature = "<register xmlns='http://jabber.org/features/iq-register'/>"

func TestRegisterThenLogin(t *testing.T) {
	s := xmpptest.Start(t, enabled(""))
	r, features := open(t, s.StartTLS)
	if !strings.Contains(features, feature) {
		t.Fatalf("features without registration: %s", features)
	}
	form := r.iq("f1", "<iq type='get' id='f1'><query xmlns='jabber:iq:register'/></iq>")
	for _, want := range []string{"type='result'", "<instructions>", "<username/>", "<password/>"} {
		if !strings.Contains(form, want) {
			t.Fatalf("form lacks %s: %s", want, form)
		}
	}
	if c := r.register("Newbie", "s3cret &amp; more"); c != "" {
		t.Fatalf("registration: %s", c)
	}
	if !s.Accounts.Exists("localhost", "newbie") {
		t.Fatal("no account after registration")
	}
	// On the same stream, before authentication: the new account logs in.
	if !r.plain("newbie", "s3cret & more") {
		t.Fatal("login with the registered password failed")
	}
	// And with a real client library, over TLS.
	s.Dial(t, "newbie", "s3cret & more")

	// The name is taken now, in any case.
	r2, _ := open(t, s.StartTLS)
	if c := r2.register("NEWBIE", "other"); c != "conflict" {
		t.Fatalf("second registration: %q", c)
	}
	for _, tc := range []struct{ name, query, want string }{
		{"no password", "<username>x</username>", "not-acceptable"},
		{"empty username", "<username/><password>p</password>", "not-acceptable"},
		{"invalid username", "<username>a@b</username><password>p</password>", "not-acceptable"},
		{"too long password", "<username>y</username><password>" + strings.Repeat("p", 1100) + "</password>", "not-acceptable"},
		{"remove before login", "<remove/>", "not-authorized"},
	} {
		a := r2.iq("e1", "<iq type='set' id='e1'><query xmlns='jabber:iq:register'>"+tc.query+"</query></iq>")
		if c := condition(a); c != tc.want {
			t.Errorf("%s: got %q, want %q (%s)", tc.name, c, tc.want, a)
		}
	}
}

func TestRegisterNotAllowed(t *testing.T) {
	// Loopback is not in this list.
	s := xmpptest.Start(t, enabled("\tlist allow_from '10.0.0.0/8'\n\tlist allow_from '192.168.1.7'\n"))
	r, features := open(t, s.StartTLS)
	if strings.Contains(features, feature) {
		t.Fatalf("registration offered to an address not allowed: %s", features)
	}
	if a := r.iq("f1", "<iq type='get' id='f1'><query xmlns='jabber:iq:register'/></iq>"); condition(a) != "not-allowed" {
		t.Fatalf("form to an address not allowed: %s", a)
	}
	if c := r.register("intruder", "x"); c != "not-allowed" {
		t.Fatalf("registration from an address not allowed: %q", c)
	}
	if s.Accounts.Exists("localhost", "intruder") {
		t.Fatal("account created")
	}
}

func TestRegisterNotLoaded(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	r, features := open(t, s.StartTLS)
	if strings.Contains(features, feature) {
		t.Fatalf("registration offered without the module: %s", features)
	}
	r.send("<iq type='set' id='r1'><query xmlns='jabber:iq:register'><username>x</username><password>y</password></query></iq>")
	if got := r.expect("</stream:stream>"); !strings.Contains(got, "not-authorized") {
		t.Fatalf("got %s", got)
	}
	if s.Accounts.Exists("localhost", "x") {
		t.Fatal("account created")
	}
}

func TestRegisterThrottle(t *testing.T) {
	s := xmpptest.Start(t, enabled("\toption throttle '2/1h'\n"))
	r, _ := open(t, s.StartTLS)
	for i, user := range []string{"one", "two", "three"} {
		want := ""
		if i == 2 {
			want = "resource-constraint"
		}
		if c := r.register(user, "pw"); c != want {
			t.Fatalf("registration %d: got %q, want %q", i+1, c, want)
		}
	}
	if s.Accounts.Exists("localhost", "three") {
		t.Fatal("throttled registration created an account")
	}
}

func TestRegisterBadOptions(t *testing.T) {
	for _, opt := range []string{"\toption throttle '5'\n", "\toption throttle 'x/1h'\n", "\tlist allow_from '10.0.0.0/33'\n", "\toption reuse_after 'soon'\n"} {
		if _, err := xmpptest.StartErr(t, enabled(opt)); err == nil {
			t.Errorf("%q accepted", opt)
		}
	}
}

// login logs user in with a real client and serves its session.
func login(t *testing.T, s *xmpptest.Server, user, pass string) *xmpp.Session {
	t.Helper()
	sess, _ := s.Dial(t, user, pass)
	go sess.Serve(nil)
	return sess
}

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

// send sends an iq from a logged-in client and returns the answer.
func send(t *testing.T, sess *xmpp.Session, text string) string {
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
	return strings.ReplaceAll(buf.String(), `"`, "'")
}

func TestPasswordChange(t *testing.T) {
	s := xmpptest.Start(t, enabled(""))
	s.AddUser(t, "juliet", "old")
	sess := login(t, s, "juliet", "old")
	if a := send(t, sess, "<iq type='get'><query xmlns='jabber:iq:register'/></iq>"); !strings.Contains(a, "registered") || !strings.Contains(a, ">juliet<") {
		t.Fatalf("registration of a logged-in account: %s", a)
	}
	if a := send(t, sess, "<iq type='set' to='localhost'><query xmlns='jabber:iq:register'><username>romeo</username><password>new</password></query></iq>"); !strings.Contains(a, "not-allowed") {
		t.Fatalf("another's password: %s", a)
	}
	if a := send(t, sess, "<iq type='set' to='localhost'><query xmlns='jabber:iq:register'><username>juliet</username></query></iq>"); !strings.Contains(a, "not-acceptable") {
		t.Fatalf("no password: %s", a)
	}
	if a := send(t, sess, "<iq type='set' to='localhost'><query xmlns='jabber:iq:register'><username>juliet</username><password>new</password></query></iq>"); strings.Contains(a, "error") {
		t.Fatalf("password change: %s", a)
	}
	s.Dial(t, "juliet", "new")
	r, _ := open(t, s.StartTLS)
	if r.plain("juliet", "old") {
		t.Fatal("the old password still works")
	}
}

func TestRemoveLeavesTombstone(t *testing.T) {
	for _, tc := range []struct {
		name, options string
		reusable      bool
	}{
		{"tombstone", "", false},
		{"no tombstone", "\toption reuse_after '0'\n", true},
		{"expired", "\toption reuse_after '1s'\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := xmpptest.Start(t, enabled(tc.options))
			s.AddUser(t, "juliet", "pw")
			s.AddUser(t, "romeo", "pw")
			// Something of hers in the store: a vCard.
			sess := login(t, s, "juliet", "pw")
			send(t, sess, "<iq type='set'><vCard xmlns='vcard-temp'><FN>Juliet</FN></vCard></iq>")

			// By hand, to see the result and then the stream's end.
			r, _ := open(t, s.StartTLS)
			if !r.plain("juliet", "pw") {
				t.Fatal("login")
			}
			r.send(header)
			r.expect("</stream:features>")
			r.iq("b1", "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
			a := r.iq("x1", "<iq type='set' id='x1'><query xmlns='jabber:iq:register'><remove/></query></iq>")
			if condition(a) != "" || !strings.Contains(a, "type='result'") {
				t.Fatalf("remove: %s", a)
			}
			r.expect("</stream:stream>")
			if s.Accounts.Exists("localhost", "juliet") {
				t.Fatal("account still there")
			}
			if tc.name == "expired" {
				time.Sleep(1100 * time.Millisecond)
			}
			r2, _ := open(t, s.StartTLS)
			c := r2.register("juliet", "pw2")
			if tc.reusable != (c == "") {
				t.Fatalf("registering the removed name: %q", c)
			}
			if c == "" {
				// What was hers is gone (DB.DeleteUser).
				romeo := login(t, s, "romeo", "pw")
				if a := send(t, romeo, "<iq type='get' to='juliet@localhost'><vCard xmlns='vcard-temp'/></iq>"); strings.Contains(a, "Juliet") {
					t.Fatalf("vCard survived the account: %s", a)
				}
			}
		})
	}
}
