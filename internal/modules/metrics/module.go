// Package metrics serves the server's metrics at /metrics in the
// OpenMetrics text format, to the addresses its allow list names
// (loopback by default) and to scrapers that present its bearer token.
package metrics

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"xmppd/internal/config"
	"xmppd/internal/core"
)

func init() {
	core.Register(core.ModuleInfo{Name: "metrics", Global: true, Auto: true,
		New:     func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readOptions(r) }})
}

// Path is where the metrics are served.
const Path = "/metrics"

// minToken is the shortest bearer token accepted: anything shorter can be
// guessed by a patient scanner.
const minToken = 16

// settings are the module's options.
type settings struct {
	allow []netip.Prefix
	token string
}

// defaultAllow is who may scrape without a token: this machine only, so
// that the metrics stay off the public side of every web listener.
var defaultAllow = []string{"127.0.0.0/8", "::1"}

// readOptions reads the module's options, for Load and the configuration
// checks alike.
func readOptions(r *config.Reader) settings {
	var s settings
	list := r.List("allow")
	if list == nil {
		list = defaultAllow
	}
	for _, a := range list {
		if a == "none" && len(list) == 1 {
			break // the token only, or nobody
		}
		p, err := parsePrefix(a)
		if err != nil {
			r.Errorf("allow", "option allow: '%s' is not an IP address or network: write one such as 127.0.0.1, 192.168.1.0/24 or ::1, or none alone", a)
			continue
		}
		s.allow = append(s.allow, p)
	}
	s.token = r.String("token", "")
	if s.token != "" && len(s.token) < minToken {
		r.Errorf("token", "option token: the token is %d characters long: use at least %d random ones (head -c 24 /dev/urandom | base64)", len(s.token), minToken)
	}
	r.Unknown()
	return s
}

// parsePrefix reads an address (a network of one) or a network.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Module serves /metrics.
type Module struct {
	srv *core.Server
	set settings
}

// Load adds the /metrics route. Options changes load a new instance,
// whose route replaces this one's.
func (m *Module) Load(api *core.API) error {
	m.srv = api.Server()
	m.set = readOptions(api.Options())
	if err := api.Options().Err(); err != nil {
		return err
	}
	api.HandleHTTPAt(Path, m)
	return nil
}

// ServeHTTP answers a scrape, or refuses it with what the operator can
// change.
func (m *Module) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "metrics are read with GET", http.StatusMethodNotAllowed)
		return
	}
	if !m.allowed(r) {
		if m.set.token != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="xmppd metrics"`)
			http.Error(w, "metrics need the bearer token (option token of module metrics) or an address in option allow", http.StatusUnauthorized)
			return
		}
		http.Error(w, "metrics are served only to the addresses in option allow of module metrics", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", core.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	m.srv.Metrics.WriteTo(w)
}

// allowed reports whether r may read the metrics: it carries the token,
// or it comes from an allowed address and not through a proxy on one (a
// reverse proxy on this machine would make every visitor loopback).
func (m *Module) allowed(r *http.Request) bool {
	if m.set.token != "" {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(m.set.token)) == 1 {
			return true
		}
	}
	if r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range m.set.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var (
	_ core.Module  = (*Module)(nil)
	_ http.Handler = (*Module)(nil)
)
