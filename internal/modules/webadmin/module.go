// Package webadmin is the browser admin UI: the page in web/ and the JSON
// API under /admin/api it uses, behind a login with an admin account.
package webadmin

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/logring"
	"xmppd/internal/sasl"
)

func init() {
	core.Register(core.ModuleInfo{Name: "webadmin", Global: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readOptions(r) }})
}

// Defaults of the module's options.
const (
	defaultIdle     = 30 * time.Minute
	defaultRollback = 90 * time.Second // LuCI's apply timeout
)

// options are the module's UCI options.
type options struct {
	admins   []string      // bare JIDs; none: the adhoc module's admins
	idle     time.Duration // a login ends after this long unused
	rollback time.Duration // default rollback timer of an apply
	webDir   string        // serve web/ from this directory (development)
}

func readOptions(r *config.Reader) options {
	var o options
	for _, a := range r.List("admins") {
		j, err := jid.Parse(a)
		if err != nil || j.Local() == "" || !j.IsBare() {
			r.Errorf("admins", "list admins: %q is not an account's bare JID such as 'admin@example.org'", a)
			continue
		}
		o.admins = append(o.admins, j.String())
	}
	o.idle = r.Duration("session_timeout", defaultIdle, time.Minute, 7*24*time.Hour)
	o.rollback = r.Duration("rollback", defaultRollback, 10*time.Second, time.Hour)
	o.webDir = r.Path("web_dir", "")
	r.Unknown()
	return o
}

// Module serves the admin UI.
type Module struct {
	api  *core.API
	srv  *core.Server
	opts atomic.Pointer[options]
	ring *logring.Ring
	mux  *http.ServeMux

	guard    *sasl.Guard
	sessions *sessions
	page     page

	cfgMu   sync.Mutex // staged, pending and the file
	staged  *config.File
	changes int
	pending *pendingApply
}

// Load serves the UI at /admin/ on every host.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	o := readOptions(api.Options())
	m.opts.Store(&o)
	m.ring = logring.Of(m.srv.Log)
	// The same throttles as client logins: a browser is one more way to
	// guess an admin's password.
	m.guard = sasl.NewGuard(4096)
	m.sessions = newSessions()
	m.mux = http.NewServeMux()
	m.routes()
	api.HandleHTTPAt("/admin", m)
	api.OnUnload(m.cancelPending)
	return nil
}

// Reload applies new options in place: a new instance would log every
// admin out and lose the staged changes and a running rollback timer, and
// an apply from this very UI is what reloads.
func (m *Module) Reload(api *core.API, cfg *config.Config) error {
	file := cfg.File
	if cfg.Raw != nil {
		file = cfg.Raw.Name
	}
	r := config.NewReader(file, cfg.ModuleSection("webadmin", ""))
	o := readOptions(r)
	if err := r.Err(); err != nil {
		return err
	}
	m.opts.Store(&o)
	return nil
}

// admins returns who may log in: the module's admins, else the adhoc
// module's, which name the server's administrators already.
func (m *Module) admins() []string {
	if a := m.opts.Load().admins; len(a) > 0 {
		return a
	}
	r := config.NewReader("", m.srv.Config.ModuleSection("adhoc", ""))
	var out []string
	for _, a := range r.List("admins") {
		if j, err := jid.Parse(a); err == nil && j.Local() != "" && j.IsBare() {
			out = append(out, j.String())
		}
	}
	return out
}

func (m *Module) isAdmin(bare string) bool { return slices.Contains(m.admins(), bare) }

// ServeHTTP serves the page and the API.
func (m *Module) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	m.mux.ServeHTTP(w, r)
}

var (
	_ core.Module   = (*Module)(nil)
	_ core.Reloader = (*Module)(nil)
	_ http.Handler  = (*Module)(nil)
)
