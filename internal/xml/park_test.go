package xml

import (
	"errors"
	"slices"
	"testing"
)

// feedParking is feed that, whenever the window is empty between stanzas,
// parks the tokenizer and continues in the other one of a pair, as a
// connection does when it returns its tokenizer to a pool while idle.
func feedParking(in []byte, chunk int) (out []string, parks int, err error) {
	tzs := [2]*Tokenizer{NewTokenizer(Limits{}, true), NewTokenizer(Limits{}, true)}
	// Give the spare one unrelated state, as a pooled tokenizer would have.
	// Its input ends inside a stanza, so it also holds a sticky error.
	feed(tzs[1], []byte(hdr+"<message><body xmlns:q='urn:q'>x</body>"))
	cur := 0
	var window, parked []byte
	next := 0
	for {
		tok, err := tzs[cur].Next(window)
		switch {
		case err == nil:
			out = append(out, describe(tok))
			continue
		case errors.Is(err, ErrNeedMore):
		default:
			return out, parks, err
		}
		if next == len(in) {
			return out, parks, tzs[cur].Finish()
		}
		r := tzs[cur].Retain()
		window = append([]byte(nil), window[r:]...)
		tzs[cur].Shift(r)
		if len(window) == 0 && tzs[cur].CanPark() {
			var ok bool
			if parked, ok = tzs[cur].Park(parked[:0]); !ok {
				return out, parks, errors.New("CanPark but Park refused")
			}
			cur = 1 - cur
			if err := tzs[cur].Unpark(parked); err != nil {
				return out, parks, err
			}
			parks++
		}
		end := min(next+chunk, len(in))
		window = append(window, in[next:end]...)
		next = end
	}
}

func TestParkUnpark(t *testing.T) {
	in := loadSession(t)
	want, err := feed(NewTokenizer(Limits{}, true), in)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 2, 7, 64} {
		got, parks, err := feedParking(in, chunk)
		if err != nil {
			t.Fatalf("chunks of %d: %v", chunk, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("chunks of %d:\n%s", chunk, firstDiff(got, want))
		}
		if parks == 0 || chunk == 1 && parks < 30 {
			t.Fatalf("chunks of %d: parked only %d times", chunk, parks)
		}
	}
}

func TestParkOnlyBetweenStanzas(t *testing.T) {
	tz := NewTokenizer(Limits{}, true)
	if tz.CanPark() {
		t.Fatal("parkable before the stream header")
	}
	w := []byte(hdr + "<message><body>hi")
	for {
		if _, err := tz.Next(w); err != nil {
			break
		}
	}
	if _, ok := tz.Park(nil); ok {
		t.Fatal("parked inside a stanza")
	}
	if NewTokenizer(Limits{}, false).CanPark() {
		t.Fatal("a document tokenizer claims it can park")
	}
}

func TestUnparkRejectsGarbage(t *testing.T) {
	tz := NewTokenizer(Limits{}, true)
	w := []byte(hdr)
	if _, err := tz.Next(w); err != nil {
		t.Fatal(err)
	}
	if _, err := tz.Next(w); !errors.Is(err, ErrNeedMore) {
		t.Fatal(err)
	}
	tz.Shift(tz.Retain())
	p, ok := tz.Park(nil)
	if !ok {
		t.Fatal("cannot park after the header")
	}
	for _, bad := range [][]byte{nil, p[:2], p[:5], p[:len(p)-40]} {
		if err := NewTokenizer(Limits{}, true).Unpark(bad); err == nil {
			t.Errorf("Unpark accepted %d of %d bytes", len(bad), len(p))
		}
	}
}
