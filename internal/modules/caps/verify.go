package caps

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"slices"
	"strings"

	"xmppd/internal/stanza"
	"xmppd/internal/xml"
)

// nsData is the namespace of XEP-0004 data forms (extended information,
// XEP-0128).
const nsData = "jabber:x:data"

// hasher returns the hash function named in a <c/> 'hash' attribute, by
// its IANA name (XEP-0115 §5.1 requires sha-1 support), or nil.
func hasher(name string) func() hash.Hash {
	switch name {
	case "sha-1":
		return sha1.New
	case "sha-256":
		return sha256.New
	case "sha-512":
		return sha512.New
	}
	return nil
}

// verify reads the disco#info result answer, computes its verification
// string with hashName (XEP-0115 §5.1) and compares it with ver. It
// returns the features when they match. Duplicate identities, features or
// form types make the answer invalid (XEP-0115 §5.4, 3.3-3.5).
func verify(answer *stanza.Stanza, hashName, ver string) ([]string, bool) {
	newHash := hasher(hashName)
	tree, err := answer.Tree()
	if newHash == nil || err != nil {
		return nil, false
	}
	q := tree.Child(NSDiscoInfo, "query")
	if q == nil {
		return nil, false
	}
	s, features, ok := verificationString(q)
	if !ok {
		return nil, false
	}
	h := newHash()
	h.Write(s)
	return features, base64.StdEncoding.EncodeToString(h.Sum(nil)) == ver
}

// verificationString builds the string S of XEP-0115 §5.1 from a
// disco#info <query/>, and returns the features with it.
func verificationString(q *stanza.Element) ([]byte, []string, bool) {
	var ids, features []string
	type form struct {
		typ    string
		fields []string // "var<value<value<" each
	}
	var forms []form
	for _, n := range q.Children {
		e := n.Elem
		if e == nil {
			continue
		}
		switch {
		case e.Space == NSDiscoInfo && e.Local == "identity":
			lang, _ := e.AttrNS(xml.NamespaceXML, "lang")
			ids = append(ids, e.Attr("category")+"/"+e.Attr("type")+"/"+lang+"/"+e.Attr("name"))
		case e.Space == NSDiscoInfo && e.Local == "feature":
			features = append(features, e.Attr("var"))
		case e.Space == nsData && e.Local == "x":
			f := form{}
			hasType := false
			for _, fn := range e.Children {
				fe := fn.Elem
				if fe == nil || fe.Local != "field" {
					continue
				}
				var values []string
				for _, vn := range fe.Children {
					if vn.Elem != nil && vn.Elem.Local == "value" {
						values = append(values, vn.Elem.Text())
					}
				}
				if fe.Attr("var") == "FORM_TYPE" {
					hasType = true
					if len(values) > 0 {
						f.typ = values[0]
					}
					continue
				}
				slices.Sort(values)
				field := fe.Attr("var") + "<"
				for _, v := range values {
					field += v + "<"
				}
				f.fields = append(f.fields, field)
			}
			if !hasType {
				continue // XEP-0115 §5.4 3.6: such a form is not hashed
			}
			slices.Sort(f.fields)
			forms = append(forms, f)
		}
	}
	slices.Sort(ids)
	slices.Sort(features)
	slices.SortFunc(forms, func(a, b form) int { return strings.Compare(a.typ, b.typ) })
	types := make([]string, len(forms))
	for i, f := range forms {
		types[i] = f.typ
	}
	if hasDup(ids) || hasDup(features) || hasDup(types) {
		return nil, nil, false
	}
	var b bytes.Buffer
	for _, id := range ids {
		b.WriteString(id)
		b.WriteByte('<')
	}
	for _, f := range features {
		b.WriteString(f)
		b.WriteByte('<')
	}
	for _, f := range forms {
		b.WriteString(f.typ)
		b.WriteByte('<')
		for _, fl := range f.fields {
			b.WriteString(fl)
		}
	}
	return b.Bytes(), features, true
}

func hasDup(sorted []string) bool {
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return true
		}
	}
	return false
}
