package pubsub

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"xmppd/internal/stanza"
)

// A filter selects the items a subscriber gets (xmppd#filter). The
// language, documented in docs/monitoring.md:
//
//	expr   = and { "or" and }
//	and    = unary { "and" unary }
//	unary  = "not" unary | "(" expr ")" | field [ op value ]
//	op     = "=" | "!=" | "<" | "<=" | ">" | ">="
//	value  = number | "quoted string" | word
//
// A field is the text of a child element of the item's payload, or else
// an attribute of the payload element, by local name; a field alone tests
// that it exists. Two numbers compare as numbers; two severities (the
// syslog names, debug < info < notice < warning < error < critical <
// alert < emergency) by rank; anything else as strings.
type filter struct {
	src  string
	root *fnode
}

type fnode struct {
	op          string // "or", "and", "not", "exists", or a comparison
	left, right *fnode
	field       string
	value       string
}

// maxFilterLen bounds a filter's text, and so the cost of evaluating it
// on every item.
const maxFilterLen = 512

// severities ranks the syslog severity names (RFC 5424 §6.2.1).
var severities = map[string]int{"debug": 0, "info": 1, "notice": 2, "warning": 3, "warn": 3,
	"error": 4, "err": 4, "critical": 5, "crit": 5, "alert": 6, "emergency": 7, "emerg": 7}

// parseFilter parses src; the error says what is wrong and where.
func parseFilter(src string) (*filter, error) {
	if len(src) > maxFilterLen {
		return nil, fmt.Errorf("filter is longer than %d bytes", maxFilterLen)
	}
	p := &fparser{toks: nil}
	if err := p.lex(src); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		return nil, errors.New("filter is empty")
	}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("filter: unexpected %q", p.toks[p.i].text)
	}
	return &filter{src: src, root: root}, nil
}

type ftok struct {
	text   string
	quoted bool
}

type fparser struct {
	toks []ftok
	i    int
}

func (p *fparser) lex(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			p.toks = append(p.toks, ftok{text: s[i : i+1]})
			i++
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return fmt.Errorf("filter: '!' must be followed by '=' at offset %d", i)
			}
			p.toks = append(p.toks, ftok{text: op})
			i = j
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return fmt.Errorf("filter: unterminated string at offset %d", i)
			}
			p.toks = append(p.toks, ftok{text: s[i+1 : i+1+j], quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()=<>!\"", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, ftok{text: s[i:j]})
			i = j
		}
	}
	return nil
}

func (p *fparser) peek() (ftok, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return ftok{}, false
}

func (p *fparser) keyword(k string) bool {
	t, ok := p.peek()
	if ok && !t.quoted && t.text == k {
		p.i++
		return true
	}
	return false
}

func (p *fparser) or() (*fnode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &fnode{op: "or", left: l, right: r}
	}
	return l, nil
}

func (p *fparser) and() (*fnode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &fnode{op: "and", left: l, right: r}
	}
	return l, nil
}

func isOp(s string) bool {
	switch s {
	case "=", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

func (p *fparser) unary() (*fnode, error) {
	if p.keyword("not") {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &fnode{op: "not", left: x}, nil
	}
	t, ok := p.peek()
	if !ok {
		return nil, errors.New("filter: ends where a field name was expected")
	}
	if !t.quoted && t.text == "(" {
		p.i++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.keyword(")") {
			return nil, errors.New("filter: missing ')'")
		}
		return x, nil
	}
	if t.quoted || t.text == ")" || isOp(t.text) || t.text == "and" || t.text == "or" {
		return nil, fmt.Errorf("filter: %q where a field name was expected", t.text)
	}
	p.i++
	field := t.text
	op, ok := p.peek()
	if !ok || op.quoted || !isOp(op.text) {
		return &fnode{op: "exists", field: field}, nil
	}
	p.i++
	v, ok := p.peek()
	if !ok || (!v.quoted && (v.text == "(" || v.text == ")" || isOp(v.text))) {
		return nil, fmt.Errorf("filter: a value is needed after %s %s", field, op.text)
	}
	p.i++
	return &fnode{op: op.text, field: field, value: v.text}, nil
}

// match evaluates the filter over an item's fields.
func (f *filter) match(fields map[string]string) bool { return f.root.eval(fields) }

func (x *fnode) eval(fields map[string]string) bool {
	switch x.op {
	case "or":
		return x.left.eval(fields) || x.right.eval(fields)
	case "and":
		return x.left.eval(fields) && x.right.eval(fields)
	case "not":
		return !x.left.eval(fields)
	}
	v, ok := fields[x.field]
	if x.op == "exists" || !ok {
		return ok
	}
	c := compare(v, x.value)
	switch x.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

// compare orders a field's value against a filter's: numbers as numbers,
// severities by rank, anything else as strings.
func compare(a, b string) int {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	if x, ok := severities[strings.ToLower(a)]; ok {
		if y, ok := severities[strings.ToLower(b)]; ok {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

// payloadFields reads an item payload's fields: its attributes, then the
// text of its child elements (which win over attributes of the same name).
func payloadFields(p *stanza.Element) map[string]string {
	out := map[string]string{}
	if p == nil {
		return out
	}
	for _, a := range p.Attrs {
		if a.Space == "" {
			out[a.Local] = a.Value
		}
	}
	seen := map[string]bool{}
	for _, c := range p.Children {
		if c.Elem != nil && !seen[c.Elem.Local] {
			seen[c.Elem.Local] = true
			out[c.Elem.Local] = c.Elem.Text()
		}
	}
	return out
}
