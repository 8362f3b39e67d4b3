// Package httpd is xmppd's web server: one handler (the core's route
// table) served on any number of HTTP and HTTPS listeners, with request
// size limits, timeouts, a connection cap and an access log. Listeners and
// limits change in place: a socket that stays is handed from the old
// server to the new one without refusing a connection, and requests in
// flight finish on the server that accepted them.
//
// Only HTTP/1.1 is spoken: WebSocket upgrades need it, BOSH gains nothing
// from HTTP/2, and a router saves the memory.
package httpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"xmppd/internal/sdlisten"
)

// Options bound what one connection and one request may take.
type Options struct {
	MaxBodyBytes      int64         // larger request bodies get 413
	MaxHeaderBytes    int           // request line and headers
	ReadHeaderTimeout time.Duration // from connection or previous request to the end of the headers
	ReadTimeout       time.Duration // the whole request, body included; 0 for none
	WriteTimeout      time.Duration // from the end of the headers to the end of the response; 0 for none
	IdleTimeout       time.Duration // a kept-alive connection waiting for its next request
	MaxConns          int           // open connections on all listeners together
}

// Listener is one socket to serve on.
type Listener struct {
	Name    string // the configuration's name for it, for messages
	Address string // "" for all addresses
	Port    int
	TLS     bool
}

// addr is where l listens, as net.Listen takes it.
func (l Listener) addr() string { return net.JoinHostPort(l.Address, strconv.Itoa(l.Port)) }

func (l Listener) String() string {
	kind := "http"
	if l.TLS {
		kind = "https"
	}
	where := l.Address
	if where == "" {
		where = "all addresses"
	}
	if l.Name != "" {
		return fmt.Sprintf("%s listener '%s' (port %d on %s)", kind, l.Name, l.Port, where)
	}
	return fmt.Sprintf("%s listener on port %d on %s", kind, l.Port, where)
}

// key is what makes two listeners the same socket.
type key struct {
	address string
	port    int
	tls     bool
}

func (l Listener) key() key { return key{l.Address, l.Port, l.TLS} }

// Server serves one handler on a set of listeners.
type Server struct {
	handler http.Handler
	log     *slog.Logger
	tls     func() *tls.Config // nil: no HTTPS listener can open
	conns   connCount

	mu      sync.Mutex
	opts    Options
	sockets map[key]*socket
	stopped bool
}

// New returns a server of h that logs to log; tlsConfig gives the
// certificates of HTTPS listeners (nil when there are none).
func New(h http.Handler, log *slog.Logger, tlsConfig func() *tls.Config) *Server {
	return &Server{handler: h, log: log, tls: tlsConfig, sockets: map[key]*socket{}}
}

// Apply makes the server listen on want with opts. New sockets open before
// old ones close, so that a mistake in the new configuration leaves the
// server as it was: the error names the listener that could not open. Only
// a listener that needs the port of one that goes (192.168.1.1:5280
// becoming all addresses on 5280) closes that one first. When opts change,
// every socket that stays is handed to a server with the new options; the
// requests in flight finish on the old one.
func (s *Server) Apply(opts Options, want []Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("the web server is stopped")
	}
	if len(s.sockets) == 0 {
		// The cap applies from the first connection of the first socket.
		s.conns.max.Store(int64(opts.MaxConns))
	}
	keep := map[key]Listener{}
	var order []Listener
	for _, l := range want {
		if _, dup := keep[l.key()]; !dup {
			keep[l.key()] = l
			order = append(order, l)
		}
	}
	var opened []key
	var freed []*socket
	undo := func() {
		for _, k := range opened {
			s.sockets[k].close(0)
			delete(s.sockets, k)
		}
		for _, old := range freed {
			if err := s.open(old.l, s.opts); err != nil {
				s.log.Error("could not listen again where the old configuration did", "err", err)
			}
		}
	}
	for _, l := range order {
		if s.sockets[l.key()] != nil {
			continue
		}
		err := s.open(l, opts)
		if errors.Is(err, syscall.EADDRINUSE) {
			n := len(freed)
			for k, old := range s.sockets {
				if _, stays := keep[k]; !stays && old.l.Port == l.Port {
					old.close(0)
					delete(s.sockets, k)
					freed = append(freed, old)
				}
			}
			if len(freed) > n {
				err = s.open(l, opts)
			}
		}
		if err != nil {
			undo()
			return err
		}
		opened = append(opened, l.key())
	}
	changed := opts != s.opts
	s.opts = opts
	s.conns.max.Store(int64(opts.MaxConns))
	for k, sock := range s.sockets {
		if _, stays := keep[k]; !stays {
			sock.close(reloadGrace)
			delete(s.sockets, k)
			s.log.Info("stopped listening", "listener", sock.l.Name, "addr", sock.ln.Addr().String())
			continue
		}
		sock.l = keep[k] // the name may have changed
		if changed && !containsKey(opened, k) {
			sock.serve(s.newHTTP(opts, sock.tls), reloadGrace)
		}
	}
	return nil
}

