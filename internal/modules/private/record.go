package private

import "github.com/tinylib/msgp/msgp"

// record is what the store keeps per account and element: the element as
// serialized when it was set (its namespace declared), and when.
type record struct {
	XML     []byte // msgp "x"
	Updated int64  // unix seconds; msgp "t"
}

// MarshalMsg implements msgp.Marshaler.
func (r *record) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendMapHeader(b, 2)
	b = msgp.AppendString(b, "x")
	b = msgp.AppendBytes(b, r.XML)
	b = msgp.AppendString(b, "t")
	b = msgp.AppendInt64(b, r.Updated)
	return b, nil
}

// UnmarshalMsg implements msgp.Unmarshaler; fields it does not know are
// skipped, so a later release may add some.
func (r *record) UnmarshalMsg(b []byte) ([]byte, error) {
	n, b, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return b, err
	}
	for ; n > 0; n-- {
		var key []byte
		if key, b, err = msgp.ReadMapKeyZC(b); err != nil {
			return b, err
		}
		switch string(key) {
		case "x":
			r.XML, b, err = msgp.ReadBytesBytes(b, nil)
		case "t":
			r.Updated, b, err = msgp.ReadInt64Bytes(b)
		default:
			b, err = msgp.Skip(b)
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}
