package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// batchStores are one store of each kind, as a module would open them.
type batchStores struct {
	kv  *KeyVal
	m   *Map
	a   *Archive
	pep *Nodes
}

func openBatchStores(db *DB, durable bool) batchStores {
	return batchStores{
		kv:  db.KeyVal("accounts", durable),
		m:   db.Map("roster", durable),
		a:   db.Archive("offline", durable),
		pep: db.Nodes("pep", durable),
	}
}

// writeAll puts one write to each store into b.
func (s batchStores) writeAll(t *testing.T, b *Batch) (archiveID string) {
	t.Helper()
	if err := b.SetKeyVal(s.kv, "example.org", "juliet", &account{Password: "batched"}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMap(s.m, "example.org", "juliet", "romeo@example.net", &contact{Name: "Romeo"}); err != nil {
		t.Fatal(err)
	}
	id, err := b.Append(s.a, "example.org", "juliet", at(1), "romeo@example.net", []byte("<message/>"))
	if err != nil {
		t.Fatal(err)
	}
	item := NodeItem{ID: "current", Publisher: "juliet@example.org", When: at(2), Payload: []byte("<mood/>")}
	if err := b.Publish(s.pep, "example.org", "juliet", "urn:xmpp:mood:0", item, 1); err != nil {
		t.Fatal(err)
	}
	return id
}

// seen reports which of writeAll's writes are visible.
func (s batchStores) seen(t *testing.T, archiveID string) []bool {
	t.Helper()
	var a account
	kvFound, err := s.kv.Get("example.org", "juliet", &a)
	if err != nil {
		t.Fatal(err)
	}
	var c contact
	mFound, err := s.m.Get("example.org", "juliet", "romeo@example.net", &c)
	if err != nil {
		t.Fatal(err)
	}
	aFound := false
	if archiveID != "" {
		if _, aFound, err = s.a.Get("example.org", "juliet", archiveID); err != nil {
			t.Fatal(err)
		}
	}
	_, nFound, err := s.pep.Get("example.org", "juliet", "urn:xmpp:mood:0", "current")
	if err != nil {
		t.Fatal(err)
	}
	return []bool{kvFound, mFound, aFound, nFound}
}

func TestBatchAtomicAcrossStores(t *testing.T) {
	dir := t.TempDir()
	db := openAt(t, dir)
	s := openBatchStores(db, false)
	b := db.NewBatch()
	defer b.Close()
	id := s.writeAll(t, b)
	if got := s.seen(t, id); slices.Contains(got, true) {
		t.Fatalf("before Commit, visible: %v", got)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := s.seen(t, id); slices.Contains(got, false) {
		t.Fatalf("after Commit, visible: %v; want all", got)
	}
	if err := b.Commit(); !errors.Is(err, errBatchDone) {
		t.Errorf("second Commit = %v; want errBatchDone", err)
	}
	b.Close() // after Commit: nothing happens

	// The batch registered every store it created, so DeleteUser, after
	// a restart, finds them all.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir)
	s = openBatchStores(db, false)
	if got := s.seen(t, id); slices.Contains(got, false) {
		t.Fatalf("after reopen, visible: %v; want all", got)
	}
	if err := db.DeleteUser("example.org", "juliet"); err != nil {
		t.Fatal(err)
	}
	if got := s.seen(t, id); slices.Contains(got, true) {
		t.Fatalf("after DeleteUser, visible: %v; want none", got)
	}
}

// failMsg is a record that cannot be encoded.
type failMsg struct{}

func (failMsg) MarshalMsg(b []byte) ([]byte, error) { return b, errors.New("cannot encode") }

func TestBatchFailedWriteWritesNothing(t *testing.T) {
	other := openTemp(t)
	cases := []struct {
		name  string
		write func(b *Batch, s batchStores) error
		is    error
	}{
		{"bad user", func(b *Batch, s batchStores) error {
			return b.SetKeyVal(s.kv, "example.org", "bad\x00user", &account{})
		}, ErrBadName},
		{"bad host in map", func(b *Batch, s batchStores) error {
			return b.SetMap(s.m, "bad\x00host", "juliet", "k", &contact{})
		}, ErrBadName},
		{"bad node", func(b *Batch, s batchStores) error {
			return b.Publish(s.pep, "example.org", "juliet", "bad\x00node", NodeItem{ID: "x"}, 0)
		}, ErrBadName},
		{"empty node", func(b *Batch, s batchStores) error {
			return b.Purge(s.pep, "example.org", "juliet", "")
		}, ErrBadName},
		{"item without id", func(b *Batch, s batchStores) error {
			return b.Publish(s.pep, "example.org", "juliet", "n", NodeItem{}, 0)
		}, ErrBadID},
		{"retract without id", func(b *Batch, s batchStores) error {
			return b.Retract(s.pep, "example.org", "juliet", "n", "")
		}, ErrBadID},
		{"archive before 1970", func(b *Batch, s batchStores) error {
			_, err := b.Append(s.a, "example.org", "juliet", time.Unix(-5, 0), "", nil)
			return err
		}, nil},
		{"record that does not encode", func(b *Batch, s batchStores) error {
			return b.SetKeyVal(s.kv, "example.org", "juliet", failMsg{})
		}, nil},
		{"store of another database", func(b *Batch, s batchStores) error {
			return b.SetKeyVal(other.KeyVal("accounts", false), "example.org", "juliet", &account{})
		}, nil},
		{"closed database", func(b *Batch, s batchStores) error {
			return b.SetKeyVal(s.kv, "example.org", "juliet", &account{})
		}, ErrClosed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openAt(t, dir)
			s := openBatchStores(db, true)
			b := db.NewBatch()
			defer b.Close()
			id := s.writeAll(t, b)
			if c.name == "closed database" {
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
			err := c.write(b, s)
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
				t.Fatalf("write = %v; want an error matching %v", err, c.is)
			}
			t.Log(err)
			if again := b.SetKeyVal(s.kv, "example.org", "romeo", &account{}); again != err {
				t.Errorf("a write after the failed one = %v; want %v", again, err)
			}
			if cerr := b.Commit(); cerr != err {
				t.Errorf("Commit = %v; want the write's error %v", cerr, err)
			}
			if c.name == "closed database" {
				db = openAt(t, dir)
				s = openBatchStores(db, true)
			}
			if got := s.seen(t, id); slices.Contains(got, true) {
				t.Errorf("after a failed batch, visible: %v; want none", got)
			}
			if stores, err := db.stores(); err != nil || len(stores) != 0 {
				t.Errorf("registry after a failed batch = %+v, %v", stores, err)
			}
		})
	}
}

func TestBatchClose(t *testing.T) {
	db := openTemp(t)
	s := openBatchStores(db, false)
	b := db.NewBatch()
	id := s.writeAll(t, b)
	b.Close()
	if err := b.Commit(); !errors.Is(err, errBatchDone) {
		t.Errorf("Commit after Close = %v; want errBatchDone", err)
	}
	if err := b.SetKeyVal(s.kv, "example.org", "juliet", &account{}); !errors.Is(err, errBatchDone) {
		t.Errorf("write after Close = %v; want errBatchDone", err)
	}
	if got := s.seen(t, id); slices.Contains(got, true) {
		t.Errorf("after Close, visible: %v; want none", got)
	}
	// The discarded batch's archive key is no longer held.
	for i := range archiveStripes {
		st := &archiveStripes[i]
		st.Lock()
		n := len(st.pending)
		st.Unlock()
		if n != 0 {
			t.Errorf("stripe %d holds %d pending keys after Close", i, n)
		}
	}
	// An empty batch commits to nothing.
	if err := db.NewBatch().Commit(); err != nil {
		t.Errorf("empty Commit = %v", err)
	}
}

// TestBatchDeletes covers the deletions a batch carries alongside writes,
// as a roster removal that also drops a pending subscription would.
func TestBatchDeletes(t *testing.T) {
	db := openTemp(t)
	s := openBatchStores(db, true)
	if err := s.kv.Set("example.org", "juliet", &account{}); err != nil {
		t.Fatal(err)
	}
	if err := s.m.Set("example.org", "juliet", "nurse@example.org", &contact{}); err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	defer b.Close()
	if err := b.DeleteKeyVal(s.kv, "example.org", "juliet"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteMap(s.m, "example.org", "juliet", "nurse@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMap(s.m, "example.org", "juliet", "romeo@example.net", &contact{Name: "Romeo"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	var a account
	if found, _ := s.kv.Get("example.org", "juliet", &a); found {
		t.Error("keyval record still there")
	}
	var keys []string
	if err := s.m.Each("example.org", "juliet", func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"romeo@example.net"}) {
		t.Errorf("map keys %q; want [romeo@example.net]", keys)
	}
}

// TestBatchNodeOpsInOrder checks that node writes in one batch see each
// other, as they would one by one.
func TestBatchNodeOpsInOrder(t *testing.T) {
	db := openTemp(t)
	pep := db.Nodes("pep", false)
	const node = "urn:xmpp:avatar:data"
	b := db.NewBatch()
	defer b.Close()
	for _, id := range []string{"a", "b", "c", "a", "d"} {
		if err := b.Publish(pep, "h", "u", node, NodeItem{ID: id, Payload: []byte(id)}, 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Retract(pep, "h", "u", node, "d"); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(pep, "h", "u", "other", NodeItem{ID: "x"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Purge(pep, "h", "u", "other"); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(pep, "h", "u", "gone", NodeItem{ID: "x"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteNode(pep, "h", "u", "gone"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	// a b c → b c a (republished) → c a d (trimmed to 3) → c a (retracted).
	if got := itemIDs(t, pep, "h", "u", node, NodeQuery{}); !slices.Equal(got, []string{"c", "a"}) {
		t.Errorf("items %q; want [c a]", got)
	}
	if n, err := pep.Count("h", "u", node); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2", n, err)
	}
	if nodes, err := pep.List("h", "u"); err != nil || !slices.Equal(nodes, []string{"other", node}) {
		t.Errorf("List = %q, %v", nodes, err)
	}
}

// TestBatchConcurrentNodes runs batches that each write two nodes, picked
// at random and in random order, against each other and against DeleteUser:
// the node locks must neither deadlock nor let two writes to one node
// interleave.
func TestBatchConcurrentNodes(t *testing.T) {
	db := openTemp(t)
	pep := db.Nodes("pep", false)
	const workers, rounds, nodes = 6, 40, 5
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range rounds {
				b := db.NewBatch()
				for range 2 {
					node := fmt.Sprint("node", r.IntN(nodes))
					id := fmt.Sprint("item", r.IntN(8))
					if err := b.Publish(pep, "h", "u", node, NodeItem{ID: id, Payload: []byte(fmt.Sprint(w, i))}, 6); err != nil {
						t.Error(err)
					}
				}
				if err := b.Commit(); err != nil {
					t.Error(err)
					return
				}
				if w == 0 && i%10 == 4 {
					if err := db.DeleteUser("h", "u"); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	for i := range nodes {
		checkNode(t, pep, "h", "u", fmt.Sprint("node", i))
	}
}

// checkNode checks a node's invariants: the count matches the items, ids are
// unique, every id finds its item, and the meta record's First is the
// oldest item's, as a walk of every order key finds it.
func checkNode(t *testing.T, n *Nodes, host, owner, node string) {
	t.Helper()
	items, total, err := n.Items(host, owner, node, NodeQuery{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.reader(host, owner, node)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := r.meta()
	if err != nil {
		t.Fatal(err)
	}
	r.it.SetBounds(orderKey(r.np, 0), orderEnd(r.np))
	oldest := meta.Last + 1
	if r.it.First() {
		oldest = seqOf(r.it.Key())
	}
	r.close()
	if meta.Last > 0 && meta.First != oldest {
		t.Errorf("%s: meta %+v, but the oldest item is %d", node, meta, oldest)
	}
	if total != len(items) {
		t.Errorf("%s: count %d, but %d items", node, total, len(items))
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.ID] {
			t.Errorf("%s: id %q listed twice", node, it.ID)
		}
		seen[it.ID] = true
		got, found, err := n.Get(host, owner, node, it.ID)
		if err != nil || !found || string(got.Payload) != string(it.Payload) {
			t.Errorf("%s: Get(%q) = %+v, %v, %v; want %+v", node, it.ID, got, found, err, it)
		}
	}
}
