package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tinylib/msgp/msgp"
)

// Archive holds time-ordered items per user, such as message archives
// (XEP-0313) or offline messages.
type Archive struct{ s *store }

// Item is one archived entry.
type Item struct {
	// ID is what clients page by (XEP-0313 and XEP-0059); it encodes the
	// item's key, so ids sort in archive order.
	ID string
	// When is the time given to Append, to the microsecond. It can lie
	// before the key's time, by which Query.Start and End select, when
	// the clock was behind the user's newest item (see Append).
	When time.Time
	// With is the JID of the other party, bare or full, or whatever the
	// module filters by.
	With string
	// Payload is the module's bytes, usually a stanza; it belongs to the
	// caller.
	Payload []byte
}

// Query selects archive items. The zero Query selects everything.
type Query struct {
	// Start and End bound the key's time, both inclusive; a zero time
	// leaves that side open. The key's time is When unless the clock was
	// behind the user's newest item (see Append).
	Start, End time.Time
	// With selects by Item.With; "" matches any. A JID with a resource
	// matches only itself; one without also matches every full JID of it,
	// so "juliet@example.com" matches "juliet@example.com/phone".
	With string
	// After and Before are item ids, both exclusive; "" leaves that side
	// open.
	After, Before string
	// Limit caps the items returned (or deleted); 0 means no cap.
	Limit int
	// Reverse walks from the newest item, so Limit keeps the newest.
	Reverse bool
}

// archiveSeq orders items that share a microsecond when the clock moves
// forward. It is per process, not per DB or store: the key only needs it to
// differ between two Appends of one user in the same microsecond. It starts
// at a random value so that ids do not reveal how many items the process has
// archived.
var archiveSeq atomic.Uint32

func init() { archiveSeq.Store(rand.Uint32()) }

// Append adds an item and returns its id. A zero when means now.
//
// The id sorts after every id the user already has in this store, even when
// the clock has stepped back (a router without a real-time clock, before or
// after NTP sets it): the key then takes the time of the user's newest item
// and the next sequence number, and the item keeps when as its When. Start
// and End compare the key's time, so such an item is found with its
// neighbours in the archive rather than at its earlier When.
func (a *Archive) Append(host, user string, when time.Time, with string, payload []byte) (id string, err error) {
	bp := getBuf()
	b, e, err := a.prepare(*bp, host, user, when, with, payload)
	if err != nil {
		putBuf(bp, b)
		return "", err
	}
	err = a.insert(e.key(b), e.val(b), e.countKey(b))
	e.claim.release()
	id = e.id(b)
	putBuf(bp, b)
	if err != nil {
		return "", a.s.fail("appending for", user+"@"+host, err)
	}
	return id, nil
}

// entry locates a prepared item in its buffer: the key, the value, then the
// count key, one after the other.
type entry struct {
	pl, n, v int
	claim    claim
}

func (e *entry) key(b []byte) []byte      { return b[:e.n] }
func (e *entry) val(b []byte) []byte      { return b[e.n:e.v] }
func (e *entry) countKey(b []byte) []byte { return b[e.v:] }
func (e *entry) id(b []byte) string       { return encodeID(b[e.pl:e.n]) }

// prepare chooses a new item's key and encodes the item into b. The key
// stays claimed until e.claim.release, which the caller calls once the item
// is committed or abandoned.
func (a *Archive) prepare(b []byte, host, user string, when time.Time, with string, payload []byte) (_ []byte, e entry, err error) {
	s := a.s
	if err := s.check(host, user); err != nil {
		return b, e, err
	}
	if when.IsZero() {
		when = time.Now()
	}
	us := when.UnixMicro()
	if us < 0 {
		return b, e, fmt.Errorf("storage: archive time %s is before 1970; is the clock set?", when.UTC().Format(time.RFC3339))
	}
	b = appendPrefix(b, s.kind, s.name, host, user)
	e.pl = len(b)
	suffix, skew, c, err := s.claimKey(b, us)
	if err != nil {
		return b, e, s.fail("appending for", user+"@"+host, err)
	}
	b = append(b[:e.pl], suffix[:]...)
	e.n = len(b)
	rec := archiveItem{With: with, Payload: payload, Skew: skew}
	b, err = rec.MarshalMsg(b)
	if err != nil {
		c.release()
		return b, e, fmt.Errorf("storage: encoding an archive item for store %s: %w", s.name, err)
	}
	e.v = len(b)
	b = append(append(b, b[:e.pl]...), countMark)
	e.claim = c
	return b, e, nil
}

