package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tinylib/msgp/msgp"
)

// ErrUnknownItem means a query named an item id the node does not hold,
// which XEP-0059 answers with item-not-found.
var ErrUnknownItem = errors.New("storage: no such item")

// Nodes holds publish-subscribe nodes per user, each an ordered list of
// items with ids the publisher chooses (XEP-0060). The user is the node's
// owner: an account for PEP, or a pubsub service's own name, so DeleteUser
// removes an account's PEP nodes with the rest of its data.
type Nodes struct{ s *store }

// Nodes returns the node store named store.
func (db *DB) Nodes(store string, durable bool) *Nodes {
	return &Nodes{s: db.open(kindNodes, store, durable)}
}

// NodeItem is one item of a node.
type NodeItem struct {
	// ID is the publisher's id; it may not be empty.
	ID string
	// Publisher is whatever the module records, usually the publisher's JID.
	Publisher string
	// When has microsecond precision; a zero When means now.
	When time.Time
	// Payload is the module's bytes, usually the item's XML; items read
	// back own theirs.
	Payload []byte
}

// NodeQuery selects a page of a node's items. The zero NodeQuery selects
// every item, oldest first.
type NodeQuery struct {
	// After and Before are item ids, both exclusive and in publication
	// order whichever way the page is read; "" leaves that side open. An
	// id the node does not hold is ErrUnknownItem.
	After, Before string
	// Limit caps the items returned; 0 means no cap.
	Limit int
	// Reverse walks from the newest item, so Limit keeps the newest.
	Reverse bool
}

// Publish adds item to the node as its newest item, creating the node if
// needed. An item with the same id is replaced, and the new one is the
// newest whatever the old one's place (XEP-0060 §7.1.2). When maxItems > 0,
// the oldest items beyond maxItems are dropped in the same commit. It costs
// a few point reads and writes, plus two deletions per dropped item,
// whatever the node's size.
func (n *Nodes) Publish(host, owner, node string, item NodeItem, maxItems int) (replaced bool, err error) {
	bp := getBuf()
	b, npl, err := n.prepareItem(*bp, host, owner, node, item)
	if err == nil {
		err = n.update(b[:npl], func(w *pebble.Batch) (err error) {
			replaced, err = publish(w, b[:npl:npl], item.ID, b[npl:], maxItems)
			return err
		})
		if err != nil {
			err = n.s.fail("publishing to", nodeName(host, owner, node), err)
		}
	}
	putBuf(bp, b)
	return replaced, err
}

// Retract deletes the item with the given id; found is false, and nothing
// changes, when the node has no such item.
func (n *Nodes) Retract(host, owner, node, id string) (found bool, err error) {
	if id == "" {
		return false, noID()
	}
	err = n.change(host, owner, node, "retracting from", func(w *pebble.Batch, np []byte) (err error) {
		found, err = retract(w, np, id)
		return err
	})
	return found, err
}

// Trim drops the oldest items beyond maxItems, for a node whose limit was
// lowered, and returns how many it dropped. maxItems <= 0 drops nothing.
func (n *Nodes) Trim(host, owner, node string, maxItems int) (dropped int, err error) {
	err = n.change(host, owner, node, "trimming", func(w *pebble.Batch, np []byte) (err error) {
		if maxItems > 0 {
			dropped, err = trim(w, np, maxItems)
		}
		return err
	})
	return dropped, err
}

// Purge deletes every item of the node and returns how many there were. The
// node itself stays, empty, and its items' order carries on from where it
// was.
func (n *Nodes) Purge(host, owner, node string) (count int, err error) {
	err = n.change(host, owner, node, "purging", func(w *pebble.Batch, np []byte) (err error) {
		count, err = purge(w, np)
		return err
	})
	return count, err
}

// DeleteNode deletes the node and its items; a missing node is no error.
func (n *Nodes) DeleteNode(host, owner, node string) error {
	return n.change(host, owner, node, "deleting", func(w *pebble.Batch, np []byte) error {
		return deleteNode(w, np)
	})
}

// change runs one operation other than Publish on the node.
func (n *Nodes) change(host, owner, node, op string, fn func(w *pebble.Batch, np []byte) error) error {
	bp := getBuf()
	np, err := n.prefix(*bp, host, owner, node)
	if err == nil {
		err = n.update(np, func(w *pebble.Batch) error { return fn(w, np) })
		if err != nil {
			err = n.s.fail(op, nodeName(host, owner, node), err)
		}
	}
	putBuf(bp, np)
	return err
}

