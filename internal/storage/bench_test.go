package storage

import (
	"fmt"
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
