package storage

import (
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Key kinds. Each kind is its own slice of the key space, so a store of one
// kind can never read another kind's records even under the same name.
const (
	kindKeyVal  byte = 'k'
	kindMap     byte = 'm'
	kindArchive byte = 'a'
	kindNodes   byte = 'n'
	kindMeta    byte = '!'
)

// sep ends each variable-length part of a key. Because no part may contain
// it, a prefix that ends with sep matches exactly one part and never a longer
// name that merely starts the same way ("ann" vs "anna").
const sep = 0x00

// Metadata keys, under kindMeta. They use the same "name, sep" shape as the
// data kinds so the registry is one range scan too.
const (
	metaStores = "stores"
	metaLayout = "layout"
)

// layoutVersion is the key layout this code writes. Bump it, and teach Open
// to migrate, whenever the layout above changes.
//
// Adding a kind is not such a change: no existing key moves, and a release
// that predates the kind never reads its keys, except through DeleteUser,
// which range-deletes every registered store under the user's prefix
// whatever its kind. So the node store ('n') came without a bump.
const layoutVersion = 1

// archive suffix: big-endian time and sequence number, so byte order is
// time order and items written within one microsecond keep their order.
// Append never chooses a suffix below the user's newest (see claimKey), so
// byte order is also append order when the clock steps back.
const (
	timeLen   = 8
	seqLen    = 4
	suffixLen = timeLen + seqLen
)

// countMark follows a user's prefix to form the key of that user's archive
// item count. Item suffixes start with a non-negative time whose first byte
// is at most 0x7f, so the count sorts after every item: appends touch only
// the tail of a user's range, and a flush never spans their whole archive
// (which would make compactions rewrite it).
const countMark = 0xff

// A node store keeps, under the user's prefix, one group of keys per node:
//
//	prefix | node | sep | 'i' | item id            → the item's sequence number
//	prefix | node | sep | 'm'                      → nodeMeta: last and first sequence, count
//	prefix | node | sep | 'o' | 8-byte BE sequence → nodeItem: the item itself
//
// The order keys hold the items so that the newest one, and any page in
// publication order, is found by walking keys alone; the id keys only map a
// publisher's id to its place. The order tag sorts last, so the newest item
// is the last key of the node. Node names may not contain sep; item ids are
// the last part of their key, so they may hold any byte.
const (
	tagID      byte = 'i'
	tagMeta    byte = 'm'
	tagOrder   byte = 'o'
	nodeSeqLen      = 8
)

// appendNodePrefix appends the prefix every key of one node starts with.
func appendNodePrefix(b []byte, store, host, owner, node string) []byte {
	b = appendPrefix(b, kindNodes, store, host, owner)
	b = append(b, node...)
	return append(b, sep)
}

// appendOrderKey appends a node's order key for seq to np, the node prefix.
func appendOrderKey(np []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(np, tagOrder), seq)
}

// idEncoding is base32hex: its alphabet is in ASCII order, so ids of equal
// length sort like the key suffixes they encode, and lowercase because ids
// end up in stanzas and logs where case-folding tools might otherwise alter
// them.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// idLen is the length of every archive id: 12 bytes in 5-bit digits.
var idLen = idEncoding.EncodedLen(suffixLen)

// checkPart rejects a store, host or user that would break the key layout.
func checkPart(what, s string) error {
	if strings.IndexByte(s, sep) >= 0 {
		return &detailError{
			msg:  fmt.Sprintf("storage: %s %q contains a NUL byte, which cannot be stored", what, s),
			kind: ErrBadName,
		}
	}
	return nil
}

// appendPrefix appends kind | store | sep | host | sep | user | sep, the
// prefix every record of one user in one store starts with.
func appendPrefix(b []byte, kind byte, store, host, user string) []byte {
	b = append(b, kind)
	b = append(b, store...)
	b = append(b, sep)
	b = append(b, host...)
	b = append(b, sep)
	b = append(b, user...)
	return append(b, sep)
}

// appendHostPrefix appends kind | store | sep | host | sep, the prefix of
// every user's records on one host.
func appendHostPrefix(b []byte, kind byte, store, host string) []byte {
	b = append(b, kind)
	b = append(b, store...)
	b = append(b, sep)
	b = append(b, host...)
	return append(b, sep)
}

// prefixEnd returns the exclusive upper bound of all keys starting with p,
// where p ends with sep: the same bytes with the final sep raised by one.
// It allocates a copy so p stays usable.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	end[len(end)-1]++
	return end
}

// appendSuffix appends an archive key suffix: big-endian, so that byte
// order is time order.
func appendSuffix(b []byte, micros int64, seq uint32) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(micros))
	return binary.BigEndian.AppendUint32(b, seq)
}

// micros converts a time to the key's clock. Times before 1970 are rejected
// by Append and clamped here, because a negative count would sort after
// every positive one as unsigned bytes.
func micros(t time.Time) int64 {
	m := t.UnixMicro()
	if m < 0 {
		return 0
	}
	return m
}

// encodeID turns a 12-byte archive key suffix into the id handed to clients.
func encodeID(suffix []byte) string {
	var buf [32]byte
	n := idLen
	idEncoding.Encode(buf[:n], suffix)
	return string(buf[:n])
}

// decodeID turns an id back into its key suffix. It accepts only the exact
// text encodeID produces, so two different strings can never name the same
// item.
func decodeID(id string) ([suffixLen]byte, error) {
	var suffix [suffixLen]byte
	if len(id) != idLen {
		return suffix, badID(id)
	}
	var in [32]byte
	copy(in[:], id)
	n, err := idEncoding.Decode(suffix[:], in[:idLen])
	if err != nil || n != suffixLen {
		return suffix, badID(id)
	}
	// Decode ignores the low bits of the last digit; re-encoding catches
	// an id that differs from a real one only there.
	var again [32]byte
	idEncoding.Encode(again[:idLen], suffix[:])
	if string(again[:idLen]) != id {
		return suffix, badID(id)
	}
	return suffix, nil
}

func badID(id string) error {
	return &detailError{
		msg:  fmt.Sprintf("storage: %q is not an archive id of this server", id),
		kind: ErrBadID,
	}
}

// itemTime is the time an archive item was appended with: its key's time,
// less the skew recorded when the key had to go past a newer item.
func itemTime(suffix []byte, skew int64) time.Time {
	return time.UnixMicro(int64(binary.BigEndian.Uint64(suffix[:timeLen])) - skew)
}