// update runs fn on a fresh batch under the node's lock and commits what fn
// wrote. The batch is indexed, so fn reads its own writes: a trim after a
// republish must not see the order key the republish just deleted.
func (n *Nodes) update(np []byte, fn func(w *pebble.Batch) error) error {
	_, i := stripeOf(np)
	nodeStripes[i].Lock()
	defer nodeStripes[i].Unlock()
	w := n.s.db.pdb.NewIndexedBatch()
	defer w.Close()
	if err := fn(w); err != nil {
		return err
	}
	if w.Empty() {
		return nil
	}
	return n.s.commit(w)
}

// prefix checks the names and appends the node's key prefix to b.
func (n *Nodes) prefix(b []byte, host, owner, node string) ([]byte, error) {
	s := n.s
	if err := s.check(host, owner); err != nil {
		return b, err
	}
	if node == "" {
		return b, &detailError{msg: "storage: a node needs a name", kind: ErrBadName}
	}
	if err := checkPart("node", node); err != nil {
		return b, err
	}
	return appendNodePrefix(b, s.name, host, owner, node), nil
}

// prepareItem appends the node's key prefix, then the encoded item, to b,
// and returns where the prefix ends.
func (n *Nodes) prepareItem(b []byte, host, owner, node string, item NodeItem) (_ []byte, npl int, err error) {
	if b, err = n.prefix(b, host, owner, node); err != nil {
		return b, 0, err
	}
	if item.ID == "" {
		return b, 0, noID()
	}
	when := item.When
	if when.IsZero() {
		when = time.Now()
	}
	npl = len(b)
	rec := nodeItem{ID: item.ID, Publisher: item.Publisher, When: when.UnixMicro(), Payload: item.Payload}
	if b, err = rec.MarshalMsg(b); err != nil {
		return b, 0, fmt.Errorf("storage: encoding item %q of %s for store %s: %w", item.ID, nodeName(host, owner, node), n.s.name, err)
	}
	return b, npl, nil
}

func noID() error {
	return &detailError{msg: "storage: a node item needs an id", kind: ErrBadID}
}

func nodeName(host, owner, node string) string {
	return fmt.Sprintf("node %q of %s@%s", node, owner, host)
}

// The operations below write to w, an indexed batch, under the node's lock;
// np is the node's key prefix. They are shared by the methods above and by
// Batch.

// getter is what reads a key: the DB, or an indexed batch over it.
type getter interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

func publish(w *pebble.Batch, np []byte, id string, rec []byte, maxItems int) (replaced bool, err error) {
	meta, _, err := readMeta(w, np)
	if err != nil {
		return false, err
	}
	idk := idKey(np, id)
	old, found, err := readSeq(w, idk)
	if err != nil {
		return false, err
	}
	if found {
		if err := w.Delete(orderKey(np, old), nil); err != nil {
			return false, err
		}
	} else {
		meta.Count++
	}
	meta.Last++
	seq := meta.Last
	if err := w.Set(orderKey(np, seq), rec, nil); err != nil {
		return false, err
	}
	if err := w.Set(idk, msgp.AppendUint64(nil, seq), nil); err != nil {
		return false, err
	}
	switch {
	case meta.Count == 1:
		meta.First = seq
	case found && old == meta.First:
		if meta.First, err = nextLive(w, np, old+1, meta.Last); err != nil {
			return false, err
		}
	}
	if maxItems > 0 && meta.Count > int64(maxItems) {
		if err := dropOldest(w, np, &meta, meta.Count-int64(maxItems)); err != nil {
			return false, err
		}
	}
	return found, writeMeta(w, np, meta)
}

func retract(w *pebble.Batch, np []byte, id string) (found bool, err error) {
	idk := idKey(np, id)
	seq, found, err := readSeq(w, idk)
	if err != nil || !found {
		return false, err
	}
	meta, _, err := readMeta(w, np)
	if err != nil {
		return false, err
	}
	if err := w.Delete(orderKey(np, seq), nil); err != nil {
		return false, err
	}
	if err := w.Delete(idk, nil); err != nil {
		return false, err
	}
	meta.Count = max(meta.Count-1, 0)
	if seq == meta.First {
		if meta.First, err = nextLive(w, np, seq+1, meta.Last); err != nil {
			return false, err
		}
	}
	return true, writeMeta(w, np, meta)
}

