package storage

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// itemIDs lists a node's item ids in the order Items returns them.
func itemIDs(t *testing.T, n *Nodes, host, owner, node string, q NodeQuery) []string {
	t.Helper()
	items, _, err := n.Items(host, owner, node, q)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

// publishAll publishes items with the given ids in order, without a limit.
func publishAll(t *testing.T, n *Nodes, host, owner, node string, ids ...string) {
	t.Helper()
	for i, id := range ids {
		item := NodeItem{ID: id, Publisher: owner + "@" + host, When: at(i), Payload: []byte("<p>" + id + "</p>")}
		if _, err := n.Publish(host, owner, node, item, 0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNodesPublishAndRead(t *testing.T) {
	db := openTemp(t)
	pep := db.Nodes("pep", false)
	const node = "urn:xmpp:tune"
	if _, found, err := pep.Last("example.org", "juliet", node); err != nil || found {
		t.Fatalf("Last of a missing node = %v, %v", found, err)
	}
	if n, err := pep.Count("example.org", "juliet", node); err != nil || n != 0 {
		t.Fatalf("Count of a missing node = %d, %v", n, err)
	}
	// Ids in neither alphabetical nor any other order but publication.
	publishAll(t, pep, "example.org", "juliet", node, "m", "z", "a", "\x00", "\xff")
	// Neighbours: a node and an owner whose names start the same.
	publishAll(t, pep, "example.org", "juliet", node+"2", "n")
	publishAll(t, pep, "example.org", "julie", node, "n")

	if got := itemIDs(t, pep, "example.org", "juliet", node, NodeQuery{}); !slices.Equal(got, []string{"m", "z", "a", "\x00", "\xff"}) {
		t.Errorf("oldest first: %q", got)
	}
	if got := itemIDs(t, pep, "example.org", "juliet", node, NodeQuery{Reverse: true}); !slices.Equal(got, []string{"\xff", "\x00", "a", "z", "m"}) {
		t.Errorf("newest first: %q", got)
	}
	last, found, err := pep.Last("example.org", "juliet", node)
	want := NodeItem{ID: "\xff", Publisher: "juliet@example.org", When: at(4), Payload: []byte("<p>\xff</p>")}
	if err != nil || !found || !equalItem(last, want) {
		t.Errorf("Last = %+v, %v, %v; want %+v", last, found, err, want)
	}
	got, found, err := pep.Get("example.org", "juliet", node, "z")
	want = NodeItem{ID: "z", Publisher: "juliet@example.org", When: at(1), Payload: []byte("<p>z</p>")}
	if err != nil || !found || !equalItem(got, want) {
		t.Errorf("Get = %+v, %v, %v; want %+v", got, found, err, want)
	}
	if _, found, err := pep.Get("example.org", "juliet", node, "n"); err != nil || found {
		t.Errorf("Get of another node's id = %v, %v", found, err)
	}
	if n, err := pep.Count("example.org", "juliet", node); err != nil || n != 5 {
		t.Errorf("Count = %d, %v; want 5", n, err)
	}
	if nodes, err := pep.List("example.org", "juliet"); err != nil || !slices.Equal(nodes, []string{node, node + "2"}) {
		t.Errorf("List = %q, %v", nodes, err)
	}
	if users, err := pep.Users("example.org"); err != nil || !slices.Equal(users, []string{"julie", "juliet"}) {
		t.Errorf("Users = %q, %v", users, err)
	}

	// A zero When is the time of publishing.
	before := time.Now().Truncate(time.Microsecond)
	if _, err := pep.Publish("example.org", "juliet", "now", NodeItem{ID: "x"}, 0); err != nil {
		t.Fatal(err)
	}
	if it, _, _ := pep.Last("example.org", "juliet", "now"); it.When.Before(before) || it.When.After(time.Now()) {
		t.Errorf("zero When stored as %v", it.When)
	}
}

func equalItem(a, b NodeItem) bool {
	return a.ID == b.ID && a.Publisher == b.Publisher && a.When.Equal(b.When) && string(a.Payload) == string(b.Payload)
}

func TestNodesRepublish(t *testing.T) {
	cases := []struct {
		name      string
		publish   []string
		maxItems  int
		want      []string // oldest first
		replaced  []bool
		wantCount int
	}{
		{"new ids", []string{"a", "b", "c"}, 0, []string{"a", "b", "c"}, []bool{false, false, false}, 3},
		{"oldest republished", []string{"a", "b", "c", "a"}, 0, []string{"b", "c", "a"}, []bool{false, false, false, true}, 3},
		{"newest republished", []string{"a", "b", "b"}, 0, []string{"a", "b"}, []bool{false, false, true}, 2},
		{"singleton node", []string{"current", "current", "current"}, 1, []string{"current"}, []bool{false, true, true}, 1},
		{"trimmed", []string{"a", "b", "c", "d"}, 2, []string{"c", "d"}, []bool{false, false, false, false}, 2},
		{"republish saves from trim", []string{"a", "b", "a", "c"}, 2, []string{"a", "c"}, []bool{false, false, true, false}, 2},
		{"trimmed item comes back new", []string{"a", "b", "a"}, 1, []string{"a"}, []bool{false, false, false}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openTemp(t)
			n := db.Nodes("pubsub", true)
			for i, id := range c.publish {
				replaced, err := n.Publish("pubsub.example.org", "", "news", NodeItem{ID: id, Payload: []byte(fmt.Sprint(i))}, c.maxItems)
				if err != nil {
					t.Fatal(err)
				}
				if replaced != c.replaced[i] {
					t.Errorf("publish %d (%s): replaced %v; want %v", i, id, replaced, c.replaced[i])
				}
			}
			if got := itemIDs(t, n, "pubsub.example.org", "", "news", NodeQuery{}); !slices.Equal(got, c.want) {
				t.Errorf("items %q; want %q", got, c.want)
			}
			if last, _, _ := n.Last("pubsub.example.org", "", "news"); last.ID != c.want[len(c.want)-1] {
				t.Errorf("Last is %q; want %q", last.ID, c.want[len(c.want)-1])
			}
			if got, err := n.Count("pubsub.example.org", "", "news"); err != nil || got != c.wantCount {
				t.Errorf("Count = %d, %v; want %d", got, err, c.wantCount)
			}
			checkNode(t, n, "pubsub.example.org", "", "news")
		})
	}
}

func TestNodesRetractTrimPurgeDelete(t *testing.T) {
	db := openTemp(t)
	pep := db.Nodes("pep", false)
	publishAll(t, pep, "h", "u", "n", "a", "b", "c", "d", "e")
	publishAll(t, pep, "h", "u", "n2", "a")

	if found, err := pep.Retract("h", "u", "n", "c"); err != nil || !found {
		t.Fatalf("Retract = %v, %v", found, err)
	}
	if found, err := pep.Retract("h", "u", "n", "c"); err != nil || found {
		t.Errorf("second Retract = %v, %v; want not found", found, err)
	}
	if found, err := pep.Retract("h", "u", "missing", "c"); err != nil || found {
		t.Errorf("Retract on a missing node = %v, %v; want not found", found, err)
	}
	if got := itemIDs(t, pep, "h", "u", "n", NodeQuery{}); !slices.Equal(got, []string{"a", "b", "d", "e"}) {
		t.Errorf("after Retract: %q", got)
	}
	checkNode(t, pep, "h", "u", "n")
	if found, err := pep.Retract("h", "u", "n", "a"); err != nil || !found {
		t.Fatalf("Retract of the oldest = %v, %v", found, err)
	}
	checkNode(t, pep, "h", "u", "n")
	publishAll(t, pep, "h", "u", "n", "a")
	if got := itemIDs(t, pep, "h", "u", "n", NodeQuery{}); !slices.Equal(got, []string{"b", "d", "e", "a"}) {
		t.Errorf("after Retract and publish: %q", got)
	}

	if dropped, err := pep.Trim("h", "u", "n", 3); err != nil || dropped != 1 {
		t.Errorf("Trim = %d, %v; want 2", dropped, err)
	}
	if dropped, err := pep.Trim("h", "u", "n", 0); err != nil || dropped != 0 {
		t.Errorf("Trim to 0 (no limit) = %d, %v", dropped, err)
	}
	if got := itemIDs(t, pep, "h", "u", "n", NodeQuery{}); !slices.Equal(got, []string{"d", "e", "a"}) {
		t.Errorf("after Trim: %q", got)
	}
	checkNode(t, pep, "h", "u", "n")

	if n, err := pep.Purge("h", "u", "n"); err != nil || n != 3 {
		t.Errorf("Purge = %d, %v; want 2", n, err)
	}
	if got := itemIDs(t, pep, "h", "u", "n", NodeQuery{}); len(got) != 0 {
		t.Errorf("after Purge: %q", got)
	}
	if nodes, _ := pep.List("h", "u"); !slices.Equal(nodes, []string{"n", "n2"}) {
		t.Errorf("after Purge, nodes %q; want the purged node kept", nodes)
	}
	if _, found, _ := pep.Get("h", "u", "n", "d"); found {
		t.Error("purged item still found by id")
	}
	checkNode(t, pep, "h", "u", "n")
	publishAll(t, pep, "h", "u", "n", "f")
	if got := itemIDs(t, pep, "h", "u", "n", NodeQuery{}); !slices.Equal(got, []string{"f"}) {
		t.Errorf("publish after Purge: %q", got)
	}
	checkNode(t, pep, "h", "u", "n")
	if n, _ := pep.Count("h", "u", "n"); n != 1 {
		t.Errorf("Count after Purge and publish = %d", n)
	}

	if err := pep.DeleteNode("h", "u", "n"); err != nil {
		t.Fatal(err)
	}
	if err := pep.DeleteNode("h", "u", "never"); err != nil {
		t.Errorf("DeleteNode of a missing node: %v", err)
	}
	if nodes, _ := pep.List("h", "u"); !slices.Equal(nodes, []string{"n2"}) {
		t.Errorf("after DeleteNode, nodes %q", nodes)
	}
	if got := itemIDs(t, pep, "h", "u", "n2", NodeQuery{}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("the neighbouring node lost items: %q", got)
	}
	if n, _ := pep.Count("h", "u", "n"); n != 0 {
		t.Errorf("Count of a deleted node = %d", n)
	}
}

func TestNodesPaging(t *testing.T) {
	db := openTemp(t)
	pep := db.Nodes("pep", false)
	publishAll(t, pep, "h", "u", "n", "i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9")
	// Republishing i0 moves it after i9.
	publishAll(t, pep, "h", "u", "n", "i0")
	cases := []struct {
		name string
		q    NodeQuery
		want []string
	}{
		{"all", NodeQuery{}, []string{"i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9", "i0"}},
		{"first page", NodeQuery{Limit: 3}, []string{"i1", "i2", "i3"}},
		{"next page", NodeQuery{After: "i3", Limit: 3}, []string{"i4", "i5", "i6"}},
		{"last page", NodeQuery{Reverse: true, Limit: 3}, []string{"i0", "i9", "i8"}},
		{"page before", NodeQuery{Before: "i8", Reverse: true, Limit: 3}, []string{"i7", "i6", "i5"}},
		{"after the newest", NodeQuery{After: "i0"}, []string{}},
		{"before the oldest", NodeQuery{Before: "i1", Reverse: true}, []string{}},
		{"window", NodeQuery{After: "i2", Before: "i6"}, []string{"i3", "i4", "i5"}},
		{"window reversed", NodeQuery{After: "i2", Before: "i6", Reverse: true}, []string{"i5", "i4", "i3"}},
		{"window with limit", NodeQuery{After: "i2", Before: "i6", Limit: 2, Reverse: true}, []string{"i5", "i4"}},
		{"empty window", NodeQuery{After: "i6", Before: "i2"}, []string{}},
		{"after the republished", NodeQuery{After: "i9"}, []string{"i0"}},
		{"reverse after", NodeQuery{After: "i7", Reverse: true}, []string{"i0", "i9", "i8"}},
		{"forward before", NodeQuery{Before: "i3"}, []string{"i1", "i2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, total, err := pep.Items("h", "u", "n", c.q)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, it := range items {
				got = append(got, it.ID)
			}
			if !slices.Equal(got, c.want) || total != 10 {
				t.Errorf("items %q, total %d; want %q, 10", got, total, c.want)
			}
		})
	}
	for _, q := range []NodeQuery{{After: "nope"}, {Before: "nope"}, {After: "i1", Before: "nope", Reverse: true}} {
		if _, _, err := pep.Items("h", "u", "n", q); !errors.Is(err, ErrUnknownItem) {
			t.Errorf("Items(%+v) = %v; want ErrUnknownItem", q, err)
		}
	}
	if _, _, err := pep.Items("h", "u", "missing", NodeQuery{After: "i1"}); !errors.Is(err, ErrUnknownItem) {
		t.Errorf("Items after an id on a missing node = %v; want ErrUnknownItem", err)
	}
	if items, total, err := pep.Items("h", "u", "missing", NodeQuery{}); err != nil || len(items) != 0 || total != 0 {
		t.Errorf("Items of a missing node = %v, %d, %v", items, total, err)
	}
}

func TestNodesDeleteUser(t *testing.T) {
	dir := t.TempDir()
	db := openAt(t, dir)
	pep := db.Nodes("pep", true)
	for _, who := range [][2]string{{"example.org", "juliet"}, {"example.org", "julie"}, {"example.net", "juliet"}} {
		publishAll(t, pep, who[0], who[1], "urn:xmpp:mood:0", "current")
		publishAll(t, pep, who[0], who[1], "urn:xmpp:bookmarks:1", "a", "b")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir)
	pep = db.Nodes("pep", true)
	if err := db.DeleteUser("example.org", "juliet"); err != nil {
		t.Fatal(err)
	}
	if nodes, err := pep.List("example.org", "juliet"); err != nil || len(nodes) != 0 {
		t.Errorf("after DeleteUser, nodes %q, %v", nodes, err)
	}
	if _, found, _ := pep.Last("example.org", "juliet", "urn:xmpp:mood:0"); found {
		t.Error("after DeleteUser, an item is left")
	}
	for _, who := range [][2]string{{"example.org", "julie"}, {"example.net", "juliet"}} {
		if n, _ := pep.Count(who[0], who[1], "urn:xmpp:bookmarks:1"); n != 2 {
			t.Errorf("%s@%s has %d bookmarks; want 2", who[1], who[0], n)
		}
	}
	// The user starts afresh.
	publishAll(t, pep, "example.org", "juliet", "urn:xmpp:mood:0", "current")
	checkNode(t, pep, "example.org", "juliet", "urn:xmpp:mood:0")
}

func TestNodesBadInput(t *testing.T) {
	db := openTemp(t)
	pep := db.Nodes("pep", false)
	checks := map[string]error{}
	_, checks["publish empty node"] = pep.Publish("h", "u", "", NodeItem{ID: "x"}, 0)
	_, checks["publish NUL node"] = pep.Publish("h", "u", "a\x00b", NodeItem{ID: "x"}, 0)
	_, checks["publish NUL owner"] = pep.Publish("h", "u\x00", "n", NodeItem{ID: "x"}, 0)
	_, checks["get NUL node"] = pep.Count("h", "u", "a\x00b")
	_, _, checks["items NUL host"] = pep.Items("h\x00", "u", "n", NodeQuery{})
	_, checks["list NUL owner"] = pep.List("h", "u\x00")
	checks["delete empty node"] = pep.DeleteNode("h", "u", "")
	_, checks["store name"] = db.Nodes("a\x00b", false).Publish("h", "u", "n", NodeItem{ID: "x"}, 0)
	for name, err := range checks {
		if !errors.Is(err, ErrBadName) {
			t.Errorf("%s: got %v; want ErrBadName", name, err)
		}
	}
	if _, err := pep.Publish("h", "u", "n", NodeItem{}, 0); !errors.Is(err, ErrBadID) {
		t.Errorf("publish without id = %v; want ErrBadID", err)
	}
	if _, err := pep.Retract("h", "u", "n", ""); !errors.Is(err, ErrBadID) {
		t.Errorf("retract without id = %v; want ErrBadID", err)
	}
	// Reads and deletions on an unwritten store leave no registry entry.
	if _, err := pep.Purge("h", "u", "n"); err != nil {
		t.Error(err)
	}
	if err := pep.DeleteNode("h", "u", "n"); err != nil {
		t.Error(err)
	}
	if stores, err := db.stores(); err != nil || len(stores) != 0 {
		t.Errorf("registry after rejected writes = %+v, %v", stores, err)
	}
}

// TestNodesConcurrentPublish republishes a few ids from many goroutines at
// once: the node must end with each id once and a count that matches.
func TestNodesConcurrentPublish(t *testing.T) {
	db := openTemp(t)
	pep := db.Nodes("pep", false)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 30 {
				id := fmt.Sprint("item", (w+i)%7)
				if _, err := pep.Publish("h", "u", "n", NodeItem{ID: id, Payload: []byte(fmt.Sprint(w, i))}, 5); err != nil {
					t.Error(err)
					return
				}
				if i%4 == 3 {
					if _, err := pep.Retract("h", "u", "n", id); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	checkNode(t, pep, "h", "u", "n")
	if n, _ := pep.Count("h", "u", "n"); n > 5 {
		t.Errorf("Count %d beyond max_items 5", n)
	}
}
