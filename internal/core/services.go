package core

import (
	"fmt"
	"slices"
	"sync"
)

// scope is what the core keeps for one host (or, under the nil host, for
// the server as a whole) on behalf of the modules loaded there: services,
// the account's disco registrations, the tracker of the server's iqs.
type scope struct {
	mu       sync.Mutex
	services map[string][]*service // newest last

	discoMu        sync.Mutex
	acctFeatures   []string
	acctIdentities []Identity
	items          []DiscoItem

	iq *iqTracker
}

// scopeOf returns the core's state for h (nil: the server), made on first use.
func (srv *Server) scopeOf(h *Host) *scope {
	if v, ok := srv.scopes.Load(h); ok {
		return v.(*scope)
	}
	v, _ := srv.scopes.LoadOrStore(h, &scope{})
	return v.(*scope)
}

// service is one module's offer under a name.
type service struct {
	owner *API
	value any
}

// Provide offers v to other modules under name, on the module's host (for
// a global module, to every host) until the module unloads. Modules that
// use it name this module in ModuleInfo.Requires or Optional, so that it
// loads first. Another module offering the same name on the same host is
// a wiring mistake and an error; the same module may offer it again, as a
// reload does while the instance it replaces still runs, and the newest
// offer is the one served.
func (a *API) Provide(name string, v any) error {
	sc := a.srv.scopeOf(a.host)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, s := range sc.services[name] {
		if s.owner.info.Name != a.info.Name {
			return fmt.Errorf("service %q is already provided by module %s", name, s.owner.info.Name)
		}
	}
	if sc.services == nil {
		sc.services = map[string][]*service{}
	}
	s := &service{owner: a, value: v}
	sc.services[name] = append(sc.services[name], s)
	a.OnUnload(func() {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		list := slices.DeleteFunc(sc.services[name], func(x *service) bool { return x == s })
		if len(list) == 0 {
			delete(sc.services, name)
		} else {
			sc.services[name] = list
		}
	})
	return nil
}

// Service returns what a module offers under name on the module's host, or
// globally, or nil. A reload may replace the module that offers it, so look
// it up where it is used rather than keep it.
func (a *API) Service(name string) any {
	if a.host != nil {
		return a.host.Service(name)
	}
	return a.srv.scopeOf(nil).service(name)
}

// Service returns what a module offers under name on h, or globally, or
// nil: for a module that serves one host and needs another's (a stanza
// between two hosts changes the rosters of both).
func (h *Host) Service(name string) any {
	if v := h.Server.scopeOf(h).service(name); v != nil {
		return v
	}
	return h.Server.scopeOf(nil).service(name)
}

// ServiceOf is Host.Service with the value's type checked: the zero T and
// false when nothing of type T is offered under name.
func ServiceOf[T any](h *Host, name string) (T, bool) {
	var v any
	if h != nil {
		v = h.Service(name)
	}
	t, ok := v.(T)
	return t, ok
}

func (sc *scope) service(name string) any {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if list := sc.services[name]; len(list) > 0 {
		return list[len(list)-1].value
	}
	return nil
}
