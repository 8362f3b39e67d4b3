// Package zstd stands in for github.com/klauspost/compress/zstd in xmppd's
// build: pebble links it to write and read zstd-compressed table blocks,
// which xmppd's stores never contain (they use snappy; see the README).
// Every constructor succeeds or fails as the original's signature allows,
// and any attempt to compress or decompress reports ErrNotBuiltIn.
package zstd

import (
	"errors"
	"io"
)

// ErrNotBuiltIn is what every compression and decompression returns: the
// codec is left out of this build.
var ErrNotBuiltIn = errors.New("zstd: this build of xmppd has no zstd codec; its stores use snappy, and a table compressed with zstd comes from another program")

// EncoderLevel is a compression speed, as in the original.
type EncoderLevel int

// The original's levels, which EncoderLevelFromZstd returns.
const (
	SpeedFastest EncoderLevel = iota + 1
	SpeedDefault
	SpeedBetterCompression
	SpeedBestCompression
)

// EncoderLevelFromZstd maps a zstd level number to the nearest speed, as
// the original does.
func EncoderLevelFromZstd(level int) EncoderLevel {
	switch {
	case level < 3:
		return SpeedFastest
	case level < 6:
		return SpeedDefault
	case level < 10:
		return SpeedBetterCompression
	default:
		return SpeedBestCompression
	}
}

// EOption configures an Encoder.
type EOption func(*encoderOptions) error

type encoderOptions struct{ level EncoderLevel }

// WithEncoderLevel sets the speed of an Encoder.
func WithEncoderLevel(l EncoderLevel) EOption {
	return func(o *encoderOptions) error { o.level = l; return nil }
}

// Encoder is never created: NewWriter fails.
type Encoder struct{}

// NewWriter fails with ErrNotBuiltIn: pebble asks for an encoder only when
// a level is configured to use zstd, and xmppd configures none.
func NewWriter(w io.Writer, opts ...EOption) (*Encoder, error) {
	return nil, ErrNotBuiltIn
}

// EncodeAll returns dst unchanged; it is unreachable, since no Encoder
// exists.
func (e *Encoder) EncodeAll(src, dst []byte) []byte { return dst }

// Close does nothing.
func (e *Encoder) Close() error { return nil }

// DOption configures a Decoder.
type DOption func(*decoderOptions) error

type decoderOptions struct{}

// Decoder decodes nothing: DecodeAll fails.
type Decoder struct{}

// NewReader returns a Decoder. It succeeds, because pebble ignores its
// error and would call Close on a nil Decoder; the failure comes from
// DecodeAll, where pebble reports it as the read's error.
func NewReader(r io.Reader, opts ...DOption) (*Decoder, error) {
	return &Decoder{}, nil
}

// DecodeAll fails with ErrNotBuiltIn.
func (d *Decoder) DecodeAll(input, dst []byte) ([]byte, error) {
	return dst, ErrNotBuiltIn
}

// Close does nothing.
func (d *Decoder) Close() {}