func trim(w *pebble.Batch, np []byte, maxItems int) (dropped int, err error) {
	meta, ok, err := readMeta(w, np)
	if err != nil || !ok || meta.Count <= int64(maxItems) {
		return 0, err
	}
	before := meta.Count
	if err := dropOldest(w, np, &meta, meta.Count-int64(maxItems)); err != nil {
		return 0, err
	}
	return int(before - meta.Count), writeMeta(w, np, meta)
}

func purge(w *pebble.Batch, np []byte) (count int, err error) {
	meta, ok, err := readMeta(w, np)
	if err != nil || !ok {
		return 0, err
	}
	// Two range tombstones, however many items: the meta key between
	// the id and order keys stays.
	for _, tag := range []byte{tagID, tagOrder} {
		lo := append(np[:len(np):len(np)], tag)
		if err := w.DeleteRange(lo, prefixEnd(lo), nil); err != nil {
			return 0, err
		}
	}
	count = int(meta.Count)
	meta.Count, meta.First = 0, meta.Last+1
	return count, writeMeta(w, np, meta)
}

func deleteNode(w *pebble.Batch, np []byte) error {
	// A node exists while its meta key does; writing nothing for a
	// missing one keeps an unused store out of the registry.
	if _, ok, err := readMeta(w, np); err != nil || !ok {
		return err
	}
	return w.DeleteRange(np, prefixEnd(np), nil)
}

// orderIter returns an iterator over the node's order keys from sequence
// number from on.
func orderIter(r interface {
	NewIter(*pebble.IterOptions) (*pebble.Iterator, error)
}, np []byte, from uint64) (*pebble.Iterator, error) {
	return r.NewIter(&pebble.IterOptions{LowerBound: orderKey(np, from), UpperBound: orderEnd(np)})
}

// nextLive returns the sequence number of the oldest item at or after from,
// or last+1 when there is none.
func nextLive(w *pebble.Batch, np []byte, from, last uint64) (uint64, error) {
	it, err := orderIter(w, np, from)
	if err != nil {
		return 0, err
	}
	next := last + 1
	if it.First() {
		next = seqOf(it.Key())
	}
	return next, it.Close()
}

// dropOldest deletes the k oldest items, starting from meta.First, and
// moves meta.First and meta.Count past them.
func dropOldest(w *pebble.Batch, np []byte, meta *nodeMeta, k int64) error {
	it, err := orderIter(w, np, meta.First)
	if err != nil {
		return err
	}
	// Collect first and delete after: the keys are copied out of the
	// iterator, which is closed before the batch changes under it.
	var doomed [][]byte
	ok := it.First()
	for ; ok && int64(len(doomed)/2) < k; ok = it.Next() {
		val, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return err
		}
		id, err := stringField(val, "i")
		if err != nil {
			_ = it.Close()
			return corruptNodeItem(it.Key(), err)
		}
		doomed = append(doomed, bytes.Clone(it.Key()), idKey(np, string(id)))
	}
	meta.First = meta.Last + 1
	if ok {
		meta.First = seqOf(it.Key())
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, k := range doomed {
		if err := w.Delete(k, nil); err != nil {
			return err
		}
	}
	meta.Count -= int64(len(doomed) / 2)
	return nil
}

// orderKey returns a node's order key for seq, in a new slice.
func orderKey(np []byte, seq uint64) []byte {
	return appendOrderKey(np[:len(np):len(np)], seq)
}

// orderEnd is the exclusive upper bound of a node's order keys.
func orderEnd(np []byte) []byte {
	return append(np[:len(np):len(np)], tagOrder+1)
}

// idKey returns a node's id key for id, in a new slice.
func idKey(np []byte, id string) []byte {
	k := make([]byte, 0, len(np)+1+len(id))
	return append(append(append(k, np...), tagID), id...)
}

func metaKeyOf(np []byte) []byte {
	return append(np[:len(np):len(np)], tagMeta)
}

// readMeta reads the node's meta record; ok is false for a node that does
// not exist, and meta is then zero.
func readMeta(r getter, np []byte) (meta nodeMeta, ok bool, err error) {
	val, closer, err := r.Get(metaKeyOf(np))
	if errors.Is(err, pebble.ErrNotFound) {
		return meta, false, nil
	}
	if err != nil {
		return meta, false, err
	}
	_, err = meta.UnmarshalMsg(val)
	_ = closer.Close()
	if err != nil {
		return meta, false, fmt.Errorf("the node's meta record does not decode: %w", err)
	}
	return meta, true, nil
}

func writeMeta(w *pebble.Batch, np []byte, meta nodeMeta) error {
	val, err := meta.MarshalMsg(nil)
	if err != nil {
		return err
	}
	return w.Set(metaKeyOf(np), val, nil)
}

