package sasl

import (
	"sync"
	"time"
)

// Throttle parameters. Five tries cover typing mistakes; after that each
// failure doubles the wait, so guessing is slowed to about one try in five
// minutes, while an account or address left alone for longer than forget
// starts afresh.
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
// how long until it may.
func (t *Throttle) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil || !now.Before(e.until) {
		return true, 0
	}
	return false, e.until.Sub(now)
}

// Failure records a failed attempt for key at now. From the sixth failure
// on, the key waits one second, then two, four and so on up to five
// minutes.
func (t *Throttle) Failure(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	switch {
	case e == nil:
		if len(t.entries) >= t.max {
			t.remove(t.tail)
		}
		e = &throttleEntry{key: key}
		t.entries[key] = e
	case now.Sub(e.last) > throttleForget:
		e.failures = 0
		t.unlink(e)
	default:
		t.unlink(e)
	}
	t.pushFront(e)
	e.failures++
	e.last = now
	if n := e.failures - throttleFree; n > 0 {
		d := throttleMax
		if n <= 20 {
			d = min(throttleBase<<(n-1), throttleMax)
		}
		e.until = now.Add(d)
	}
}

// Success forgets key, after a successful login.
func (t *Throttle) Success(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[key]; e != nil {
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
