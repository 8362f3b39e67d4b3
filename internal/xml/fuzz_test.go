package xml

import (
	"bytes"
	stdxml "encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedInputs are the fuzzers' starting points: each stanza of the recorded
// session as its own document, and the inputs of the error tables.
func seedInputs(f *testing.F) [][]byte {
	s := loadSession(f)
	var out [][]byte
	for _, line := range bytes.Split(s, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("<message")) || bytes.HasPrefix(line, []byte("<iq")) || bytes.HasPrefix(line, []byte("<presence")) {
			out = append(out, line)
		}
	}
	out = append(out, s)
	for _, in := range []string{
		"<a>&#xD800;</a>", "<a b='1' b='2'/>", "<p:a/>", "<a><!-- c --></a>", "<?xml version='1.0'?><a/>",
		"<a>]]></a>", "<a><![CDATA[x]]y]]></a>", "<a b='\t\r\n&#10;'/>", "<é/>", "<a>&#13;\n\r\n</a>",
		"<a xmlns='u' xmlns:p='v'><p:b p:c='1' c='2'/><b xmlns=''/></a>", "<a>&lt;&gt;&amp;&apos;&quot;</a>",
	} {
		out = append(out, []byte(in))
	}
	return out
}

// canonical describes a token the way encoding/xml's Token reports it:
// resolved element namespace, attribute names as (namespace or "xmlns", local),
// values decoded. White space in attribute values is folded, since
// encoding/xml skips attribute-value normalization (XML §3.3.3).
func canonical(tz *Tokenizer, tok *Token) string {
	switch tok.Kind {
	case KindStart:
		var b strings.Builder
		fmt.Fprintf(&b, "start {%s}%s", tok.Space, tok.Local())
		for i := range tok.Attrs {
			a := &tok.Attrs[i]
			space, local := "", string(a.Name)
			if c := bytes.IndexByte(a.Name, ':'); c >= 0 {
				space, local = string(a.Name[:c]), string(a.Name[c+1:])
				if space != "xmlns" {
					ns, _ := tz.LookupPrefix(a.Name[:c])
					space = string(ns)
				}
			}
			fmt.Fprintf(&b, " {%s}%s=%q", space, local, foldSpace(a.AppendValue(nil)))
		}
		return b.String()
	case KindEnd:
		return fmt.Sprintf("end {%s}%s", tok.Space, tok.Local())
	case KindText, KindCDATA:
		return "chars " + string(tok.AppendText(nil))
	case KindDecl:
		return "decl"
	}
	return "?"
}

func foldSpace(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, string(b))
}

func stdCanonical(data []byte) ([]string, error) {
	d := stdxml.NewDecoder(bytes.NewReader(data))
	var out []string
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch tok := tok.(type) {
		case stdxml.StartElement:
			depth++
			var b strings.Builder
			fmt.Fprintf(&b, "start {%s}%s", tok.Name.Space, tok.Name.Local)
			for _, a := range tok.Attr {
				fmt.Fprintf(&b, " {%s}%s=%q", a.Name.Space, a.Name.Local, foldSpace([]byte(a.Value)))
			}
			out = append(out, b.String())
		case stdxml.EndElement:
			depth--
			out = append(out, fmt.Sprintf("end {%s}%s", tok.Name.Space, tok.Name.Local))
		case stdxml.CharData:
			if depth > 0 {
				out = append(out, "chars "+string(tok))
			}
		case stdxml.ProcInst:
			if tok.Target == "xml" {
				out = append(out, "decl")
			} else {
				out = append(out, "pi")
			}
		case stdxml.Comment:
			out = append(out, "comment")
		case stdxml.Directive:
			out = append(out, "directive")
		}
	}
}

func ourCanonical(data []byte) ([]string, error) {
	tz := NewTokenizer(Limits{}, false)
	var out []string
	for {
		tok, err := tz.Next(data)
		if errors.Is(err, ErrNeedMore) {
			return out, tz.Finish()
		}
		if err != nil {
			return out, err
		}
		out = append(out, canonical(tz, tok))
	}
}