// readSeq reads the sequence number an id key points to.
func readSeq(r getter, idk []byte) (seq uint64, found bool, err error) {
	val, closer, err := r.Get(idk)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	seq, _, err = msgp.ReadUint64Bytes(val)
	_ = closer.Close()
	if err != nil {
		return 0, false, fmt.Errorf("the id key %q does not decode: %w", idk, err)
	}
	return seq, true, nil
}

// Get returns the item with the given id.
func (n *Nodes) Get(host, owner, node, id string) (item NodeItem, found bool, err error) {
	r, err := n.reader(host, owner, node)
	if err != nil {
		return item, false, err
	}
	defer r.close()
	seq, found, err := r.seq(id)
	if err != nil || !found {
		return item, false, r.fail(err)
	}
	key := orderKey(r.np, seq)
	if !r.it.SeekGE(key) || !bytes.Equal(r.it.Key(), key) {
		if err := r.it.Error(); err != nil {
			return item, false, r.fail(err)
		}
		return item, false, r.fail(fmt.Errorf("item %q points to order key %d, which is missing; the data directory is damaged", id, seq))
	}
	item, err = r.item()
	return item, err == nil, r.fail(err)
}

// Last returns the newest item, with one seek.
func (n *Nodes) Last(host, owner, node string) (item NodeItem, found bool, err error) {
	r, err := n.reader(host, owner, node)
	if err != nil {
		return item, false, err
	}
	defer r.close()
	if !r.it.Last() || !r.isOrder() {
		return item, false, r.fail(r.it.Error())
	}
	item, err = r.item()
	return item, err == nil, r.fail(err)
}

// Count returns how many items the node holds: one read, whatever the size.
func (n *Nodes) Count(host, owner, node string) (int, error) {
	bp := getBuf()
	np, err := n.prefix(*bp, host, owner, node)
	defer putBuf(bp, np)
	if err != nil {
		return 0, err
	}
	meta, _, err := readMeta(n.s.db.pdb, np)
	if err != nil {
		return 0, n.s.fail("counting", nodeName(host, owner, node), err)
	}
	return int(max(meta.Count, 0)), nil
}

// Items returns the page of items q selects, oldest first or, with
// q.Reverse, newest first, and total, the node's item count (what a
// result set's <count/> reports). It reads the page and up to three other
// keys, from one consistent view, whatever the node's size.
func (n *Nodes) Items(host, owner, node string, q NodeQuery) (items []NodeItem, total int, err error) {
	r, err := n.reader(host, owner, node)
	if err != nil {
		return nil, 0, err
	}
	defer r.close()
	it := r.it
	meta, err := r.meta()
	if err != nil {
		return nil, 0, r.fail(err)
	}
	total = int(max(meta.Count, 0))
	var after, before []byte // order keys, exclusive bounds
	for _, b := range []struct {
		id  string
		key *[]byte
	}{{q.After, &after}, {q.Before, &before}} {
		if b.id == "" {
			continue
		}
		seq, found, err := r.seq(b.id)
		if err != nil {
			return nil, 0, r.fail(err)
		}
		if !found {
			return nil, 0, &detailError{
				msg:  fmt.Sprintf("storage: %s in store %s has no item %q", nodeName(host, owner, node), n.s.name, b.id),
				kind: ErrUnknownItem,
			}
		}
		*b.key = orderKey(r.np, seq)
	}
	// Only the live items' span, so neither end is walked past the
	// deletions of items dropped before the oldest one.
	it.SetBounds(orderKey(r.np, meta.First), orderEnd(r.np))
	var ok bool
	step := it.Next
	switch {
	case q.Reverse && before != nil:
		ok = it.SeekLT(before)
		step = it.Prev
	case q.Reverse:
		ok = it.Last()
		step = it.Prev
	case after != nil:
		ok = it.SeekGE(append(after, 0))
	default:
		ok = it.First()
	}
	for ; ok && (q.Limit <= 0 || len(items) < q.Limit); ok = step() {
		key := it.Key()
		if !r.isOrder() ||
			(after != nil && bytes.Compare(key, after) <= 0) ||
			(before != nil && bytes.Compare(key, before) >= 0) {
			break
		}
		item, err := r.item()
		if err != nil {
			return nil, 0, r.fail(err)
		}
		items = append(items, item)
	}
	if err := it.Error(); err != nil {
		return nil, 0, r.fail(err)
	}
	return items, max(total, len(items)), nil
}

