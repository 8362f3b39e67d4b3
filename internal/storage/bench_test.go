package storage

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

func benchmarkKeyValSet(b *testing.B, durable bool) {
	db := openTemp(b)
	kv := db.KeyVal("accounts", durable)
	rec := account{Password: "0123456789abcdef0123456789abcdef", Created: 1700000000}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec.Created++
		if err := kv.Set("example.org", users[i%len(users)], &rec); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// users spreads writes over a realistic number of accounts.
var users = func() []string {
	u := make([]string, 1000)
	for i := range u {
		u[i] = fmt.Sprintf("user%04d", i)
	}
	return u
}()

func BenchmarkKeyValSet(b *testing.B)        { benchmarkKeyValSet(b, false) }
func BenchmarkKeyValSetDurable(b *testing.B) { benchmarkKeyValSet(b, true) }

func BenchmarkKeyValGet(b *testing.B) {
	db := openTemp(b)
	kv := db.KeyVal("accounts", false)
	for _, u := range users {
		if err := kv.Set("example.org", u, &account{Password: "0123456789abcdef0123456789abcdef"}); err != nil {
			b.Fatal(err)
		}
	}
	var rec account
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		found, err := kv.Get("example.org", users[i%len(users)], &rec)
		if err != nil || !found {
			b.Fatal(found, err)
		}
		i++
	}
}

// stanza is a typical archived chat message.
var stanza = []byte(`<message xmlns="jabber:client" from="romeo@example.net/orchard" to="juliet@example.org" type="chat" id="a1b2c3d4"><body>But soft, what light through yonder window breaks?</body><origin-id xmlns="urn:xmpp:sid:0" id="e5f6a7b8"/></message>`)

