package sasl

import (
	"sync"
	"time"
)

// Throttle parameters. Five tries cover typing mistakes; after the fifth
// failure the next try waits a second, and each further failure doubles
// the wait, so guessing is slowed to about one try in five minutes, while
// an account or address left alone for longer than forget starts afresh.
const (
	throttleFree   = 5
	throttleBase   = time.Second
	throttleMax    = 5 * time.Minute
	throttleForget = 15 * time.Minute
)

// Throttle slows password guessing, per key: the caller counts each attempt
// against the client's address and the account (say "ip:" plus the address,
// or its /64 for IPv6, and "user:" plus the localpart). Memory is bounded:
// when full it forgets the key that failed least recently, which is the
// least useful one to an attacker trying to stay unthrottled. It is safe
// for concurrent use.
//
// Attempts may be reserved before they are checked (Reserve), so that
// parallel connections cannot all pass while the failures that would stop
// them are still being verified: an attempt in flight counts against the
// five free tries as if it had failed, until Failure, Success or Release
// ends it.
type Throttle struct {
	mu      sync.Mutex
	max     int
	entries map[string]*throttleEntry
	// head is the most recently failed entry, tail the least; the list
	// gives eviction in constant time.
	head, tail *throttleEntry
}

type throttleEntry struct {
	key        string
	failures   int
	inflight   int       // reserved attempts not ended yet
	last       time.Time // of the last failure
	until      time.Time // no attempt before this
	prev, next *throttleEntry
}

// NewThrottle returns a Throttle that tracks at most maxKeys keys (at
// least 1).
func NewThrottle(maxKeys int) *Throttle {
	maxKeys = max(maxKeys, 1)
	return &Throttle{max: maxKeys, entries: make(map[string]*throttleEntry, min(maxKeys, 1024))}
}

// Allow reports whether an attempt for key may go ahead at now, and if not,
// how long until it may. Attempts in flight are not counted: Allow is the
// cheap check before an exchange starts, Reserve the one that decides.
func (t *Throttle) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil || !now.Before(e.until) {
		return true, 0
	}
	return false, e.until.Sub(now)
}

// Reserve takes an attempt for key at now, to be ended with Failure,
// Success or Release. It refuses while key waits after failures, and while
// attempts in flight hold what is left of the five free tries; once those
// are spent, one attempt at a time.
func (t *Throttle) Reserve(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	wait, busy := t.check(key, now)
	switch {
	case busy:
		return false, throttleBase
	case wait > 0:
		return false, wait
	}
	t.reserve(key)
	return true, 0
}

// check says how long key must wait at now, or that it is busy: the tries
// it has left are taken by attempts in flight. The caller holds t.mu.
func (t *Throttle) check(key string, now time.Time) (wait time.Duration, busy bool) {
	e := t.entries[key]
	if e == nil {
		return 0, false
	}
	if now.Before(e.until) {
		return e.until.Sub(now), false
	}
	failures := e.failures
	if now.Sub(e.last) > throttleForget {
		failures = 0
	}
	return 0, e.inflight > 0 && failures+e.inflight >= throttleFree
}

// reserve counts an attempt in flight for key. The caller holds t.mu and
// has checked.
func (t *Throttle) reserve(key string) {
	e := t.entries[key]
	if e == nil {
		e = t.add(key)
	}
	e.inflight++
}

// add makes room and tracks key. An entry with attempts in flight is never
// the one forgotten, or its reservations would be lost; with nothing else
// to forget, the map grows past max until they end.
func (t *Throttle) add(key string) *throttleEntry {
	if len(t.entries) >= t.max {
		victim := t.tail
		for victim != nil && victim.inflight > 0 {
			victim = victim.prev
		}
		if victim != nil {
			t.remove(victim)
		}
	}
	e := &throttleEntry{key: key}
	t.entries[key] = e
	t.pushFront(e)
	return e
}

// Failure records a failed attempt for key at now, ending one reserved
// attempt if there is one. From the fifth failure on, the key waits one
// second, then two, four and so on up to five minutes.
func (t *Throttle) Failure(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	switch {
	case e == nil:
		e = t.add(key)
	case now.Sub(e.last) > throttleForget:
		e.failures = 0
		t.unlink(e)
		t.pushFront(e)
	default:
		t.unlink(e)
		t.pushFront(e)
	}
	if e.inflight > 0 {
		e.inflight--
	}
	e.failures++
	e.last = now
	if n := e.failures - throttleFree + 1; n > 0 {
		d := throttleMax
		if n <= 20 {
			d = min(throttleBase<<(n-1), throttleMax)
		}
		e.until = now.Add(d)
	}
}

// Success forgets the failures of key, after a successful login, and ends
// one reserved attempt if there is one.
func (t *Throttle) Success(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil {
		return
	}
	if e.inflight > 0 {
		e.inflight--
	}
	e.failures, e.until = 0, time.Time{}
	if e.inflight == 0 {
		t.remove(e)
	}
}

// Release ends a reserved attempt that was no guess at a password (the
// exchange was malformed, or refused before one was checked), or one whose
// success must not forgive the key's failures.
func (t *Throttle) Release(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil || e.inflight == 0 {
		return
	}
	e.inflight--
	if e.inflight == 0 && e.failures == 0 {
		t.remove(e)
	}
}

// Len returns the number of keys tracked.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

func (t *Throttle) remove(e *throttleEntry) {
	t.unlink(e)
	delete(t.entries, e.key)
}

