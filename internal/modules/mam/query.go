package mam

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
	"xmppd/internal/storage"
)

// queryForm is what a query form request gets (XEP-0313 §4.1.5): the
// fields every server has, and those of urn:xmpp:mam:2#extended.
const queryForm = "<query xmlns='" + NS + "'><x xmlns='" + NSData + "' type='form'>" +
	"<field type='hidden' var='FORM_TYPE'><value>" + NS + "</value></field>" +
	"<field type='jid-single' var='with'/>" +
	"<field type='text-single' var='start'/>" +
	"<field type='text-single' var='end'/>" +
	"<field type='text-single' var='before-id'/>" +
	"<field type='text-single' var='after-id'/>" +
	"<field type='list-multi' var='ids'>" +
	"<validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:string'><open/></validate>" +
	"</field></x></query>"

// query is an archive query as the client asked it.
type query struct {
	id        string        // the queryid to echo in results
	filter    storage.Query // with, start, end, after-id and before-id
	ids       []string      // the ids field
	max       int           // RSM <max>; -1 when absent
	after     string        // RSM <after>
	before    string        // RSM <before>
	hasBefore bool          // RSM <before>, maybe empty: the page ends at the end
	flip      bool          // <flip-page/> (XEP-0313 §4.3.4)
}

// stanzaError is an error condition for the answer.
type stanzaError struct{ typ, condition, text string }

func badRequest(text string) *stanzaError {
	return &stanzaError{core.ErrModify, "bad-request", text}
}

// onQuery answers a query form request (get) or a query (set) on the
// account's own archive; another account's archive is forbidden.
func (m *Module) onQuery(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	if !ev.To.Bare().Equal(ev.From.Bare()) {
		m.api.Error(ev, core.ErrCancel, "forbidden", "only the account's owner may query its archive")
		return true
	}
	switch string(ev.Stanza.Type()) {
	case "get":
		m.api.Result(ev, []byte(queryForm))
	case "set":
		iq, err := ev.Stanza.Tree()
		if err != nil {
			m.api.Error(ev, core.ErrModify, "bad-request", "")
			return true
		}
		q, serr := parseQuery(iq.Child(NS, "query"))
		if serr == nil {
			serr = m.run(ev, &q)
		}
		if serr != nil {
			m.api.Error(ev, serr.typ, serr.condition, serr.text)
		}
	}
	return true
}

// parseQuery reads a <query/>: its form (XEP-0004) and its result set
// management (XEP-0059).
func parseQuery(el *stanza.Element) (query, *stanzaError) {
	q := query{max: -1}
	if el == nil {
		return q, badRequest("")
	}
	q.id = el.Attr("queryid")
	if el.Attr("node") != "" {
		return q, &stanzaError{core.ErrCancel, "item-not-found", "an account's archive has no nodes"}
	}
	if x := el.Child(NSData, "x"); x != nil {
		if err := q.readForm(x); err != nil {
			return q, err
		}
	}
	if set := el.Child(NSRSM, "set"); set != nil {
		if err := q.readSet(set); err != nil {
			return q, err
		}
	}
	q.flip = el.Child(NS, "flip-page") != nil
	return q, nil
}

