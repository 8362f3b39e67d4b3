package storage

import (
	"bytes"
	"hash/maphash"
	"slices"
	"sync"
)

// lockStripes is how many locks the archive's key choice and the node
// store's read-modify-writes are spread over. Two users or nodes that share
// a stripe only wait for each other's few microseconds in memory (and, for
// a durable node, its fsync), so 64 keeps that rare without costing memory.
//
// The locks are per process, not per DB, like archiveSeq: there is one DB
// per process, and sharing a stripe between two DBs in a test is only
// contention.
const lockStripes = 64

var stripeSeed = maphash.MakeSeed()

// stripeOf hashes a key prefix (one user's archive or one node).
func stripeOf(p []byte) (h uint64, i int) {
	h = maphash.Bytes(stripeSeed, p)
	return h, int(h % lockStripes)
}

// archiveStripe serialises choosing archive keys for the users hashed to
// it. Only the choice runs under the lock, not the commit; pending keeps
// the keys chosen but not yet committed, so a second Append of the same
// user, reading the disk before the first has reached it, still goes past
// it.
type archiveStripe struct {
	sync.Mutex
	pending []pendingKey
}

// pendingKey is the highest uncommitted key of the users whose prefix
// hashes to h. Two users colliding on h only raise each other's next key
// while both have appends in flight, which keeps both monotonic.
type pendingKey struct {
	h      uint64
	suffix [suffixLen]byte
	refs   int
}

var archiveStripes [lockStripes]archiveStripe

// highest returns the pending key for h, if any.
func (st *archiveStripe) highest(h uint64) ([suffixLen]byte, bool) {
	for i := range st.pending {
		if st.pending[i].h == h {
			return st.pending[i].suffix, true
		}
	}
	return [suffixLen]byte{}, false
}

// hold records suffix as chosen for h until the matching release.
func (st *archiveStripe) hold(h uint64, suffix [suffixLen]byte) {
	for i := range st.pending {
		if p := &st.pending[i]; p.h == h {
			if bytes.Compare(suffix[:], p.suffix[:]) > 0 {
				p.suffix = suffix
			}
			p.refs++
			return
		}
	}
	st.pending = append(st.pending, pendingKey{h: h, suffix: suffix, refs: 1})
}

// claim is a chosen archive key that stays pending until released, which
// is after its batch is committed (and so visible to the next choice) or
// dropped.
type claim struct {
	stripe int
	h      uint64
}

func (c claim) release() {
	st := &archiveStripes[c.stripe]
	st.Lock()
	for i := range st.pending {
		if st.pending[i].h == c.h {
			if st.pending[i].refs--; st.pending[i].refs == 0 {
				st.pending = slices.Delete(st.pending, i, i+1)
			}
			break
		}
	}
	st.Unlock()
}

// nodeStripes serialise every write to the nodes hashed to them, from
// reading the node's meta record to committing, since a publish reads the
// count, last sequence and id it then rewrites. They are always taken in
// ascending order and a holder never waits for anything else, so a batch
// writing several nodes, and DeleteUser taking them all, cannot deadlock.
var nodeStripes [lockStripes]sync.Mutex

// lockNodeStripes locks the given stripes in ascending order, each once,
// and returns the function that unlocks them.
func lockNodeStripes(idx []int) (unlock func()) {
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		nodeStripes[i].Lock()
	}
	return func() {
		for j := len(idx) - 1; j >= 0; j-- {
			nodeStripes[idx[j]].Unlock()
		}
	}
}

// lockAllNodes is for DeleteUser: it removes nodes of its user whatever
// stripe they hash to, and a publish between its reading the meta record
// and committing would otherwise write back a count of items just deleted.
func lockAllNodes() (unlock func()) {
	for i := range nodeStripes {
		nodeStripes[i].Lock()
	}
	return func() {
		for i := len(nodeStripes) - 1; i >= 0; i-- {
			nodeStripes[i].Unlock()
		}
	}
}
