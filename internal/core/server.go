// Package core is xmppd's kernel: virtual hosts, the event bus, the module
// manager and module API, the session registry and the stanza router. It
// knows sessions, not sockets: listeners are modules (c2s) that turn
// connections into sessions and hand their stanzas to Route.
package core

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/jid"
	"xmppd/internal/storage"
)

// Server is one running xmppd.
type Server struct {
	Config   *config.Config
	DB       *storage.DB
	Log      *slog.Logger
	Events   *Events // server-wide events: "server-started", "server-stopping", ...
	Metrics  *Metrics
	Accounts *Accounts
	HTTP     *Routes // HTTP routes modules add, served by the HTTP listener
	Started  time.Time

	// hosts maps every domain served, components included; replaced whole
	// when a component comes or goes, so routing reads it without a lock.
	hosts   atomic.Pointer[map[string]*Host]
	hostsMu sync.Mutex
	// components holds, per component domain, the instances serving it,
	// the newest last (component.go).
	components map[string][]componentEntry
	hostList   []*Host
	global     []*API

	// started is the configuration the server was built with: what only a
	// restart changes (store, admin socket, hosts) is compared with it.
	started *config.Config

	statusMu sync.Mutex
	status   map[string]Status
	statusBy map[string]*API // who set each status

	nextSession atomic.Uint64
	bound       atomic.Int64 // sessions bound on all hosts, for max_sessions

	scopes  sync.Map // *Host (nil: the server) → *scope, see services.go
	stopped atomic.Bool
}

// New opens the store and builds the hosts of cfg; Start loads the modules.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	srv := &Server{Config: cfg, Log: log, Events: NewEvents(), Metrics: newMetrics(), HTTP: &Routes{},
		status: map[string]Status{}, started: cfg}
	hosts := map[string]*Host{}
	for _, hc := range cfg.Hosts {
		if !hc.Enabled {
			continue
		}
		d, err := jid.New("", hc.Domain, "")
		if err != nil {
			return nil, fmt.Errorf("host %q: %w", hc.Domain, err)
		}
		h := newHost(srv, d.Domain())
		hosts[h.Name] = h
		srv.hostList = append(srv.hostList, h)
	}
	srv.hosts.Store(&hosts)
	if len(srv.hostList) == 0 {
		return nil, errors.New("no enabled host in the configuration")
	}
	db, err := storage.Open(storage.Options{
		Dir:          cfg.StoreDir(),
		MemTableSize: cfg.Storage.MemTableSize,
		CacheSize:    cfg.Storage.CacheSize,
		Logger:       log.With("mod", "storage"),
	})
	if err != nil {
		return nil, err
	}
	srv.DB = db
	srv.Accounts = &Accounts{srv: srv, kv: db.KeyVal("accounts", true)}
	srv.serverMetrics()
	return srv, nil
}

// Host returns the host named domain, or nil.
func (srv *Server) Host(domain string) *Host { return (*srv.hosts.Load())[domain] }

// userHost returns the host named domain if it has accounts, or nil.
func (srv *Server) userHost(domain string) *Host {
	if h := srv.Host(domain); h != nil && h.Kind == HostUser {
		return h
	}
	return nil
}

// Hosts returns the hosts in configuration order.
func (srv *Server) Hosts() []*Host { return srv.hostList }

// NewSession makes a session for an authenticated account of h; it becomes
// routable once bound.
func (srv *Server) NewSession(h *Host, bare jid.JID, l Link) *Session {
	s := &Session{ID: srv.nextSession.Add(1), Host: h, JID: bare}
	s.Attach(l)
	return s
}

// Start loads the modules: global ones first, then each host's, each
// after the modules it requires. A failure unloads what was loaded, so a
// start is all or nothing.
func (srv *Server) Start() error {
	srv.Started = time.Now()
	if err := CheckModules(srv.Config); err != nil {
		return err
	}
	global, err := plan(srv.Config, "", nil)
	if err != nil {
		return err
	}
	for _, m := range global {
		api, err := srv.load(m, nil, options(srv.Config, m, nil))
		if err != nil {
			srv.Stop()
			return err
		}
		srv.global = append(srv.global, api)
	}
	for _, h := range srv.hostList {
		mods, err := plan(srv.Config, h.Name, global)
		if err != nil {
			srv.Stop()
			return err
		}
		for _, m := range mods {
			api, err := srv.load(m, h, options(srv.Config, m, h))
			if err != nil {
				srv.Stop()
				return err
			}
			h.modules = append(h.modules, api)
		}
	}
	srv.Events.Fire(EventServerStarted, &Event{})
	return nil
}

