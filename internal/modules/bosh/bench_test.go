package bosh_test

import (
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchConf lifts the per-address and per-account limits: every session
// of a benchmark is one account's, from 127.0.0.1.
const benchConf = plainOK + "\toption c2s_max_per_ip '0'\n\toption max_resources '0'\n"

// memory returns the bytes the process holds in heap objects and
// goroutine stacks, after a collection.
func memory() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// loginMany logs in n bound BOSH sessions of one account.
func loginMany(b *testing.B, url string, n int) []*client {
	out := make([]*client, n)
	for i := range out {
		c := newClient(b, url)
		c.login("bench", "pw-bench", "r"+strconv.Itoa(i), "60", "1")
		out[i] = c
	}
	return out
}

// BenchmarkIdleSession reports the memory of one bound BOSH session that
// has no request open (between two requests of its client): the session,
// its stream machine and its core session. Run it with -benchtime=1000x;
// b.N is the number of sessions.
func BenchmarkIdleSession(b *testing.B) {
	srv, url := start(b, benchConf)
	srv.AddUser(b, "bench", "pw-bench")
	loginMany(b, url, 1) // warm up pools and lazily made tables
	before := memory()
	b.ResetTimer()
	cs := loginMany(b, url, b.N)
	b.StopTimer()
	after := memory()
	b.ReportMetric(float64(after-before)/float64(b.N), "B/session")
	runtime.KeepAlive(cs)
}

// BenchmarkHeldSession is BenchmarkIdleSession with a long poll held for
// each session, as a real client keeps one: it adds the HTTP connection
// and the goroutine net/http serves it with (the client's end here is a
// bare socket, counted too).
func BenchmarkHeldSession(b *testing.B) {
	srv, u := start(b, benchConf)
	srv.AddUser(b, "bench", "pw-bench")
	loginMany(b, u, 1)
	cs := loginMany(b, u, b.N)
	addr := mustHost(b, u)
	goroutines := runtime.NumGoroutine()
	before := memory()
	b.ResetTimer()
	conns := make([]net.Conn, len(cs))
	for i, c := range cs {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		body := c.body("", "")
		fmt.Fprintf(nc, "POST /http-bind HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		conns[i] = nc
	}
	// Every request is held once the server runs a goroutine for each.
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() < goroutines+b.N {
		if time.Now().After(deadline) {
			b.Fatalf("%d goroutines, want %d", runtime.NumGoroutine(), goroutines+b.N)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	after := memory()
	b.ReportMetric(float64(after-before)/float64(b.N), "B/held-request")
	for _, nc := range conns {
		nc.Close()
	}
}

func mustHost(b *testing.B, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	return u.Host
}

// BenchmarkRoundTrip sends a message from a polling BOSH session to its
// own JID: one request carries it in, the router delivers it back to the
// session, and the request's response carries it out.
func BenchmarkRoundTrip(b *testing.B) {
	srv, url := start(b, benchConf)
	srv.AddUser(b, "bench", "pw-bench")
	c := newClient(b, url)
	c.login("bench", "pw-bench", "echo", "60", "0")
	msg := "<message to='" + c.jid + "' type='chat' xmlns='jabber:client'><body>round trip</body></message>"
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r := c.send(msg)
		if !strings.Contains(r.raw, "round trip") {
			b.Fatalf("no echo: %s", r.raw)
		}
	}
}
