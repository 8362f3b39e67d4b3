package httpd

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connCount caps the open connections of every listener together. A
// hijacked connection (WebSocket) counts until its handler closes it.
type connCount struct {
	active atomic.Int64
	max    atomic.Int64 // 0: no limit
	warned atomic.Int64 // unix seconds of the last warning about the cap
}

func (c *connCount) take() bool {
	n := c.active.Add(1)
	if m := c.max.Load(); m > 0 && n > m {
		c.active.Add(-1)
		return false
	}
	return true
}

func (c *connCount) release() { c.active.Add(-1) }

// Active returns the open connections on all listeners.
func (s *Server) Active() int { return int(s.conns.active.Load()) }

// conn is an accepted connection; closing it frees its place under the cap.
type conn struct {
	net.Conn
	count *connCount
	once  sync.Once
}

func (c *conn) Close() error {
	c.once.Do(c.count.release)
	return c.Conn.Close()
}

// CloseWrite lets net/http half-close before it closes, as it does with a
// bare TCP connection, so a client that sent too much still reads why.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// socket is one listening socket. One goroutine accepts on it and hands
// each connection to the front of the current http.Server, so a reload
// can replace that server without closing the socket.
type socket struct {
	l     Listener
	ln    net.Listener
	tls   *tls.Config // nil for plain HTTP
	count *connCount
	log   *slog.Logger

	cur atomic.Pointer[front]
	hs  *http.Server // serving cur; guarded by Server.mu
}

// serve makes hs the socket's server; the one it replaces stops accepting
// and has grace to finish its requests.
func (sock *socket) serve(hs *http.Server, grace time.Duration) {
	f := &front{addr: sock.ln.Addr(), conns: make(chan net.Conn), done: make(chan struct{})}
	var ln net.Listener = f
	if hs.TLSConfig != nil {
		ln = tls.NewListener(f, hs.TLSConfig)
	}
	old := sock.hs
	sock.hs = hs
	sock.cur.Store(f)
	go hs.Serve(ln)
	if old != nil {
		retire(old, grace)
	}
}

// close closes the socket; its server has grace to finish its requests.
func (sock *socket) close(grace time.Duration) {
	sock.ln.Close()
	sock.cur.Store(nil)
	retire(sock.hs, grace)
}

// shutdown closes the socket and waits for its requests until ctx is done.
func (sock *socket) shutdown(ctx context.Context) {
	sock.ln.Close()
	sock.cur.Store(nil)
	if sock.hs.Shutdown(ctx) != nil {
		sock.hs.Close()
	}
}

// retire stops hs from accepting and closes it once its requests are
// done, or after grace at the latest.
func retire(hs *http.Server, grace time.Duration) {
	if grace <= 0 {
		hs.Close()
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
	}()
}

func (sock *socket) accept() {
	var delay time.Duration
	for {
		nc, err := sock.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or similar: back off rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !sock.count.take() {
			sock.refuse(nc)
			continue
		}
		sock.hand(&conn{Conn: nc, count: sock.count})
	}
}

// hand gives c to the current server, or closes it when there is none.
func (sock *socket) hand(c net.Conn) {
	for {
		f := sock.cur.Load()
		if f == nil {
			c.Close()
			return
		}
		select {
		case f.conns <- c:
			return
		case <-f.done:
			// Replaced meanwhile: the next round finds the new front.
			if sock.cur.Load() == f {
				c.Close()
				return
			}
		}
	}
}

// busy is what a client over the connection cap reads on a plain listener.
const busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 28\r\n\r\ntoo many connections, retry\n"

// refuse closes a connection over the cap, telling a plain HTTP client
// why; a TLS client would not understand a response before its handshake.
func (sock *socket) refuse(nc net.Conn) {
	if !sock.l.TLS {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		nc.Write([]byte(busy))
	}
	nc.Close()
	now := time.Now().Unix()
	if last := sock.count.warned.Load(); now-last >= 60 && sock.count.warned.CompareAndSwap(last, now) {
		sock.log.Warn("connection refused: the web server is at its connection limit (http option max_connections)",
			"listener", sock.l.Name, "limit", sock.count.max.Load(), "remote", nc.RemoteAddr().String())
	}
}

// front is the listener an http.Server accepts from: the connections its
// socket hands it, until the server closes it.
type front struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (f *front) Accept() (net.Conn, error) {
	select {
	case c := <-f.conns:
		return c, nil
	case <-f.done:
		return nil, net.ErrClosed
	}
}

func (f *front) Close() error {
	f.once.Do(func() { close(f.done) })
	return nil
}

func (f *front) Addr() net.Addr { return f.addr }

var _ net.Listener = (*front)(nil)
