package c2s_test

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"xmppd/internal/jid"
	"xmppd/internal/xmpptest"
)

// dialTLS logs user in over TLS, STARTTLS or direct, and binds resource.
func dialTLS(t testing.TB, s *xmpptest.Server, direct bool, user, pass, resource string) *rawClient {
	t.Helper()
	addr := s.StartTLS
	if direct {
		addr = s.Direct
	}
	r := dialRaw(t, addr)
	r.loginTLS(direct, user, pass, resource)
	return r
}

// loginTLS starts TLS on a connection to the listener of that kind, logs
// user in and binds resource.
func (r *rawClient) loginTLS(direct bool, user, pass, resource string) {
	r.t.Helper()
	if direct {
		tc := tls.Client(r.c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
		if err := tc.Handshake(); err != nil {
			r.t.Fatal(err)
		}
		r.c = tc
		r.send(rawHeader)
		r.expect("</stream:features>")
	} else {
		r.startTLS()
	}
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>")
	r.expect("<success")
	r.got.Reset()
	r.send(rawHeader)
	r.expect("</stream:features>")
	r.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	r.expect("</iq>")
	r.got.Reset()
}

// readUntil is expect for large stanzas: it reads until want has arrived,
// and on failure leaves the reporting of what it read to the caller.
func (r *rawClient) readUntil(want string) (string, error) {
	buf := make([]byte, 64<<10)
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !strings.Contains(r.got.String(), want) {
		n, err := r.c.Read(buf)
		r.got.Write(buf[:n])
		if err != nil {
			return r.got.String(), err
		}
	}
	return r.got.String(), nil
}

// tlsModes names the two ways a client gets TLS.
var tlsModes = []struct {
	name   string
	direct bool
}{{"starttls", false}, {"direct", true}}

// TestLargeStanzaToTLS: a stanza larger than the output queue reaches a
// recipient that reads over TLS, though TLS cuts it into many records.
func TestLargeStanzaToTLS(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n\toption stanza_size_limit '512k'\n")
	s.AddUser(t, "romeo", "orchard")
	s.AddUser(t, "juliet", "balcony")
	sender := dialRaw(t, s.StartTLS)
	sender.login("romeo", "orchard", "a")
	for _, mode := range tlsModes {
		t.Run(mode.name, func(t *testing.T) {
			to := dialTLS(t, s, mode.direct, "juliet", "balcony", mode.name)
			for _, n := range []int{70000, 200000} {
				body := strings.Repeat("0123456789", n/10)
				sender.send("<message to='juliet@localhost/" + mode.name + "' type='chat'><body>" + body + "</body></message>")
				got, err := to.readUntil("</message>")
				if err != nil || !strings.Contains(got, "<body>"+body+"</body>") {
					t.Fatalf("%d-byte body: %v after %d bytes that do not hold it", n, err, len(got))
				}
				to.got.Reset()
			}
		})
	}
}

// TestSlowReaderStreamError: a recipient that does not read while it is
// flooded is cut off, and what it reads at last ends with a
// policy-violation stream error after whole stanzas; the server goes on.
func TestSlowReaderStreamError(t *testing.T) {
	for _, mode := range []struct {
		name string
		tls  bool
	}{{"plain", false}, {"direct", true}} {
		t.Run(mode.name, func(t *testing.T) {
			s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n\toption c2s_queue_size '16k'\n"+quietModules)
			s.AddUser(t, "romeo", "orchard")
			s.AddUser(t, "juliet", "balcony")
			addr := s.StartTLS
			if mode.tls {
				addr = s.Direct
			}
			slow := dialRaw(t, addr)
			// A small receive buffer fills soon, and then the server's queue.
			tcp := slow.c.(*net.TCPConn)
			tcp.SetReadBuffer(4096)
			if mode.tls {
				slow.loginTLS(true, "juliet", "balcony", "slow")
			} else {
				slow.login("juliet", "balcony", "slow")
			}
			sender := dialRaw(t, s.StartTLS)
			sender.login("romeo", "orchard", "fast")
			sess := s.Host("localhost").Session(jid.MustParse("juliet@localhost/slow"))
			if sess == nil {
				t.Fatal("no session for the slow reader")
			}

			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				msg := []byte("<message to='juliet@localhost/slow' type='chat'><body>" + strings.Repeat("x", 2000) + "</body></message>")
				for {
					select {
					case <-stop:
						return
					default:
					}
					// Whole writes only: the sender's stream must stay intact.
					sender.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
					if _, err := sender.c.Write(msg); err != nil {
						return
					}
				}
			}()
			// An empty Queue reports whether the session still takes output.
			deadline := time.Now().Add(20 * time.Second)
			for l := sess.Link(); l != nil && l.Queue(nil) == nil; {
				if time.Now().After(deadline) {
					close(stop)
					t.Fatal("slow reader never cut off")
				}
				time.Sleep(5 * time.Millisecond)
			}
			close(stop)
			wg.Wait()

			// With so small a window, loopback TCP moves a few kilobytes a
			// second: the reader takes a normal one to catch up in time.
			tcp.SetReadBuffer(4 << 20)
			slow.closed()
			got := slow.got.String()
			want := "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text"
			i := strings.LastIndex(got, want)
			if i < 0 || !strings.HasSuffix(got, "</stream:error></stream:stream>") {
				t.Fatalf("no policy-violation at the end; the last bytes read: %q", got[max(0, len(got)-300):])
			}
			if !strings.HasSuffix(got[:i], "</message>") {
				t.Fatalf("the stream error does not follow a whole stanza: %q", got[max(0, i-100):i])
			}

			sender.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
			sender.expect("id='p1'")
			for n := 0; ; n++ {
				if sessions, _ := s.Host("localhost").Count(); sessions == 1 {
					break
				}
				if n == 1000 {
					t.Fatal("the slow reader's session was not unbound")
				}
				time.Sleep(10 * time.Millisecond)
			}
			again := dialTLS(t, s, true, "juliet", "balcony", "again")
			sender.send("<message to='juliet@localhost/again' type='chat'><body>still here</body></message>")
			again.expect("still here")
		})
	}
}

