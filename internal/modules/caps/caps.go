package caps

import (
	"container/list"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/presence"
	"xmppd/internal/stanza"
)

// Service is the name under which the module offers its *Caps to other
// modules (core.API.Provide); they name "caps" in ModuleInfo.Optional.
const Service = "caps"

// EventResolved fires on the host bus when the features of a session
// become known: at its first presence whose verification string is
// cached, or when the answer to the server's disco#info query has been
// verified. ev.Origin is the session, ev.From its full JID, ev.Data its
// *Info. PEP sends the last items of the nodes it now wants (XEP-0163 §4.3).
const EventResolved = "caps-resolved"

// NSDiscoInfo is the namespace of disco#info (XEP-0030).
const NSDiscoInfo = "http://jabber.org/protocol/disco#info"

// maxWaiters bounds the sessions kept in line to be asked for one
// verification string: the first one is asked, and the next only if it
// fails to answer. Sessions beyond it are not asked, but an answer still
// resolves them.
var maxWaiters = 64

// Info is a verified feature set: what a client's disco#info said, which
// every client announcing the same verification string shares. It is
// read-only once made.
type Info struct {
	// Features is sorted.
	Features []string
	// notify holds the nodes of the "<node>+notify" features, so that
	// Wants needs no string built per question.
	notify map[string]struct{}
}

func newInfo(features []string) *Info {
	i := &Info{Features: slices.Clone(features), notify: map[string]struct{}{}}
	slices.Sort(i.Features)
	for _, f := range i.Features {
		if node, ok := strings.CutSuffix(f, "+notify"); ok && node != "" {
			i.notify[node] = struct{}{}
		}
	}
	return i
}

// Has reports whether the feature set includes f; false on a nil Info.
func (i *Info) Has(f string) bool {
	if i == nil {
		return false
	}
	_, ok := slices.BinarySearch(i.Features, f)
	return ok
}

// Wants reports whether the set has node+"+notify" (XEP-0163 §4.2); false
// on a nil Info.
func (i *Info) Wants(node string) bool {
	if i == nil {
		return false
	}
	_, ok := i.notify[node]
	return ok
}

// sessionCaps is what the module keeps on a session: the verification
// string it announced and, once known, its features.
type sessionCaps struct {
	key  string // hash + " " + ver
	info atomic.Pointer[Info]
	// failed: this session was asked for key and answered wrongly or not
	// at all; the same presence again does not ask it again.
	failed atomic.Bool
}

var sessKey = core.NewKey("caps")

// Of returns the verified features of session s, or nil while they are
// unknown (no <c/>, not resolved yet, or a hash that did not verify).
// It costs a lookup among the session's values: the fan-out path's check.
func Of(s *core.Session) *Info {
	if st, _ := s.Get(sessKey).(*sessionCaps); st != nil {
		return st.info.Load()
	}
	return nil
}

// Caps is the capabilities cache of one host, offered as the "caps"
// service.
type Caps struct {
	api  *core.API
	opts options

	queries, mismatches *core.Counter

	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, most recently used first
	byKey   map[string]*list.Element
	pending map[string]*wait // keys being asked, and who waits
}

// wait is who waits for the answer about one verification string.
type wait struct {
	line []*core.Session // to be asked in turn, at most maxWaiters
	more bool            // others wait beyond the line
}

type cacheEntry struct {
	key  string
	info *Info
}

func newCaps(api *core.API, o options, queries, mismatches *core.Counter) *Caps {
	return &Caps{api: api, opts: o, queries: queries, mismatches: mismatches,
		lru: list.New(), byKey: map[string]*list.Element{}, pending: map[string]*wait{}}
}

// For returns the capabilities cache of host h, or nil when the module is
// not loaded there.
func For(h *core.Host) *Caps {
	c, _ := core.ServiceOf[*Caps](h, Service)
	return c
}

// Features returns the verified features of a local full JID, sorted
// (shared: do not modify), and whether they are known.
func (c *Caps) Features(full jid.JID) ([]string, bool) {
	i := c.info(full)
	if i == nil {
		return nil, false
	}
	return i.Features, true
}

// Wants reports whether the client at full JID announced node+"+notify":
// whether it wants PEP notifications of node (XEP-0163 §4.2).
func (c *Caps) Wants(full jid.JID, node string) bool {
	return c.info(full).Wants(node)
}

func (c *Caps) info(full jid.JID) *Info {
	h := c.api.Server().Host(full.Domain())
	if h == nil {
		return nil
	}
	s := h.Session(full)
	if s == nil {
		return nil
	}
	return Of(s)
}

func (c *Caps) cached() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// lookup returns the cached Info of key, marking it recently used.
func (c *Caps) lookup(key string) *Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byKey[key]; e != nil {
		c.lru.MoveToFront(e)
		return e.Value.(*cacheEntry).info
	}
	return nil
}

// store caches info under key, dropping the least recently used entry
// beyond the bound; sessions that hold a dropped Info keep it.
func (c *Caps) store(key string, info *Info) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byKey[key]; e != nil {
		e.Value.(*cacheEntry).info = info
		c.lru.MoveToFront(e)
		return
	}
	c.byKey[key] = c.lru.PushFront(&cacheEntry{key: key, info: info})
	for c.lru.Len() > c.opts.cacheSize {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.byKey, old.Value.(*cacheEntry).key)
	}
}

