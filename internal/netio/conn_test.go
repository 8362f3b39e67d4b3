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
		if string(line) == "quit\n" {
			c.Write([]byte("bye\n"))
			c.CloseAfterFlush()
			return used, nil
		}
		c.Queue(append([]byte("> "), line...))
	}
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

func start(t *testing.T, cfg Config, direct bool) *server {
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
	h := &lineEcho{closed: make(chan error, 16), tlsCfg: &tls.Config{Certificates: []tls.Certificate{testCert(t)}}}
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
