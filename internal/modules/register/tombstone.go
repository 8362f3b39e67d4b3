package register

import "github.com/tinylib/msgp/msgp"

// tombstoneUser is the pseudo-user the tombstones are stored under: '@'
// cannot appear in a localpart (RFC 7622 §3.3.1), so no account's data,
// and no account deletion, ever touches it.
const tombstoneUser = "@tombstones"

// stamp is a tombstone's record: when the account was removed, in unix
// seconds, as a msgp integer.
type stamp int64

// MarshalMsg implements msgp.Marshaler.
func (s *stamp) MarshalMsg(b []byte) ([]byte, error) { return msgp.AppendInt64(b, int64(*s)), nil }

// UnmarshalMsg implements msgp.Unmarshaler.
func (s *stamp) UnmarshalMsg(b []byte) ([]byte, error) {
	v, rest, err := msgp.ReadInt64Bytes(b)
	*s = stamp(v)
	return rest, err
}
