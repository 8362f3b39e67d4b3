package blocking

import (
	"hash/fnv"
	"slices"
	"sync"

	"github.com/tinylib/msgp/msgp"

	"xmppd/internal/core"
	"xmppd/internal/jid"
)

// record is a user's blocklist as stored: the blocked JIDs, normalised.
type record struct{ JIDs []string }

// MarshalMsg implements msgp.Marshaler: an array of strings.
func (r *record) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, uint32(len(r.JIDs)))
	for _, j := range r.JIDs {
		b = msgp.AppendString(b, j)
	}
	return b, nil
}

// UnmarshalMsg implements msgp.Unmarshaler.
func (r *record) UnmarshalMsg(b []byte) ([]byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return b, err
	}
	r.JIDs = make([]string, 0, n)
	for range n {
		var s string
		if s, b, err = msgp.ReadStringBytes(b); err != nil {
			return b, err
		}
		r.JIDs = append(r.JIDs, s)
	}
	return b, nil
}

// set is a loaded blocklist; never changed once made, so readers need no
// lock.
type set map[string]struct{}

// maxCached bounds the blocklists kept in memory per host; past it the
// cache starts again, and lists are read back from the store as needed.
const maxCached = 4096

// list returns user's blocklist, from the cache or the store.
func (m *Module) list(user string) (set, error) {
	m.mu.RLock()
	l, ok := m.cache[user]
	m.mu.RUnlock()
	if ok {
		return l, nil
	}
	var r record
	if _, err := m.store.Get(user, &r); err != nil {
		return nil, err
	}
	l = make(set, len(r.JIDs))
	for _, j := range r.JIDs {
		l[j] = struct{}{}
	}
	m.mu.Lock()
	if len(m.cache) >= maxCached {
		clear(m.cache)
	}
	m.cache[user] = l
	m.mu.Unlock()
	return l, nil
}

// blocks reports whether user's blocklist matches j, by the JID matching
// rules of XEP-0016 §2.1 that XEP-0191 refers to: the full JID, the bare
// JID, the domain with the resource, or the domain. A list that cannot be
// read blocks nothing: failing open keeps mail flowing, and the error is
// logged.
func (m *Module) blocks(user string, j jid.JID) bool {
	l, err := m.list(user)
	if err != nil {
		m.api.Log().Error("blocking: reading a blocklist failed", "user", user, "err", err)
		return false
	}
	if len(l) == 0 {
		return false
	}
	return matches(l, j)
}

func matches(l set, j jid.JID) bool {
	if _, ok := l[j.String()]; ok {
		return true
	}
	if j.Resource() != "" {
		if _, ok := l[j.Bare().String()]; ok {
			return true
		}
		if j.Local() != "" {
			if _, ok := l[j.Domain()+"/"+j.Resource()]; ok {
				return true
			}
		}
	}
	if j.Local() != "" || j.Resource() != "" {
		if _, ok := l[j.Domain()]; ok {
			return true
		}
	}
	return false
}

// itemMatches reports whether the blocklist item (a JID as stored)
// matches j; for finding the sessions an item concerns.
func itemMatches(item string, j jid.JID) bool { return matches(set{item: {}}, j) }

// locks serialise changes to one user's blocklist.
var locks [64]sync.Mutex

func lock(host, user string) *sync.Mutex {
	f := fnv.New32a()
	f.Write([]byte(host))
	f.Write([]byte{0})
	f.Write([]byte(user))
	mu := &locks[f.Sum32()%uint32(len(locks))]
	mu.Lock()
	return mu
}

// update replaces user's blocklist by fn's result, durably, and then the
// cached copy; it runs under the user's lock. It returns the lists before
// and after.
func (m *Module) update(user string, fn func(old []string) ([]string, error)) (before, after []string, err error) {
	mu := lock(m.api.Host().Name, user)
	defer mu.Unlock()
	var r record
	if _, err := m.store.Get(user, &r); err != nil {
		return nil, nil, err
	}
	before = r.JIDs
	after, err = fn(slices.Clone(before))
	if err != nil {
		return nil, nil, err
	}
	if len(after) == 0 {
		err = m.store.Delete(user)
	} else {
		err = m.store.Set(user, &record{JIDs: after})
	}
	if err != nil {
		return nil, nil, err
	}
	l := make(set, len(after))
	for _, j := range after {
		l[j] = struct{}{}
	}
	m.mu.Lock()
	m.cache[user] = l
	m.mu.Unlock()
	switch {
	case len(before) == 0 && len(after) > 0:
		active.Add(1)
		m.counted.Add(1)
	case len(before) > 0 && len(after) == 0:
		active.Add(-1)
		m.counted.Add(-1)
	}
	return before, after, nil
}

var _ core.Module = (*Module)(nil)
