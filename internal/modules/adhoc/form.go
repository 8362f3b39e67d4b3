package adhoc

import "xmppd/internal/stanza"

// NSData is the namespace of data forms (XEP-0004).
const NSData = "jabber:x:data"

// field is a field of a data form (XEP-0004 §3.2).
type field struct {
	Var, Type, Label string
	Required         bool
	Values           []string
	Options          []string
}

// appendForm writes a data form of type typ ("form" or "result") with the
// hidden FORM_TYPE of XEP-0133 first (XEP-0068).
func appendForm(b *stanza.Builder, typ, title, instructions string, fields []field) {
	b.Start("x").Attr("xmlns", NSData).Attr("type", typ)
	if title != "" {
		b.Start("title").Text(title).End()
	}
	if instructions != "" {
		b.Start("instructions").Text(instructions).End()
	}
	b.Start("field").Attr("var", "FORM_TYPE").Attr("type", "hidden")
	b.Start("value").Text(NSAdmin).End().End()
	for _, f := range fields {
		b.Start("field").Attr("var", f.Var)
		if f.Type != "" {
			b.Attr("type", f.Type)
		}
		if f.Label != "" {
			b.Attr("label", f.Label)
		}
		if f.Required {
			b.Start("required").End()
		}
		for _, o := range f.Options {
			b.Start("option").Attr("label", o).Start("value").Text(o).End().End()
		}
		for _, v := range f.Values {
			b.Start("value").Text(v).End()
		}
		b.End()
	}
	b.End()
}

// submitted is a submitted form's values by field.
type submitted map[string][]string

// first returns the first value of field v, or "".
func (s submitted) first(v string) string {
	if vs := s[v]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// parseSubmit reads the submitted form in a <command/>; nil when there is
// none (the requester asks for the form).
func parseSubmit(cmd *stanza.Element) submitted {
	x := cmd.Child(NSData, "x")
	if x == nil || x.Attr("type") != "submit" {
		return nil
	}
	out := submitted{}
	for _, n := range x.Children {
		f := n.Elem
		if f == nil || f.Local != "field" || f.Space != NSData {
			continue
		}
		name := f.Attr("var")
		for _, v := range f.Children {
			if v.Elem != nil && v.Elem.Local == "value" && v.Elem.Space == NSData {
				out[name] = append(out[name], v.Elem.Text())
			}
		}
	}
	return out
}