// claimKey chooses the key suffix of a new item of the user whose prefix is
// b (b's spare capacity is scribbled on): the time us and a fresh sequence
// number, unless that would not sort after the user's newest key, on disk
// or claimed and not yet committed; then the newest key's time and its
// sequence number plus one. skew is how far the chosen time lies after us.
func (s *store) claimKey(b []byte, us int64) (suffix [suffixLen]byte, skew int64, c claim, err error) {
	h, i := stripeOf(b)
	st := &archiveStripes[i]
	st.Lock()
	defer st.Unlock()
	newest := s.db.newest[i]
	cached := newest[string(b)]
	var last [suffixLen]byte
	ok := cached != nil
	if ok {
		last = *cached
	} else {
		last, ok, err = s.lastKey(b)
		if err != nil {
			return suffix, 0, c, err
		}
	}
	if held, ok2 := st.highest(h); ok2 && (!ok || bytes.Compare(held[:], last[:]) > 0) {
		last, ok = held, true
	}
	t, seq := us, archiveSeq.Add(1)
	if ok {
		if lt := int64(binary.BigEndian.Uint64(last[:timeLen])); t <= lt {
			t, seq = lt, binary.BigEndian.Uint32(last[timeLen:])+1
			if seq == 0 {
				t++ // 2^32 items in one microsecond: take the next one
			}
		}
	}
	appendSuffix(suffix[:0], t, seq)
	st.hold(h, suffix)
	// Remembered before the commit: should it fail, the next key is
	// only higher than it had to be, which keeps the order.
	if cached != nil {
		*cached = suffix
	} else {
		if newest == nil || len(newest) >= maxNewestPerStripe {
			newest = make(map[string]*[suffixLen]byte)
			s.db.newest[i] = newest
		}
		v := suffix
		newest[string(b)] = &v
	}
	return suffix, t - us, claim{stripe: i, h: h}, nil
}

// maxNewestPerStripe bounds the users whose newest archive key a DB
// remembers in one lock stripe; past it the stripe starts afresh.
const maxNewestPerStripe = 32

// lastKey returns the key suffix of the newest item under the prefix p, with
// one seek from the end of the user's items (the count sorts after them).
func (s *store) lastKey(p []byte) (last [suffixLen]byte, ok bool, err error) {
	upper := append(p, countMark)
	it, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upper})
	if err != nil {
		return last, false, err
	}
	if it.Last() {
		key := it.Key()
		if len(key) != len(p)+suffixLen {
			err = badKey(s, key)
		} else {
			copy(last[:], key[len(p):])
			ok = true
		}
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return last, ok && err == nil, err
}

// Get returns the item with the given id. found is false when the user has
// no such item; an id this server cannot have handed out is ErrBadID.
func (a *Archive) Get(host, user, id string) (item Item, found bool, err error) {
	s := a.s
	if err := s.check(host, user); err != nil {
		return Item{}, false, err
	}
	suffix, err := decodeID(id)
	if err != nil {
		return Item{}, false, err
	}
	bp := getBuf()
	key := append(appendPrefix(*bp, s.kind, s.name, host, user), suffix[:]...)
	val, closer, err := s.db.pdb.Get(key)
	putBuf(bp, key)
	if errors.Is(err, pebble.ErrNotFound) {
		return Item{}, false, nil
	}
	if err != nil {
		return Item{}, false, s.fail("reading the archive of", user+"@"+host, err)
	}
	var rec archiveItem
	_, err = rec.UnmarshalMsg(val)
	_ = closer.Close()
	if err != nil {
		return Item{}, false, corruptItem(s, suffix[:], err)
	}
	return Item{ID: id, When: itemTime(suffix[:], rec.Skew), With: rec.With, Payload: rec.Payload}, true, nil
}

// countOne is the merge operand that adds one item to a count.
var countOne = msgp.AppendInt64(nil, 1)

