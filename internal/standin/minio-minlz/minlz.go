// Package minlz stands in for github.com/minio/minlz in xmppd's build:
// pebble links it for MinLZ-compressed table blocks, which only table
// formats newer than the one xmppd pins can hold (see the README).
// Compression and decompression report ErrNotBuiltIn.
package minlz

import "errors"

// ErrNotBuiltIn is what Encode, Decode and DecodedLen return: the codec is
// left out of this build.
var ErrNotBuiltIn = errors.New("minlz: this build of xmppd has no MinLZ codec; its stores use snappy, and a table compressed with MinLZ comes from another program")

// The original's levels and block bound, which pebble names.
const (
	LevelFastest  = 1
	LevelBalanced = 2
	LevelSmallest = 3
	MaxBlockSize  = 8 << 20
)

// Encode fails with ErrNotBuiltIn; pebble panics on it, which only a
// configuration asking for MinLZ could cause, and xmppd's does not.
func Encode(dst, src []byte, level int) ([]byte, error) {
	return nil, ErrNotBuiltIn
}

// Decode fails with ErrNotBuiltIn. It returns dst, so that pebble reports
// this error rather than a buffer mismatch.
func Decode(dst, src []byte) ([]byte, error) {
	return dst, ErrNotBuiltIn
}

// DecodedLen fails with ErrNotBuiltIn, before pebble allocates a buffer for
// the block.
func DecodedLen(src []byte) (int, error) {
	return 0, ErrNotBuiltIn
}
