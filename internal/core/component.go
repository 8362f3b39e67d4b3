package core

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"xmppd/internal/jid"
)

// ErrHostTaken means a component's domain is served already, by a user
// host or another module.
var ErrHostTaken = errors.New("core: the domain is served already")

// componentEntry is one instance of a module serving a component domain.
// A reload loads the new instance beside the running one: both hold the
// domain for a moment, the newest serving, so no stanza meets the
// fallback in between.
type componentEntry struct {
	owner string // the module's name
	h     *Host
}

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
	if err := a.srv.addHost(h, a.info.Name); err != nil {
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

// addHost serves component host h for module owner: the domain must be
// free, or held by another instance of the same module (a reload).
func (srv *Server) addHost(h *Host, owner string) error {
	srv.hostsMu.Lock()
	defer srv.hostsMu.Unlock()
	old := *srv.hosts.Load()
	stack := srv.components[h.Name]
	if cur := old[h.Name]; cur != nil && (len(stack) == 0 || stack[len(stack)-1].owner != owner) {
		return ErrHostTaken
	}
	if srv.components == nil {
		srv.components = map[string][]componentEntry{}
	}
	srv.components[h.Name] = append(stack, componentEntry{owner, h})
	m := maps.Clone(old)
	m[h.Name] = h
	srv.hosts.Store(&m)
	return nil
}

// removeHost stops serving component host h; an instance that held the
// domain before it serves it again.
func (srv *Server) removeHost(h *Host) {
	srv.hostsMu.Lock()
	defer srv.hostsMu.Unlock()
	stack := slices.DeleteFunc(srv.components[h.Name], func(e componentEntry) bool { return e.h == h })
	m := maps.Clone(*srv.hosts.Load())
	if len(stack) == 0 {
		delete(srv.components, h.Name)
		if m[h.Name] == h {
			delete(m, h.Name)
		}
	} else {
		srv.components[h.Name] = stack
		m[h.Name] = stack[len(stack)-1].h
	}
	srv.hosts.Store(&m)
}