// insert writes an item and bumps its user's item count in one batch.
func (a *Archive) insert(key, val, countKey []byte) error {
	b := a.s.db.pdb.NewBatch()
	defer b.Close()
	if err := b.Set(key, val, nil); err != nil {
		return err
	}
	if err := b.Merge(countKey, countOne, nil); err != nil {
		return err
	}
	return a.s.commit(b)
}

// span is a query turned into key bounds.
type span struct {
	prefix   []byte
	countKey []byte
	// lo and hi bound Start and End; [lo, hi) as pebble wants them.
	lo, hi []byte
	// after and before are key suffixes of the ids, nil when open.
	after, before []byte
	// with and bare are Query.With and whether it lacks a resource.
	with string
	bare bool
}

func (s *store) span(host, user string, q *Query) (span, error) {
	var sp span
	sp.with = q.With
	sp.bare = strings.IndexByte(q.With, '/') < 0
	sp.prefix = appendPrefix(nil, s.kind, s.name, host, user)
	sp.countKey = append(sp.prefix[:len(sp.prefix):len(sp.prefix)], countMark)
	sp.lo = sp.prefix
	if !q.Start.IsZero() {
		sp.lo = appendSuffix(sp.prefix[:len(sp.prefix):len(sp.prefix)], micros(q.Start), 0)
	}
	sp.hi = prefixEnd(sp.prefix)
	if !q.End.IsZero() {
		// End is inclusive at microsecond precision: stop before the next
		// microsecond's first possible key.
		sp.hi = appendSuffix(sp.prefix[:len(sp.prefix):len(sp.prefix)], micros(q.End)+1, 0)
	}
	if q.After != "" {
		id, err := decodeID(q.After)
		if err != nil {
			return sp, err
		}
		sp.after = id[:]
	}
	if q.Before != "" {
		id, err := decodeID(q.Before)
		if err != nil {
			return sp, err
		}
		sp.before = id[:]
	}
	return sp, nil
}

// matchWith reports whether an item's With is selected by the query's. It
// compares the stored bytes in place: a bare JID matches itself, or itself
// followed by '/' and a resource.
func (sp *span) matchWith(with []byte) bool {
	q := sp.with
	if len(with) == len(q) {
		return string(with) == q
	}
	return sp.bare && len(with) > len(q) && with[len(q)] == '/' && string(with[:len(q)]) == q
}

// inWindow reports whether a key suffix lies strictly between After and
// Before.
func (sp *span) inWindow(suffix []byte) bool {
	return (sp.after == nil || bytes.Compare(suffix, sp.after) > 0) &&
		(sp.before == nil || bytes.Compare(suffix, sp.before) < 0)
}

// Find returns the items q selects, oldest first or, with q.Reverse, newest
// first. total counts every item matching Start, End and With, ignoring
// After, Before and Limit, which is what a result set's <count/> reports
// (XEP-0059).
//
// Without Start, End or With, total comes from the user's item count and
// Find reads only the page it returns, whatever the archive's size. With any
// of them, counting reads every key in the time range (and every value, for
// With), so such a query costs in proportion to the range.
func (a *Archive) Find(host, user string, q Query) (items []Item, total int, err error) {
	s := a.s
	if err := s.check(host, user); err != nil {
		return nil, 0, err
	}
	sp, err := s.span(host, user, &q)
	if err != nil {
		return nil, 0, err
	}
	if bytes.Compare(sp.lo, sp.hi) >= 0 {
		return nil, 0, nil
	}
	it, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: sp.lo, UpperBound: sp.hi})
	if err != nil {
		return nil, 0, s.fail("searching the archive of", user+"@"+host, err)
	}
	counted := q.Start.IsZero() && q.End.IsZero() && q.With == ""
	step := it.Next
	if q.Reverse {
		step = it.Prev
	}
	var ok bool
	switch {
	case counted:
		// The same iterator reads the count and the page, so both come
		// from one consistent view.
		if total, err = readCount(it, sp.countKey); err != nil {
			_ = it.Close()
			return nil, 0, s.fail("searching the archive of", user+"@"+host, err)
		}
		ok = sp.seekWindow(it, q.Reverse)
	case q.Reverse:
		ok = it.Last()
	default:
		ok = it.First()
	}
	for ; ok; ok = step() {
		key := it.Key()
		if len(key) == len(sp.countKey) {
			continue // the item count
		}
		if len(key) != len(sp.prefix)+suffixLen {
			_ = it.Close()
			return nil, 0, badKey(s, key)
		}
		suffix := key[len(sp.prefix):]
		inWindow := sp.inWindow(suffix)
		full := q.Limit > 0 && len(items) >= q.Limit
		if counted && (!inWindow || full) {
			break // walked off the page; nothing left to count
		}
		wanted := inWindow && !full
		if q.With == "" && !wanted {
			total++
			continue
		}
		val, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, 0, s.fail("searching the archive of", user+"@"+host, err)
		}
		if q.With != "" {
			with, err := itemWith(val)
			if err != nil {
				_ = it.Close()
				return nil, 0, corruptItem(s, suffix, err)
			}
			if !sp.matchWith(with) {
				continue
			}
		}
		if !counted {
			total++
		}
		if !wanted {
			continue
		}
		var rec archiveItem
		if _, err := rec.UnmarshalMsg(val); err != nil {
			_ = it.Close()
			return nil, 0, corruptItem(s, suffix, err)
		}
		items = append(items, Item{ID: encodeID(suffix), When: itemTime(suffix, rec.Skew), With: rec.With, Payload: rec.Payload})
	}
	if err := it.Close(); err != nil {
		return nil, 0, s.fail("searching the archive of", user+"@"+host, err)
	}
	// A count can only drift if a Delete races an Append into the range it
	// is deleting; never report fewer than were found.
	return items, max(total, len(items)), nil
}

