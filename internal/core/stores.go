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
