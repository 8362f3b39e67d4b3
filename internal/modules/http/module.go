// Package http is the web server module: it serves the routes modules add
// (core.Routes) on the listeners of type http and https, and answers
// XEP-0156 host-meta with the endpoints modules advertise.
package http

import (
	"context"
	"crypto/tls"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"xmppd/internal/clientstream"
	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/httpd"
)

func init() {
	core.Register(core.ModuleInfo{Name: "http", Global: true, Auto: true,
		// The c2s module holds the hosts' certificates, which HTTPS uses.
		Optional: []string{"c2s"},
		New:      func() core.Module { return &Module{} },
		Options:  func(r *config.Reader) { readOptions(r) }})
}

// settings are the module's options.
type settings struct {
	limits httpd.Options
	public string // base URL host-meta advertises, without final slash; "" for the request's own
}

// readOptions reads the module's options, for Load, Reload and the
// configuration checks alike.
func readOptions(r *config.Reader) settings {
	var s settings
	s.limits = httpd.Options{
		MaxBodyBytes:      r.Size("max_body_size", 1<<20, 1<<10, 64<<20),
		MaxHeaderBytes:    int(r.Size("max_header_size", 16<<10, 1<<10, 1<<20)),
		ReadHeaderTimeout: r.Duration("read_header_timeout", 10*time.Second, time.Second, 5*time.Minute),
		ReadTimeout:       r.Duration("read_timeout", 30*time.Second, 0, time.Hour),
		WriteTimeout:      r.Duration("write_timeout", 30*time.Second, 0, time.Hour),
		IdleTimeout:       r.Duration("idle_timeout", 60*time.Second, time.Second, time.Hour),
		MaxConns:          r.Int("max_connections", 512, 1, 1000000),
	}
	if p := r.String("public_url", ""); p != "" {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			r.Errorf("public_url", "option public_url: '%s' is not a base URL: write scheme, host, and the port and path the proxy serves xmppd at, as in 'https://xmpp.example.org' or 'https://example.org/xmpp'", p)
		} else {
			s.public = strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
		}
	}
	r.Unknown()
	return s
}

// Module is the web server.
type Module struct {
	api    *core.API
	web    *httpd.Server
	public atomic.Pointer[string]
}

// Load serves the routes on the configured web listeners.
func (m *Module) Load(api *core.API) error {
	m.api = api
	st := readOptions(api.Options())
	if err := api.Options().Err(); err != nil {
		return err
	}
	m.public.Store(&st.public)
	m.web = httpd.New(api.Server().HTTP, api.Log(), m.tlsConfig)
	api.HandleHTTPAt("/.well-known/host-meta", httpd.AnyOrigin.Wrap(m.hostMeta(false)))
	api.HandleHTTPAt("/.well-known/host-meta.json", httpd.AnyOrigin.Wrap(m.hostMeta(true)))
	api.Gauge("connections", "open HTTP connections, WebSocket ones included", func() float64 { return float64(m.web.Active()) })
	if err := m.web.Apply(st.limits, listeners(api.Server().Config.Listeners)); err != nil {
		m.web.Shutdown(context.Background())
		return err
	}
	// Requests in flight get a moment to finish when the server stops or
	// the module unloads; BOSH and WebSocket end their sessions themselves.
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		defer cancel()
		m.web.Shutdown(ctx)
	}
	api.HookServer("server-stopping", core.PriorityModule, func(*core.Event) bool { stop(); return false })
	api.OnUnload(stop)
	return nil
}

// stopGrace is how long requests in flight may take when xmppd stops.
const stopGrace = 3 * time.Second

// Reload implements core.Reloader: listeners open and close to match the
// configuration and new limits apply to new connections; requests in
// flight finish under the old ones.
func (m *Module) Reload(api *core.API, cfg *config.Config) error {
	r := config.NewReader(cfg.File, cfg.ModuleSection("http", ""))
	st := readOptions(r)
	if err := r.Err(); err != nil {
		return err
	}
	if err := m.web.Apply(st.limits, listeners(cfg.Listeners)); err != nil {
		return err
	}
	m.public.Store(&st.public)
	return nil
}

// tlsConfig returns the hosts' certificates by SNI, or nil without c2s.
func (m *Module) tlsConfig() *tls.Config {
	svc, ok := m.api.Service(clientstream.ServiceName).(*clientstream.Service)
	if !ok {
		return nil
	}
	return svc.Certs().TLSConfig()
}

// listeners picks the web listeners of a configuration.
func listeners(all []config.Listener) []httpd.Listener {
	var out []httpd.Listener
	for _, l := range all {
		if l.Type == "http" || l.Type == "https" {
			out = append(out, httpd.Listener{Name: l.Name, Address: l.Address, Port: l.Port, TLS: l.Type == "https"})
		}
	}
	return out
}

var (
	_ core.Module   = (*Module)(nil)
	_ core.Reloader = (*Module)(nil)
)
