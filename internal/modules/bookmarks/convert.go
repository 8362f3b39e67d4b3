package bookmarks

import (
	"errors"
	"fmt"
	"hash/fnv"

	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// bookmark is one bookmarked room, whichever representation it came from.
// Both XEP-0048 and XEP-0402 carry the same fields; XEP-0402's
// <extensions/> holds what other clients added, and XEP-0048's unknown
// children of <conference/> travel there and back.
type bookmark struct {
	room     string // the room's bare JID: XEP-0402's item id, XEP-0048's jid attribute
	name     string
	autojoin bool
	nick     string
	password string
	ext      []*stanza.Element
}

var (
	errNotConference = errors.New("the payload is not a conference element")
	errBadRoom       = errors.New("the room is not a bare JID with a localpart")
)

// roomID returns the prepared room JID of s, which must be a bare JID with
// a localpart (a MUC room, XEP-0045 §4.1).
func roomID(s string) (string, error) {
	j, err := jid.Parse(s)
	if err != nil || j.Local() == "" || j.Resource() != "" {
		return "", fmt.Errorf("%w: %q", errBadRoom, s)
	}
	return j.String(), nil
}

// isTrue reads an xs:boolean (XEP-0048 §3.2, XEP-0402 §2).
func isTrue(s string) bool { return s == "true" || s == "1" }

// fromItem reads a XEP-0402 item: its id is the room, its payload a
// <conference xmlns='urn:xmpp:bookmarks:1'/>.
func fromItem(id string, payload []byte) (bookmark, error) {
	el, err := stanza.Parse(payload, nil, nil)
	if err != nil {
		return bookmark{}, err
	}
	if el.Space != NS || el.Local != "conference" {
		return bookmark{}, errNotConference
	}
	b := bookmark{room: id, name: el.Attr("name"), autojoin: isTrue(el.Attr("autojoin"))}
	for _, n := range el.Children {
		c := n.Elem
		if c == nil {
			continue
		}
		switch {
		case c.Space == NS && c.Local == "nick":
			b.nick = c.Text()
		case c.Space == NS && c.Local == "password":
			b.password = c.Text()
		case c.Space == NS && c.Local == "extensions":
			for _, x := range c.Children {
				if x.Elem != nil {
					b.ext = append(b.ext, x.Elem)
				}
			}
		}
	}
	return b, nil
}

// fromLegacy reads a XEP-0048 <conference/> of a <storage/>; children it
// does not know become extensions.
func fromLegacy(el *stanza.Element) (bookmark, error) {
	room, err := roomID(el.Attr("jid"))
	if err != nil {
		return bookmark{}, err
	}
	b := bookmark{room: room, name: el.Attr("name"), autojoin: isTrue(el.Attr("autojoin"))}
	for _, n := range el.Children {
		c := n.Elem
		if c == nil {
			continue
		}
		switch {
		case c.Space == NSLegacy && c.Local == "nick":
			b.nick = c.Text()
		case c.Space == NSLegacy && c.Local == "password":
			b.password = c.Text()
		default:
			b.ext = append(b.ext, c)
		}
	}
	return b, nil
}

// item is b as a XEP-0402 payload.
func (b *bookmark) item() *stanza.Element {
	el := stanza.NewElement(NS, "conference")
	if b.name != "" {
		el.SetAttr("name", b.name)
	}
	if b.autojoin {
		el.SetAttr("autojoin", "true")
	}
	if b.nick != "" {
		el.AddChild(stanza.NewElement(NS, "nick")).AddText(b.nick)
	}
	if b.password != "" {
		el.AddChild(stanza.NewElement(NS, "password")).AddText(b.password)
	}
	if len(b.ext) > 0 {
		x := el.AddChild(stanza.NewElement(NS, "extensions"))
		for _, e := range b.ext {
			x.AddChild(e)
		}
	}
	return el
}

// legacy is b as a XEP-0048 <conference/>.
func (b *bookmark) legacy() *stanza.Element {
	el := stanza.NewElement(NSLegacy, "conference", "jid", b.room)
	if b.name != "" {
		el.SetAttr("name", b.name)
	}
	if b.autojoin {
		el.SetAttr("autojoin", "true")
	}
	if b.nick != "" {
		el.AddChild(stanza.NewElement(NSLegacy, "nick")).AddText(b.nick)
	}
	if b.password != "" {
		el.AddChild(stanza.NewElement(NSLegacy, "password")).AddText(b.password)
	}
	for _, e := range b.ext {
		el.AddChild(e)
	}
	return el
}

// canon is b serialized one way only, to tell a changed bookmark from an
// unchanged one whatever attribute order a client wrote.
func (b *bookmark) canon() string { return string(b.item().AppendXML(nil, "")) }

// sum is a hash of canon, what a session's view keeps of each room.
func (b *bookmark) sum() uint64 {
	h := fnv.New64a()
	h.Write(b.item().AppendXML(nil, ""))
	return h.Sum64()
}

// legacyStorage splits a XEP-0048 <storage/> into its conferences and the
// rest (<url/> bookmarks, unknown elements), which XEP-0402 has no place
// for. Conferences it cannot keep are left out and each named in bad: a
// JID that is not a room's, a room bookmarked a second time. A client's
// set is refused for them; what the server converts on its own (an old
// fragment, a legacy PEP publish) goes on without them, logged.
func legacyStorage(st *stanza.Element) (list []bookmark, rest []*stanza.Element, bad []error) {
	seen := map[string]bool{}
	for _, n := range st.Children {
		c := n.Elem
		if c == nil {
			continue
		}
		if c.Space != NSLegacy || c.Local != "conference" {
			rest = append(rest, c)
			continue
		}
		b, err := fromLegacy(c)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		if seen[b.room] {
			bad = append(bad, fmt.Errorf("%s is bookmarked twice", b.room))
			continue
		}
		seen[b.room] = true
		list = append(list, b)
	}
	return list, rest, bad
}
