package core

import (
	"errors"
	"fmt"
	"maps"

	"xmppd/internal/jid"
)

// ErrHostTaken means a component's domain is served already.
var ErrHostTaken = errors.New("core: the domain is served already")

// AddComponent serves the sub-domain sub of the module's host (sub
// "pubsub" on host example.org serves pubsub.example.org) as a component
// host: stanzas to it and to its JIDs fire events on the returned host's
// bus, which the module hooks with HookOn, and nobody can log in to it.
// It goes away when the module unloads.
func (a *API) AddComponent(sub string) (*Host, error) {
	if a.host == nil {
		return nil, errors.New("core: a global module has no host to add a component to")
	}
	d, err := jid.New("", sub+"."+a.host.Name, "")
	if err != nil {
		return nil, fmt.Errorf("component %q of %s: %w", sub, a.host.Name, err)
	}
	h := newHost(a.srv, d.Domain())
	h.Kind, h.Parent = HostComponent, a.host
	if err := a.srv.addHost(h); err != nil {
		return nil, fmt.Errorf("component %s: %w", h.Name, err)
	}
	a.OnUnload(func() { a.srv.removeHost(h) })
	return h, nil
}

// HookOn adds a handler on h's bus, such as a component host the module
// added, until the module unloads.
func (a *API) HookOn(h *Host, name string, prio int, fn Handler) {
	a.OnUnload(h.Events.Hook(name, prio, fn))
}

func (srv *Server) addHost(h *Host) error {
	srv.hostsMu.Lock()
	defer srv.hostsMu.Unlock()
	old := *srv.hosts.Load()
	if old[h.Name] != nil {
		return ErrHostTaken
	}
	m := maps.Clone(old)
	m[h.Name] = h
	srv.hosts.Store(&m)
	return nil
}

func (srv *Server) removeHost(h *Host) {
	srv.hostsMu.Lock()
	defer srv.hostsMu.Unlock()
	m := maps.Clone(*srv.hosts.Load())
	if m[h.Name] == h {
		delete(m, h.Name)
	}
	srv.hosts.Store(&m)
}
