package websocket_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"
)

// benchConf lifts the per-address and per-account limits: every session
// of a benchmark is one account's, from 127.0.0.1.
const benchConf = plainOK + "\toption c2s_max_per_ip '0'\n\toption max_resources '0'\n\toption c2s_max_unauth '0'\n"

// memStats returns the heap in use and the goroutine stacks, after a
// collection.
func memStats() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse
}

// thinClient is a WebSocket client written for the memory benchmark: a
// socket and nothing else once logged in, so that what is measured is the
// server's part (a library client would add its own buffers).
type thinClient struct {
	b  testing.TB
	nc net.Conn
	br *bufio.Reader
}

// dialThin opens a WebSocket with the xmpp subprotocol at addr.
func dialThin(b testing.TB, addr string) *thinClient {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	io.WriteString(nc, handshake(addr))
	c := &thinClient{b: b, nc: nc, br: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("handshake: %v %v", resp, err)
	}
	return c
}

// send writes one masked text frame; the mask is zero, which leaves the
// payload as it is.
func (c *thinClient) send(s string) {
	if _, err := c.nc.Write(textFrame(s)); err != nil {
		c.b.Fatal(err)
	}
}

// textFrame is a client's text message of s (under 64 KiB).
func textFrame(s string) []byte {
	hdr := []byte{0x81, 0x80 | 126, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(hdr[2:], uint16(len(s)))
	return append(hdr, s...)
}

// handshake is the opening handshake of a WebSocket with the xmpp
// subprotocol.
func handshake(addr string) string {
	return fmt.Sprintf("GET /xmpp-websocket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
		addr, base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")))
}

// until reads frames until a text message holding want.
func (c *thinClient) until(want string) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			c.b.Fatalf("waiting for %q: %v", want, err)
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var x [2]byte
			io.ReadFull(c.br, x[:])
			n = uint64(binary.BigEndian.Uint16(x[:]))
		case 127:
			var x [8]byte
			io.ReadFull(c.br, x[:])
			n = binary.BigEndian.Uint64(x[:])
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(c.br, p); err != nil {
			c.b.Fatal(err)
		}
		if h[0]&0x0f == 0x1 && strings.Contains(string(p), want) {
			return
		}
	}
}

// login authenticates with PLAIN and binds resource; then only the
// socket is kept.
func (c *thinClient) login(user, pass, resource string) {
	open := "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>"
	c.send(open)
	c.until("</stream:features>")
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>")
	c.until("<success")
	c.send(open)
	c.until("</stream:features>")
	c.send("<iq type='set' id='b' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	c.until("<jid>")
	c.br = nil
}

// idleSessions is how many sessions BenchmarkIdleSession opens per
// iteration.
const idleSessions = 200

// BenchmarkIdleSession reports the memory of one bound WebSocket session
// with nothing to do: its connection (the hijacked HTTP connection and
// the WebSocket's state), the goroutine that waits for its next message,
// its stream machine and its core session. The client's part is a bare
// socket. Each iteration opens 200 sessions; run it with -benchtime=1x.
func BenchmarkIdleSession(b *testing.B) {
	srv, url := start(b, benchConf)
	srv.AddUser(b, "bench", "pw-bench")
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/xmpp-websocket")
	dialThin(b, addr).login("bench", "pw-bench", "warm") // pools and lazily made tables
	var cs []*thinClient
	heap0, stack0 := memStats()
	goroutines := runtime.NumGoroutine()
	b.ResetTimer()
	for i := range b.N {
		for j := range idleSessions {
			c := dialThin(b, addr)
			c.login("bench", "pw-bench", "r"+strconv.Itoa(i)+"-"+strconv.Itoa(j))
			cs = append(cs, c)
		}
	}
	b.StopTimer()
	heap1, stack1 := memStats()
	n := float64(len(cs))
	b.ReportMetric(float64(int64(heap1)-int64(heap0))/n, "heap-B/session")
	b.ReportMetric(float64(int64(stack1)-int64(stack0))/n, "stack-B/session")
	b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/n, "goroutines/session")
	for _, c := range cs {
		c.nc.Close()
	}
}

// BenchmarkMessages sends messages from a WebSocket session to itself as
// fast as the client can write them, while it reads them back: one
// message in, routed, one message out per operation.
func BenchmarkMessages(b *testing.B) {
	srv, url := start(b, benchConf)
	srv.AddUser(b, "bench", "pw-bench")
	c := dialRaw(b, url)
	c.login("bench", "pw-bench", "echo")
	msg := []byte("<message to='" + c.jid + "' type='chat' xmlns='jabber:client'><body>through the WebSocket</body></message>")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	errc := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for range b.N {
			if err := c.c.Write(ctx, ws.MessageText, msg); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < b.N; {
		_, p, err := c.c.Read(ctx)
		if err != nil {
			b.Fatalf("after %d messages: %v", i, err)
		}
		if strings.Contains(string(p), "through the WebSocket") {
			i++
		}
	}
	b.StopTimer()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