// seekWindow positions it on the first item inside (After, Before) in the
// direction of travel.
func (sp *span) seekWindow(it *pebble.Iterator, reverse bool) bool {
	p := sp.prefix[:len(sp.prefix):len(sp.prefix)]
	switch {
	case reverse && sp.before != nil:
		return it.SeekLT(append(p, sp.before...))
	case reverse:
		return it.Last()
	case sp.after != nil:
		return it.SeekGE(append(append(p, sp.after...), 0))
	default:
		return it.SeekGE(p)
	}
}

// readCount reads a user's item count; it is 0 when there is none.
func readCount(it *pebble.Iterator, countKey []byte) (int, error) {
	if !it.SeekGE(countKey) || !bytes.Equal(it.Key(), countKey) {
		return 0, it.Error()
	}
	val, err := it.ValueAndErr()
	if err != nil {
		return 0, err
	}
	n, _, err := msgp.ReadInt64Bytes(val)
	if err != nil {
		return 0, fmt.Errorf("the item count does not decode: %w", err)
	}
	return int(max(n, 0)), nil
}

// Delete removes the items q selects, honouring Limit, After and Before as
// Find does, and returns how many it removed. A query on time alone, the
// usual expiry ("older than"), becomes a single range tombstone however many
// items it covers; one with With or Limit deletes item by item.
func (a *Archive) Delete(host, user string, q Query) (n int, err error) {
	s := a.s
	if err := s.check(host, user); err != nil {
		return 0, err
	}
	sp, err := s.span(host, user, &q)
	if err != nil {
		return 0, err
	}
	// Fold the id window into the bounds: nothing outside it is deleted.
	lo, hi := sp.lo, sp.hi
	if sp.after != nil {
		k := append(append(sp.prefix[:len(sp.prefix):len(sp.prefix)], sp.after...), 0)
		if bytes.Compare(k, lo) > 0 {
			lo = k
		}
	}
	if sp.before != nil {
		k := append(sp.prefix[:len(sp.prefix):len(sp.prefix)], sp.before...)
		if bytes.Compare(k, hi) < 0 {
			hi = k
		}
	}
	if bytes.Compare(lo, hi) >= 0 {
		return 0, nil
	}
	it, err := s.db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, s.fail("deleting from the archive of", user+"@"+host, err)
	}
	b := s.db.pdb.NewBatch()
	defer b.Close()
	whole := q.With == "" && q.Limit <= 0
	step := it.Next
	ok := false
	if q.Reverse {
		step = it.Prev
		ok = it.Last()
	} else {
		ok = it.First()
	}
	var first, last []byte
	for ; ok; ok = step() {
		if q.Limit > 0 && n >= q.Limit {
			break
		}
		key := it.Key()
		if len(key) == len(sp.countKey) {
			continue // the item count
		}
		if len(key) != len(sp.prefix)+suffixLen {
			_ = it.Close()
			return 0, badKey(s, key)
		}
		if q.With != "" {
			val, err := it.ValueAndErr()
			if err != nil {
				_ = it.Close()
				return 0, s.fail("deleting from the archive of", user+"@"+host, err)
			}
			with, err := itemWith(val)
			if err != nil {
				_ = it.Close()
				return 0, corruptItem(s, key[len(sp.prefix):], err)
			}
			if !sp.matchWith(with) {
				continue
			}
		}
		n++
		if whole {
			// Only the ends matter: the tombstone spans exactly the keys
			// counted, so an item appended meanwhile outside them stays.
			if first == nil {
				first = append([]byte(nil), key...)
			}
			last = append(last[:0], key...)
			continue
		}
		if err := b.Delete(key, nil); err != nil {
			_ = it.Close()
			return 0, s.fail("deleting from the archive of", user+"@"+host, err)
		}
	}
	if err := it.Close(); err != nil {
		return 0, s.fail("deleting from the archive of", user+"@"+host, err)
	}
	if n == 0 {
		return 0, nil
	}
	switch {
	case whole && q.Start.IsZero() && q.End.IsZero() && q.After == "" && q.Before == "":
		// Everything goes, the count with it, so an emptied archive
		// leaves no key behind.
		err = b.DeleteRange(sp.prefix, prefixEnd(sp.prefix), nil)
	case whole:
		if q.Reverse {
			first, last = last, first
		}
		err = b.DeleteRange(first, append(last, 0), nil)
		if err == nil {
			err = b.Merge(sp.countKey, msgp.AppendInt64(nil, int64(-n)), nil)
		}
	default:
		err = b.Merge(sp.countKey, msgp.AppendInt64(nil, int64(-n)), nil)
	}
	if err != nil {
		return 0, s.fail("deleting from the archive of", user+"@"+host, err)
	}
	if err := b.Commit(s.wo); err != nil {
		return 0, s.fail("deleting from the archive of", user+"@"+host, err)
	}
	return n, nil
}

