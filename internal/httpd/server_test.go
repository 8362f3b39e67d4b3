package httpd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"xmppd/internal/logring"
)

// testOpts are limits small enough to reach in a test.
var testOpts = Options{
	MaxBodyBytes:      1 << 10,
	MaxHeaderBytes:    4 << 10,
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       5 * time.Second,
	WriteTimeout:      5 * time.Second,
	IdleTimeout:       30 * time.Second,
	MaxConns:          10,
}

// echo answers with the body it read, or 413 when the body was too large.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	}
	fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(b))
})

// freeAddr returns a loopback port nobody listens on now.
func freeAddr(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newServer(t *testing.T, h http.Handler) *Server {
	t.Helper()
	s := New(h, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLimits: a body over the limit gets 413, announced or chunked, and the
// connection cap answers 503 to the one too many.
func TestLimits(t *testing.T) {
	s := newServer(t, echo)
	port := freeAddr(t)
	opts := testOpts
	opts.MaxConns = 2
	if err := s.Apply(opts, []Listener{{Name: "web", Address: "127.0.0.1", Port: port}}); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, body := get(t, base+"/x"); code != 200 || body != "GET /x 0" {
		t.Fatalf("get: %d %q", code, body)
	}
	resp, err := http.Post(base+"/x", "text/plain", strings.NewReader(strings.Repeat("a", 2000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("announced large body: %d", resp.StatusCode)
	}
	// No Content-Length: the reader is cut at the limit.
	resp, err = http.Post(base+"/x", "text/plain", io.MultiReader(strings.NewReader(strings.Repeat("a", 2000))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked large body: %d", resp.StatusCode)
	}

	// The connections above close on the server's side a little later;
	// until they have, a new one could be refused.
	http.DefaultClient.CloseIdleConnections()
	waitFor(t, func() bool { return s.Active() == 0 })
	// Two idle connections fill the cap; the third reads why it is refused.
	for range 2 {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	waitFor(t, func() bool { return s.Active() == 2 })
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 503") {
		t.Fatalf("over the cap: %q", line)
	}
}

// waitFor polls cond, which the server's goroutines make true soon.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
	}
}

// TestApplyKeepsSockets: new limits keep the socket open (a kept-alive
// connection goes on being served), a removed listener stops, and a port
// in use leaves everything as it was with an error naming the listener.
func TestApplyKeepsSockets(t *testing.T) {
	s := newServer(t, echo)
	p1, p2 := freeAddr(t), freeAddr(t)
	a := Listener{Name: "a", Address: "127.0.0.1", Port: p1}
	b := Listener{Name: "b", Address: "127.0.0.1", Port: p2}
	if err := s.Apply(testOpts, []Listener{a, b}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{}
	url := fmt.Sprintf("http://127.0.0.1:%d/", p1)
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()

	opts := testOpts
	opts.MaxBodyBytes = 10
	if err := s.Apply(opts, []Listener{a}); err != nil {
		t.Fatal(err)
	}
	// The kept-alive connection is closed by the retiring server when
	// idle; the client's GET, which may be retried, goes through anyway.
	resp, err = client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	resp, err = (&http.Client{Transport: &http.Transport{}}).Post(url, "text/plain", strings.NewReader(strings.Repeat("a", 100)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("the new limit did not apply: %d", resp.StatusCode)
	}
	if _, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p2)); err == nil {
		t.Fatal("the removed listener still accepts")
	}

	// A port held by another program.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	c := Listener{Name: "c", Address: "127.0.0.1", Port: busy.Addr().(*net.TCPAddr).Port}
	err = s.Apply(testOpts, []Listener{a, c})
	if err == nil || !strings.Contains(err.Error(), "listener 'c'") || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("port in use: %v", err)
	}
	if code, _ := get(t, url); code != 200 {
		t.Fatalf("the failed change touched the running listener: %d", code)
	}
	if _, ok := s.Addrs()["c"]; ok {
		t.Fatal("the listener that failed is listed")
	}
}

// TestHTTPSNeedsCertificates: an HTTPS listener without certificates is
// refused with what to do.
func TestHTTPSNeedsCertificates(t *testing.T) {
	s := newServer(t, echo)
	err := s.Apply(testOpts, []Listener{{Name: "tls", Address: "127.0.0.1", Port: freeAddr(t), TLS: true}})
	if err == nil || !strings.Contains(err.Error(), "no certificates") {
		t.Fatalf("got %v", err)
	}
}

// TestLongLived: a handler that answers after the write timeout succeeds
// when it lifts the timeouts, and is cut off when it does not.
func TestLongLived(t *testing.T) {
	wait := 300 * time.Millisecond
	s := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/long" {
			if err := LongLived(w, time.Minute); err != nil {
				t.Error(err)
			}
		}
		time.Sleep(wait)
		io.WriteString(w, "late")
	}))
	port := freeAddr(t)
	opts := testOpts
	opts.WriteTimeout = wait / 3
	if err := s.Apply(opts, []Listener{{Name: "web", Address: "127.0.0.1", Port: port}}); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/long", port)); code != 200 || body != "late" {
		t.Fatalf("long-lived: %d %q", code, body)
	}
	if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/short", port)); err == nil {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && string(b) == "late" {
			t.Fatal("the write timeout did not apply")
		}
	}
}

// TestCORS: preflights get the allowed methods, an allowed origin is
// echoed, a page's own origin passes, a stranger gets 403.
func TestCORS(t *testing.T) {
	c := &CORS{Origins: []string{"https://app.example"}}
	s := newServer(t, c.Wrap(echo))
	port := freeAddr(t)
	if err := s.Apply(testOpts, []Listener{{Name: "web", Address: "127.0.0.1", Port: port}}); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/x", port)
	do := func(method, origin string, hdr ...string) *http.Response {
		req, _ := http.NewRequest(method, url, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := do("OPTIONS", "https://app.example", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := do("GET", "https://evil.example"); resp.StatusCode != 403 {
		t.Fatalf("a stranger's origin: %d", resp.StatusCode)
	}
	if resp := do("GET", fmt.Sprintf("http://127.0.0.1:%d", port)); resp.StatusCode != 200 {
		t.Fatalf("same origin: %d", resp.StatusCode)
	}
	if resp := do("GET", ""); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no origin: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestRequestLogNamesNoXMPPHost: the request log gives the HTTP Host
// header under a key of its own, so the admin UI's log view, which files
// records by the XMPP host they name, does not take it for one.
func TestRequestLogNamesNoXMPPHost(t *testing.T) {
	ring := logring.New(16)
	log := slog.New(logring.NewHandler(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}), ring))
	s := New(echo, log, nil)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	port := freeAddr(t)
	if err := s.Apply(testOpts, []Listener{{Name: "web", Address: "127.0.0.1", Port: port}}); err != nil {
		t.Fatal(err)
	}
	get(t, fmt.Sprintf("http://127.0.0.1:%d/x", port))
	for _, r := range ring.Records(slog.LevelDebug, "") {
		if r.Msg == "request" {
			if r.Host != "" || !strings.Contains(r.Attrs, "http_host=127.0.0.1:") {
				t.Fatalf("request record: host %q, attrs %q", r.Host, r.Attrs)
			}
			return
		}
	}
	t.Fatal("no request record")
}
