package xml

import (
	"bytes"
	stdxml "encoding/xml"
	"errors"
	"io"
	"strconv"
	"testing"
)

// benchCorpus is a stream of at least 100 KiB built from the recorded
// session: its stanzas repeated with distinct ids, between one stream header
// and the stream's end.
func benchCorpus(tb testing.TB) []byte {
	s := loadSession(tb)
	first := bytes.IndexByte(s, '\n') + 1
	last := bytes.LastIndex(s, []byte("</stream:stream>"))
	head, body, tail := s[:first], s[first:last], s[last:]
	out := append([]byte(nil), head...)
	for i := 0; len(out) < 100<<10; i++ {
		out = append(out, bytes.ReplaceAll(body, []byte("id='"), []byte("id='"+strconv.Itoa(i)+"-"))...)
	}
	return append(out, tail...)
}

// tokenizeAll runs tz over the whole of in as one window and counts tokens.
func tokenizeAll(tb testing.TB, tz *Tokenizer, in []byte) int {
	tz.Reset()
	n := 0
	for {
		_, err := tz.Next(in)
		if err != nil {
			if errors.Is(err, ErrNeedMore) && tz.Finish() == nil {
				return n
			}
			tb.Fatal(err)
		}
		n++
	}
}

func TestCorpusSize(t *testing.T) {
	c := benchCorpus(t)
	if len(c) < 100<<10 {
		t.Fatalf("corpus is %d bytes", len(c))
	}
	tz := NewTokenizer(Limits{}, true)
	d := stdxml.NewDecoder(bytes.NewReader(c))
	std := 0
	for {
		_, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		std++
	}
	if n := tokenizeAll(t, tz, c); n == 0 || std == 0 {
		t.Fatalf("tokens: ours %d, std %d", n, std)
	}
}

// TestZeroAllocs is the allocation budget of the hot path, enforced in every
// test run: tokenizing a warmed-up stream allocates nothing.
func TestZeroAllocs(t *testing.T) {
	c := benchCorpus(t)
	tz := NewTokenizer(Limits{}, true)
	tokenizeAll(t, tz, c)
	if a := testing.AllocsPerRun(5, func() { tokenizeAll(t, tz, c) }); a != 0 {
		t.Fatalf("%v allocations per run", a)
	}
	// Fed in small reads with compaction, as a connection does.
	s := loadSession(t)
	window := make([]byte, 0, 8192)
	run := func() {
		tz.Reset()
		window = window[:0]
		for next := 0; ; {
			_, err := tz.Next(window)
			if err == nil {
				continue
			}
			if !errors.Is(err, ErrNeedMore) {
				t.Fatal(err)
			}
			if next == len(s) {
				return
			}
			r := tz.Retain()
			window = window[:copy(window, window[r:])]
			tz.Shift(r)
			end := min(next+97, len(s))
			window = append(window, s[next:end]...)
			next = end
		}
	}
	run()
	if a := testing.AllocsPerRun(5, run); a != 0 {
		t.Fatalf("%v allocations per run in small reads", a)
	}
}

func BenchmarkTokenizer(b *testing.B) {
	c := benchCorpus(b)
	tz := NewTokenizer(Limits{}, true)
	b.SetBytes(int64(len(c)))
	b.ReportAllocs()
	for b.Loop() {
		tokenizeAll(b, tz, c)
	}
}

// BenchmarkStdRawToken runs encoding/xml over the same corpus, for the ratio.
func BenchmarkStdRawToken(b *testing.B) {
	c := benchCorpus(b)
	b.SetBytes(int64(len(c)))
	b.ReportAllocs()
	r := bytes.NewReader(c)
	for b.Loop() {
		r.Reset(c)
		d := stdxml.NewDecoder(r)
		for {
			_, err := d.RawToken()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
