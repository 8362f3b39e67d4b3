package xml

import (
	"errors"
	"fmt"
	"strings"
)

// describe renders a token in a form independent of where its bytes lie, so
// runs over differently split input compare equal.
func describe(tok *Token) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s@%d", tok.Kind, tok.Depth)
	switch tok.Kind {
	case KindStart, KindStreamStart, KindEnd, KindStreamEnd:
		fmt.Fprintf(&b, " %s {%s}", tok.Name, tok.Space)
		if tok.SelfClosing {
			b.WriteString(" /")
		}
		for i := range tok.Attrs {
			a := &tok.Attrs[i]
			fmt.Fprintf(&b, " %s=%q", a.Name, a.AppendValue(nil))
		}
	case KindText, KindCDATA:
		fmt.Fprintf(&b, " %q", tok.AppendText(nil))
	case KindDecl:
		fmt.Fprintf(&b, " %q", tok.Data)
	}
	return b.String()
}

// feed runs a tokenizer over in, delivered in the given chunk sizes (the last
// one repeating), dropping what the tokenizer no longer needs after every
// token, as a connection would. It returns the described tokens and the
// error that ended the run (nil when the input ended cleanly).
func feed(t *Tokenizer, in []byte, chunks ...int) ([]string, error) {
	var out []string
	var window []byte
	next := 0
	ci := 0
	for {
		tok, err := t.Next(window)
		switch {
		case err == nil:
			out = append(out, describe(tok))
			if r := t.Retain(); r > 0 && ci%2 == 0 {
				// Compact into a fresh slice so stale references would show.
				window = append([]byte(nil), window[r:]...)
				t.Shift(r)
			}
			continue
		case errors.Is(err, ErrNeedMore):
		default:
			return out, err
		}
		if next == len(in) {
			return out, t.Finish()
		}
		size := len(in)
		if len(chunks) > 0 {
			size = chunks[min(ci, len(chunks)-1)]
		}
		ci++
		end := min(next+size, len(in))
		window = append(window, in[next:end]...)
		next = end
	}
}

func tokenize(in string, stream bool) ([]string, error) {
	return feed(NewTokenizer(Limits{}, stream), []byte(in))
}
