package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tinylib/msgp/msgp"
)

// Batch collects writes to any stores of one DB and commits them together:
// all of them reach the database or none do, and the commit costs one fsync
// if any store written is durable, none otherwise. A roster push that
// changes two records, or a message that goes to the archive, the offline
// store and a counter, is then one commit instead of several.
//
// Nothing written is visible before Commit. A Batch is for one goroutine;
// Close one that is not committed (defer b.Close() is the usual way).
//
// A write that fails leaves the batch failed: later writes and Commit
// return the same error and Commit writes nothing, so a batch is never
// committed with a write missing.
type Batch struct {
	db   *DB
	pb   *pebble.Batch
	sync bool
	// fresh are the stores whose registry entry goes in with this batch.
	fresh []*store
	// nodeOps are applied at Commit, under their nodes' locks, since each
	// reads what it rewrites; slab holds their key prefixes and records.
	nodeOps []nodeOp
	slab    []byte
	// claims are archive keys chosen by Append, pending until the batch
	// is committed or closed.
	claims []claim
	err    error
	done   bool
}

// nodeOp is one node-store write waiting for Commit.
type nodeOp struct {
	n                 *Nodes
	op                byte
	host, owner, node string
	id                string
	max               int
	np, rec           [2]int // offsets into slab
	stripe            int
}

const (
	opPublish byte = iota
	opRetract
	opPurge
	opDeleteNode
)

var errBatchDone = errors.New("storage: the batch was already committed or closed")

// NewBatch starts an empty batch.
func (db *DB) NewBatch() *Batch { return &Batch{db: db} }

// begin checks a write to s for user on host and readies the batch for it.
func (b *Batch) begin(s *store, host, user string) error {
	if b.done {
		return errBatchDone
	}
	if b.err != nil {
		return b.err
	}
	if s.db != b.db {
		return b.fail(fmt.Errorf("storage: store %s belongs to another database than the batch", s.name))
	}
	if err := s.check(host, user); err != nil {
		return b.fail(err)
	}
	if b.pb == nil {
		b.pb = b.db.pdb.NewBatch()
	}
	if s.wo.Sync {
		b.sync = true
	}
	return nil
}

// fail makes err the batch's error, unless it already has one.
func (b *Batch) fail(err error) error {
	if b.err == nil {
		b.err = err
	}
	return err
}

// register adds s to the stores whose registry entry this batch writes.
func (b *Batch) register(s *store) {
	if s.registered.Load() {
		return
	}
	for _, f := range b.fresh {
		if f.kind == s.kind && f.name == s.name {
			return
		}
	}
	b.fresh = append(b.fresh, s)
}

// SetKeyVal replaces the record of user on host in kv, as KeyVal.Set does.
func (b *Batch) SetKeyVal(kv *KeyVal, host, user string, v msgp.Marshaler) error {
	s := kv.s
	if err := b.begin(s, host, user); err != nil {
		return err
	}
	bp := getBuf()
	k := appendPrefix(*bp, s.kind, s.name, host, user)
	n := len(k)
	k, err := v.MarshalMsg(k)
	if err != nil {
		putBuf(bp, k)
		return b.fail(fmt.Errorf("storage: encoding the record of %s@%s for store %s: %w", user, host, s.name, err))
	}
	err = b.pb.Set(k[:n], k[n:], nil)
	putBuf(bp, k)
	if err != nil {
		return b.fail(s.fail("writing", user+"@"+host, err))
	}
	b.register(s)
	return nil
}

// DeleteKeyVal removes the record of user on host from kv.
func (b *Batch) DeleteKeyVal(kv *KeyVal, host, user string) error {
	s := kv.s
	if err := b.begin(s, host, user); err != nil {
		return err
	}
	if err := b.pb.Delete(appendPrefix(nil, s.kind, s.name, host, user), nil); err != nil {
		return b.fail(s.fail("deleting", user+"@"+host, err))
	}
	return nil
}

// SetMap replaces the record under key for user on host in m, as Map.Set
// does.
func (b *Batch) SetMap(m *Map, host, user, key string, v msgp.Marshaler) error {
	s := m.s
	if err := b.begin(s, host, user); err != nil {
		return err
	}
	bp := getBuf()
	k := append(appendPrefix(*bp, s.kind, s.name, host, user), key...)
	n := len(k)
	k, err := v.MarshalMsg(k)
	if err != nil {
		putBuf(bp, k)
		return b.fail(fmt.Errorf("storage: encoding the record %q of %s@%s for store %s: %w", key, user, host, s.name, err))
	}
	err = b.pb.Set(k[:n], k[n:], nil)
	putBuf(bp, k)
	if err != nil {
		return b.fail(s.fail("writing", user+"@"+host, err))
	}
	b.register(s)
	return nil
}

// DeleteMap removes the record under key for user on host from m.
func (b *Batch) DeleteMap(m *Map, host, user, key string) error {
	s := m.s
	if err := b.begin(s, host, user); err != nil {
		return err
	}
	k := append(appendPrefix(nil, s.kind, s.name, host, user), key...)
	if err := b.pb.Delete(k, nil); err != nil {
		return b.fail(s.fail("deleting", user+"@"+host, err))
	}
	return nil
}

