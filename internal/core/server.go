// Package core is xmppd's kernel: virtual hosts, the event bus, the module
// manager and module API, the session registry and the stanza router. It
// knows sessions, not sockets: listeners are modules (c2s) that turn
// connections into sessions and hand their stanzas to Route.
package core

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
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

	hosts    map[string]*Host
	hostList []*Host
	global   []*API

	statusMu sync.Mutex
	status   map[string]Status

	nextSession atomic.Uint64
}

// New opens the store and builds the hosts of cfg; Start loads the modules.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	srv := &Server{Config: cfg, Log: log, Events: NewEvents(), Metrics: newMetrics(), HTTP: &Routes{},
		hosts: map[string]*Host{}, status: map[string]Status{}}
	for _, hc := range cfg.Hosts {
		if !hc.Enabled {
			continue
		}
		d, err := jid.New("", hc.Domain, "")
		if err != nil {
			return nil, fmt.Errorf("host %q: %w", hc.Domain, err)
		}
		h := newHost(srv, d.Domain())
		srv.hosts[h.Name] = h
		srv.hostList = append(srv.hostList, h)
	}
	if len(srv.hostList) == 0 {
		return nil, errors.New("no enabled host in the configuration")
	}
	db, err := storage.Open(storage.Options{
		Dir:          filepath.Join(cfg.DataDir, "data"),
		MemTableSize: cfg.Storage.MemTableSize,
		CacheSize:    cfg.Storage.CacheSize,
		Logger:       log.With("mod", "storage"),
	})
	if err != nil {
		return nil, err
	}
	srv.DB = db
	srv.Accounts = &Accounts{srv: srv, kv: db.KeyVal("accounts", true)}
	return srv, nil
}

// Host returns the host named domain, or nil.
func (srv *Server) Host(domain string) *Host { return srv.hosts[domain] }

// Hosts returns the hosts in configuration order.
func (srv *Server) Hosts() []*Host { return srv.hostList }

// NewSession makes a session for an authenticated account of h; it becomes
// routable once bound.
func (srv *Server) NewSession(h *Host, bare jid.JID, out Sender) *Session {
	return &Session{ID: srv.nextSession.Add(1), Host: h, JID: bare, Out: out}
}

// Start loads the modules: global ones first, then each host's. A failure
// unloads what was loaded, so a start is all or nothing.
func (srv *Server) Start() error {
	srv.Started = time.Now()
	if err := checkModuleNames(srv.Config); err != nil {
		return err
	}
	for _, m := range Registered() {
		if wanted(m, nil, srv.Config) {
			api, err := srv.load(m, nil, srv.Config)
			if err != nil {
				srv.Stop()
				return err
			}
			srv.global = append(srv.global, api)
		}
	}
	for _, h := range srv.hostList {
		for _, m := range Registered() {
			if !wanted(m, h, srv.Config) {
				continue
			}
			api, err := srv.load(m, h, srv.Config)
			if err != nil {
				srv.Stop()
				return err
			}
			h.modules = append(h.modules, api)
		}
	}
	srv.Events.Fire("server-started", &Event{})
	return nil
}

// checkModuleNames rejects modules_enabled entries that are not compiled in.
func checkModuleNames(cfg *config.Config) error {
	known := map[string]bool{}
	var names []string
	for _, m := range Registered() {
		known[m.Name] = true
		names = append(names, m.Name)
	}
	lists := [][]string{cfg.ModulesEnabled}
	for _, h := range cfg.Hosts {
		lists = append(lists, h.ModulesEnabled)
	}
	for _, l := range lists {
		for _, n := range l {
			if !known[n] {
				return fmt.Errorf("unknown module %q in modules_enabled (compiled in: %s)", n, strings.Join(names, ", "))
			}
		}
	}
	return nil
}

func (srv *Server) load(m ModuleInfo, h *Host, cfg *config.Config) (*API, error) {
	domain := ""
	log := srv.Log.With("mod", m.Name)
	if h != nil {
		domain = h.Name
		log = h.Log.With("mod", m.Name)
	}
	api := &API{info: m, srv: srv, host: h, log: log,
		opts: config.NewReader(cfg.File, cfg.ModuleSection(m.Name, domain))}
	api.mod = m.New()
	if err := api.mod.Load(api); err != nil {
		api.unload()
		if domain != "" {
			return nil, fmt.Errorf("module %s on %s: %w", m.Name, domain, err)
		}
		return nil, fmt.Errorf("module %s: %w", m.Name, err)
	}
	if err := api.opts.Err(); err != nil {
		api.unload()
		return nil, err
	}
	log.Debug("loaded")
	return api, nil
}

// Stop fires "server-stopping" (listeners close their streams), unloads the
// modules in reverse order and closes the store.
func (srv *Server) Stop() {
	srv.Events.Fire("server-stopping", &Event{})
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
