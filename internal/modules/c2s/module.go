// Package c2s is the client-to-server listener: it accepts connections,
// negotiates the stream (STARTTLS, SASL, resource binding) and turns each
// into a core.Session whose stanzas go to the router.
package c2s

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"xmppd/internal/certs"
	"xmppd/internal/clientstream"
	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/netio"
	"xmppd/internal/sdlisten"
	"xmppd/internal/stanza"
	"xmppd/internal/xml"
)

func init() {
	core.Register(core.ModuleInfo{Name: "c2s", Global: true, Auto: true, New: func() core.Module { return &Module{} }})
}

// Module is the c2s listener.
type Module struct {
	api    *core.API
	srv    *core.Server
	cfg    atomic.Pointer[config.C2S] // replaced whole on reload
	limit  int
	poller *netio.Poller
	certs  *certs.Manager
	tls    *tls.Config

	// streams is the client stream machine's shared state: the login
	// throttles and counters every client transport uses.
	streams *clientstream.Service

	// readers lends stream readers to connections that have input; an idle
	// bound session keeps only its parked reader state.
	readers sync.Pool

	mu        sync.Mutex
	addrs     map[string]*addrState // by addrKey
	unauth    int                   // connections not yet bound, waiting included
	refusing  atomic.Int32          // refused connections being told why
	conns     map[*conn]struct{}
	listeners map[config.Listener]net.Listener // by configuration, Line and Name cleared
	lnNames   map[config.Listener]string       // listener section names, for socket activation

	// warn keeps refusals under a flood to a line per cause and interval.
	warn *core.LogLimiter
}

// Load opens the c2s listeners of the configuration.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	cfg := m.srv.Config
	c2sCfg := cfg.C2S
	m.cfg.Store(&c2sCfg)
	m.limit = cfg.StanzaSizeLimit
	m.readers.New = func() any { return stanza.NewReader(xml.Limits{MaxStanzaBytes: m.limit}) }
	m.addrs, m.conns, m.listeners, m.lnNames = map[string]*addrState{}, map[*conn]struct{}{}, map[config.Listener]net.Listener{}, map[config.Listener]string{}
	m.warn = core.NewLogLimiter(time.Minute)

	var hosts []string
	files := map[string]certs.Pair{}
	for _, h := range m.srv.Hosts() {
		hosts = append(hosts, h.Name)
		if hc := cfg.Host(h.Name); hc != nil && hc.Cert != "" {
			files[h.Name] = certs.Pair{Cert: hc.Cert, Key: hc.Key}
		}
	}
	var err error
	if m.certs, err = certs.New(filepath.Join(cfg.DataDir, "certs"), hosts, files); err != nil {
		return err
	}
	m.tls = m.certs.TLSConfig()
	m.streams = clientstream.NewService(api, m.certs, &c2sCfg)
	if err := api.Provide(clientstream.ServiceName, m.streams); err != nil {
		return err
	}
	if m.poller, err = netio.NewPoller(); err != nil {
		return err
	}
	go m.poller.Run()
	api.OnUnload(m.poller.Close)
	api.Gauge("sessions", "open client connections", func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return float64(len(m.conns))
	})

	if err := m.listen(cfg.Listeners); err != nil {
		return err
	}
	api.HookServer("server-stopping", core.PriorityModule, func(*core.Event) bool {
		m.closeAll("system-shutdown", "the server is shutting down")
		return false
	})
	return nil
}

// conf returns the client connection options in force.
func (m *Module) conf() *config.C2S { return m.cfg.Load() }

// listen opens the c2s listeners of want that are not open yet and closes
// the open ones want no longer has; connections they accepted stay. If a
// new listener cannot be opened, the listeners are left as they were and
// the error says which address failed.
func (m *Module) listen(want []config.Listener) error {
	// Listeners are compared by what they do, not by where they are written.
	keep := map[config.Listener]bool{}
	var open []config.Listener
	// The section name matters only to find a socket systemd passed.
	names := map[config.Listener]string{}
	for _, l := range want {
		name := l.Name
		l.Line, l.Name = 0, ""
		if l.Type == "c2s" && !keep[l] {
			keep[l] = true
			open = append(open, l)
			names[l] = name
		}
	}
	// New listeners open before old ones close, so that a mistake in the
	// new configuration does not leave the server deaf. Only a listener
	// that needs the port of one that goes (192.168.1.1:5222 becoming all
	// addresses on 5222) closes that one first.
	var opened, freed []config.Listener
	freedNames := map[config.Listener]string{}
	for _, l := range open {
		if m.listeners[l] != nil {
			continue
		}
		err := m.start(l, names[l])
		if errors.Is(err, syscall.EADDRINUSE) {
			n := len(freed)
			for old := range m.listeners {
				if !keep[old] && old.Port == l.Port {
					freedNames[old] = m.lnNames[old]
					m.stop(old)
					freed = append(freed, old)
				}
			}
			if len(freed) > n {
				err = m.start(l, names[l])
			}
		}
		if err != nil {
			for _, l := range opened {
				m.stop(l)
			}
			for _, l := range freed {
				if err := m.start(l, freedNames[l]); err != nil {
					m.api.Log().Error("could not listen again where the old configuration did", "err", err)
				}
			}
			return err
		}
		opened = append(opened, l)
	}
	for l := range m.listeners {
		if !keep[l] {
			m.stop(l)
		}
	}
	return nil
}

