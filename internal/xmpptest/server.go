// Package xmpptest starts a complete xmppd (every compiled-in module, a real
// pebble store in a temporary directory, real listeners on 127.0.0.1) for
// tests that talk to it over TCP as clients do.
package xmpptest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"

	"xmppd/internal/config"
	"xmppd/internal/core"

	_ "xmppd/internal/modules/all" // the modules the binary has
)

// Server is a running test server.
type Server struct {
	*core.Server
	Domain   string
	StartTLS string // address of the STARTTLS listener
	Direct   string // address of the direct TLS listener
	Dir      string
	UCI      string // the configuration it started with
}

// given holds the ports FreePort has returned in this process: the kernel
// may offer a port again as soon as its probe closes, and two listeners of
// one configuration on the same port are a configuration error, not a
// busy address that a retry would cure.
var given struct {
	sync.Mutex
	ports map[int]bool
}

// FreePort returns a port that was free a moment ago on 127.0.0.1 and that
// it has not returned before in this process.
func FreePort(t testing.TB) int {
	given.Lock()
	defer given.Unlock()
	if given.ports == nil {
		given.ports = make(map[int]bool)
	}
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !given.ports[port] {
			given.ports[port] = true
			return port
		}
	}
}

// Start runs a server for domain "localhost" with its data in a temporary
// directory; extra is UCI text appended to the configuration's global
// section (options such as c2s_max_per_ip), and may start sections of its
// own (config module 'NAME').
func Start(t testing.TB, extra string) *Server {
	t.Helper()
	s, err := StartErr(t, extra)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartErr is Start for tests of configurations the server must refuse.
func StartErr(t testing.TB, extra string) (*Server, error) {
	t.Helper()
	return startIn(t, t.TempDir(), extra, nil)
}

// StartLogged is Start with the server's log, from debug level up, also
// written to w, for tests of what the server logs. w must be safe for
// concurrent use.
func StartLogged(t testing.TB, extra string, w io.Writer) *Server {
	t.Helper()
	s, err := startIn(t, t.TempDir(), extra, w)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartIn is Start with the data in dir, so that a test can stop a server
// and start another on the same data.
func StartIn(t testing.TB, dir, extra string) *Server {
	t.Helper()
	s, err := startIn(t, dir, extra, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startIn starts a server on data dir. Test packages run in parallel, so a
// port FreePort found may be taken before the server listens on it: that
// start is tried again on other ports.
func startIn(t testing.TB, dir, extra string, logTo io.Writer) (*Server, error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s, err := start(t, dir, extra, logTo)
		if err == nil || attempt == 5 || !errors.Is(err, syscall.EADDRINUSE) {
			return s, err
		}
	}
}

func start(t testing.TB, dir, extra string, logTo io.Writer) (*Server, error) {
	t.Helper()
	p1, p2 := FreePort(t), FreePort(t)
	uci := fmt.Sprintf(`config xmppd 'main'
	option data_dir '%s'
	option log_level 'debug'
%s
config host 'localhost'
	option domain 'localhost'
config listener 'c2s'
	option address '127.0.0.1'
	option port '%d'
	option tls 'starttls'
config listener 'c2s_direct_tls'
	option address '127.0.0.1'
	option port '%d'
	option tls 'direct'
`, dir, extra, p1, p2)
	cfg, err := parse(uci)
	if err != nil {
		return nil, err
	}
	var out io.Writer = io.Discard
	if os.Getenv("XMPPD_TEST_LOG") != "" {
		out = os.Stderr
	}
	if logTo != nil {
		out = io.MultiWriter(out, logTo)
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := core.New(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	t.Cleanup(srv.Stop)
	return &Server{Server: srv, Domain: "localhost", Dir: dir, UCI: uci,
		StartTLS: fmt.Sprintf("127.0.0.1:%d", p1), Direct: fmt.Sprintf("127.0.0.1:%d", p2)}, nil
}

func parse(uci string) (*config.Config, error) {
	f, err := config.Parse("test.uci", []byte(uci))
	if err != nil {
		return nil, err
	}
	return config.FromFile(f)
}

// Reload applies uci, an edit of the server's UCI text, as SIGHUP does.
func (s *Server) Reload(t testing.TB, uci string) (restart []string, err error) {
	t.Helper()
	cfg, err := parse(uci)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	return s.Server.Reload(cfg)
}

// AddUser creates an account or fails the test.
func (s *Server) AddUser(t testing.TB, user, password string) {
	t.Helper()
	if err := s.Accounts.Create(s.Domain, user, password); err != nil {
		t.Fatal(err)
	}
}