// readForm reads the submitted form's fields (XEP-0313 §4.1).
func (q *query) readForm(x *stanza.Element) *stanzaError {
	if t := x.Attr("type"); t != "submit" {
		return badRequest("the form must be of type submit")
	}
	for _, n := range x.Children {
		f := n.Elem
		if f == nil || f.Local != "field" || f.Space != NSData {
			continue
		}
		var values []string
		for _, v := range f.Children {
			if v.Elem != nil && v.Elem.Local == "value" && v.Elem.Space == NSData {
				values = append(values, v.Elem.Text())
			}
		}
		name := f.Attr("var")
		if name == "ids" {
			q.ids = append(q.ids, values...)
			continue
		}
		if len(values) > 1 {
			return badRequest("field " + name + " takes one value")
		}
		if len(values) == 0 || values[0] == "" {
			continue // an empty field filters nothing
		}
		v := values[0]
		switch name {
		case "FORM_TYPE":
			if v != NS {
				return badRequest("FORM_TYPE must be " + NS)
			}
		case "with":
			j, err := jid.Parse(v)
			if err != nil {
				return &stanzaError{core.ErrModify, "jid-malformed", "with is not a JID"}
			}
			q.filter.With = j.String()
		case "start", "end":
			// XEP-0082 DateTime; RFC 3339 reads it, fractions included.
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return badRequest(name + " is not a XEP-0082 date and time")
			}
			if name == "start" {
				q.filter.Start = t
			} else {
				q.filter.End = t
			}
		case "after-id":
			q.filter.After = v
		case "before-id":
			q.filter.Before = v
		default:
			// XEP-0313 §4.1.5: a field the server does not know.
			return &stanzaError{core.ErrCancel, "feature-not-implemented", "unknown field " + name}
		}
	}
	return nil
}

// readSet reads the request's result set management (XEP-0059 §2).
func (q *query) readSet(set *stanza.Element) *stanzaError {
	if el := set.Child(NSRSM, "max"); el != nil {
		n, err := strconv.Atoi(el.Text())
		if err != nil || n < 0 {
			return badRequest("max must be a whole number")
		}
		q.max = n
	}
	if el := set.Child(NSRSM, "after"); el != nil {
		if el.Text() == "" {
			return badRequest("after needs an id")
		}
		q.after = el.Text()
	}
	if el := set.Child(NSRSM, "before"); el != nil {
		q.before, q.hasBefore = el.Text(), true
	}
	if set.Child(NSRSM, "index") != nil {
		return &stanzaError{core.ErrCancel, "feature-not-implemented", "paging by index is not supported"}
	}
	return nil
}

// run answers a parsed query: the result messages, then the iq result
// with <fin/> (XEP-0313 §4.2, §4.3).
func (m *Module) run(ev *core.Event, q *query) *stanzaError {
	user := ev.From.Local()
	page := m.opts.maxPage
	if q.max >= 0 {
		page = min(q.max, page)
	}
	// Every id named must be in the archive (XEP-0059 §2.5 and XEP-0313
	// §4.1.3), and is checked before anything is sent.
	for _, id := range slices.Concat([]string{q.filter.After, q.filter.Before, q.after, q.before}, q.ids) {
		if id == "" {
			continue
		}
		if _, serr := m.get(user, id); serr != nil {
			return serr
		}
	}
	var items []storage.Item
	var total int
	complete := true
	if len(q.ids) > 0 {
		if len(q.ids) > m.opts.maxPage {
			return &stanzaError{core.ErrModify, "not-acceptable", "at most " + strconv.Itoa(m.opts.maxPage) + " ids per query"}
		}
		for _, id := range q.ids {
			it, _ := m.get(user, id)
			if !slices.ContainsFunc(items, func(x storage.Item) bool { return x.ID == it.ID }) {
				items = append(items, it)
			}
		}
		// Ids sort like the archive, so this is archive order.
		slices.SortFunc(items, func(a, b storage.Item) int { return strings.Compare(a.ID, b.ID) })
		total = len(items)
	} else {
		f := q.filter
		// Both id windows bound the result; the narrower side wins.
		if q.after != "" && q.after > f.After {
			f.After = q.after
		}
		if q.before != "" && (f.Before == "" || q.before < f.Before) {
			f.Before = q.before
		}
		// An RSM <before/> asks for the page that ends the window: walk
		// from the newest end (XEP-0059 §2.5).
		f.Reverse = q.hasBefore
		f.Limit = page + 1 // one more tells whether the page completes the window
		var err error
		items, total, err = m.store.Find(user, f)
		if err != nil {
			m.storeError(ev, err)
			return nil
		}
		if len(items) > page {
			items, complete = items[:page], false
		}
		if f.Reverse {
			slices.Reverse(items)
		}
	}
	m.queries.Inc()
	m.sendResults(ev, q, items)
	m.api.Result(ev, appendFin(nil, items, total, complete))
	return nil
}

