package storage

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// store is what the three kinds of handle share.
type store struct {
	db   *DB
	kind byte
	name string
	wo   *pebble.WriteOptions
	// err is set when the name is unusable; every method returns it, since
	// the constructors have no error result.
	err error
	// registered saves re-writing the registry entry on every write once
	// this handle knows it is on disk.
	registered atomic.Bool
}

func (db *DB) open(kind byte, name string, durable bool) *store {
	s := &store{db: db, kind: kind, name: name, wo: pebble.NoSync}
	if durable {
		s.wo = pebble.Sync
	}
	if name == "" {
		s.err = &detailError{msg: "storage: a store needs a name", kind: ErrBadName}
		return s
	}
	if err := checkPart("store", name); err != nil {
		s.err = err
		return s
	}
	// A failed lookup only costs one redundant registry write later.
	if db.check() == nil {
		if _, closer, err := db.pdb.Get(s.registryKey()); err == nil {
			_ = closer.Close()
			s.registered.Store(true)
		}
	}
	return s
}

// metaKey is the prefix of one kind of metadata record.
func metaKey(name string) []byte {
	b := append([]byte{kindMeta}, name...)
	return append(b, sep)
}

// registryKey is where the registry records that this store holds data.
func (s *store) registryKey() []byte {
	b := append(metaKey(metaStores), s.kind)
	return append(b, s.name...)
}

// check rejects a call before it allocates or touches the engine.
func (s *store) check(host, user string) error {
	if s.err != nil {
		return s.err
	}
	if err := s.db.check(); err != nil {
		return err
	}
	if err := checkPart("host", host); err != nil {
		return err
	}
	return checkPart("user", user)
}

// set writes one record. It always goes through a batch, as pebble's own
// Set does, so the first write can carry the registry entry.
func (s *store) set(key, val []byte) error {
	b := s.db.pdb.NewBatch()
	defer b.Close()
	if err := b.Set(key, val, nil); err != nil {
		return err
	}
	return s.commit(b)
}

// commit commits a batch of new records, adding the store to the registry in
// the same batch the first time, so DeleteUser can never miss a store that
// holds data.
func (s *store) commit(b *pebble.Batch) error {
	registering := !s.registered.Load()
	if registering {
		if err := s.addToRegistry(b); err != nil {
			return err
		}
	}
	if err := b.Commit(s.wo); err != nil {
		return err
	}
	if registering {
		s.registered.Store(true)
	}
	return nil
}

// addToRegistry writes the store's registry entry into b.
func (s *store) addToRegistry(b *pebble.Batch) error {
	e := storeEntry{Kind: s.kind, Name: s.name}
	val, err := e.MarshalMsg(nil)
	if err != nil {
		return err
	}
	return b.Set(s.registryKey(), val, nil)
}

// deleteRange removes every key starting with p, which ends with sep.
func (s *store) deleteRange(p []byte) error {
	return s.db.pdb.DeleteRange(p, prefixEnd(p), s.wo)
}

// users lists the distinct users under a host, sorted. It seeks past each
// user's records instead of reading them, so a map or archive with many
// records per user costs one seek per user.
func (s *store) users(host string) ([]string, error) {
	if err := s.check(host, ""); err != nil {
		return nil, err
	}
	p := appendHostPrefix(nil, s.kind, s.name, host)
	it, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, s.fail("listing users of", host, err)
	}
	var out []string
	seek := append([]byte(nil), p...)
	for ok := it.First(); ok; {
		rest := it.Key()[len(p):]
		i := bytes.IndexByte(rest, sep)
		if i < 0 {
			_ = it.Close()
			return nil, fmt.Errorf("storage: key %q in store %s has no user part; the data directory is damaged", it.Key(), s.name)
		}
		// No user contains sep, so user+1 is past every key of this user
		// and at or before the first key of any later one.
		seek = append(append(seek[:len(p)], rest[:i]...), sep+1)
		// An archive's item count sorts after its items and outlives
		// them, so a user whose first key is the count has no items.
		if s.kind != kindArchive || len(rest) != i+2 || rest[i+1] != countMark {
			out = append(out, string(rest[:i]))
		}
		ok = it.SeekGE(seek)
	}
	if err := it.Close(); err != nil {
		return nil, s.fail("listing users of", host, err)
	}
	return out, nil
}

// fail wraps an engine error with the store and the operation.
func (s *store) fail(op, who string, err error) error {
	return fmt.Errorf("storage: %s %s in store %s: %w", op, who, s.name, err)
}

// bufPool holds scratch buffers for building a key and encoding a value
// next to it; pebble copies both before a write returns.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooled keeps one huge record from pinning its buffer in the pool.
const maxPooled = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(p *[]byte, b []byte) {
	if cap(b) > maxPooled {
		return
	}
	*p = b[:0]
	bufPool.Put(p)
}