// start opens listener l, of the listener section name, and accepts on it.
// A socket systemd passed for it (socket activation) is used instead of
// binding.
func (m *Module) start(l config.Listener, name string) error {
	addr := net.JoinHostPort(l.Address, strconv.Itoa(l.Port))
	inherited := sdlisten.Has(name, addr)
	ln, err := sdlisten.Listen(name, "tcp", addr)
	if errors.Is(err, syscall.EACCES) && l.Port < 1024 {
		// Most likely a reload adding a port after the switch to option user.
		return fmt.Errorf("listen on port %d: needs root or CAP_NET_BIND_SERVICE, which xmppd has not (it dropped root after start, or never had it): restart xmppd, let systemd's xmppd.socket pass the port, or choose a port of 1024 or more: %w", l.Port, err)
	}
	if err != nil {
		return err
	}
	m.api.OnUnload(func() { ln.Close() })
	m.listeners[l], m.lnNames[l] = ln, name
	m.api.Log().Info("listening", "addr", ln.Addr().String(), "tls", l.TLS, "from_systemd", inherited)
	go m.accept(ln.(*net.TCPListener), l.TLS)
	return nil
}

// stop closes listener l; the connections it accepted stay.
func (m *Module) stop(l config.Listener) {
	ln := m.listeners[l]
	ln.Close()
	delete(m.listeners, l)
	delete(m.lnNames, l)
	m.api.Log().Info("stopped listening", "addr", ln.Addr().String())
}

// Reload implements core.Reloader: new connection options apply to every
// connection from now on, listeners open and close to match, and
// certificates are read again; established sessions stay.
func (m *Module) Reload(api *core.API, cfg *config.Config) error {
	c2sCfg := cfg.C2S
	m.cfg.Store(&c2sCfg)
	m.streams.SetConf(&c2sCfg)
	if err := m.certs.Reload(); err != nil {
		api.Log().Error("certificates not reloaded; the old ones stay in use", "err", err)
	}
	return m.listen(cfg.Listeners)
}

func (m *Module) accept(ln *net.TCPListener, mode string) {
	var delay time.Duration
	for {
		// Outside Go's network poller: netio serves the connection alone,
		// and the runtime keeps nothing for it after it closes.
		s, err := netio.Accept(ln)
		if err != nil {
			if errors.Is(err, netio.ErrNoResources) {
				m.warn.Warn(m.api.Log(), "accept", "connections not accepted for now", "address", ln.Addr().String(), "err", err)
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			if !errors.Is(err, net.ErrClosed) {
				m.api.Log().Error("listener stopped accepting", "address", ln.Addr().String(), "err", err)
			}
			return
		}
		delay = 0
		ip := s.Remote.IP.String()
		direct := mode == "direct"
		switch v, why := m.admit(s, ip, direct); v {
		case serve:
			go m.open(s, ip, direct, "")
		case refuse:
			m.warn.Warn(m.api.Log(), why, "connection refused", "ip", ip, "reason", why)
			if m.refusing.Add(1) > maxRefusing {
				m.refusing.Add(-1)
				s.Close()
				continue
			}
			go m.open(s, ip, direct, why)
		}
	}
}

func (m *Module) closeAll(cond, text string) {
	m.dropWaiting()
	m.mu.Lock()
	all := make([]*conn, 0, len(m.conns))
	for c := range m.conns {
		all = append(all, c)
	}
	m.mu.Unlock()
	for _, c := range all {
		c.Close(cond, text)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		n := len(m.conns)
		m.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ core.Module = (*Module)(nil)