// Users lists the users on host that have at least one item, sorted.
func (a *Archive) Users(host string) ([]string, error) {
	return a.s.users(host)
}

// itemWith reads only the With field of an encoded archiveItem, without
// copying, so a With filter does not allocate for the items it skips.
func itemWith(b []byte) ([]byte, error) {
	return stringField(b, "w") // archiveItem.With's msg tag
}

// stringField reads one string field of an encoded record in place. It
// walks the map by field name so it keeps working if fields are added.
func stringField(b []byte, name string) ([]byte, error) {
	n, b, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, err
	}
	for range n {
		var field []byte
		field, b, err = msgp.ReadMapKeyZC(b)
		if err != nil {
			return nil, err
		}
		if string(field) == name {
			v, _, err := msgp.ReadStringZC(b)
			return v, err
		}
		if b, err = msgp.Skip(b); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no %q field", name)
}

func badKey(s *store, key []byte) error {
	return fmt.Errorf("storage: archive key %q in store %s has a bad length; the data directory is damaged", key, s.name)
}

// counterMerger adds up item counts. Pebble records its name in the data
// directory and refuses to open one written with another, so the name must
// never change; a new merge scheme needs a new layout version.
var counterMerger = &pebble.Merger{
	Name: "xmppd.storage.count.v1",
	Merge: func(_, value []byte) (pebble.ValueMerger, error) {
		m := &countMerge{}
		return m, m.add(value)
	},
}

// countMerge sums msgp integers; addition does not care about order, so
// newer and older operands are handled alike.
type countMerge struct{ n int64 }

func (m *countMerge) add(v []byte) error {
	d, _, err := msgp.ReadInt64Bytes(v)
	m.n += d
	return err
}

func (m *countMerge) MergeNewer(v []byte) error { return m.add(v) }
func (m *countMerge) MergeOlder(v []byte) error { return m.add(v) }

func (m *countMerge) Finish(bool) ([]byte, io.Closer, error) {
	return msgp.AppendInt64(nil, m.n), nil, nil
}

func corruptItem(s *store, suffix []byte, err error) error {
	return fmt.Errorf("storage: archive item %s in store %s does not decode: %w", encodeID(suffix), s.name, err)
}
