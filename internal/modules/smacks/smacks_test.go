package smacks_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"xmppd/internal/jid"
	"xmppd/internal/storage"
	"xmppd/internal/xmpptest"
)

const (
	smNS   = "urn:xmpp:sm:3"
	ping   = "<iq type='get' id='%s'><ping xmlns='urn:xmpp:ping'/></iq>"
	shortH = "config module 'smacks'\n\toption hibernation_time '1s'\n"
)

// waitFor polls cond until it holds, or fails the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting: " + what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// detached waits until the server has seen the connection of full die.
func detached(t *testing.T, s *xmpptest.Server, full string) {
	t.Helper()
	j, _ := jid.Parse(full)
	waitFor(t, full+" detached", func() bool {
		sess := s.Host("localhost").Session(j)
		return sess == nil || sess.Link() == nil
	})
}

// gone waits until full is no longer bound.
func gone(t *testing.T, s *xmpptest.Server, full string) {
	t.Helper()
	j, _ := jid.Parse(full)
	waitFor(t, full+" unbound", func() bool { return s.Host("localhost").Session(j) == nil })
}

// TestFeatureAndEnable: <sm/> is offered after authentication only;
// <enable/> before binding, and a second one, are unexpected requests.
func TestFeatureAndEnable(t *testing.T) {
	s := xmpptest.Start(t, plainUCI)
	s.AddUser(t, "juliet", "balcony")
	r := dial(t, s)
	r.Send(header)
	if f := r.Expect("</stream:features>"); strings.Contains(f, smNS) {
		t.Fatalf("stream management offered before authentication: %s", f)
	}
	r.Got.Reset()
	r.Send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldABiYWxjb255</auth>")
	r.Expect("<success")
	r.Got.Reset()
	r.Send(header)
	if f := r.Expect("</stream:features>"); !strings.Contains(f, "<sm xmlns='"+smNS+"'/>") {
		t.Fatalf("no <sm/> after authentication: %s", f)
	}
	r.Got.Reset()
	r.Send("<enable xmlns='urn:xmpp:sm:3'/>")
	r.Expect("<unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>")
	r.Got.Reset()
	r.Bind("phone")
	r.Send("<enable xmlns='urn:xmpp:sm:3' resume='true' max='60'/>")
	if got := r.Expect("/>"); !strings.Contains(got, "resume='true' max='60'") {
		t.Fatalf("enabled: %s", got)
	}
	r.Got.Reset()
	r.Send("<enable xmlns='urn:xmpp:sm:3'/>")
	r.Expect("<unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>")
}

// TestAckCounters: <r/> gets the count of stanzas the client sent since
// <enable/>; the server asks for acks after request_every stanzas; an ack
// of more than was sent ends the stream with handled-count-too-high.
func TestAckCounters(t *testing.T) {
	s := xmpptest.Start(t, plainUCI+"config module 'smacks'\n\toption request_every '2'\n")
	s.AddUser(t, "juliet", "balcony")
	r := dial(t, s)
	r.Login("juliet", "balcony", "phone")
	r.Send("<iq type='get' id='before'><ping xmlns='urn:xmpp:ping'/></iq>") // not counted: before <enable/>
	r.Expect("id='before'")
	r.Got.Reset()
	r.Send("<enable xmlns='urn:xmpp:sm:3'/>")
	if got := r.Expect("/>"); !strings.Contains(got, "<enabled xmlns='"+smNS+"'/>") {
		t.Fatalf("enable without resumption: %s", got)
	}
	r.Got.Reset()
	for i := range 3 {
		r.Send(fmt.Sprintf(ping, fmt.Sprint("p", i)))
	}
	r.Send("<r xmlns='urn:xmpp:sm:3'/>")
	got := r.Expect("<a xmlns='urn:xmpp:sm:3' h='3'/>")
	if !strings.Contains(got, "<r xmlns='urn:xmpp:sm:3'/>") {
		t.Fatalf("no ack request after 2 stanzas: %s", got)
	}
	if n := stanzas(got); n != 3 {
		t.Fatalf("%d stanzas, want the 3 ping results: %s", n, got)
	}
	r.Got.Reset()
	r.Send("<a xmlns='urn:xmpp:sm:3' h='3'/>")
	r.Send(fmt.Sprintf(ping, "alive"))
	r.Expect("id='alive'")
	// XEP-0198 §4: 5 acknowledges more than the 4 stanzas sent.
	r.Send("<a xmlns='urn:xmpp:sm:3' h='5'/>")
	got = r.Closed()
	for _, want := range []string{
		"<undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>",
		"<handled-count-too-high xmlns='urn:xmpp:sm:3' h='5' send-count='4'/>",
		"</stream:stream>",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("no %s in %q", want, got)
		}
	}
	gone(t, s, "juliet@localhost/phone")
}

