package storage

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tinylib/msgp/msgp"
)

// Map holds any number of records per user, each under a key of its own,
// such as private XML storage or per-contact settings.
type Map struct{ s *store }

// Get decodes the record under key for user on host into v. found is false
// when there is none, and v is then untouched.
func (m *Map) Get(host, user, key string, v msgp.Unmarshaler) (found bool, err error) {
	s := m.s
	if err := s.check(host, user); err != nil {
		return false, err
	}
	bp := getBuf()
	k := append(appendPrefix(*bp, s.kind, s.name, host, user), key...)
	val, closer, err := s.db.pdb.Get(k)
	putBuf(bp, k)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, s.fail("reading", user+"@"+host, err)
	}
	_, err = v.UnmarshalMsg(val)
	_ = closer.Close()
	if err != nil {
		return false, fmt.Errorf("storage: key %q: %w", key, corrupt(s, user, host, err))
	}
	return true, nil
}

// Set replaces the record under key for user on host. The key may hold any
// bytes: it is the last part of the storage key, so nothing follows it.
func (m *Map) Set(host, user, key string, v msgp.Marshaler) error {
	s := m.s
	if err := s.check(host, user); err != nil {
		return err
	}
	bp := getBuf()
	b := append(appendPrefix(*bp, s.kind, s.name, host, user), key...)
	n := len(b)
	b, err := v.MarshalMsg(b)
	if err != nil {
		putBuf(bp, b)
		return fmt.Errorf("storage: encoding the record %q of %s@%s for store %s: %w", key, user, host, s.name, err)
	}
	err = s.set(b[:n], b[n:])
	putBuf(bp, b)
	if err != nil {
		return s.fail("writing", user+"@"+host, err)
	}
	return nil
}

// Delete removes the record under key; a missing record is no error.
func (m *Map) Delete(host, user, key string) error {
	s := m.s
	if err := s.check(host, user); err != nil {
		return err
	}
	bp := getBuf()
	k := append(appendPrefix(*bp, s.kind, s.name, host, user), key...)
	err := s.db.pdb.Delete(k, s.wo)
	putBuf(bp, k)
	if err != nil {
		return s.fail("deleting", user+"@"+host, err)
	}
	return nil
}

// Each calls fn for every record of user on host in key order, stopping at
// the first error fn returns and returning it. data is only valid during
// the call, because it points into the engine's blocks; fn decodes it with
// UnmarshalMsg, which copies what it keeps.
func (m *Map) Each(host, user string, fn func(key string, data []byte) error) error {
	s := m.s
	if err := s.check(host, user); err != nil {
		return err
	}
	p := appendPrefix(nil, s.kind, s.name, host, user)
	it, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return s.fail("reading", user+"@"+host, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		val, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return s.fail("reading", user+"@"+host, err)
		}
		if err := fn(string(it.Key()[len(p):]), val); err != nil {
			_ = it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return s.fail("reading", user+"@"+host, err)
	}
	return nil
}

// DeleteAll removes every record of user on host with one range tombstone.
func (m *Map) DeleteAll(host, user string) error {
	s := m.s
	if err := s.check(host, user); err != nil {
		return err
	}
	if err := s.deleteRange(appendPrefix(nil, s.kind, s.name, host, user)); err != nil {
		return s.fail("deleting", user+"@"+host, err)
	}
	return nil
}

// Users lists the users on host that have at least one record, sorted.
func (m *Map) Users(host string) ([]string, error) {
	return m.s.users(host)
}