func (t *Throttle) unlink(e *throttleEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (t *Throttle) pushFront(e *throttleEntry) {
	e.next = t.head
	if t.head != nil {
		t.head.prev = e
	}
	t.head = e
	if t.tail == nil {
		t.tail = e
	}
}

// Guard parameters.
const (
	// guardKnownFor is how long a successful login from an address frees
	// that address from the account's limit.
	guardKnownFor = 30 * 24 * time.Hour
	// guardMaxWait bounds how long Begin waits for attempts in flight to
	// end. They end as soon as a password is checked, within milliseconds;
	// waiting longer means the server is overloaded.
	guardMaxWait = 5 * time.Second
)

// Guard throttles logins with a Throttle per client address and one per
// account. Without the first, one address could guess at every account;
// without the second, many addresses could guess at one. The second alone
// would let anyone lock an account out by failing at it, so an address the
// account logged in from in the last 30 days is held back only by its own
// limit: its owner keeps getting in while someone else hammers the account.
// Those addresses are remembered in memory, at most as many pairs of
// account and address as the Guard has keys; a restart forgets them. It is
// safe for concurrent use.
type Guard struct {
	mu       sync.Mutex
	addrs    *Throttle
	accounts *Throttle
	known    recent
	// ended is closed, and replaced, when an attempt ends, to wake the
	// Begin calls waiting for the tries that attempts in flight held.
	ended chan struct{}
	// now is time.Now; tests move it.
	now func() time.Time
}

// NewGuard returns a Guard that tracks at most maxKeys addresses, as many
// accounts, and as many addresses known to accounts.
func NewGuard(maxKeys int) *Guard {
	return &Guard{
		addrs:    NewThrottle(maxKeys),
		accounts: NewThrottle(maxKeys),
		known:    newRecent(maxKeys, guardKnownFor),
		ended:    make(chan struct{}),
		now:      time.Now,
	}
}

// Allow reports whether addr may start an exchange now, and if not, how
// long until it may. It reserves nothing: it turns a throttled address
// away before it sends anything.
func (g *Guard) Allow(addr string) (ok bool, retryAfter time.Duration) {
	return g.addrs.Allow(addr, g.now())
}

// Begin reserves an attempt at account from addr, to be checked right after
// and ended with one of the Attempt's methods. The caller passes the
// account as its prepared name, so that every spelling of it shares one
// limit, and the address grouped as it wants it limited (an IPv6 /64, say).
// While attempts in flight hold the tries left, Begin waits for them to end,
// so that a burst of good logins from one address is served in turn rather
// than refused. ok is false when the attempt may not be made; retryAfter is
// then how long until it may.
func (g *Guard) Begin(account, addr string) (a Attempt, retryAfter time.Duration, ok bool) {
	deadline := time.Now().Add(guardMaxWait)
	for {
		g.mu.Lock()
		now := g.now()
		known := g.known.has(account, addr, now)
		// g.mu makes checking both limits and reserving one step; the
		// Throttles' own locks keep Allow, which takes only those, out.
		g.addrs.mu.Lock()
		wait, busy := g.addrs.check(addr, now)
		g.addrs.mu.Unlock()
		if !known {
			g.accounts.mu.Lock()
			w, b := g.accounts.check(account, now)
			g.accounts.mu.Unlock()
			wait, busy = max(wait, w), busy || b
		}
		if wait == 0 && !busy {
			g.addrs.mu.Lock()
			g.addrs.reserve(addr)
			g.addrs.mu.Unlock()
			if !known {
				g.accounts.mu.Lock()
				g.accounts.reserve(account)
				g.accounts.mu.Unlock()
			}
			g.mu.Unlock()
			return Attempt{g: g, account: account, addr: addr, byAccount: !known}, 0, true
		}
		ended := g.ended
		g.mu.Unlock()
		left := time.Until(deadline)
		if wait > 0 || left <= 0 {
			return Attempt{}, max(wait, throttleBase), false
		}
		t := time.NewTimer(left)
		select {
		case <-ended:
		case <-t.C:
		}
		t.Stop()
	}
}

// Attempt is an attempt reserved by Guard.Begin. Exactly one of Failed,
// Succeeded and Cancel ends it.
type Attempt struct {
	g             *Guard
	account, addr string
	byAccount     bool // counted against the account's limit
}

// Failed ends the attempt as a wrong guess at the password.
func (a Attempt) Failed() {
	a.end(func(now time.Time) {
		a.g.addrs.Failure(a.addr, now)
		if a.byAccount {
			a.g.accounts.Failure(a.account, now)
		}
	})
}

// Succeeded ends the attempt as a login, and remembers the address for the
// account. The account's failures are forgiven if the attempt was counted
// against them; the address's are not, or one good account would wipe out
// the count of guesses made at others from there.
func (a Attempt) Succeeded() {
	a.end(func(now time.Time) {
		a.g.addrs.Release(a.addr)
		if a.byAccount {
			a.g.accounts.Success(a.account)
		}
		a.g.known.add(a.account, a.addr, now)
	})
}

// Cancel ends the attempt without counting it: no password was checked.
func (a Attempt) Cancel() {
	a.end(func(time.Time) {
		a.g.addrs.Release(a.addr)
		if a.byAccount {
			a.g.accounts.Release(a.account)
		}
	})
}

func (a Attempt) end(f func(now time.Time)) {
	g := a.g
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g.now())
	close(g.ended)
	g.ended = make(chan struct{})
}
