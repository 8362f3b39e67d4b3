package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fsyncs counts the write-ahead log's fsyncs since Open. Nothing else syncs
// the log while a test's writes fit in one memtable. Pebble records an
// fsync just after waking its waiters, so a count read right after a commit
// can still lack it: read until it holds still.
func fsyncs(t testing.TB, db *DB) uint64 {
	t.Helper()
	read := func() uint64 {
		s, ok := prometheus.ReadHistogram(db.pdb.Metrics().LogWriter.FsyncLatency)
		if !ok {
			t.Fatal("pebble's fsync histogram is not the stand-in's")
		}
		return s.Count
	}
	n := read()
	for {
		time.Sleep(20 * time.Millisecond)
		again := read()
		if again == n {
			return n
		}
		n = again
	}
}

// TestBatchOneSync counts fsyncs: a batch costs one when any store in it is
// durable and none otherwise, where the same writes one by one cost one
// each.
func TestBatchOneSync(t *testing.T) {
	cases := []struct {
		name    string
		durable []bool // kv, map, archive, nodes
		want    uint64
	}{
		{"none durable", []bool{false, false, false, false}, 0},
		{"one durable", []bool{false, true, false, false}, 1},
		{"all durable", []bool{true, true, true, true}, 1},
		{"only the node store durable", []bool{false, false, false, true}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openTemp(t)
			s := batchStores{
				kv:  db.KeyVal("accounts", c.durable[0]),
				m:   db.Map("roster", c.durable[1]),
				a:   db.Archive("offline", c.durable[2]),
				pep: db.Nodes("pep", c.durable[3]),
			}
			b := db.NewBatch()
			s.writeAll(t, b)
			for i := range 5 {
				if err := b.SetMap(s.m, "example.org", "juliet", fmt.Sprint("contact", i), &contact{}); err != nil {
					t.Fatal(err)
				}
			}
			before := fsyncs(t, db)
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			if got := fsyncs(t, db) - before; got != c.want {
				t.Errorf("batch: %d fsyncs; want %d", got, c.want)
			}
		})
	}

	t.Run("unbatched", func(t *testing.T) {
		db := openTemp(t)
		m := db.Map("roster", true)
		before := fsyncs(t, db)
		for i := range 3 {
			if err := m.Set("example.org", "juliet", fmt.Sprint("contact", i), &contact{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := fsyncs(t, db) - before; got != 3 {
			t.Errorf("three durable Sets: %d fsyncs; want 3", got)
		}
	})

	t.Run("deletions only", func(t *testing.T) {
		db := openTemp(t)
		m := db.Map("roster", true)
		if err := m.Set("example.org", "juliet", "romeo@example.net", &contact{}); err != nil {
			t.Fatal(err)
		}
		b := db.NewBatch()
		if err := b.DeleteMap(m, "example.org", "juliet", "romeo@example.net"); err != nil {
			t.Fatal(err)
		}
		if err := b.DeleteMap(m, "example.org", "juliet", "nurse@example.org"); err != nil {
			t.Fatal(err)
		}
		before := fsyncs(t, db)
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := fsyncs(t, db) - before; got != 1 {
			t.Errorf("durable deletions: %d fsyncs; want 1", got)
		}
	})
}
