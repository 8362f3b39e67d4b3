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
// one repeating), dropping what the tokenizer no longer needs before every
// read, as a connection would. It returns the described tokens and the
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
			continue
		case errors.Is(err, ErrNeedMore):
		default:
			return out, err
		}
		if next == len(in) {
			return out, t.Finish()
		}
		// Drop what the tokenizer no longer needs, into a fresh slice, and
		// spoil the old one so that any reference kept to it would show.
		r := t.Retain()
		old := window
		window = append(make([]byte, 0, len(window)-r+64), window[r:]...)
		for i := range old {
			old[i] = '\xff'
		}
		t.Shift(r)
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