// TestResumeDeliversOnce: a message sent while the client's connection is
// dead is delivered once on resumption, and what the client acknowledged
// is not sent again.
func TestResumeDeliversOnce(t *testing.T) {
	s := xmpptest.Start(t, plainUCI)
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	j := dial(t, s)
	j.Login("juliet", "balcony", "phone")
	id := j.enable()
	j.Send("<presence/>")
	j.Send(fmt.Sprintf(ping, "sync"))
	handled := stanzas(j.Expect("id='sync'"))
	j.Take()

	r := dial(t, s)
	r.Login("romeo", "orchard", "r")
	r.Send("<message to='juliet@localhost/phone' type='chat'><body>one</body></message>")
	j.Expect("<body>one</body>")
	handled += stanzas(j.Expect("</message>"))
	j.Take()
	j.Send(fmt.Sprintf("<a xmlns='urn:xmpp:sm:3' h='%d'/>", handled))
	j.Send(fmt.Sprintf(ping, "acked"))
	j.Expect("id='acked'")
	handled++
	j.C.Close() // the phone loses its network
	detached(t, s, "juliet@localhost/phone")

	r.Send("<message to='juliet@localhost/phone' type='chat'><body>two</body></message>")
	r.Send("<message to='juliet@localhost' type='chat'><body>three</body></message>")
	r.Send(fmt.Sprintf(ping, "routed"))
	r.Expect("id='routed'")

	j2 := dial(t, s)
	j2.Auth("juliet", "balcony")
	j2.Send(fmt.Sprintf("<resume xmlns='urn:xmpp:sm:3' previd='%s' h='%d'/>", id, handled))
	// Juliet sent <presence/> and two pings since <enable/>.
	j2.Expect("<body>three</body>")
	got := j2.Expect("</message>")
	if !strings.Contains(got, "<resumed xmlns='urn:xmpp:sm:3' previd='"+id+"' h='3'/>") {
		t.Fatalf("resumed: %q", got)
	}
	got = j2.Quiet(300 * time.Millisecond)
	if strings.Contains(got, "<body>one</body>") || strings.Count(got, "<body>two</body>") != 1 || strings.Count(got, "<body>three</body>") != 1 ||
		strings.Index(got, "two") > strings.Index(got, "three") {
		t.Fatalf("after resumption got %q, want two and three once each, in order", got)
	}
	received := stanzas(got)
	j2.Take()

	// The session goes on: new messages arrive once, and acknowledging
	// everything received is no error.
	r.Send("<message to='juliet@localhost/phone' type='chat'><body>four</body></message>")
	j2.Expect("<body>four</body>")
	j2.Expect("</message>")
	received++
	j2.Send(fmt.Sprintf("<a xmlns='urn:xmpp:sm:3' h='%d'/><r xmlns='urn:xmpp:sm:3'/>", handled+received))
	j2.Expect("<a xmlns='urn:xmpp:sm:3' h='3'/>")
	j2.Send(fmt.Sprintf(ping, "still"))
	if got := j2.Expect("id='still'"); strings.Contains(got, "stream:error") {
		t.Fatalf("stream error after resumption: %q", got)
	}
	if n, _ := s.Host("localhost").Count(); n != 2 {
		t.Fatalf("%d sessions bound, want juliet's resumed one and romeo's", n)
	}
}

