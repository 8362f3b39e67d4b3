package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// fakeDB is the DB side of a compactionScheduler: allowed compactions at
// once, and waiting compactions that Schedule starts.
type fakeDB struct {
	mu        sync.Mutex
	allowed   int
	waiting   int
	started   int
	scheduled chan struct{}
}

func (f *fakeDB) GetAllowedWithoutPermission() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.allowed
}

func (f *fakeDB) GetWaitingCompaction() (bool, pebble.WaitingCompaction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting > 0, pebble.WaitingCompaction{}
}

func (f *fakeDB) Schedule(pebble.CompactionGrantHandle) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.waiting == 0 {
		return false
	}
	f.waiting--
	f.started++
	if f.scheduled != nil {
		f.scheduled <- struct{}{}
	}
	return true
}

func (f *fakeDB) set(allowed, waiting int) {
	f.mu.Lock()
	f.allowed, f.waiting = allowed, waiting
	f.mu.Unlock()
}

func (f *fakeDB) counts() (waiting, started int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting, f.started
}

func TestCompactionSchedulerGrants(t *testing.T) {
	db := &fakeDB{allowed: 1, scheduled: make(chan struct{}, 8)}
	s := newCompactionScheduler()
	s.Register(2, db)

	ok, h := s.TrySchedule()
	if !ok || h == nil {
		t.Fatal("TrySchedule with a free slot was refused")
	}
	if ok, _ := s.TrySchedule(); ok {
		t.Fatal("TrySchedule beyond the allowance was granted")
	}

	// The DB now has two compactions waiting. When the running one ends,
	// its slot goes to one of them, and only one.
	db.set(1, 2)
	h.Done()
	if waiting, started := db.counts(); waiting != 1 || started != 1 {
		t.Fatalf("after Done: %d waiting, %d started; want 1, 1", waiting, started)
	}

	// A flush that raises the allowance starts the other, from a goroutine
	// of its own, since pebble's lock is held during the call.
	db.set(2, 1)
	s.UpdateGetAllowedWithoutPermission()
	select {
	case <-db.scheduled: // the one Done started
	default:
	}
	select {
	case <-db.scheduled:
	case <-time.After(10 * time.Second):
		t.Fatal("a raised allowance did not start the waiting compaction")
	}
	// An allowance that did not rise starts nothing.
	db.set(2, 1)
	s.UpdateGetAllowedWithoutPermission()
	s.pokes.Wait()
	if waiting, started := db.counts(); waiting != 1 || started != 2 {
		t.Fatalf("after an update without a rise: %d waiting, %d started; want 1, 2", waiting, started)
	}

	s.Unregister()
	if ok, _ := s.TrySchedule(); ok {
		t.Error("TrySchedule after Unregister was granted")
	}
	s.Done()
	if _, started := db.counts(); started != 2 {
		t.Error("Done after Unregister started a compaction")
	}
}

// TestCompactionsUnderLoad writes enough, in enough flushes, that pebble
// has to compact L0 away, and checks that it did.
func TestCompactionsUnderLoad(t *testing.T) {
	db := openTemp(t)
	kv := db.KeyVal("load", false)
	rec := &account{Password: strings.Repeat("p", 300)}
	const rounds = 3 * l0Tables
	for round := range rounds {
		for i := range 400 {
			rec.Created = int64(round*1000 + i)
			if err := kv.Set("example.org", fmt.Sprintf("u%03d-%d", i, round%3), rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.pdb.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Compactions run in the background; give them time to finish.
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := db.pdb.Metrics()
		if m.Compact.Count > 0 && m.Levels[0].TablesCount < l0Tables {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d flushes: %d compactions, %d tables in L0", rounds, m.Compact.Count, m.Levels[0].TablesCount)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sleeps sums the voluntary context switches of this process's threads: a
// thread that wakes up and goes back to sleep adds one. (Involuntary ones
// count preemptions, which on a busy machine say more about the others.)
func sleeps(t *testing.T) int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		t.Skipf("no /proc/self/task: %v", err)
	}
	n := 0
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				c, _ := strconv.Atoi(strings.TrimSpace(v))
				n += c
			}
		}
	}
	return n
}

// TestIdleStoreSleeps checks that an open store with nothing to do does
// not wake the process: pebble's default compaction scheduler ticks every
// 100 ms and its disk health checks every 2 s.
func TestIdleStoreSleeps(t *testing.T) {
	// It counts context switches, which other processes on a shared
	// machine disturb: a measurement, run on demand, not in every test run.
	if os.Getenv("XMPPD_MEASURE_IDLE") == "" {
		t.Skip("set XMPPD_MEASURE_IDLE=1 to count the threads' wake-ups over idle seconds")
	}
	if underEmulator() || raceEnabled || runtime.GOOS != "linux" {
		t.Skip("counts the threads' context switches (qemu-user and the race detector have threads of their own)")
	}
	db := openTemp(t)
	kv := db.KeyVal("idle", true)
	for i := range 100 {
		if err := kv.Set("example.org", fmt.Sprint("u", i), &account{Created: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	// Let background work end, and return memory now rather than have the
	// scavenger do it during the measurement.
	time.Sleep(300 * time.Millisecond)
	debug.FreeOSMemory()
	time.Sleep(100 * time.Millisecond)

	// The test's own sleep wakes a thread or two; pebble's default
	// scheduler alone would add 20 every time. Other test processes on a
	// loaded machine add wake-ups now and then, so the quietest of three
	// rounds counts: a ticker shows in all of them.
	least := -1
	for range 3 {
		before := sleeps(t)
		time.Sleep(2 * time.Second)
		if n := sleeps(t) - before; least < 0 || n < least {
			least = n
		}
		if least <= 10 {
			return
		}
	}
	t.Errorf("threads woke at least %d times in each of three 2 s rounds of idle; a ticker is running", least)
}