// plan is modulesFor with its errors as one.
func plan(cfg *config.Config, domain string, global []ModuleInfo) ([]ModuleInfo, error) {
	mods, errs := modulesFor(cfg, domain, global)
	if len(errs) > 0 {
		return nil, config.ErrorList(errs)
	}
	return mods, nil
}

// Check returns every reason cfg would not run on this machine, as config
// errors with file and line where there is one: the module checks of
// CheckModules, then those of config.Config.CheckSystem (certificates,
// directories, listeners). busy holds what a running xmppd with cfg holds
// (its admin socket, store and ports): serve cannot start beside it, while
// check, run before a reload or restart, expects it. `xmppd serve` and
// `xmppd check` both call Check, so they accept the same files.
//
// It must not run in a process that has cfg's store open (see
// config.Config.StorePID).
func Check(cfg *config.Config) (errs, busy []error) {
	if err := CheckModules(cfg); err != nil {
		errs = append(errs, unwrapAll(err)...)
	}
	sys, held := cfg.CheckSystem()
	errs = append(errs, sys.Unwrap()...)
	slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(lineOf(a)-1, lineOf(b)-1) })
	return errs, held.Unwrap()
}

// lineOf returns the line of a config error, as an unsigned number so that
// line 0 (the file as a whole) sorts last.
func lineOf(err error) uint {
	var e *config.Error
	if errors.As(err, &e) {
		return uint(e.Line)
	}
	return 0
}

// unwrapAll splits a joined error or an ErrorList into its errors.
func unwrapAll(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return []error{err}
}

// options returns a reader over the options cfg gives module m on h (nil:
// the global section only).
func options(cfg *config.Config, m ModuleInfo, h *Host) *config.Reader {
	domain, file := "", cfg.File
	if h != nil {
		domain = h.Name
	}
	if cfg.Raw != nil {
		file = cfg.Raw.Name
	}
	return config.NewReader(file, cfg.ModuleSection(m.Name, domain))
}

// load loads module m for h (nil: globally) with the options opts reads.
func (srv *Server) load(m ModuleInfo, h *Host, opts *config.Reader) (*API, error) {
	log := srv.Log.With("mod", m.Name)
	if h != nil {
		log = h.Log.With("mod", m.Name)
	}
	api := &API{info: m, srv: srv, host: h, log: log, opts: opts}
	api.mod = m.New()
	err := api.mod.Load(api)
	if err == nil {
		err = api.opts.Err()
	}
	if err != nil {
		api.unload()
		return nil, fmt.Errorf("%s: %w", moduleName(m, h), err)
	}
	log.Debug("loaded")
	return api, nil
}

// DrainTimeout bounds how long Stop waits for the sessions to end after
// "server-stopping" before it ends them itself; so does drainStall, when
// none has ended for that long: a transport that closes its streams shows
// it at once, and one that does not would only make a stop slow.
const DrainTimeout = 5 * time.Second

const drainStall = 250 * time.Millisecond

// Stop shuts the server down in an order that loses nothing: it fires
// "server-stopping" (transports close their streams), waits until every
// session has ended (at most DrainTimeout, then ends the rest itself), so
// that what their ends set off (unavailable presence, stores written)
// still finds every module and the store, then unloads the modules in
// reverse load order and closes the store last. Calls after the first do
// nothing.
func (srv *Server) Stop() {
	if !srv.stopped.CompareAndSwap(false, true) {
		return
	}
	srv.Events.Fire(EventServerStopping, &Event{})
	srv.drain(DrainTimeout)
	for _, h := range slices.Backward(srv.hostList) {
		for _, api := range slices.Backward(h.modules) {
			api.unload()
		}
		h.modules = nil
	}
	for _, api := range slices.Backward(srv.global) {
		api.unload()
	}
	srv.global = nil
	if srv.DB != nil {
		srv.DB.Close()
	}
}

// drain waits until no session is bound, for at most d, then unbinds those
// left. Sessions no transport holds (kept for resumption) have nothing to
// wait for and end at once.
func (srv *Server) drain(d time.Duration) {
	for _, h := range srv.hostList {
		for _, s := range h.AllSessions() {
			if s.Link() == nil {
				s.Close("system-shutdown", "")
			}
		}
	}
	deadline := time.Now().Add(d)
	last, lastChange := srv.bound.Load(), time.Now()
	for n := last; n > 0; n = srv.bound.Load() {
		now := time.Now()
		if n != last {
			last, lastChange = n, now
		}
		if now.After(deadline) || now.Sub(lastChange) > drainStall {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, h := range srv.hostList {
		for _, s := range h.AllSessions() {
			h.Unbind(s)
		}
	}
}