// get reads one item of user's archive; an id that is not there is
// item-not-found.
func (m *Module) get(user, id string) (storage.Item, *stanzaError) {
	it, found, err := m.store.Get(user, id)
	if errors.Is(err, storage.ErrBadID) || err == nil && !found {
		return it, &stanzaError{core.ErrCancel, "item-not-found", "no item " + id + " in the archive"}
	}
	if err != nil {
		m.api.Log().Error("the archive store failed", "err", err)
		return it, &stanzaError{core.ErrWait, "internal-server-error", ""}
	}
	return it, nil
}

// sendResults sends one message per item to the querying session, in
// chronological order or, flipped, newest first (XEP-0313 §4.2). They
// join the session's output and are written every flushBytes, so that a
// page of large messages never piles up past the client's output bound.
func (m *Module) sendResults(ev *core.Event, q *query, items []storage.Item) {
	s := ev.Origin
	flushBytes := int(min(m.api.Server().Config.C2S.QueueBytes/4, 16<<10))
	to, from := ev.From.String(), ev.From.Bare().String()
	var b stanza.Builder
	var buf []byte
	pending := 0
	for i := range items {
		it := &items[i]
		if q.flip {
			it = &items[len(items)-1-i]
		}
		b.Reset(buf).Start("message").Attr("to", to).Attr("from", from)
		b.Start("result").Attr("xmlns", NS)
		if q.id != "" {
			b.Attr("queryid", q.id)
		}
		b.Attr("id", it.ID)
		b.Start("forwarded").Attr("xmlns", NSForward)
		b.Start("delay").Attr("xmlns", NSDelay).Attr("stamp", stamp(it.When)).End()
		b.Raw(it.Payload)
		buf = b.Bytes()
		pending += len(buf)
		if pending >= flushBytes {
			s.Send(buf)
			pending = 0
		} else {
			s.SendFor(s, buf)
		}
	}
}

// appendFin writes the <fin/> of a query's result (XEP-0313 §4.3) with
// its result set (XEP-0059 §2.6): first and last of the page in
// chronological order, and the count of the whole window.
func appendFin(dst []byte, items []storage.Item, total int, complete bool) []byte {
	var b stanza.Builder
	b.Reset(dst).Start("fin").Attr("xmlns", NS).Attr("complete", strconv.FormatBool(complete))
	b.Start("set").Attr("xmlns", NSRSM)
	if len(items) > 0 {
		b.Start("first").Text(items[0].ID).End()
		b.Start("last").Text(items[len(items)-1].ID).End()
	}
	b.Start("count").Text(strconv.Itoa(total)).End()
	return b.Bytes()
}

// stamp formats t as a XEP-0082 DateTime in UTC, to the microsecond the
// archive keeps.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999999Z") }

// onMetadata answers an archive metadata request (XEP-0313 §5): the
// oldest and newest items; nothing for an empty archive.
func (m *Module) onMetadata(ev *core.Event) bool {
	if ev.Origin == nil || string(ev.Stanza.Type()) != "get" {
		return false
	}
	if !ev.To.Bare().Equal(ev.From.Bare()) {
		m.api.Error(ev, core.ErrCancel, "forbidden", "only the account's owner may query its archive")
		return true
	}
	user := ev.From.Local()
	var b stanza.Builder
	b.Reset(nil).Start("metadata").Attr("xmlns", NS)
	for _, end := range []struct {
		name    string
		reverse bool
	}{{"start", false}, {"end", true}} {
		items, _, err := m.store.Find(user, storage.Query{Limit: 1, Reverse: end.reverse})
		if err != nil {
			m.storeError(ev, err)
			return true
		}
		if len(items) == 0 {
			break
		}
		b.Start(end.name).Attr("id", items[0].ID).Attr("timestamp", stamp(items[0].When)).End()
	}
	m.api.Result(ev, b.Bytes())
	return true
}