func containsKey(list []key, k key) bool {
	for _, x := range list {
		if x == k {
			return true
		}
	}
	return false
}

// reloadGrace is how long requests in flight (a BOSH long poll) may go on
// on a server that a reload replaced or whose socket it closed.
const reloadGrace = 2 * time.Minute

// open listens on l and serves it with opts.
func (s *Server) open(l Listener, opts Options) error {
	var tlsCfg *tls.Config
	if l.TLS {
		if s.tls != nil {
			tlsCfg = s.tls()
		}
		if tlsCfg == nil {
			return fmt.Errorf("%s: no certificates to serve HTTPS with (they come with the c2s module)", l)
		}
		tlsCfg = tlsCfg.Clone()
		tlsCfg.NextProtos = []string{"http/1.1"}
	}
	// A socket systemd holds (xmppd.socket) is taken instead of binding,
	// so clients wait in its backlog while xmppd restarts.
	inherited := sdlisten.Has(l.Name, l.addr())
	ln, err := sdlisten.Listen(l.Name, "tcp", l.addr())
	if err != nil {
		return listenError(l, err)
	}
	sock := &socket{l: l, ln: ln, tls: tlsCfg, count: &s.conns, log: s.log}
	s.sockets[l.key()] = sock
	go sock.accept()
	sock.serve(s.newHTTP(opts, tlsCfg), 0)
	s.log.Info("listening", "listener", l.Name, "addr", ln.Addr().String(), "tls", l.TLS, "from_systemd", inherited)
	return nil
}

// listenError says what an operator can do about a listener that failed
// to open.
func listenError(l Listener, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%s: the port is in use by another program: stop it, or choose another port: %w", l, err)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s: ports below 1024 need root or CAP_NET_BIND_SERVICE: %w", l, err)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("%s: %s is not an address of this machine: use one of its addresses, or leave address out: %w", l, l.Address, err)
	}
	return fmt.Errorf("%s: %w", l, err)
}

// newHTTP makes the net/http server for one listener.
func (s *Server) newHTTP(opts Options, tlsCfg *tls.Config) *http.Server {
	hs := &http.Server{
		Handler:           s.wrap(opts),
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		// TLS handshake failures and the like: noise at any level but debug.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	hs.TLSConfig = tlsCfg
	return hs
}

// Addrs returns the addresses listened on, by listener name: for tests
// and messages when a port was chosen by the system.
func (s *Server) Addrs() map[string]net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]net.Addr{}
	for _, sock := range s.sockets {
		out[sock.l.Name] = sock.ln.Addr()
	}
	return out
}

// Shutdown closes every listener and waits until the requests in flight
// have finished or ctx is done, then closes what is left. Hijacked
// connections (WebSocket) are their handlers' to close.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.stopped = true
	socks := s.sockets
	s.sockets = map[key]*socket{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, sock := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sock.shutdown(ctx)
		}()
	}
	wg.Wait()
}
