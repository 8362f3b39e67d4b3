package core

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"xmppd/internal/jid"
)

// Resource conflict policies (RFC 6120 §7.7.2.2), chosen by c2s_resource_conflict.
const (
	ConflictKickOld = "kick_old"
	ConflictRefuse  = "refuse"
	ConflictRandom  = "random"
)

// Errors Bind returns when it refuses a session.
var (
	ErrConflict      = errors.New("core: resource in use")
	ErrResourceLimit = errors.New("core: the account has as many sessions as it may")
	ErrSessionLimit  = errors.New("core: the server has as many sessions as it may")
)

// BindLimits says how Bind treats a resource in use and how many sessions
// it lets in; a zero maximum means no limit.
type BindLimits struct {
	Conflict     string // ConflictKickOld, ConflictRefuse or ConflictRandom
	MaxResources int    // sessions per account
	MaxSessions  int    // sessions on the whole server
}

// Identity is a disco#info identity (XEP-0030 §3.1).
type Identity struct{ Category, Type, Name string }

// HostKind says what a host's domain is for.
type HostKind uint8

// The kinds of host.
const (
	// HostUser is a domain with accounts (`config host`): clients log in
	// to it.
	HostUser HostKind = iota
	// HostComponent is a sub-domain served by a module (pubsub.<host>,
	// conference.<host>, upload.<host>): stanzas to it and to its JIDs go
	// to that module's hooks, and nobody logs in to it.
	HostComponent
)

// Host is a virtual host: a domain with its own events, sessions and modules.
type Host struct {
	Name   string
	Kind   HostKind
	Parent *Host // the user host a component belongs to; nil for user hosts
	Server *Server
	Events *Events
	Log    *slog.Logger

	mu    sync.RWMutex
	users map[string][]*Session // localpart → bound sessions

	discoMu    sync.Mutex
	features   []string
	identities []Identity

	// The outgoing filters every session of the host passes (outbound.go).
	filterMu sync.Mutex
	filterID uint64
	filters  atomic.Pointer[[]filterEntry]

	modules []*API
}

func newHost(srv *Server, name string) *Host {
	return &Host{Name: name, Server: srv, Events: NewEvents(), Log: srv.Log.With("host", name), users: map[string][]*Session{}}
}

// Bind binds resource (empty: the server picks one) to s, applying the
// conflict policy, and fires "resource-bind".
func (h *Host) Bind(s *Session, resource, policy string) (jid.JID, error) {
	return h.BindWithin(s, resource, BindLimits{Conflict: policy})
}

// BindWithin is Bind with limits on the number of sessions: past them it
// returns ErrResourceLimit or ErrSessionLimit. A session that replaces one
// with the same resource (ConflictKickOld) takes its place and is not
// counted twice.
func (h *Host) BindWithin(s *Session, resource string, lim BindLimits) (jid.JID, error) {
	if resource == "" {
		resource = randomResource()
	}
	full, err := s.JID.Bare().WithResource(resource)
	if err != nil {
		return jid.JID{}, err
	}
	local := full.Local()
	var kicked *Session
	h.mu.Lock()
	for _, o := range h.users[local] {
		if o.JID.Equal(full) {
			switch lim.Conflict {
			case ConflictRefuse:
				h.mu.Unlock()
				return jid.JID{}, ErrConflict
			case ConflictRandom:
				full, _ = full.Bare().WithResource(resource + "." + randomResource()[:8])
			default:
				kicked = o
			}
		}
	}
	if kicked == nil {
		if lim.MaxResources > 0 && len(h.users[local]) >= lim.MaxResources {
			h.mu.Unlock()
			return jid.JID{}, ErrResourceLimit
		}
		// Counted across hosts, so checked and taken in one step.
		if n := h.Server.bound.Add(1); lim.MaxSessions > 0 && n > int64(lim.MaxSessions) {
			h.Server.bound.Add(-1)
			h.mu.Unlock()
			return jid.JID{}, ErrSessionLimit
		}
	} else {
		h.users[local] = slices.DeleteFunc(h.users[local], func(x *Session) bool { return x == kicked })
	}
	s.JID = full
	s.bound.Store(true)
	h.users[local] = append(h.users[local], s)
	h.mu.Unlock()
	if kicked != nil {
		kicked.bound.Store(false)
		h.Events.Fire(EventResourceUnbind, &Event{Host: h, Origin: kicked})
		kicked.Close("conflict", "replaced by a new session with the same resource")
	}
	h.Events.Fire(EventResourceBind, &Event{Host: h, Origin: s})
	return full, nil
}