// TestResumeReplacesLiveConnection: a client that resumes before the
// server noticed its old connection die gets the session; the old
// connection ends with conflict.
func TestResumeReplacesLiveConnection(t *testing.T) {
	s := xmpptest.Start(t, plainUCI)
	s.AddUser(t, "juliet", "balcony")
	j := dial(t, s)
	j.Login("juliet", "balcony", "phone")
	id := j.enable()
	j2 := dial(t, s)
	j2.Auth("juliet", "balcony")
	j2.Send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
	j2.Expect("<resumed xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
	if got := j.Closed(); !strings.Contains(got, "<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") {
		t.Fatalf("old connection got %q", got)
	}
	j2.Send(fmt.Sprintf(ping, "p"))
	j2.Expect("id='p'")
	if n, _ := s.Host("localhost").Count(); n != 1 {
		t.Fatalf("%d sessions bound, want 1", n)
	}
}

// TestResumeFailures: unknown, expired and other accounts' ids are
// item-not-found, after which the stream can still bind; an h above what
// was sent is handled-count-too-high.
func TestResumeFailures(t *testing.T) {
	s := xmpptest.Start(t, plainUCI+shortH)
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	notFound := "<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"

	r := dial(t, s)
	r.Auth("juliet", "balcony")
	r.Send("<resume xmlns='urn:xmpp:sm:3' previd='nonsense' h='0'/>")
	r.Expect(notFound)
	r.Got.Reset()
	r.Bind("desk")

	j := dial(t, s)
	j.Login("juliet", "balcony", "phone")
	id := j.enable()
	o := dial(t, s)
	o.Auth("romeo", "orchard")
	o.Send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
	o.Expect(notFound)

	j.C.Close()
	gone(t, s, "juliet@localhost/phone") // after hibernation_time
	j2 := dial(t, s)
	j2.Auth("juliet", "balcony")
	j2.Send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
	j2.Expect(notFound)

	j3 := dial(t, s)
	j3.Login("juliet", "balcony", "tablet")
	id = j3.enable()
	j3.Send(fmt.Sprintf(ping, "p"))
	j3.Expect("id='p'")
	j3.C.Close()
	detached(t, s, "juliet@localhost/tablet")
	j4 := dial(t, s)
	j4.Auth("juliet", "balcony")
	j4.Send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='2'/>")
	got := j4.Expect("</failed>")
	if !strings.Contains(got, "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='2' send-count='1'/>") ||
		!strings.Contains(got, "<undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>") {
		t.Fatalf("resume with h too high: %q", got)
	}
	gone(t, s, "juliet@localhost/tablet")
}

// TestExpiryReroutes: when hibernation runs out, what the session did not
// acknowledge is not lost: a message to its full JID goes to the
// account's other resource, one to the bare JID that resource had
// already is not sent again, and with no resource left a message waits in
// offline storage.
func TestExpiryReroutes(t *testing.T) {
	s := xmpptest.Start(t, plainUCI+shortH)
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	j := dial(t, s)
	j.Login("juliet", "balcony", "phone")
	j.enable()
	j.Send("<presence/>")
	desk := dial(t, s)
	desk.Login("juliet", "balcony", "desk")
	desk.Send("<presence/>")
	r := dial(t, s)
	r.Login("romeo", "orchard", "r")

	j.C.Close()
	detached(t, s, "juliet@localhost/phone")
	desk.Take()
	r.Send("<message to='juliet@localhost/phone' type='chat'><body>to the phone</body></message>")
	r.Send("<message to='juliet@localhost' type='chat'><body>to anyone</body></message>")
	desk.Expect("to anyone")
	desk.Expect("to the phone") // after the hibernation time
	got := desk.Quiet(300 * time.Millisecond)
	if strings.Count(got, "to anyone") != 1 || strings.Count(got, "to the phone") != 1 {
		t.Fatalf("the other resource got %q, want each message once", got)
	}
	if !strings.Contains(got, "from='romeo@localhost/r'") {
		t.Fatalf("rerouted message lost its sender: %q", got)
	}
	gone(t, s, "juliet@localhost/phone")

	// Alone: the message goes to offline storage.
	desk.C.Close()
	gone(t, s, "juliet@localhost/desk")
	j = dial(t, s)
	j.Login("juliet", "balcony", "phone")
	j.enable()
	j.Send("<presence/>")
	j.Send(fmt.Sprintf(ping, "sync"))
	j.Expect("id='sync'")
	j.C.Close()
	detached(t, s, "juliet@localhost/phone")
	r.Send("<message to='juliet@localhost/phone' type='chat'><body>while away</body></message>")
	// The answer to the ping says the message was routed (one stream is
	// served in order): not still unread when the laptop comes online,
	// which would get it directly rather than from offline storage.
	r.Send(fmt.Sprintf(ping, "nobounce"))
	if got := r.Expect("id='nobounce'"); strings.Contains(got, "type='error'") {
		t.Fatalf("the sender got an error: %q", got)
	}
	gone(t, s, "juliet@localhost/phone")
	// The session leaves the host before its kept messages are routed
	// again: a laptop online in between would get this one directly.
	offline := s.DB.Archive("offline", true)
	waitFor(t, "the message in offline storage", func() bool {
		items, _, err := offline.Find("localhost", "juliet", storage.Query{})
		return err == nil && len(items) == 1
	})
	j = dial(t, s)
	j.Login("juliet", "balcony", "laptop")
	j.Send("<presence/>")
	if got := j.Expect("while away"); !strings.Contains(got, "urn:xmpp:delay") {
		t.Fatalf("offline delivery: %q", got)
	}
}

// TestHibernationBound: past max_hibernated, the oldest hibernated session
// ends.
func TestHibernationBound(t *testing.T) {
	s := xmpptest.Start(t, plainUCI+"config module 'smacks'\n\toption max_hibernated '1'\n")
	s.AddUser(t, "juliet", "balcony")
	a := dial(t, s)
	a.Login("juliet", "balcony", "a")
	a.enable()
	b := dial(t, s)
	b.Login("juliet", "balcony", "b")
	b.enable()
	a.C.Close()
	detached(t, s, "juliet@localhost/a")
	b.C.Close()
	gone(t, s, "juliet@localhost/a")
	j, _ := jid.Parse("juliet@localhost/b")
	if sess := s.Host("localhost").Session(j); sess == nil {
		t.Fatal("the newest hibernated session ended")
	}
}

// TestHibernatedSessionCost measures the live heap one hibernated session
// costs, with one unacknowledged message (README, Storage).
func TestHibernatedSessionCost(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement")
	}
	const n = 200
	s := xmpptest.Start(t, plainUCI+"config module 'smacks'\n\toption max_hibernated '1000'\n")
	for i := range n {
		s.AddUser(t, fmt.Sprint("user", i), "secret")
	}
	s.AddUser(t, "romeo", "orchard")
	r := dial(t, s)
	r.Login("romeo", "orchard", "r")
	heap := func() uint64 {
		var ms runtime.MemStats
		for range 3 {
			runtime.GC()
		}
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for i := range n {
		c := dial(t, s)
		user := fmt.Sprint("user", i)
		c.Login(user, "secret", "phone")
		c.enable()
		c.Send("<presence/>")
		c.Send(fmt.Sprintf(ping, "p"))
		c.Expect("id='p'")
		c.C.Close()
		detached(t, s, user+"@localhost/phone")
		r.Send("<message to='" + user + "@localhost/phone' type='chat'><body>a message of a typical size, about a line of text long</body></message>")
	}
	r.Send(fmt.Sprintf(ping, "done"))
	r.Expect("id='done'")
	after := heap()
	per := (int64(after) - int64(before)) / n
	t.Logf("one hibernated session: about %d bytes of live heap", per)
	if per > 32<<10 {
		t.Fatalf("a hibernated session costs %d bytes: something holds its connection", per)
	}
}
