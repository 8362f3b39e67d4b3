package netio

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// A burst of closes frees the memory of the sessions that leave, and
// their closing makes garbage of its own (the last stanza read, presence
// going out, logs). The collector learns that the sessions are gone only
// when it runs, which by GOGC is when the heap has doubled since the last
// run: until then the closing's garbage takes fresh memory instead of the
// sessions', and the heap of 9,000 closing sessions grows past what it
// was with them connected. So a burst collects early, trimCloses/4 closes
// in, with the workers held until the collection is done: the garbage
// made before the burst (logins, say) is then free for the burst's own,
// where a concurrent collection would let the workers allocate past the
// heap's old peak while it marks. That costs one pause of the workers per
// burst, as long as a collection of the heap takes. From then on every
// 1/16 of the connections that were open when the burst began (every
// trimCloses at least) brings a collection on a goroutine of its own, and
// the memory freed by one part of the burst serves the next.
//
// After the burst the freed memory is still the process's: the scavenger
// returns pages only slowly and only down to the last heap goal. On a
// router, memory that a WiFi drop freed should be the system's again
// within seconds, so the end of a burst (no close for trimQuiet) brings one
// debug.FreeOSMemory: a collection, then every free page back to the OS.
// It costs a collection and, later, the page faults of growing again, so
// it runs at most once per trimEvery, and not for bursts of fewer than
// trimCloses closes, which free too little to be worth it.
//
// A memory limit (debug.SetMemoryLimit, the memory_limit option) would
// also keep the heap from growing, but it is the administrator's setting:
// lowering it for a burst and putting it back would race with a reload
// that sets it.
const (
	trimCloses = 256
	trimQuiet  = time.Second // no close for this long ends a burst
	trimEvery  = 30 * time.Second
)

// open counts the attached connections of every Poller.
var open atomic.Int64

// trim is the process's: the heap is shared by every Poller.
var trim = &trimmer{free: debug.FreeOSMemory, collect: runtime.GC, open: &open}

type trimmer struct {
	mu         sync.Mutex
	closes     int       // in this burst
	step       int       // closes between collections in this burst
	last       time.Time // the latest close
	trimmed    time.Time
	timer      *time.Timer
	collecting bool
	// held is closed when the workers may go on; holding says to look.
	held    chan struct{}
	holding atomic.Bool
	// The runtime's calls, the count of open connections, and
	// trimEvery; tests bring their own.
	free, collect func()
	open          *atomic.Int64
	every         time.Duration
}

// closed counts one close, starts the burst's collections, and arms the
// trim once the burst is large enough. Closes a quiet second apart are not
// a burst.
func (t *trimmer) closed() {
	now := time.Now()
	t.mu.Lock()
	if t.timer == nil && now.Sub(t.last) >= trimQuiet {
		t.closes = 0
		t.step = max(trimCloses, int(t.open.Load()/16))
	}
	t.closes++
	t.last = now
	if t.closes == trimCloses && t.timer == nil {
		t.timer = time.AfterFunc(trimQuiet, t.check)
	}
	first := t.closes == trimCloses/4
	if t.collecting || !first && t.closes%t.step != 0 {
		t.mu.Unlock()
		return
	}
	t.collecting = true
	if first {
		t.held = make(chan struct{})
		t.holding.Store(true)
	}
	t.mu.Unlock()
	if first {
		t.collect()
		t.done()
		return
	}
	go func() {
		t.collect()
		t.done()
	}()
}

// done ends a collection, letting held workers go on.
func (t *trimmer) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.collecting = false
	if t.held != nil {
		close(t.held)
		t.held = nil
		t.holding.Store(false)
	}
}

// wait holds a worker while the first collection of a burst runs.
func (t *trimmer) wait() {
	if !t.holding.Load() {
		return
	}
	t.mu.Lock()
	held := t.held
	t.mu.Unlock()
	if held != nil {
		<-held
	}
}

// check trims once the burst is over and the last trim is trimEvery old;
// otherwise it looks again when that may have changed.
func (t *trimmer) check() {
	now := time.Now()
	t.mu.Lock()
	every := t.every
	if every == 0 {
		every = trimEvery
	}
	wait := max(t.last.Add(trimQuiet).Sub(now), t.trimmed.Add(every).Sub(now))
	if wait > 0 {
		t.timer.Reset(wait)
		t.mu.Unlock()
		return
	}
	t.closes, t.timer, t.trimmed = 0, nil, now
	t.mu.Unlock()
	t.free()
}
