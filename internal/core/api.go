package core

import (
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/storage"
)

// API is what a loaded module sees of the server. Everything added through
// it (hooks, features, timers, listeners) is undone when the module unloads,
// so modules need no cleanup code of their own.
type API struct {
	info ModuleInfo
	srv  *Server
	host *Host // nil for a global module
	log  *slog.Logger
	opts *config.Reader

	mu     sync.Mutex
	undo   []func()
	mod    Module
	iqHeld map[*Host]bool // the hosts whose iq tracker the module holds
}

// Name returns the module's name.
func (a *API) Name() string { return a.info.Name }

// Server returns the server.
func (a *API) Server() *Server { return a.srv }

// Host returns the module's host, or nil for a global module.
func (a *API) Host() *Host { return a.host }

// Log returns the module's logger (mod=<name>, host=<domain>).
func (a *API) Log() *slog.Logger { return a.log }

// Options returns the typed reader over the module's UCI section(s): the
// global `config module 'NAME'` with the host's own laid over it.
func (a *API) Options() *config.Reader { return a.opts }

// OnUnload runs f when the module unloads.
func (a *API) OnUnload(f func()) {
	a.mu.Lock()
	a.undo = append(a.undo, f)
	a.mu.Unlock()
}

// Hook adds a handler on the module's host (the server's bus for a global
// module).
func (a *API) Hook(name string, prio int, h Handler) {
	ev := a.srv.Events
	if a.host != nil {
		ev = a.host.Events
	}
	a.OnUnload(ev.Hook(name, prio, h))
}

// Fire fires event name on the module's host (the server's bus for a
// global module) and reports whether a handler took it: for the events a
// module defines for others (roster-item-removed, presence-available).
func (a *API) Fire(name string, ev *Event) bool {
	if a.host == nil {
		return a.srv.Events.Fire(name, ev)
	}
	if ev.Host == nil {
		ev.Host = a.host
	}
	return a.host.Events.Fire(name, ev)
}

// HookServer adds a handler on the server-wide bus.
func (a *API) HookServer(name string, prio int, h Handler) {
	a.OnUnload(a.srv.Events.Hook(name, prio, h))
}

// AddFeature advertises a disco#info feature on the host.
func (a *API) AddFeature(ns string) {
	if a.host != nil {
		a.OnUnload(a.host.addFeature(ns))
	}
}

// AddIdentity advertises a disco#info identity on the host.
func (a *API) AddIdentity(id Identity) {
	if a.host != nil {
		a.OnUnload(a.host.addIdentity(id))
	}
}

// Every runs f every d until the module unloads.
func (a *API) Every(d time.Duration, f func()) {
	t := time.NewTicker(d)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-t.C:
				f()
			case <-stop:
				return
			}
		}
	}()
	a.OnUnload(func() { t.Stop(); close(stop) })
}

// After runs f once after d, unless the module unloads first.
func (a *API) After(d time.Duration, f func()) {
	t := time.AfterFunc(d, f)
	a.OnUnload(func() { t.Stop() })
}

// Listen opens a listener that closes when the module unloads: the 'net
// provider' of a module that accepts connections.
func (a *API) Listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	a.OnUnload(func() { ln.Close() })
	return ln, nil
}

// KeyVal opens a keyval store bound to the module's host.
func (a *API) KeyVal(store string, durable bool) KeyVal {
	return KeyVal{a.srv.DB.KeyVal(store, durable), a.hostName()}
}

// Map opens a map store bound to the module's host.
func (a *API) Map(store string, durable bool) Map {
	return Map{a.srv.DB.Map(store, durable), a.hostName()}
}

// Archive opens an archive store bound to the module's host.
func (a *API) Archive(store string, durable bool) Archive {
	return Archive{a.srv.DB.Archive(store, durable), a.hostName()}
}

// Counter returns a counter metric named <module>_<name>.
func (a *API) Counter(name, help string) *Counter {
	c := a.srv.Metrics.counter(a.info.Name+"_"+name, help)
	return c
}

// Gauge returns a gauge metric named <module>_<name>, read by f when scraped.
func (a *API) Gauge(name, help string, f func() float64) {
	a.OnUnload(a.srv.Metrics.gauge(a.info.Name+"_"+name, help, func(emit func(float64, ...string)) { emit(f()) }))
}

// SetStatus reports the module's health for `xmppd status` and the admin UI.
func (a *API) SetStatus(level slog.Level, msg string) {
	a.srv.setStatus(a, a.statusKey(), level, msg)
}

func (a *API) statusKey() string {
	if a.host == nil {
		return a.info.Name
	}
	return a.info.Name + "@" + a.host.Name
}

func (a *API) hostName() string {
	if a.host == nil {
		return ""
	}
	return a.host.Name
}

// unload undoes everything in reverse order.
func (a *API) unload() {
	if u, ok := a.mod.(Unloader); ok {
		u.Unload()
	}
	a.mu.Lock()
	undo := a.undo
	a.undo = nil
	a.mu.Unlock()
	for _, f := range slices.Backward(undo) {
		f()
	}
	a.srv.clearStatus(a, a.statusKey())
}

// KeyVal is a keyval store of one host.
type KeyVal struct {
	s    *storage.KeyVal
	host string
}

// Map is a map store of one host.
type Map struct {
	s    *storage.Map
	host string
}

// Archive is an archive store of one host.
type Archive struct {
	s    *storage.Archive
	host string
}

// Nodes opens a node store (pubsub and PEP items) bound to the module's host.
func (a *API) Nodes(store string, durable bool) Nodes {
	return Nodes{a.srv.DB.Nodes(store, durable), a.hostName()}
}

// NewBatch starts a batch of writes to the module's stores that commits
// with one fsync at most; see Batch.
func (a *API) NewBatch() Batch {
	return Batch{a.srv.DB.NewBatch()}
}