// List returns the names of the owner's nodes, sorted: those published to
// and not deleted, empty or not. It costs one seek per node.
func (n *Nodes) List(host, owner string) ([]string, error) {
	s := n.s
	if err := s.check(host, owner); err != nil {
		return nil, err
	}
	p := appendPrefix(nil, s.kind, s.name, host, owner)
	it, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, s.fail("listing the nodes of", owner+"@"+host, err)
	}
	var out []string
	seek := append([]byte(nil), p...)
	for ok := it.First(); ok; ok = it.SeekGE(seek) {
		rest := it.Key()[len(p):]
		i := bytes.IndexByte(rest, sep)
		if i < 0 {
			_ = it.Close()
			return nil, fmt.Errorf("storage: key %q in store %s has no node part; the data directory is damaged", it.Key(), s.name)
		}
		out = append(out, string(rest[:i]))
		seek = append(append(seek[:len(p)], rest[:i]...), sep+1)
	}
	if err := it.Close(); err != nil {
		return nil, s.fail("listing the nodes of", owner+"@"+host, err)
	}
	return out, nil
}

// Users lists the users on host that own at least one node, sorted.
func (n *Nodes) Users(host string) ([]string, error) {
	return n.s.users(host)
}

// nodeReader is an iterator over one node's keys, for reads that want one
// consistent view of the meta, id and order keys.
type nodeReader struct {
	n                 *Nodes
	host, owner, node string
	np                []byte
	it                *pebble.Iterator
}

func (n *Nodes) reader(host, owner, node string) (*nodeReader, error) {
	np, err := n.prefix(nil, host, owner, node)
	if err != nil {
		return nil, err
	}
	it, err := n.s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: np, UpperBound: prefixEnd(np)})
	if err != nil {
		return nil, n.s.fail("reading", nodeName(host, owner, node), err)
	}
	return &nodeReader{n: n, host: host, owner: owner, node: node, np: np, it: it}, nil
}

func (r *nodeReader) close() { _ = r.it.Close() }

// fail wraps an error, if any, with the store and node.
func (r *nodeReader) fail(err error) error {
	if err == nil {
		return nil
	}
	return r.n.s.fail("reading", nodeName(r.host, r.owner, r.node), err)
}

// isOrder reports whether the iterator is on one of the node's order keys.
func (r *nodeReader) isOrder() bool {
	key := r.it.Key()
	return len(key) == len(r.np)+1+nodeSeqLen && key[len(r.np)] == tagOrder
}

// meta reads the node's meta record; it is zero for a missing node.
func (r *nodeReader) meta() (meta nodeMeta, err error) {
	key := metaKeyOf(r.np)
	if !r.it.SeekGE(key) || !bytes.Equal(r.it.Key(), key) {
		return meta, r.it.Error()
	}
	val, err := r.it.ValueAndErr()
	if err != nil {
		return meta, err
	}
	if _, err := meta.UnmarshalMsg(val); err != nil {
		return meta, fmt.Errorf("the node's meta record does not decode: %w", err)
	}
	return meta, nil
}

// seq looks up the sequence number of id.
func (r *nodeReader) seq(id string) (seq uint64, found bool, err error) {
	idk := idKey(r.np, id)
	if !r.it.SeekGE(idk) || !bytes.Equal(r.it.Key(), idk) {
		return 0, false, r.it.Error()
	}
	val, err := r.it.ValueAndErr()
	if err != nil {
		return 0, false, err
	}
	seq, _, err = msgp.ReadUint64Bytes(val)
	if err != nil {
		return 0, false, fmt.Errorf("the id key of %q does not decode: %w", id, err)
	}
	return seq, true, nil
}

// item decodes the item under the iterator, which is on an order key.
func (r *nodeReader) item() (NodeItem, error) {
	val, err := r.it.ValueAndErr()
	if err != nil {
		return NodeItem{}, err
	}
	var rec nodeItem
	if _, err := rec.UnmarshalMsg(val); err != nil {
		return NodeItem{}, corruptNodeItem(r.it.Key(), err)
	}
	return NodeItem{ID: rec.ID, Publisher: rec.Publisher, When: time.UnixMicro(rec.When), Payload: rec.Payload}, nil
}

// seqOf reads the sequence number at the end of an order key.
func seqOf(key []byte) uint64 {
	return binary.BigEndian.Uint64(key[len(key)-nodeSeqLen:])
}

func corruptNodeItem(key []byte, err error) error {
	return fmt.Errorf("the item at order key %q does not decode: %w", key, err)
}