// TestTLSHandshakeTimeout: a client that never completes the TLS handshake,
// direct or after STARTTLS, is closed after c2s_open_timeout rather than
// netio's default. Ten seconds bounds the wait; it does not measure it.
func TestTLSHandshakeTimeout(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_open_timeout '1s'\n")
	for _, mode := range tlsModes {
		t.Run(mode.name, func(t *testing.T) {
			if mode.direct {
				r := dialRaw(t, s.Direct)
				r.closed() // no ClientHello
				return
			}
			r := dialRaw(t, s.StartTLS)
			r.send(rawHeader)
			r.expect("</stream:features>")
			r.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
			r.expect("<proceed")
			r.closed()
		})
	}
	// The server still serves TLS afterwards.
	r := dialRaw(t, s.Direct)
	tc := tls.Client(r.c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
}

// TestFullRosterToTLS: a roster as large as the default allows (1,000
// items, about 90 KB, over the 64 KiB output bound) reaches its owner in
// one result over either kind of TLS, where the connection used to be cut
// off after about 600 items.
func TestFullRosterToTLS(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	s.AddUser(t, "romeo", "orchard")
	owner := dialRaw(t, s.StartTLS)
	owner.login("romeo", "orchard", "fill")
	const items = 1000
	var sets strings.Builder
	for i := range items {
		fmt.Fprintf(&sets, "<iq type='set' id='s%d'><query xmlns='jabber:iq:roster'><item jid='contact-%04d@example.net' name='Contact number %04d'><group>Friends</group></item></query></iq>", i, i, i)
	}
	owner.send(sets.String())
	if got, err := owner.readUntil(fmt.Sprintf("id='s%d'", items-1)); err != nil {
		t.Fatalf("filling the roster: %v after %d bytes", err, len(got))
	}
	for _, mode := range tlsModes {
		t.Run(mode.name, func(t *testing.T) {
			r := dialTLS(t, s, mode.direct, "romeo", "orchard", mode.name)
			r.send("<iq type='get' id='full'><query xmlns='jabber:iq:roster'/></iq>")
			got, err := r.readUntil("</iq>")
			if err != nil {
				t.Fatalf("%v after %d bytes", err, len(got))
			}
			if n := strings.Count(got, "<item "); n != items || len(got) < 64<<10 {
				t.Fatalf("%d items in %d bytes, want %d in more than the 64 KiB bound", n, len(got), items)
			}
		})
	}
}
