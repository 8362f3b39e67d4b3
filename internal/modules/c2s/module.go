// Package c2s is the client-to-server listener: it accepts connections,
// negotiates the stream (STARTTLS, SASL, resource binding) and turns each
// into a core.Session whose stanzas go to the router.
package c2s

import (
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"xmppd/internal/certs"
	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/netio"
	"xmppd/internal/sasl"
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
	cfg    config.C2S
	limit  int
	poller *netio.Poller
	certs  *certs.Manager
	tls    *tls.Config

	ipThrottle, userThrottle *sasl.Throttle

	// readers lends stream readers to connections that have input; an idle
	// bound session keeps only its parked reader state.
	readers sync.Pool

	mu    sync.Mutex
	perIP map[string]int
	conns map[*conn]struct{}

	logins, failures *core.Counter
}

// Load opens the c2s listeners of the configuration.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	cfg := m.srv.Config
	m.cfg, m.limit = cfg.C2S, cfg.StanzaSizeLimit
	m.readers.New = func() any { return stanza.NewReader(xml.Limits{MaxStanzaBytes: m.limit}) }
	m.perIP, m.conns = map[string]int{}, map[*conn]struct{}{}
	m.ipThrottle, m.userThrottle = sasl.NewThrottle(4096), sasl.NewThrottle(4096)
	m.logins = api.Counter("logins", "successful SASL authentications")
	m.failures = api.Counter("auth_failures", "failed SASL authentications")

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

	for _, l := range cfg.Listeners {
		if l.Type != "c2s" {
			continue
		}
		ln, err := api.Listen("tcp", net.JoinHostPort(l.Address, strconv.Itoa(l.Port)))
		if err != nil {
			return err
		}
		api.Log().Info("listening", "addr", ln.Addr().String(), "tls", l.TLS)
		go m.accept(ln.(*net.TCPListener), l.TLS)
	}
	api.HookServer("server-stopping", core.PriorityModule, func(*core.Event) bool {
		m.closeAll("system-shutdown", "the server is shutting down")
		return false
	})
	api.HookServer("reload", core.PriorityModule, func(*core.Event) bool {
		if err := m.certs.Reload(); err != nil {
			api.Log().Error("certificates not reloaded; the old ones stay in use", "err", err)
		}
		return false
	})
	return nil
}

func (m *Module) accept(ln *net.TCPListener, mode string) {
	var delay time.Duration
	for {
		nc, err := ln.AcceptTCP()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of descriptors or similar: back off rather than spin.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return
		}
		delay = 0
		ip := nc.RemoteAddr().(*net.TCPAddr).IP.String()
		if !m.admit(ip) {
			nc.Close()
			continue
		}
		go m.open(nc, ip, mode == "direct")
	}
}

// admit applies the per-IP connection limit.
func (m *Module) admit(ip string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.MaxPerIP > 0 && m.perIP[ip] >= m.cfg.MaxPerIP {
		m.api.Log().Warn("connection refused: too many from one address", "ip", ip, "limit", m.cfg.MaxPerIP)
		return false
	}
	m.perIP[ip]++
	return true
}

func (m *Module) release(c *conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.conns, c)
	if m.perIP[c.ip]--; m.perIP[c.ip] <= 0 {
		delete(m.perIP, c.ip)
	}
}

func (m *Module) closeAll(cond, text string) {
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
