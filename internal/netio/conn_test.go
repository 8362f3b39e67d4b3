package netio

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

// lineEcho answers every complete line with the line upper-cased by one
// prefix, keeping partial lines in the window as a stanza reader would.
type lineEcho struct {
	closed chan error
	tlsCfg *tls.Config
	// last, when set, is what Farewell returns; said gets its argument.
	last string
	said chan error
}

func (h *lineEcho) Data(c *Conn, w []byte) (int, error) {
	used := 0
	for {
		i := bytes.IndexByte(w[used:], '\n')
		if i < 0 {
			return used, nil
		}
		line := w[used : used+i+1]
		used += i + 1
		if string(line) == "starttls\n" {
			c.Write([]byte("proceed\n"))
			c.StartTLS(h.tlsCfg, func(error) {})
			return used, nil
		}
		switch string(line) {
		case "flood\n":
			// Another goroutine writes, as a router does for other senders.
			go func() {
				fill := append(bytes.Repeat([]byte("f"), 999), '\n')
				for c.Queue(fill) == nil {
					c.Flush()
				}
			}()
			continue
		case "pause\n":
			c.Pause(time.Millisecond)
			continue
		}
		if n, ok := burstLine(line); ok {
			for g := range 4 {
				go func() {
					for i := range n {
						if c.Queue(fmt.Appendf(nil, "g%d %d %s\n", g, i, bytes.Repeat([]byte("b"), 100))) != nil {
							return
						}
						c.Flush()
					}
				}()
			}
			continue
		}
		if n, ok := bigLine(line); ok {
			c.Queue(append(bytes.Repeat([]byte("z"), n), '\n'))
			continue
		}
		if string(line) == "quit\n" {
			c.Write([]byte("bye\n"))
			c.CloseAfterFlush()
			return used, nil
		}
		c.Queue(append([]byte("> "), line...))
	}
}

// bigLine recognises "big N", which asks for a line of N bytes.
func bigLine(line []byte) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(string(line), "big %d\n", &n); err != nil {
		return 0, false
	}
	return n, true
}

// burstLine recognises "burst N", which asks four goroutines to write N
// lines each at once.
func burstLine(line []byte) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(string(line), "burst %d\n", &n); err != nil {
		return 0, false
	}
	return n, true
}

func (h *lineEcho) Farewell(err error) []byte {
	if h.last == "" {
		return nil
	}
	h.said <- err
	return []byte(h.last)
}

func (h *lineEcho) Closed(c *Conn, err error) { h.closed <- err }

func testCert(t testing.TB) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

type server struct {
	ln *net.TCPListener
	p  *Poller
	h  *lineEcho
}

func start(t testing.TB, cfg Config, direct bool) *server {
	t.Helper()
	return startWith(t, cfg, direct, "")
}

// startWith starts a server whose handler says last when netio cuts a
// connection off for a limit.
func startWith(t testing.TB, cfg Config, direct bool, last string) *server {
	t.Helper()
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	go p.Run()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	h := &lineEcho{closed: make(chan error, 16), tlsCfg: &tls.Config{Certificates: []tls.Certificate{testCert(t)}},
		last: last, said: make(chan error, 16)}
	go func() {
		for {
			nc, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			var tc *tls.Config
			if direct {
				tc = h.tlsCfg
			}
			go p.Attach(nc, h, cfg, tc)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.Close() })
	return &server{ln, p, h}
}

var defaultCfg = Config{MaxWindow: 64 << 10, MaxQueue: 64 << 10}

func TestEchoSplitLines(t *testing.T) {
	s := start(t, defaultCfg, false)
	c, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	// A line cut across writes stays in the window until it completes.
	c.Write([]byte("hel"))
	time.Sleep(20 * time.Millisecond)
	c.Write([]byte("lo\nwor"))
	c.Write([]byte("ld\n"))
	for _, want := range []string{"> hello\n", "> world\n"} {
		got, err := r.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("got %q %v, want %q", got, err, want)
		}
	}
	c.Write([]byte("quit\n"))
	if got, _ := r.ReadString('\n'); got != "bye\n" {
		t.Fatalf("got %q", got)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after close: %v", err)
	}
}