func benchmarkArchiveAppend(b *testing.B, durable bool) {
	db := openTemp(b)
	a := db.Archive("archive", durable)
	b.ReportAllocs()
	b.SetBytes(int64(len(stanza)))
	for b.Loop() {
		if _, err := a.Append("example.org", "juliet", time.Time{}, "romeo@example.net", stanza); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkArchiveAppend(b *testing.B)        { benchmarkArchiveAppend(b, false) }
func BenchmarkArchiveAppendDurable(b *testing.B) { benchmarkArchiveAppend(b, true) }

// archive10k fills an archive with 10,000 items a second apart and flushes
// it, so queries read sstables as they would after a restart.
func archive10k(b *testing.B) (*DB, *Archive) {
	db := openTemp(b)
	a := db.Archive("archive", false)
	for i := range 10000 {
		if _, err := a.Append("example.org", "juliet", base.Add(time.Duration(i)*time.Second), "romeo@example.net", stanza); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.pdb.Flush(); err != nil {
		b.Fatal(err)
	}
	return db, a
}

func BenchmarkArchiveFindLast50(b *testing.B) {
	db, a := archive10k(b)
	b.ReportAllocs()
	for b.Loop() {
		items, total, err := a.Find("example.org", "juliet", Query{Reverse: true, Limit: 50})
		if err != nil || len(items) != 50 || total != 10000 {
			b.Fatal(len(items), total, err)
		}
	}
	b.ReportMetric(float64(db.Metrics().DiskBytes), "disk-bytes")
}

func BenchmarkArchiveFindLast50With(b *testing.B) {
	_, a := archive10k(b)
	b.ReportAllocs()
	for b.Loop() {
		items, total, err := a.Find("example.org", "juliet", Query{With: "romeo@example.net", Reverse: true, Limit: 50})
		if err != nil || len(items) != 50 || total != 10000 {
			b.Fatal(len(items), total, err)
		}
	}
}

// mood is a typical PEP item payload.
var mood = []byte(`<mood xmlns="http://jabber.org/protocol/mood"><happy/><text>Yay, the box is up!</text></mood>`)

// benchmarkNodesPublish publishes to a node kept at maxItems: with fresh
// ids every publish also drops the oldest item, with one id it replaces it.
func benchmarkNodesPublish(b *testing.B, maxItems int, freshIDs bool) {
	db := openTemp(b)
	n := db.Nodes("pep", false)
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x", i)
	}
	item := NodeItem{Publisher: "juliet@example.org/balcony", When: base, Payload: mood}
	for i := range maxItems {
		item.ID = ids[i]
		if _, err := n.Publish("example.org", "juliet", "http://jabber.org/protocol/mood", item, maxItems); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(mood)))
	i := 0
	for b.Loop() {
		item.ID = "current"
		if freshIDs {
			item.ID = ids[i%len(ids)]
		}
		if _, err := n.Publish("example.org", "juliet", "http://jabber.org/protocol/mood", item, maxItems); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkNodesPublishReplace(b *testing.B) { benchmarkNodesPublish(b, 1, false) }
func BenchmarkNodesPublishTrim(b *testing.B)    { benchmarkNodesPublish(b, 100, true) }

// nodes1k fills a node with 1,000 items and flushes it, so reads come from
// sstables as after a restart.
func nodes1k(b *testing.B) *Nodes {
	db := openTemp(b)
	n := db.Nodes("pep", false)
	for i := range 1000 {
		item := NodeItem{ID: fmt.Sprint("item", i), Publisher: "juliet@example.org", When: at(i), Payload: mood}
		if _, err := n.Publish("example.org", "juliet", "urn:xmpp:monitor:load", item, 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.pdb.Flush(); err != nil {
		b.Fatal(err)
	}
	return n
}

func BenchmarkNodesLast(b *testing.B) {
	n := nodes1k(b)
	b.ReportAllocs()
	for b.Loop() {
		if it, found, err := n.Last("example.org", "juliet", "urn:xmpp:monitor:load"); err != nil || !found || it.ID != "item999" {
			b.Fatal(it.ID, found, err)
		}
	}
}

func BenchmarkNodesGet(b *testing.B) {
	n := nodes1k(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, found, err := n.Get("example.org", "juliet", "urn:xmpp:monitor:load", "item500"); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

// benchmarkDurableWrites writes a roster record, an offline message and an
// archived copy to durable stores, one commit each or in one batch: the
// fsyncs a batch saves.
func benchmarkDurableWrites(b *testing.B, batched bool) {
	db := openTemp(b)
	roster := db.Map("roster", true)
	offline := db.Archive("offline", true)
	archive := db.Archive("archive", true)
	c := contact{Name: "Romeo", Subscription: "both"}
	b.ReportAllocs()
	for b.Loop() {
		if !batched {
			if err := roster.Set("example.org", "juliet", "romeo@example.net", &c); err != nil {
				b.Fatal(err)
			}
			if _, err := offline.Append("example.org", "juliet", time.Time{}, "romeo@example.net", stanza); err != nil {
				b.Fatal(err)
			}
			if _, err := archive.Append("example.org", "juliet", time.Time{}, "romeo@example.net", stanza); err != nil {
				b.Fatal(err)
			}
			continue
		}
		bt := db.NewBatch()
		if err := bt.SetMap(roster, "example.org", "juliet", "romeo@example.net", &c); err != nil {
			b.Fatal(err)
		}
		if _, err := bt.Append(offline, "example.org", "juliet", time.Time{}, "romeo@example.net", stanza); err != nil {
			b.Fatal(err)
		}
		if _, err := bt.Append(archive, "example.org", "juliet", time.Time{}, "romeo@example.net", stanza); err != nil {
			b.Fatal(err)
		}
		if err := bt.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDurableThreeCommits(b *testing.B) { benchmarkDurableWrites(b, false) }
func BenchmarkDurableOneBatch(b *testing.B)     { benchmarkDurableWrites(b, true) }

// BenchmarkNodesItemsAfterChurn reads a monitoring node whose three ids
// have been republished 30,000 times: the deletions of their old places
// must not be walked over.
func BenchmarkNodesItemsAfterChurn(b *testing.B) {
	db := openTemp(b)
	n := db.Nodes("pep", false)
	for i := range 30000 {
		item := NodeItem{ID: []string{"load", "mem", "net"}[i%3], When: at(i), Payload: mood}
		if _, err := n.Publish("example.org", "router", "urn:xmpp:monitor", item, 10); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for _, q := range []NodeQuery{{}, {Reverse: true}} {
		if items, _, err := n.Items("example.org", "router", "urn:xmpp:monitor", q); err != nil || len(items) != 3 {
			b.Fatal(len(items), err)
		}
	}
	for b.Loop() {
		if items, _, err := n.Items("example.org", "router", "urn:xmpp:monitor", NodeQuery{}); err != nil || len(items) != 3 {
			b.Fatal(len(items), err)
		}
	}
}

// BenchmarkArchiveAppendUsers appends to 100 users' archives in turn, as
// chat between many pairs does, until the archive holds 200,000 or a
// million items, and reports the process's CPU per append with the
// compactions it caused (cpu-us/append) and pebble's write amplification:
// such appends land all over the key space, so compactions out of L0
// rewrite the level below, and their cost grows with the archive.
func BenchmarkArchiveAppendUsers(b *testing.B) {
	for _, n := range []int{200_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			var users [100]string
			for i := range users {
				users[i] = fmt.Sprintf("user%03d", i)
			}
			for b.Loop() {
				b.StopTimer()
				db := openTemp(b)
				a := db.Archive("archive", false)
				b.StartTimer()
				c0 := cpuTime()
				for i := range n {
					if _, err := a.Append("example.org", users[i%len(users)], time.Time{}, "romeo@example.net/orchard", stanza); err != nil {
						b.Fatal(err)
					}
				}
				if err := db.pdb.Flush(); err != nil {
					b.Fatal(err)
				}
				for db.pdb.Metrics().Compact.NumInProgress > 0 {
					time.Sleep(10 * time.Millisecond)
				}
				m := db.pdb.Metrics()
				total := m.Total()
				b.ReportMetric(float64(cpuTime()-c0)/float64(n)/1e3, "cpu-us/append")
				b.ReportMetric(total.WriteAmp(), "write-amp")
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
		})
	}
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
