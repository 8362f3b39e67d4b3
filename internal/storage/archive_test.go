package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at is base plus i seconds.
func at(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }

// archived appends ten items a second apart, alternating between two
// correspondents, and returns their ids in order.
func archived(t *testing.T, a *Archive) []string {
	t.Helper()
	var ids []string
	for i := range 10 {
		with := "romeo@example.net"
		if i%2 == 1 {
			with = "nurse@example.org"
		}
		id, err := a.Append("example.org", "juliet", at(i), with, fmt.Appendf(nil, "<message>%d</message>", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Noise in the neighbouring keys.
	if _, err := a.Append("example.org", "julie", at(5), "romeo@example.net", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append("example.net", "juliet", at(5), "romeo@example.net", nil); err != nil {
		t.Fatal(err)
	}
	return ids
}

// payloads returns the numbers in the items' payloads.
func payloads(items []Item) []int {
	var out []int
	for _, it := range items {
		var n int
		if _, err := fmt.Sscanf(string(it.Payload), "<message>%d</message>", &n); err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}

func TestArchiveFind(t *testing.T) {
	db := openTemp(t)
	a := db.Archive("archive", false)
	ids := archived(t, a)
	if !slices.IsSorted(ids) {
		t.Errorf("ids %q do not sort in append order", ids)
	}

	cases := []struct {
		name  string
		q     Query
		want  []int
		total int
	}{
		{"all", Query{}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10},
		{"start", Query{Start: at(7)}, []int{7, 8, 9}, 3},
		{"end inclusive", Query{End: at(2)}, []int{0, 1, 2}, 3},
		{"start and end", Query{Start: at(3), End: at(5)}, []int{3, 4, 5}, 3},
		{"end before start", Query{Start: at(5), End: at(3)}, nil, 0},
		{"with", Query{With: "nurse@example.org"}, []int{1, 3, 5, 7, 9}, 5},
		{"with nobody", Query{With: "tybalt@example.net"}, nil, 0},
		{"with and time", Query{With: "romeo@example.net", Start: at(3), End: at(8)}, []int{4, 6, 8}, 3},
		{"after", Query{After: ids[6]}, []int{7, 8, 9}, 10},
		{"before", Query{Before: ids[2]}, []int{0, 1}, 10},
		{"after and before", Query{After: ids[2], Before: ids[6]}, []int{3, 4, 5}, 10},
		{"limit", Query{Limit: 4}, []int{0, 1, 2, 3}, 10},
		{"page after", Query{After: ids[3], Limit: 2}, []int{4, 5}, 10},
		{"last page", Query{Reverse: true, Limit: 3}, []int{9, 8, 7}, 10},
		{"page before", Query{Before: ids[7], Reverse: true, Limit: 3}, []int{6, 5, 4}, 10},
		{"reverse all", Query{Reverse: true}, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, 10},
		{"with limit reverse", Query{With: "nurse@example.org", Reverse: true, Limit: 2}, []int{9, 7}, 5},
		{"with after", Query{With: "romeo@example.net", After: ids[4]}, []int{6, 8}, 5},
		{"everything counted outside the window", Query{Start: at(2), End: at(7), After: ids[5], Limit: 1}, []int{6}, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, total, err := a.Find("example.org", "juliet", c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := payloads(items); !slices.Equal(got, c.want) {
				t.Errorf("items %v; want %v", got, c.want)
			}
			if total != c.total {
				t.Errorf("total %d; want %d", total, c.total)
			}
		})
	}

	items, _, err := a.Find("example.org", "juliet", Query{Start: at(4), End: at(4)})
	if err != nil || len(items) != 1 {
		t.Fatalf("Find = %v, %v", items, err)
	}
	it := items[0]
	if it.ID != ids[4] || !it.When.Equal(at(4)) || it.With != "romeo@example.net" || string(it.Payload) != "<message>4</message>" {
		t.Errorf("item = %+v", it)
	}
}

func TestArchiveSameMicrosecond(t *testing.T) {
	db := openTemp(t)
	a := db.Archive("archive", false)
	when := base.Add(123456789 * time.Nanosecond) // sub-microsecond part dropped
	var ids []string
	for i := range 50 {
		id, err := a.Append("h", "u", when, "", fmt.Appendf(nil, "<message>%d</message>", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	items, total, err := a.Find("h", "u", Query{})
	if err != nil || total != 50 {
		t.Fatalf("Find = %d items, total %d, %v", len(items), total, err)
	}
	for i, it := range items {
		if n := payloads(items[i : i+1])[0]; n != i {
			t.Fatalf("item %d holds payload %d; same-microsecond order lost", i, n)
		}
		if it.ID != ids[i] {
			t.Fatalf("item %d has id %s; Append returned %s", i, it.ID, ids[i])
		}
		if !it.When.Equal(when.Truncate(time.Microsecond)) {
			t.Fatalf("When = %v; want %v", it.When, when.Truncate(time.Microsecond))
		}
	}
	// Paging inside one microsecond works by id.
	items, _, err = a.Find("h", "u", Query{After: ids[47]})
	if err != nil || !slices.Equal(payloads(items), []int{48, 49}) {
		t.Errorf("Find after ids[47] = %v, %v", payloads(items), err)
	}
}

func TestArchiveBadID(t *testing.T) {
	db := openTemp(t)
	a := db.Archive("archive", false)
	id, err := a.Append("h", "u", base, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 20 || strings.ToLower(id) != id {
		t.Errorf("id %q: want 20 lowercase characters", id)
	}
	last := id[len(id)-1]
	bad := []string{
		"x",
		id[:19],
		id + "0",
		strings.ToUpper(id),
		"wwwwwwwwwwwwwwwwwwww",   // outside the alphabet
		id[:19] + string(last+1), // only the unused low bits differ
		"0000000000000000000=",
	}
	for _, b := range bad {
		if b == id {
			continue
		}
		if _, _, err := a.Find("h", "u", Query{After: b}); !errors.Is(err, ErrBadID) {
			t.Errorf("Find after %q = %v; want ErrBadID", b, err)
		}
		if _, _, err := a.Find("h", "u", Query{Before: b}); !errors.Is(err, ErrBadID) {
			t.Errorf("Find before %q = %v; want ErrBadID", b, err)
		}
		if _, err := a.Delete("h", "u", Query{After: b}); !errors.Is(err, ErrBadID) {
			t.Errorf("Delete after %q = %v; want ErrBadID", b, err)
		}
	}
}

func TestArchiveAppendBefore1970(t *testing.T) {
	db := openTemp(t)
	if _, err := db.Archive("a", false).Append("h", "u", time.Unix(-1, 0), "", nil); err == nil {
		t.Error("Append before 1970 succeeded")
	}
}

func TestArchiveDelete(t *testing.T) {
	cases := []struct {
		name string
		q    Query
		n    int
		left []int
	}{
		{"older than", Query{End: at(3)}, 4, []int{4, 5, 6, 7, 8, 9}},
		{"range", Query{Start: at(2), End: at(4)}, 3, []int{0, 1, 5, 6, 7, 8, 9}},
		{"all", Query{}, 10, nil},
		{"nothing", Query{Start: at(20)}, 0, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"with", Query{With: "nurse@example.org"}, 5, []int{0, 2, 4, 6, 8}},
		{"limit oldest", Query{Limit: 3}, 3, []int{3, 4, 5, 6, 7, 8, 9}},
		{"limit newest", Query{Limit: 3, Reverse: true}, 3, []int{0, 1, 2, 3, 4, 5, 6}},
		{"reverse whole", Query{Start: at(8), Reverse: true}, 2, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"with limit", Query{With: "romeo@example.net", Limit: 2}, 2, []int{1, 3, 4, 5, 6, 7, 8, 9}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openTemp(t)
			a := db.Archive("archive", true)
			archived(t, a)
			n, err := a.Delete("example.org", "juliet", c.q)
			if err != nil {
				t.Fatal(err)
			}
			if n != c.n {
				t.Errorf("deleted %d; want %d", n, c.n)
			}
			items, total, err := a.Find("example.org", "juliet", Query{})
			if err != nil {
				t.Fatal(err)
			}
			if got := payloads(items); !slices.Equal(got, c.left) || total != len(c.left) {
				t.Errorf("left %v (total %d); want %v", got, total, c.left)
			}
			// The neighbours are untouched.
			for _, who := range [][2]string{{"example.org", "julie"}, {"example.net", "juliet"}} {
				if _, total, _ := a.Find(who[0], who[1], Query{}); total != 1 {
					t.Errorf("%s@%s has %d items; want 1", who[1], who[0], total)
				}
			}
		})
	}

	t.Run("by id", func(t *testing.T) {
		db := openTemp(t)
		a := db.Archive("archive", false)
		ids := archived(t, a)
		n, err := a.Delete("example.org", "juliet", Query{After: ids[1], Before: ids[5]})
		if err != nil || n != 3 {
			t.Fatalf("Delete = %d, %v; want 3", n, err)
		}
		items, _, _ := a.Find("example.org", "juliet", Query{})
		if got := payloads(items); !slices.Equal(got, []int{0, 1, 5, 6, 7, 8, 9}) {
			t.Errorf("left %v", got)
		}
	})
}

func TestIDRoundTrip(t *testing.T) {
	for _, us := range []int64{0, 1, 1 << 40, base.UnixMicro(), 1<<63 - 1} {
		for _, seq := range []uint32{0, 1, 1<<32 - 1} {
			suffix := appendSuffix(nil, us, seq)
			id := encodeID(suffix)
			got, err := decodeID(id)
			if err != nil || string(got[:]) != string(suffix) {
				t.Errorf("decodeID(encodeID(%d, %d)) = %x, %v", us, seq, got, err)
			}
		}
	}
}

// TestArchiveCountedMatchesScanned checks the paths of Find against each
// other: without Start, End or With, total comes from the stored count and
// only the page is read; with an always-true Start, everything is scanned.
func TestArchiveCountedMatchesScanned(t *testing.T) {
	db := openTemp(t)
	a := db.Archive("archive", false)
	ids := archived(t, a)
	var queries []Query
	for _, after := range []string{"", ids[0], ids[4], ids[9]} {
		for _, before := range []string{"", ids[0], ids[5], ids[9]} {
			for _, limit := range []int{0, 1, 3, 20} {
				for _, rev := range []bool{false, true} {
					queries = append(queries, Query{After: after, Before: before, Limit: limit, Reverse: rev})
				}
			}
		}
	}
	for _, q := range queries {
		counted, ctotal, err := a.Find("example.org", "juliet", q)
		if err != nil {
			t.Fatal(err)
		}
		scan := q
		scan.Start = time.Unix(0, 0)
		scanned, stotal, err := a.Find("example.org", "juliet", scan)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(payloads(counted), payloads(scanned)) || ctotal != stotal || ctotal != 10 {
			t.Errorf("%+v: counted %v (total %d), scanned %v (total %d)",
				q, payloads(counted), ctotal, payloads(scanned), stotal)
		}
	}
}

// TestArchiveCountSurvivesCompaction makes pebble merge the count's
// operands in a flush and a compaction, and after a restart.
func TestArchiveCountSurvivesCompaction(t *testing.T) {
	dir := t.TempDir()
	db := openAt(t, dir)
	a := db.Archive("archive", true)
	archived(t, a)
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Delete("example.org", "juliet", Query{End: at(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append("example.org", "juliet", at(20), "", []byte("<message>20</message>")); err != nil {
		t.Fatal(err)
	}
	if err := db.pdb.Compact(context.Background(), []byte{0}, []byte{0xff}, false); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		items, total, err := a.Find("example.org", "juliet", Query{Reverse: true, Limit: 2})
		if err != nil || total != 9 || !slices.Equal(payloads(items), []int{20, 9}) {
			t.Errorf("%s: Find = %v, total %d, %v; want [20 9], 9", when, payloads(items), total, err)
		}
	}
	check("after compaction")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir)
	a = db.Archive("archive", true)
	check("after reopen")
}

// TestArchiveUsersAfterEmptying checks that a user whose items were all
// deleted, leaving only a zero count, is no longer listed.
func TestArchiveUsersAfterEmptying(t *testing.T) {
	db := openTemp(t)
	a := db.Archive("archive", false)
	archived(t, a)
	if _, err := a.Append("example.org", "juliet2", at(1), "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append("example.org", "ann", at(1), "", nil); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Delete("example.org", "juliet", Query{Start: at(0), End: at(100)}); err != nil || n != 10 {
		t.Fatalf("Delete = %d, %v; want 10", n, err)
	}
	if n, err := a.Delete("example.org", "ann", Query{}); err != nil || n != 1 {
		t.Fatalf("Delete = %d, %v; want 1", n, err)
	}
	users, err := a.Users("example.org")
	if err != nil || !slices.Equal(users, []string{"julie", "juliet2"}) {
		t.Errorf("Users = %q, %v; want [julie juliet2]", users, err)
	}
	if items, total, err := a.Find("example.org", "juliet", Query{}); err != nil || total != 0 || len(items) != 0 {
		t.Errorf("Find on the emptied archive = %d items, total %d, %v", len(items), total, err)
	}
}

// TestArchiveClockSteppedBack appends with times that jump backwards, as on
// a router whose clock NTP corrects after boot: ids must still grow, the
// items keep their order, and each keeps the time it was given.
func TestArchiveClockSteppedBack(t *testing.T) {
	cases := []struct {
		name  string
		times []time.Time
	}{
		{"steady", []time.Time{at(0), at(1), at(2)}},
		{"one step back", []time.Time{at(10), at(11), at(3), at(4), at(12)}},
		{"back to 1970", []time.Time{at(10), time.UnixMicro(1), time.UnixMicro(2), at(11)}},
		{"same time", []time.Time{at(5), at(5), at(5)}},
		{"back and the same", []time.Time{at(9), at(1), at(1), at(9), at(1)}},
		{"always back", []time.Time{at(9), at(8), at(7), at(6), at(5)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openAt(t, dir)
			a := db.Archive("archive", false)
			var ids []string
			for i, when := range c.times {
				// Half-way, restart: the last key then comes from disk.
				if i == len(c.times)/2 {
					if err := db.Close(); err != nil {
						t.Fatal(err)
					}
					db = openAt(t, dir)
					a = db.Archive("archive", false)
				}
				id, err := a.Append("h", "u", when, "", fmt.Appendf(nil, "<message>%d</message>", i))
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) > 0 && id <= ids[len(ids)-1] {
					t.Fatalf("item %d at %v got id %s, not after %s", i, when, id, ids[len(ids)-1])
				}
				ids = append(ids, id)
			}
			items, total, err := a.Find("h", "u", Query{})
			if err != nil || total != len(c.times) {
				t.Fatalf("Find = %d items, total %d, %v", len(items), total, err)
			}
			for i, it := range items {
				if payloads(items[i : i+1])[0] != i || it.ID != ids[i] || !it.When.Equal(c.times[i]) {
					t.Errorf("item %d = %s %v %s; want %s %v", i, it.ID, it.When, it.Payload, ids[i], c.times[i])
				}
				got, found, err := a.Get("h", "u", it.ID)
				if err != nil || !found || !got.When.Equal(c.times[i]) {
					t.Errorf("Get(%s) = %v, %v, %v", it.ID, got.When, found, err)
				}
			}
			// Paging by id follows append order.
			for i := range len(ids) - 1 {
				page, _, err := a.Find("h", "u", Query{After: ids[i], Limit: 1})
				if err != nil || len(page) != 1 || page[0].ID != ids[i+1] {
					t.Errorf("page after %d = %v, %v", i, page, err)
				}
			}
		})
	}
}

// TestArchiveConcurrentSameUser appends for one user from many goroutines,
// some in batches held open across the others, with a clock that goes
// backwards: no two items may share a key, and every id must be found.
func TestArchiveConcurrentSameUser(t *testing.T) {
	db := openTemp(t)
	a := db.Archive("archive", false)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	const workers, each = 6, 30
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				when := at(1000 - i) // backwards
				var id string
				var err error
				if w%2 == 0 {
					b := db.NewBatch()
					id, err = b.Append(a, "h", "u", when, "", nil)
					if err == nil {
						// Another Append for the user while the key is
						// held, before the batch reaches the disk.
						var id2 string
						id2, err = a.Append("h", "u", when, "", nil)
						if err == nil && id2 <= id {
							t.Errorf("Append during a batch got %s, not after the batch's %s", id2, id)
						}
						mu.Lock()
						ids = append(ids, id2)
						mu.Unlock()
					}
					if err == nil {
						err = b.Commit()
					}
					b.Close()
				} else {
					id, err = a.Append("h", "u", when, "", nil)
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	items, total, err := a.Find("h", "u", Query{})
	if err != nil || total != len(ids) || len(items) != len(ids) {
		t.Fatalf("Find = %d items, total %d, %v; want %d", len(items), total, err, len(ids))
	}
	slices.Sort(ids)
	for i, it := range items {
		if it.ID != ids[i] {
			t.Fatalf("item %d has id %s; want %s", i, it.ID, ids[i])
		}
	}
}

func TestArchiveGet(t *testing.T) {
	db := openTemp(t)
	a := db.Archive("archive", false)
	ids := archived(t, a)
	got, found, err := a.Get("example.org", "juliet", ids[3])
	want := Item{ID: ids[3], When: at(3), With: "nurse@example.org", Payload: []byte("<message>3</message>")}
	if err != nil || !found || got.ID != want.ID || !got.When.Equal(want.When) || got.With != want.With || string(got.Payload) != string(want.Payload) {
		t.Errorf("Get = %+v, %v, %v; want %+v", got, found, err, want)
	}
	if _, found, err := a.Get("example.org", "julie", ids[3]); err != nil || found {
		t.Errorf("Get of another user's id = %v, %v; want not found", found, err)
	}
	if _, found, err := db.Archive("other", false).Get("example.org", "juliet", ids[3]); err != nil || found {
		t.Errorf("Get in another store = %v, %v; want not found", found, err)
	}
	if _, err := a.Delete("example.org", "juliet", Query{After: ids[2], Before: ids[4]}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := a.Get("example.org", "juliet", ids[3]); err != nil || found {
		t.Errorf("Get of a deleted item = %v, %v; want not found", found, err)
	}
	if _, _, err := a.Get("example.org", "juliet", "not-an-id"); !errors.Is(err, ErrBadID) {
		t.Errorf("Get of a bad id = %v; want ErrBadID", err)
	}
	if _, _, err := a.Get("example.org", "bad\x00user", ids[0]); !errors.Is(err, ErrBadName) {
		t.Errorf("Get with a bad user = %v; want ErrBadName", err)
	}
}

func TestArchiveWithBareOrFull(t *testing.T) {
	db := openTemp(t)
	a := db.Archive("archive", false)
	withs := []string{
		"juliet@example.com",             // 0
		"juliet@example.com/phone",       // 1
		"juliet@example.com/balcony/web", // 2
		"juliet@example.comm",            // 3
		"juliet@example.com.evil/x",      // 4
		"juliet@example.co",              // 5
		"example.com",                    // 6
		"example.com/irc",                // 7
		"",                               // 8
	}
	for i, w := range withs {
		if _, err := a.Append("h", "u", at(i), w, fmt.Appendf(nil, "<message>%d</message>", i)); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		with string
		want []int
	}{
		{"juliet@example.com", []int{0, 1, 2}},
		{"juliet@example.com/phone", []int{1}},
		{"juliet@example.com/balcony", nil},
		{"juliet@example.com/balcony/web", []int{2}},
		{"juliet@example.co", []int{5}},
		{"example.com", []int{6, 7}},
		{"example.com/irc", []int{7}},
		{"romeo@example.net", nil},
		{"", []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
	}
	for _, c := range cases {
		t.Run(c.with, func(t *testing.T) {
			items, total, err := a.Find("h", "u", Query{With: c.with})
			if err != nil {
				t.Fatal(err)
			}
			if got := payloads(items); !slices.Equal(got, c.want) || total != len(c.want) {
				t.Errorf("Find = %v, total %d; want %v", got, total, c.want)
			}
		})
	}
	// Delete selects the same way.
	n, err := a.Delete("h", "u", Query{With: "juliet@example.com"})
	if err != nil || n != 3 {
		t.Fatalf("Delete = %d, %v; want 3", n, err)
	}
	items, _, _ := a.Find("h", "u", Query{})
	if got := payloads(items); !slices.Equal(got, []int{3, 4, 5, 6, 7, 8}) {
		t.Errorf("left %v", got)
	}
}

func TestWithMatchDoesNotAllocate(t *testing.T) {
	sp := span{with: "juliet@example.com", bare: true}
	with := []byte("juliet@example.com/phone")
	if n := testing.AllocsPerRun(100, func() {
		if !sp.matchWith(with) {
			t.Fatal("no match")
		}
	}); n != 0 {
		t.Errorf("matchWith allocates %v times", n)
	}
}
