package xml

import (
	"encoding/binary"
	"errors"
)

// An idle XMPP stream sits between stanzas for most of its life. Its
// tokenizer then needs only the root element's name and namespace
// bindings, a few hundred bytes, while the Tokenizer with its scope and
// attribute buffers is several times that. Park copies the small part out
// so the caller can give the Tokenizer back to a pool; Unpark restores it
// into any Tokenizer with the same limits and mode.

// errParked says a snapshot was not made by Park.
var errParked = errors.New("xml: malformed parked tokenizer state")

// CanPark reports whether the tokenizer is between stanzas of a stream
// with nothing scanned that the caller still holds, which is when Park may
// be used.
func (t *Tokenizer) CanPark() bool {
	return t.stream && t.err == nil && t.state == sContent && !t.pendingEnd &&
		t.pos == t.start && len(t.sc.open) == 1 && t.top < 0
}

// Park appends the tokenizer's state to dst and reports whether it could:
// only when CanPark. The next window given after Unpark must start where
// the last one ended, that is with everything scanned dropped.
func (t *Tokenizer) Park(dst []byte) ([]byte, bool) {
	if !t.CanPark() {
		return dst, false
	}
	// The first binding and the arena bytes it uses are the fixed xml
	// prefix that every scope starts with: Reset puts them back.
	sc := &t.sc
	var flags uint64
	if t.seen {
		flags = 1
	}
	dst = binary.AppendUvarint(dst, uint64(t.base+int64(t.pos)))
	dst = binary.AppendUvarint(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(sc.ns)-1))
	dst = binary.AppendUvarint(dst, uint64(len(sc.open)))
	for _, d := range sc.ns[1:] {
		dst = appendUvarints(dst, d.prefix.off, d.prefix.n, d.uri.off, d.uri.n)
	}
	for _, e := range sc.open {
		dst = appendUvarints(dst, e.name.off, e.name.n, e.space.off, e.space.n, e.nsMark, e.arenaMark)
	}
	return append(dst, sc.arena[len(scopeSeed):]...), true
}

// Unpark restores state made by Park, replacing all of the tokenizer's
// own; the next window starts at the stream offset where Park was called.
func (t *Tokenizer) Unpark(p []byte) error {
	d := parkDecoder{p: p}
	base, flags, nns, nopen := d.next(), d.next(), d.next(), d.next()
	if d.bad || nns > uint64(len(p)) || nopen > uint64(len(p)) {
		return errParked
	}
	t.Reset()
	sc := &t.sc
	for range nns {
		sc.ns = append(sc.ns, nsDecl{prefix: span{d.u32(), d.u32()}, uri: span{d.u32(), d.u32()}})
	}
	for range nopen {
		sc.open = append(sc.open, openElem{name: span{d.u32(), d.u32()}, space: span{d.u32(), d.u32()},
			nsMark: d.u32(), arenaMark: d.u32()})
	}
	if d.bad {
		return errParked
	}
	sc.arena = append(sc.arena, d.p...)
	for _, b := range sc.ns {
		if !sc.holds(b.prefix) || !sc.holds(b.uri) {
			return errParked
		}
	}
	for _, e := range sc.open {
		if !sc.holds(e.name) || !sc.holds(e.space) || int(e.nsMark) > len(sc.ns) || int(e.arenaMark) > len(sc.arena) {
			return errParked
		}
	}
	t.base = int64(base)
	t.seen = flags&1 != 0
	return nil
}

func (s *scope) holds(sp span) bool { return uint64(sp.off)+uint64(sp.n) <= uint64(len(s.arena)) }

func appendUvarints(dst []byte, vs ...uint32) []byte {
	for _, v := range vs {
		dst = binary.AppendUvarint(dst, uint64(v))
	}
	return dst
}

// parkDecoder reads the varints of a parked state, remembering any fault
// instead of failing at each step.
type parkDecoder struct {
	p   []byte
	bad bool
}

func (d *parkDecoder) next() uint64 {
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *parkDecoder) u32() uint32 {
	v := d.next()
	if v > 1<<31 {
		d.bad = true
	}
	return uint32(v)
}
