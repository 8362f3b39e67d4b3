package monitor

import (
	"errors"
	"io"
	"os"
)

// source is a /proc or /sys file opened once and read again from offset 0
// on every sample: both regenerate their text on a read at offset 0, so
// steady-state sampling opens nothing and allocates nothing.
type source struct {
	path string
	f    *os.File
	buf  []byte
}

// newSource opens path; nil when the kernel does not have it.
func newSource(path string, size int) *source {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	return &source{path: path, f: f, buf: make([]byte, size)}
}

// read returns the file's current text, valid until the next read. The
// buffer doubles when a read fills it, so it grows only until it fits.
func (s *source) read() ([]byte, error) {
	for {
		n, err := s.f.ReadAt(s.buf, 0)
		if err != nil && err != io.EOF {
			return nil, err
		}
		if n < len(s.buf) {
			return s.buf[:n], nil
		}
		s.buf = make([]byte, 2*len(s.buf))
	}
}

func (s *source) close() {
	if s != nil {
		s.f.Close()
	}
}

// field returns the first white-space separated field of b and the rest.
func field(b []byte) (f, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' {
		j++
	}
	return b[i:j], b[j:]
}

// line returns the first line of b without its newline, and the rest.
func line(b []byte) (l, rest []byte) {
	for i, c := range b {
		if c == '\n' {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// parseUint reads a decimal number; ok is false for anything else.
func parseUint(b []byte) (v uint64, ok bool) {
	if len(b) == 0 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// parseInt reads a decimal number with an optional minus sign (thermal
// zones below zero).
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, ok := parseUint(b)
	if neg {
		return -int64(u), ok
	}
	return int64(u), ok
}

// parseFixed reads a decimal such as "0.42" as an integer in units of
// 10^-scale (42 for scale 2); extra digits are cut, missing ones are zeros.
func parseFixed(b []byte, scale int) (int64, bool) {
	var v int64
	frac := -1
	digits := 0
	for _, c := range b {
		switch {
		case c == '.' && frac < 0:
			frac = 0
		case c >= '0' && c <= '9':
			if frac >= 0 {
				if frac == scale {
					continue
				}
				frac++
			}
			v = v*10 + int64(c-'0')
			digits++
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	if frac < 0 {
		frac = 0
	}
	for ; frac < scale; frac++ {
		v *= 10
	}
	return v, true
}

// readOK is read on a source that may be missing (nil).
func (s *source) readOK() ([]byte, error) {
	if s == nil {
		return nil, errMissing
	}
	return s.read()
}

var errMissing = errors.New("not available")