// Append adds an item to user's archive in a, as Archive.Append does, and
// returns its id at once, so the id can go into the stanza before Commit.
// The id means nothing if the batch is not committed.
func (b *Batch) Append(a *Archive, host, user string, when time.Time, with string, payload []byte) (id string, err error) {
	s := a.s
	if err := b.begin(s, host, user); err != nil {
		return "", err
	}
	bp := getBuf()
	buf, e, err := a.prepare(*bp, host, user, when, with, payload)
	if err != nil {
		putBuf(bp, buf)
		return "", b.fail(err)
	}
	b.claims = append(b.claims, e.claim)
	err = b.pb.Set(e.key(buf), e.val(buf), nil)
	if err == nil {
		err = b.pb.Merge(e.countKey(buf), countOne, nil)
	}
	id = e.id(buf)
	putBuf(bp, buf)
	if err != nil {
		return "", b.fail(s.fail("appending for", user+"@"+host, err))
	}
	b.register(s)
	return id, nil
}

// Publish adds item to a node of n, as Nodes.Publish does. The item is
// encoded now, so its Payload may be reused at once; it is placed, and the
// node trimmed to maxItems, at Commit.
func (b *Batch) Publish(n *Nodes, host, owner, node string, item NodeItem, maxItems int) error {
	if err := b.begin(n.s, host, owner); err != nil {
		return err
	}
	start := len(b.slab)
	slab, npl, err := n.prepareItem(b.slab, host, owner, node, item)
	if err != nil {
		b.slab = slab[:start]
		return b.fail(err)
	}
	b.slab = slab
	b.addNodeOp(nodeOp{n: n, op: opPublish, host: host, owner: owner, node: node, id: item.ID, max: maxItems,
		np: [2]int{start, npl}, rec: [2]int{npl, len(slab)}})
	b.register(n.s)
	return nil
}

// Retract deletes an item of a node of n at Commit, if it is there then.
// Use Nodes.Retract to learn whether it was.
func (b *Batch) Retract(n *Nodes, host, owner, node, id string) error {
	if id == "" {
		return b.fail(noID())
	}
	return b.nodeChange(n, opRetract, host, owner, node, id)
}

// Purge deletes every item of a node of n at Commit, keeping the node.
func (b *Batch) Purge(n *Nodes, host, owner, node string) error {
	return b.nodeChange(n, opPurge, host, owner, node, "")
}

// DeleteNode deletes a node of n and its items at Commit.
func (b *Batch) DeleteNode(n *Nodes, host, owner, node string) error {
	return b.nodeChange(n, opDeleteNode, host, owner, node, "")
}

func (b *Batch) nodeChange(n *Nodes, op byte, host, owner, node, id string) error {
	if err := b.begin(n.s, host, owner); err != nil {
		return err
	}
	start := len(b.slab)
	slab, err := n.prefix(b.slab, host, owner, node)
	if err != nil {
		b.slab = slab[:start]
		return b.fail(err)
	}
	b.slab = slab
	b.addNodeOp(nodeOp{n: n, op: op, host: host, owner: owner, node: node, id: id, np: [2]int{start, len(slab)}})
	return nil
}

func (b *Batch) addNodeOp(op nodeOp) {
	_, op.stripe = stripeOf(b.slab[op.np[0]:op.np[1]])
	b.nodeOps = append(b.nodeOps, op)
}

// Commit writes everything in the batch at once and closes it. It waits for
// one fsync when any store written is durable.
func (b *Batch) Commit() error {
	if b.done {
		return errBatchDone
	}
	defer b.Close()
	if b.err != nil {
		return b.err
	}
	if b.pb == nil {
		return nil
	}
	if err := b.db.check(); err != nil {
		return err
	}
	if len(b.nodeOps) > 0 {
		idx := make([]int, len(b.nodeOps))
		for i, op := range b.nodeOps {
			idx[i] = op.stripe
		}
		// Held until the commit is done, so no other write to these
		// nodes can read their state in between.
		defer lockNodeStripes(idx)()
		if err := b.applyNodeOps(); err != nil {
			return err
		}
	}
	for _, s := range b.fresh {
		if err := s.addToRegistry(b.pb); err != nil {
			return err
		}
	}
	if b.pb.Empty() {
		return nil
	}
	wo := pebble.NoSync
	if b.sync {
		wo = pebble.Sync
	}
	if err := b.pb.Commit(wo); err != nil {
		return fmt.Errorf("storage: committing a batch: %w", err)
	}
	for _, s := range b.fresh {
		s.registered.Store(true)
	}
	return nil
}

// applyNodeOps runs the node writes in order on an indexed batch, so each
// sees those before it, and adds what they wrote to the batch.
func (b *Batch) applyNodeOps() error {
	w := b.db.pdb.NewIndexedBatch()
	defer w.Close()
	for _, op := range b.nodeOps {
		np := b.slab[op.np[0]:op.np[1]:op.np[1]]
		var err error
		var verb string
		switch op.op {
		case opPublish:
			verb = "publishing to"
			_, err = publish(w, np, op.id, b.slab[op.rec[0]:op.rec[1]], op.max)
		case opRetract:
			verb = "retracting from"
			_, err = retract(w, np, op.id)
		case opPurge:
			verb = "purging"
			_, err = purge(w, np)
		case opDeleteNode:
			verb = "deleting"
			err = deleteNode(w, np)
		}
		if err != nil {
			return op.n.s.fail(verb, nodeName(op.host, op.owner, op.node), err)
		}
	}
	return b.pb.Apply(w, nil)
}

// Close discards a batch that was not committed; after Commit it does
// nothing.
func (b *Batch) Close() {
	if b.done {
		return
	}
	b.done = true
	for _, c := range b.claims {
		c.release()
	}
	b.claims = nil
	if b.pb != nil {
		_ = b.pb.Close()
		b.pb = nil
	}
}