// Unbind removes s (gone or closing) and fires "resource-unbind" once.
func (h *Host) Unbind(s *Session) {
	if !s.bound.CompareAndSwap(true, false) {
		return
	}
	local := s.JID.Local()
	h.Server.bound.Add(-1)
	h.mu.Lock()
	list := slices.DeleteFunc(h.users[local], func(x *Session) bool { return x == s })
	if len(list) == 0 {
		delete(h.users, local)
	} else {
		h.users[local] = list
	}
	h.mu.Unlock()
	h.Events.Fire(EventResourceUnbind, &Event{Host: h, Origin: s})
}

// LinkLost is what a transport calls when the link of session s is gone.
// The session is detached and EventSessionDetached fires: a handler that
// returns true keeps it bound (stream management, for resumption) and
// later attaches it to a new link or closes it. If nobody claims it, it
// is unbound, as a session without stream management always is.
func (h *Host) LinkLost(s *Session, l Link) {
	// A session resumed elsewhere has a new link already: the old one's
	// end concerns nobody.
	if r := s.link.Load(); r == nil || r.Link != l || !s.link.CompareAndSwap(r, nil) {
		return
	}
	if !s.Bound() {
		return
	}
	if h.Events.Fire(EventSessionDetached, &Event{Host: h, Origin: s}) {
		return
	}
	h.Unbind(s)
}

// Session returns the session bound to a full JID of this host, or nil.
func (h *Host) Session(full jid.JID) *Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, s := range h.users[full.Local()] {
		if s.JID.Resource() == full.Resource() {
			return s
		}
	}
	return nil
}

// Sessions calls fn for every session of a local user that was bound when
// it was called. fn runs without the host's lock held: sending to a session
// can close it (a write to a reset connection), and closing unbinds, which
// takes the lock.
func (h *Host) Sessions(local string, fn func(*Session)) {
	// A user seldom has more sessions than this: the snapshot stays on the
	// stack, so delivering to a bare JID allocates nothing.
	var arr [16]*Session
	h.mu.RLock()
	list := append(arr[:0], h.users[local]...)
	h.mu.RUnlock()
	for _, s := range list {
		fn(s)
	}
}

// Count returns the number of bound sessions and of users with one.
func (h *Host) Count() (sessions, users int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, l := range h.users {
		sessions += len(l)
	}
	return sessions, len(h.users)
}

// AllSessions returns a snapshot of every bound session.
func (h *Host) AllSessions() []*Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []*Session
	for _, l := range h.users {
		out = append(out, l...)
	}
	return out
}

// Features returns the disco#info features of the host, sorted.
func (h *Host) Features() []string {
	h.discoMu.Lock()
	defer h.discoMu.Unlock()
	return slices.Clone(h.features)
}

// Identities returns the disco#info identities of the host.
func (h *Host) Identities() []Identity {
	h.discoMu.Lock()
	defer h.discoMu.Unlock()
	return slices.Clone(h.identities)
}

func (h *Host) addFeature(ns string) func() {
	h.discoMu.Lock()
	defer h.discoMu.Unlock()
	h.features = append(h.features, ns)
	slices.Sort(h.features)
	return func() {
		h.discoMu.Lock()
		defer h.discoMu.Unlock()
		if i := slices.Index(h.features, ns); i >= 0 {
			h.features = slices.Delete(h.features, i, i+1)
		}
	}
}

func (h *Host) addIdentity(id Identity) func() {
	h.discoMu.Lock()
	defer h.discoMu.Unlock()
	h.identities = append(h.identities, id)
	return func() {
		h.discoMu.Lock()
		defer h.discoMu.Unlock()
		if i := slices.Index(h.identities, id); i >= 0 {
			h.identities = slices.Delete(h.identities, i, i+1)
		}
	}
}

func randomResource() string {
	var b [8]byte
	rand.Read(b[:])
	return "xmppd-" + hex.EncodeToString(b[:])
}
