package sasl

import (
	"hash/maphash"
	"time"
)

// recent remembers pairs of account and address for ttl, at most as many
// as it has slots: when full it forgets the pair added least recently. The
// caller locks.
//
// Its memory is two arrays made once, and a pair costs no object of its
// own. A list and a map of strings, one set of objects per login, would be
// allocated among the objects of the sessions logging in at the same time,
// and once those sessions are gone (a burst of disconnects) the few
// thousand remembered pairs would keep most of the heap's small-object
// spans in use, megabytes the runtime cannot give back.
//
// A pair is kept as a 64-bit hash with a seed drawn for each process, so
// that no one can choose pairs that collide; two real pairs share a hash
// with a chance of about one in 2^64 divided by the slots.
type recent struct {
	ttl  int64 // nanoseconds
	seed maphash.Seed
	// slots holds the pairs in its first n entries, linked from the most
	// recent (head) to the least (tail); -1 ends the list.
	slots      []recentSlot
	n          int
	head, tail int32
	// index finds a slot by hash: open addressing with linear probing,
	// holding slot+1, 0 for an empty place, at most half full.
	index []int32
}

type recentSlot struct {
	h          uint64
	at         int64 // UnixNano of the login
	prev, next int32
}

// newRecent returns a recent of size slots (at least 1) that forgets a pair
// ttl after its last login.
func newRecent(size int, ttl time.Duration) recent {
	size = max(size, 1)
	places := 2
	for places < 2*size {
		places *= 2
	}
	return recent{ttl: int64(ttl), seed: maphash.MakeSeed(), slots: make([]recentSlot, size),
		head: -1, tail: -1, index: make([]int32, places)}
}

// key returns the hash of the pair.
func (r *recent) key(account, addr string) uint64 {
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.WriteString(account)
	h.WriteByte(0)
	h.WriteString(addr)
	return h.Sum64()
}

// has reports whether the pair logged in within ttl of now.
func (r *recent) has(account, addr string, now time.Time) bool {
	h := r.key(account, addr)
	i := r.find(h)
	if r.index[i] == 0 {
		return false
	}
	s := r.index[i] - 1
	if now.UnixNano()-r.slots[s].at > r.ttl {
		r.remove(s, i)
		return false
	}
	return true
}

// add remembers that the pair logged in at now.
func (r *recent) add(account, addr string, now time.Time) {
	h := r.key(account, addr)
	i := r.find(h)
	if r.index[i] != 0 {
		s := r.index[i] - 1
		r.slots[s].at = now.UnixNano()
		r.unlink(s)
		r.pushFront(s)
		return
	}
	var s int32
	if r.n < len(r.slots) {
		s = int32(r.n)
		r.n++
	} else {
		// Full: the least recent pair's slot takes the new one.
		s = r.tail
		r.unlink(s)
		r.unindex(r.find(r.slots[s].h))
		i = r.find(h) // the places may have moved
	}
	r.slots[s] = recentSlot{h: h, at: now.UnixNano()}
	r.index[i] = s + 1
	r.pushFront(s)
}

// len returns the number of pairs remembered.
func (r *recent) len() int { return r.n }

// find returns the index place of h: where it is, or the empty place where
// it would go.
func (r *recent) find(h uint64) int {
	mask := len(r.index) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		if r.index[i] == 0 || r.slots[r.index[i]-1].h == h {
			return i
		}
	}
}

// remove forgets slot s, found at index place i, and moves the last used
// slot into it so that the used slots stay the first n.
func (r *recent) remove(s int32, i int) {
	r.unlink(s)
	r.unindex(i)
	r.n--
	last := int32(r.n)
	if s == last {
		return
	}
	r.index[r.find(r.slots[last].h)] = s + 1
	r.slots[s] = r.slots[last]
	prev, next := r.slots[s].prev, r.slots[s].next
	if prev >= 0 {
		r.slots[prev].next = s
	} else {
		r.head = s
	}
	if next >= 0 {
		r.slots[next].prev = s
	} else {
		r.tail = s
	}
}

// unindex empties index place i and moves later entries of its probe run
// back, so that lookups need no markers for removed entries.
func (r *recent) unindex(i int) {
	mask := len(r.index) - 1
	r.index[i] = 0
	for j := (i + 1) & mask; r.index[j] != 0; j = (j + 1) & mask {
		home := int(r.slots[r.index[j]-1].h) & mask
		// The entry at j may move to i unless its home lies cyclically
		// after i, up to j: then i is before where a lookup starts.
		if (j-home)&mask >= (j-i)&mask {
			r.index[i], r.index[j] = r.index[j], 0
			i = j
		}
	}
}

func (r *recent) unlink(s int32) {
	prev, next := r.slots[s].prev, r.slots[s].next
	if prev >= 0 {
		r.slots[prev].next = next
	} else {
		r.head = next
	}
	if next >= 0 {
		r.slots[next].prev = prev
	} else {
		r.tail = prev
	}
}

func (r *recent) pushFront(s int32) {
	r.slots[s].prev, r.slots[s].next = -1, r.head
	if r.head >= 0 {
		r.slots[r.head].prev = s
	} else {
		r.tail = s
	}
	r.head = s
}
