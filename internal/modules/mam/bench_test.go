package mam_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

// rawClient is a client over plain TCP that writes and reads bytes, for
// benchmarks where a client library would cost more than the server.
type rawClient struct {
	t   testing.TB
	c   net.Conn
	got bytes.Buffer
}

func dialRaw(t testing.TB, addr, user, resource string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &rawClient{t: t, c: c}
	const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`
	r.send(header)
	r.expect("</stream:features>")
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00pw")) + "</auth>")
	r.expect("<success")
	r.got.Reset()
	r.send(header)
	r.expect("</stream:features>")
	r.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	r.expect("</iq>")
	r.got.Reset()
	return r
}

func (r *rawClient) send(s string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rawClient) expect(want string) {
	r.t.Helper()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.got.String(), want) {
		r.c.SetReadDeadline(deadline)
		n, err := r.c.Read(buf)
		r.got.Write(buf[:n])
		if err != nil {
			r.t.Fatalf("waiting for %q: %v; got %q", want, err, r.got.String())
		}
	}
	r.c.SetReadDeadline(time.Time{})
}

// benchChat sends b.N chat messages from romeo to juliet's resource over
// loopback TCP and waits until all have arrived: the server's whole path,
// archiving included when mam is loaded.
func benchChat(b *testing.B, s *xmpptest.Server) {
	from := dialRaw(b, s.StartTLS, "romeo", "a")
	to := dialRaw(b, s.StartTLS, "juliet", "b")
	const batch = 64
	var msgs []byte
	for i := range batch {
		msgs = fmt.Appendf(msgs, "<message to='juliet@localhost/b' type='chat' id='m%d'><body>Hello, how are you today?</body></message>", i)
	}
	end := []byte("</message>")
	done := make(chan int)
	go func() {
		buf := make([]byte, 64<<10)
		got, carry := 0, 0
		for got < b.N {
			n, err := to.c.Read(buf[carry:])
			if err != nil {
				break
			}
			window := buf[:carry+n]
			got += bytes.Count(window, end)
			carry = min(len(end)-1, len(window))
			copy(buf, window[len(window)-carry:])
		}
		done <- got
	}()
	b.SetBytes(int64(len(msgs) / batch))
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += batch {
		n := min(batch, b.N-sent)
		from.c.Write(msgs[:n*len(msgs)/batch])
	}
	if got := <-done; got < b.N {
		b.Fatalf("%d of %d messages arrived", got, b.N)
	}
}

func benchServer(b *testing.B, module string) *xmpptest.Server {
	s := xmpptest.Start(b, "\toption c2s_plain_on_loopback '1'\n\toption c2s_queue_size '16M'\n"+module)
	s.AddUser(b, "romeo", "pw")
	s.AddUser(b, "juliet", "pw")
	return s
}

// BenchmarkChatRouted is routing alone: mam unloaded from the host.
func BenchmarkChatRouted(b *testing.B) {
	s := benchServer(b, "")
	uci := strings.Replace(s.UCI, "\toption domain 'localhost'\n", "\toption domain 'localhost'\n\tlist modules_disabled 'mam'\n", 1)
	if _, err := s.Reload(b, uci); err != nil {
		b.Fatal(err)
	}
	benchChat(b, s)
}

// BenchmarkChatArchivedSynced archives both copies of each message with
// durable '1': two commits, each synced before the message goes on.
func BenchmarkChatArchivedSynced(b *testing.B) {
	benchChat(b, benchServer(b, "config module 'mam'\n\toption durable '1'\n"))
}

// BenchmarkChatArchived archives as configured by default: two commits to
// the store's log, not synced.
func BenchmarkChatArchived(b *testing.B) { benchChat(b, benchServer(b, "")) }
