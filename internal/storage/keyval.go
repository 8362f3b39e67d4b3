package storage

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tinylib/msgp/msgp"
)

// KeyVal holds one record per user, such as an account or a roster.
type KeyVal struct{ s *store }

// Get decodes the record of user on host into v. found is false when there
// is none, and v is then untouched.
func (kv *KeyVal) Get(host, user string, v msgp.Unmarshaler) (found bool, err error) {
	s := kv.s
	if err := s.check(host, user); err != nil {
		return false, err
	}
	bp := getBuf()
	key := appendPrefix(*bp, s.kind, s.name, host, user)
	val, closer, err := s.db.pdb.Get(key)
	putBuf(bp, key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, s.fail("reading", user+"@"+host, err)
	}
	_, err = v.UnmarshalMsg(val)
	_ = closer.Close()
	if err != nil {
		return false, corrupt(s, user, host, err)
	}
	return true, nil
}

// Set replaces the record of user on host.
func (kv *KeyVal) Set(host, user string, v msgp.Marshaler) error {
	s := kv.s
	if err := s.check(host, user); err != nil {
		return err
	}
	bp := getBuf()
	b := appendPrefix(*bp, s.kind, s.name, host, user)
	n := len(b)
	b, err := v.MarshalMsg(b)
	if err != nil {
		putBuf(bp, b)
		return fmt.Errorf("storage: encoding the record of %s@%s for store %s: %w", user, host, s.name, err)
	}
	err = s.set(b[:n], b[n:])
	putBuf(bp, b)
	if err != nil {
		return s.fail("writing", user+"@"+host, err)
	}
	return nil
}

// Delete removes the record of user on host; a missing record is no error.
func (kv *KeyVal) Delete(host, user string) error {
	s := kv.s
	if err := s.check(host, user); err != nil {
		return err
	}
	bp := getBuf()
	key := appendPrefix(*bp, s.kind, s.name, host, user)
	err := s.db.pdb.Delete(key, s.wo)
	putBuf(bp, key)
	if err != nil {
		return s.fail("deleting", user+"@"+host, err)
	}
	return nil
}

// Users lists the users on host that have a record, sorted.
func (kv *KeyVal) Users(host string) ([]string, error) {
	return kv.s.users(host)
}

func corrupt(s *store, user, host string, err error) error {
	return fmt.Errorf("storage: the record of %s@%s in store %s does not decode (was it written by another record type?): %w",
		user, host, s.name, err)
}