// mergeChars joins adjacent character data, which the two tokenizers may
// split differently (around CDATA sections).
func mergeChars(toks []string) []string {
	var out []string
	for _, s := range toks {
		if strings.HasPrefix(s, "chars ") && len(out) > 0 && strings.HasPrefix(out[len(out)-1], "chars ") {
			out[len(out)-1] += s[len("chars "):]
			continue
		}
		out = append(out, s)
	}
	return out
}

// stricterThanStd lists, with the reason for each, the rules this tokenizer
// enforces and encoding/xml does not. Rejecting input encoding/xml accepts
// is a bug unless one of these applies.
func stricterThanStd(data []byte, err error) bool {
	var se *SyntaxError
	if !errors.As(err, &se) {
		return false
	}
	if se.Class == Restricted || se.Class == LimitExceeded {
		return true // RFC 6120 §11.1, and our own limits
	}
	switch se.Msg {
	case MsgTextOutsideRoot, // encoding/xml accepts text outside the root
		MsgUndeclaredPrefix, MsgBadNSDecl, MsgBadQName, // it does not enforce XML Namespaces
		MsgDuplicateAttr,            // it does not check attribute uniqueness (XML §3.1 WFC)
		MsgDeclNotFirst, MsgBadDecl, // it checks only the declaration's version
		MsgBadMarkup,  // it takes any <!...> as a directive
		MsgBadTag,     // it needs no white space between attributes (XML §3.1)
		MsgBadCharRef: // it turns references to surrogates into U+FFFD
		return true
	case MsgBadNameStart, MsgBadName:
		// It uses XML 1.0 4th edition's name tables; we use the 5th's.
		return !isASCII(data)
	}
	return false
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// FuzzDiffStd compares the tokenizer with encoding/xml: on input encoding/xml
// accepts, the same tokens or a rejection named in stricterThanStd; and the
// same outcome however the input is split.
func FuzzDiffStd(f *testing.F) {
	for _, s := range seedInputs(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		whole, errWhole := feed(NewTokenizer(Limits{}, false), data)
		half, errHalf := feed(NewTokenizer(Limits{}, false), data, len(data)/2, len(data))
		if !slices.Equal(whole, half) || fmt.Sprint(errWhole) != fmt.Sprint(errHalf) {
			t.Fatalf("split changes the result:\n%q %v\n%q %v", whole, errWhole, half, errHalf)
		}
		if len(data) <= 512 {
			bytewise, errBytes := feed(NewTokenizer(Limits{}, false), data, 1)
			if !slices.Equal(whole, bytewise) || fmt.Sprint(errWhole) != fmt.Sprint(errBytes) {
				t.Fatalf("bytewise feeding changes the result:\n%q %v\n%q %v", whole, errWhole, bytewise, errBytes)
			}
		}

		ours, err := ourCanonical(data)
		std, stdErr := stdCanonical(data)
		if stdErr != nil {
			return
		}
		if err != nil {
			if !stricterThanStd(data, err) {
				t.Fatalf("encoding/xml accepts what we reject: %v\ninput %q", err, data)
			}
			return
		}
		if o, s := mergeChars(ours), mergeChars(std); !slices.Equal(o, s) {
			t.Fatalf("tokens differ on %q:\nours %q\nstd  %q", data, o, s)
		}
	})
}

// FuzzStream runs arbitrary input through a stream-mode tokenizer behind a
// fixed header, in reads of varying size: it must never panic, and must give
// the same outcome as the whole input at once.
func FuzzStream(f *testing.F) {
	for _, s := range seedInputs(f) {
		f.Add(s, uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		in := append([]byte(hdr), data...)
		lim := Limits{MaxStanzaBytes: 2048, MaxDepth: 8, MaxAttrs: 8, MaxNameBytes: 32}
		whole, errWhole := feed(NewTokenizer(lim, true), in)
		cut, errCut := feed(NewTokenizer(lim, true), in, int(chunk)+1)
		if !slices.Equal(whole, cut) || fmt.Sprint(errWhole) != fmt.Sprint(errCut) {
			t.Fatalf("reads of %d change the result:\n%q %v\n%q %v", int(chunk)+1, whole, errWhole, cut, errCut)
		}
	})
}
