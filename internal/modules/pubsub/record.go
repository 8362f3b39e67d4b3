package pubsub

import "github.com/tinylib/msgp/msgp"

// record is a node's stored state (configuration, affiliations,
// subscriptions) as a flat list of strings in groups of four: kind, key
// and two values. Adding a field adds a kind, which older records lack and
// older releases skip, so the layout needs no version.
type record []string

// Kinds of a record's groups.
const (
	recConfig = "c" // config field var, value, ""
	recAff    = "a" // bare JID, affiliation, ""
	recSub    = "s" // JID, subid, state + "\x00" + options ("filter\x00interval")
)

// MarshalMsg implements msgp.Marshaler.
func (r record) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, uint32(len(r)))
	for _, s := range r {
		b = msgp.AppendString(b, s)
	}
	return b, nil
}

// UnmarshalMsg implements msgp.Unmarshaler.
func (r *record) UnmarshalMsg(b []byte) ([]byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return b, err
	}
	out := make(record, 0, n)
	for range n {
		var s string
		if s, b, err = msgp.ReadStringBytes(b); err != nil {
			return b, err
		}
		out = append(out, s)
	}
	*r = out
	return b, nil
}

var (
	_ msgp.Marshaler   = record(nil)
	_ msgp.Unmarshaler = (*record)(nil)
)