func TestLongLineGrowsWindow(t *testing.T) {
	s := start(t, defaultCfg, false)
	c, _ := net.Dial("tcp", s.ln.Addr().String())
	defer c.Close()
	line := bytes.Repeat([]byte("x"), 20000)
	go c.Write(append(line, '\n'))
	got, err := bufio.NewReaderSize(c, 32<<10).ReadString('\n')
	if err != nil || len(got) != 20003 {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
}

func TestWindowLimit(t *testing.T) {
	s := start(t, Config{MaxWindow: 8192, MaxQueue: 64 << 10}, false)
	c, _ := net.Dial("tcp", s.ln.Addr().String())
	defer c.Close()
	c.Write(bytes.Repeat([]byte("x"), 20000))
	select {
	case err := <-s.h.closed:
		if !errors.Is(err, ErrWindowFull) {
			t.Fatalf("closed with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not closed")
	}
}

func TestStartTLSAndDirectTLS(t *testing.T) {
	for _, direct := range []bool{false, true} {
		s := start(t, defaultCfg, direct)
		nc, err := net.Dial("tcp", s.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		var c net.Conn = nc
		if !direct {
			nc.Write([]byte("starttls\n"))
			r := bufio.NewReader(nc)
			if got, _ := r.ReadString('\n'); got != "proceed\n" {
				t.Fatalf("got %q", got)
			}
		}
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		tc.Write([]byte("secret\n"))
		got, err := bufio.NewReader(tc).ReadString('\n')
		if err != nil || got != "> secret\n" {
			t.Fatalf("direct=%v: got %q %v", direct, got, err)
		}
		tc.Close()
	}
}

// TestSlowConsumer: a peer that never reads is cut off once its queue is
// full, and the server's memory for it stays within the bound.
func TestSlowConsumer(t *testing.T) {
	s := start(t, Config{MaxWindow: 64 << 10, MaxQueue: 32 << 10}, false)
	nc, _ := net.Dial("tcp", s.ln.Addr().String())
	defer nc.Close()
	nc.(*net.TCPConn).SetReadBuffer(4096)
	line := append(bytes.Repeat([]byte("y"), 1000), '\n')
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-s.h.closed:
			if !errors.Is(err, ErrSlowConsumer) {
				t.Fatalf("closed with %v", err)
			}
			return
		case <-deadline:
			t.Fatal("slow consumer never cut off")
		default:
		}
		nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		nc.Write(line)
	}
}

// heldConn keeps what is written while hold is set and sends it in one
// write on release, so that many TLS records reach the server together.
type heldConn struct {
	net.Conn
	hold bool
	buf  []byte
}

func (h *heldConn) Write(p []byte) (int, error) {
	if h.hold {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

func (h *heldConn) release() error {
	h.hold = false
	_, err := h.Conn.Write(h.buf)
	return err
}

// TestTLSRecordsBeyondBudget: more TLS records than one serving reads
// arrive at once. crypto/tls takes them from the socket together, so no
// readiness event will announce the ones left over; they must be served
// all the same.
func TestTLSRecordsBeyondBudget(t *testing.T) {
	s := start(t, defaultCfg, true)
	nc, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hc := &heldConn{Conn: nc}
	tc := tls.Client(hc, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	const lines = 4 * readBudget
	hc.hold = true
	for i := range lines {
		fmt.Fprintf(tc, "line %d\n", i) // one record each
	}
	if err := hc.release(); err != nil {
		t.Fatal(err)
	}
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(tc)
	for i := range lines {
		got, err := r.ReadString('\n')
		if want := fmt.Sprintf("> line %d\n", i); err != nil || got != want {
			t.Fatalf("answer %d of %d: %q, %v", i, lines, got, err)
		}
	}
}

// dialMode connects to s as a client of the given mode: "plain",
// "starttls" or "direct" (s must have been started for direct TLS). It
// returns the connection to use and the TCP connection under it.
func dialMode(t testing.TB, s *server, mode string) (net.Conn, *net.TCPConn) {
	t.Helper()
	nc, err := net.DialTCP("tcp", nil, s.ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	switch mode {
	case "plain":
		return nc, nc
	case "starttls":
		nc.Write([]byte("starttls\n"))
		// One byte at a time: nothing after the answer may be consumed
		// before the handshake.
		var got []byte
		b := make([]byte, 1)
		for !bytes.HasSuffix(got, []byte("\n")) {
			if _, err := nc.Read(b); err != nil {
				t.Fatal(err)
			}
			got = append(got, b[0])
		}
		if string(got) != "proceed\n" {
			t.Fatalf("got %q", got)
		}
	}
	tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc, nc
}

// TestWriteLargerThanQueue: one write larger than the output bound reaches
// a peer that reads, whether it goes out in the clear or as the many
// records TLS makes of it.
func TestWriteLargerThanQueue(t *testing.T) {
	const bound = 16 << 10
	for _, mode := range []string{"plain", "starttls", "direct"} {
		t.Run(mode, func(t *testing.T) {
			s := start(t, Config{MaxWindow: 64 << 10, MaxQueue: bound}, mode == "direct")
			c, _ := dialMode(t, s, mode)
			r := bufio.NewReaderSize(c, 1<<20)
			for _, n := range []int{bound + 1, 70000, 200000} {
				fmt.Fprintf(c, "big %d\n", n)
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				got, err := r.ReadString('\n')
				if err != nil || len(got) != n+1 {
					t.Fatalf("%d bytes: got %d, %v", n, len(got), err)
				}
			}
		})
	}
}

var modes = []string{"plain", "starttls", "direct"}

// TestFarewell: a peer cut off for reading too slowly gets the handler's
// last words after whole lines, in the clear or over TLS, when it reads
// at last; the handler hears ErrSlowConsumer once.
func TestFarewell(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := startWith(t, Config{MaxWindow: 64 << 10, MaxQueue: 16 << 10}, mode == "direct", "farewell\n")
			c, tcp := dialMode(t, s, mode)
			tcp.SetReadBuffer(4096)
			c.Write([]byte("flood\n"))
			select {
			case err := <-s.h.said:
				if !errors.Is(err, ErrSlowConsumer) {
					t.Fatalf("farewell for %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("never cut off")
			}
			// A window this small moves a few kilobytes a second over
			// loopback: the peer catches up with a normal one.
			tcp.SetReadBuffer(4 << 20)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("after %d bytes: %v", len(got), err)
			}
			fill := append(bytes.Repeat([]byte("f"), 999), '\n')
			body, ok := bytes.CutSuffix(got, []byte("farewell\n"))
			if !ok || !bytes.Equal(body, bytes.Repeat(fill, len(body)/len(fill))) {
				t.Fatalf("%d bytes ending in %q", len(got), got[max(0, len(got)-30):])
			}
			if err := <-s.h.closed; !errors.Is(err, ErrSlowConsumer) {
				t.Fatalf("closed with %v", err)
			}
		})
	}
}

// TestFarewellUnread: a peer that reads nothing at all does not keep its
// connection open for the farewell: it closes within a bound.
func TestFarewellUnread(t *testing.T) {
	for _, mode := range []string{"plain", "direct"} {
		t.Run(mode, func(t *testing.T) {
			s := startWith(t, Config{MaxWindow: 64 << 10, MaxQueue: 16 << 10}, mode == "direct", "farewell\n")
			c, tcp := dialMode(t, s, mode)
			tcp.SetReadBuffer(4096)
			c.Write([]byte("flood\n"))
			select {
			case err := <-s.h.closed:
				if !errors.Is(err, ErrSlowConsumer) {
					t.Fatalf("closed with %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("not closed")
			}
		})
	}
}

// TestFarewellWindowFull: input that outgrows the window gets the last
// words too.
func TestFarewellWindowFull(t *testing.T) {
	s := startWith(t, Config{MaxWindow: 8192, MaxQueue: 64 << 10}, false, "farewell\n")
	c, _ := dialMode(t, s, "plain")
	// Exactly the window: the server reads it all, so its close does not
	// reset the connection under the answer.
	c.Write(bytes.Repeat([]byte("x"), 8192))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "farewell\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	if err := <-s.h.closed; !errors.Is(err, ErrWindowFull) {
		t.Fatalf("closed with %v", err)
	}
}

// TestConcurrentQueue: several goroutines queue for one connection at once;
// every line arrives whole, in the clear and over TLS.
func TestConcurrentQueue(t *testing.T) {
	const n = 300
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			s := start(t, Config{MaxWindow: 64 << 10, MaxQueue: 4 << 20}, mode == "direct")
			c, _ := dialMode(t, s, mode)
			fmt.Fprintf(c, "burst %d\n", n)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			next := [4]int{}
			for range 4 * n {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				var g, i int
				var rest string
				if _, err := fmt.Sscanf(line, "g%d %d %s\n", &g, &i, &rest); err != nil || g < 0 || g > 3 || i != next[g] || len(rest) != 100 {
					t.Fatalf("line %q after %v", line, next)
				}
				next[g]++
			}
		})
	}
}

// TestHandshakeTimeout: a client that does not complete a TLS handshake,
// direct or after STARTTLS, is closed after Config.HandshakeTimeout. Ten
// seconds bounds the wait, well under the default.
func TestHandshakeTimeout(t *testing.T) {
	for _, mode := range []string{"starttls", "direct"} {
		t.Run(mode, func(t *testing.T) {
			s := start(t, Config{MaxWindow: 64 << 10, MaxQueue: 64 << 10, HandshakeTimeout: 200 * time.Millisecond}, mode == "direct")
			c, err := net.Dial("tcp", s.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			if mode == "starttls" {
				c.Write([]byte("starttls\n"))
				if got, _ := r.ReadString('\n'); got != "proceed\n" {
					t.Fatalf("got %q", got)
				}
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = r.ReadByte()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("not closed")
			}
		})
	}
}

// TestPause: reading stops and resumes around Pause, which a rate limit
// calls while other goroutines serve the connection.
func TestPause(t *testing.T) {
	for _, mode := range []string{"plain", "direct"} {
		t.Run(mode, func(t *testing.T) {
			s := start(t, defaultCfg, mode == "direct")
			c, _ := dialMode(t, s, mode)
			r := bufio.NewReader(c)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			for i := range 50 {
				fmt.Fprintf(c, "pause\nline %d\n", i)
				got, err := r.ReadString('\n')
				if want := fmt.Sprintf("> line %d\n", i); err != nil || got != want {
					t.Fatalf("got %q %v, want %q", got, err, want)
				}
			}
		})
	}
}

// BenchmarkQueue measures queueing and flushing one stanza-sized write to
// a peer that reads, in the clear and over TLS.
func BenchmarkQueue(b *testing.B) {
	for _, direct := range []bool{false, true} {
		name := "plain"
		if direct {
			name = "tls"
		}
		b.Run(name, func(b *testing.B) {
			p, err := NewPoller()
			if err != nil {
				b.Fatal(err)
			}
			go p.Run()
			defer p.Close()
			ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			tlsCfg := &tls.Config{Certificates: []tls.Certificate{testCert(b)}}
			attached := make(chan *Conn, 1)
			go func() {
				nc, err := ln.AcceptTCP()
				if err != nil {
					close(attached)
					return
				}
				var tc *tls.Config
				if direct {
					tc = tlsCfg
				}
				c, _ := p.Attach(nc, &lineEcho{closed: make(chan error, 1)}, Config{MaxWindow: 64 << 10, MaxQueue: 16 << 20}, tc)
				attached <- c
			}()
			var peer net.Conn
			peer, err = net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer peer.Close()
			if direct {
				peer = tls.Client(peer, &tls.Config{InsecureSkipVerify: true})
			}
			go io.Copy(io.Discard, peer)
			c := <-attached
			if c == nil {
				b.Fatal("not attached")
			}
			defer c.Close()
			msg := []byte("<message to='juliet@localhost/b' from='romeo@localhost/a' type='chat' id='m1'><body>Hello, how are you today?</body></message>")
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := c.Queue(msg); err != nil {
					b.Fatal(err)
				}
				c.Flush()
			}
		})
	}
}