// onAvailable reads the caps of an available presence (XEP-0115 §4).
func (c *Caps) onAvailable(ev *core.Event) bool {
	s := ev.Origin
	ch := presence.ChangeOf(ev)
	if s == nil || ch == nil {
		return false
	}
	hash := strings.ToLower(ch.Caps.Hash)
	if ch.Caps.Ver == "" || hasher(hash) == nil {
		// No caps, or the legacy form without a hash (XEP-0115 §1.2),
		// which cannot be verified: the client's features are unknown.
		s.Set(sessKey, nil)
		return false
	}
	key := hash + " " + ch.Caps.Ver
	st, _ := s.Get(sessKey).(*sessionCaps)
	if st != nil && st.key == key {
		if st.info.Load() != nil || st.failed.Load() {
			return false // known, or this client's answer was wrong
		}
		// Still unknown (the string's query failed with others, or the
		// cache was full): this presence tries again.
	} else {
		st = &sessionCaps{key: key}
		s.Set(sessKey, st)
	}
	if info := c.lookup(key); info != nil {
		if st.info.CompareAndSwap(nil, info) {
			c.resolved(s, info)
		}
		return false
	}
	c.mu.Lock()
	w, asking := c.pending[key]
	if !asking {
		if len(c.pending) >= c.opts.cacheSize {
			// So many unknown strings at once is a flood: these clients
			// stay unknown until they send presence again.
			c.mu.Unlock()
			return false
		}
		w = &wait{}
		c.pending[key] = w
	}
	switch {
	case slices.Contains(w.line, s):
	case len(w.line) < maxWaiters:
		w.line = append(w.line, s)
	default:
		w.more = true
	}
	c.mu.Unlock()
	if !asking {
		c.ask(key, ch.Caps.Node, ch.Caps.Ver)
	}
	return false
}

// onGone forgets what a session announced: an unavailable session's
// features are of no use, and its next presence says them again.
func (c *Caps) onGone(ev *core.Event) bool {
	if ev.Origin != nil {
		ev.Origin.Set(sessKey, nil)
	}
	return false
}

// ask sends disco#info for node#ver (XEP-0115 §6.2) to the first session
// waiting on key that can still be asked; none left ends the wait.
func (c *Caps) ask(key, node, ver string) {
	for {
		c.mu.Lock()
		w := c.pending[key]
		if w == nil || len(w.line) == 0 {
			// Nobody left to ask; those beyond the line ask again with
			// their next presence.
			delete(c.pending, key)
			c.mu.Unlock()
			return
		}
		s := w.line[0]
		c.mu.Unlock()
		var b stanza.Builder
		b.Reset(nil).Start("query").Attr("xmlns", NSDiscoInfo).Attr("node", node+"#"+ver).End()
		err := c.api.SendIQ(s, "get", b.Bytes(), c.opts.timeout, func(answer *stanza.Stanza, err error) {
			c.answered(key, node, ver, s, answer, err)
		})
		if err == nil {
			c.queries.Inc()
			return
		}
		c.dropWaiter(key, s)
	}
}

func (c *Caps) dropWaiter(key string, s *core.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.pending[key]; w != nil {
		w.line = slices.DeleteFunc(w.line, func(x *core.Session) bool { return x == s })
	}
}

// answered checks the answer of the session asked for key; a good one is
// cached and given to every session waiting on key, anything else moves
// on to the next waiter (XEP-0115 §5.4: a mismatch is not cached).
func (c *Caps) answered(key, node, ver string, asked *core.Session, answer *stanza.Stanza, err error) {
	var info *Info
	if err == nil {
		hash, _, _ := strings.Cut(key, " ")
		features, ok := verify(answer, hash, ver)
		if ok {
			info = newInfo(features)
		} else {
			c.mismatches.Inc()
		}
	}
	if info == nil {
		if st, _ := asked.Get(sessKey).(*sessionCaps); st != nil && st.key == key {
			st.failed.Store(true)
		}
		c.dropWaiter(key, asked)
		c.ask(key, node, ver)
		return
	}
	c.store(key, info)
	c.mu.Lock()
	w := c.pending[key]
	delete(c.pending, key)
	c.mu.Unlock()
	if w == nil {
		return
	}
	waiters := w.line
	if w.more {
		// Rare (more than maxWaiters clients of one version announced it
		// before the first answer): look for the others among all.
		waiters = asked.Host.AllSessions()
	}
	for _, s := range waiters {
		st, _ := s.Get(sessKey).(*sessionCaps)
		if st == nil || st.key != key || !s.Bound() {
			continue // moved on to other caps, or gone
		}
		if st.info.CompareAndSwap(nil, info) {
			c.resolved(s, info)
		}
	}
}

// resolved tells the host's modules that s's features are known.
func (c *Caps) resolved(s *core.Session, info *Info) {
	c.api.Fire(EventResolved, &core.Event{Host: s.Host, Origin: s, From: s.JID, Data: info})
}
