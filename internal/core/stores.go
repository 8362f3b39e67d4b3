package core

import (
	"time"

	"github.com/tinylib/msgp/msgp"

	"xmppd/internal/storage"
)

// Get reads user's record into v.
func (s KeyVal) Get(user string, v msgp.Unmarshaler) (bool, error) { return s.s.Get(s.host, user, v) }

// Set writes user's record.
func (s KeyVal) Set(user string, v msgp.Marshaler) error { return s.s.Set(s.host, user, v) }

// Delete removes user's record.
func (s KeyVal) Delete(user string) error { return s.s.Delete(s.host, user) }

// Users lists the users with a record.
func (s KeyVal) Users() ([]string, error) { return s.s.Users(s.host) }

// Get reads user's record under key into v.
func (s Map) Get(user, key string, v msgp.Unmarshaler) (bool, error) {
	return s.s.Get(s.host, user, key, v)
}

// Set writes user's record under key.
func (s Map) Set(user, key string, v msgp.Marshaler) error { return s.s.Set(s.host, user, key, v) }

// Delete removes user's record under key.
func (s Map) Delete(user, key string) error { return s.s.Delete(s.host, user, key) }

// Each calls fn for every key of user, in key order.
func (s Map) Each(user string, fn func(key string, data []byte) error) error {
	return s.s.Each(s.host, user, fn)
}

// DeleteAll removes every key of user.
func (s Map) DeleteAll(user string) error { return s.s.DeleteAll(s.host, user) }

// Append adds an item to user's archive.
func (s Archive) Append(user string, when time.Time, with string, payload []byte) (string, error) {
	return s.s.Append(s.host, user, when, with, payload)
}

// Find queries user's archive.
func (s Archive) Find(user string, q storage.Query) ([]storage.Item, int, error) {
	return s.s.Find(s.host, user, q)
}

// Delete removes the items of user's archive that match q.
func (s Archive) Delete(user string, q storage.Query) (int, error) {
	return s.s.Delete(s.host, user, q)
}

// Get returns the item of user's archive with the given id.
func (s Archive) Get(user, id string) (storage.Item, bool, error) {
	return s.s.Get(s.host, user, id)
}

// Nodes is a node store of one host: pubsub nodes per owner, each an
// ordered list of items (see storage.Nodes).
type Nodes struct {
	s    *storage.Nodes
	host string
}

// Publish adds item to owner's node as its newest, replacing one with the
// same id, then trims the node to maxItems if that is above 0.
func (s Nodes) Publish(owner, node string, item storage.NodeItem, maxItems int) (bool, error) {
	return s.s.Publish(s.host, owner, node, item, maxItems)
}

// Retract deletes one item; false means there was none with that id.
func (s Nodes) Retract(owner, node, id string) (bool, error) {
	return s.s.Retract(s.host, owner, node, id)
}

// Trim drops the oldest items beyond maxItems.
func (s Nodes) Trim(owner, node string, maxItems int) (int, error) {
	return s.s.Trim(s.host, owner, node, maxItems)
}

// Purge deletes every item of the node, keeping the node.
func (s Nodes) Purge(owner, node string) (int, error) { return s.s.Purge(s.host, owner, node) }

// DeleteNode deletes the node and its items.
func (s Nodes) DeleteNode(owner, node string) error { return s.s.DeleteNode(s.host, owner, node) }

// Get returns the item with the given id.
func (s Nodes) Get(owner, node, id string) (storage.NodeItem, bool, error) {
	return s.s.Get(s.host, owner, node, id)
}

// Last returns the node's newest item.
func (s Nodes) Last(owner, node string) (storage.NodeItem, bool, error) {
	return s.s.Last(s.host, owner, node)
}

// Count returns how many items the node holds.
func (s Nodes) Count(owner, node string) (int, error) { return s.s.Count(s.host, owner, node) }

// Items returns a page of the node's items and the node's item count.
func (s Nodes) Items(owner, node string, q storage.NodeQuery) ([]storage.NodeItem, int, error) {
	return s.s.Items(s.host, owner, node, q)
}

// List returns the names of owner's nodes.
func (s Nodes) List(owner string) ([]string, error) { return s.s.List(s.host, owner) }

// Batch collects writes to any of a module's stores, on any host, and
// commits them at once with one fsync at most (see storage.Batch): a roster
// change of two records, or a message to the archive and the offline store,
// costs one commit. Close one that is not committed.
type Batch struct{ b *storage.Batch }

// SetKeyVal writes user's record in s.
func (b Batch) SetKeyVal(s KeyVal, user string, v msgp.Marshaler) error {
	return b.b.SetKeyVal(s.s, s.host, user, v)
}

// DeleteKeyVal removes user's record from s.
func (b Batch) DeleteKeyVal(s KeyVal, user string) error { return b.b.DeleteKeyVal(s.s, s.host, user) }

// SetMap writes user's record under key in s.
func (b Batch) SetMap(s Map, user, key string, v msgp.Marshaler) error {
	return b.b.SetMap(s.s, s.host, user, key, v)
}

// DeleteMap removes user's record under key from s.
func (b Batch) DeleteMap(s Map, user, key string) error { return b.b.DeleteMap(s.s, s.host, user, key) }

// Append adds an item to user's archive in s and returns its id, which is
// only good once Commit succeeds.
func (b Batch) Append(s Archive, user string, when time.Time, with string, payload []byte) (string, error) {
	return b.b.Append(s.s, s.host, user, when, with, payload)
}

// Publish adds item to owner's node in s at Commit.
func (b Batch) Publish(s Nodes, owner, node string, item storage.NodeItem, maxItems int) error {
	return b.b.Publish(s.s, s.host, owner, node, item, maxItems)
}

// Retract deletes one item of owner's node in s at Commit.
func (b Batch) Retract(s Nodes, owner, node, id string) error {
	return b.b.Retract(s.s, s.host, owner, node, id)
}

// Purge deletes every item of owner's node in s at Commit.
func (b Batch) Purge(s Nodes, owner, node string) error { return b.b.Purge(s.s, s.host, owner, node) }

// DeleteNode deletes owner's node in s at Commit.
func (b Batch) DeleteNode(s Nodes, owner, node string) error {
	return b.b.DeleteNode(s.s, s.host, owner, node)
}

// Commit writes everything at once; see storage.Batch.Commit.
func (b Batch) Commit() error { return b.b.Commit() }

// Close discards the batch unless it was committed.
func (b Batch) Close() { b.b.Close() }
