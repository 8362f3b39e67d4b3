package storage

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// compactionScheduler lets pebble run as many compactions at once as pebble
// itself allows (GetAllowedWithoutPermission), like pebble's default
// ConcurrencyLimitScheduler, and looks for waiting work only when something
// happened: a compaction finished, a flush raised the allowance, or pebble
// asked to start one. The default also looks every 100 ms from a ticker,
// which wakes an idle daemon ten times a second for nothing: between those
// events the allowance cannot rise and no compaction can become runnable
// that pebble would not ask for itself.
//
// A scheduler serves one DB: Open makes a new one for every pebble.Open.
type compactionScheduler struct {
	// db is set by Register, before any other call.
	db pebble.DBForCompaction

	mu sync.Mutex
	// running counts granted compactions that have not called Done.
	running int
	// allowed is the allowance when last read.
	allowed int
	// granting is true while one goroutine hands out grants; others wait on
	// grantDone, so grants are never handed out twice for one free slot.
	granting  bool
	grantDone *sync.Cond
	// poked is true while a goroutine started by
	// UpdateGetAllowedWithoutPermission has yet to run.
	poked bool
	// closed is set by Unregister; nothing is granted afterwards.
	closed bool
	// pokes tracks those goroutines, for Unregister.
	pokes sync.WaitGroup
}

var _ pebble.CompactionScheduler = (*compactionScheduler)(nil)

func newCompactionScheduler() *compactionScheduler {
	s := &compactionScheduler{}
	s.grantDone = sync.NewCond(&s.mu)
	return s
}

// Register is called once, by pebble.Open.
func (s *compactionScheduler) Register(_ int, db pebble.DBForCompaction) {
	s.db = db
}

// Unregister is called once, by Close; it returns when no grant is being
// handed out and none will be.
func (s *compactionScheduler) Unregister() {
	s.mu.Lock()
	s.closed = true
	for s.granting {
		s.grantDone.Wait()
	}
	s.mu.Unlock()
	s.pokes.Wait()
}

// TrySchedule is pebble asking to start a compaction now; pebble holds its
// own lock, so this must not call back into it except for the allowance.
func (s *compactionScheduler) TrySchedule() (bool, pebble.CompactionGrantHandle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, nil
	}
	s.allowed = s.db.GetAllowedWithoutPermission()
	if s.running >= s.allowed {
		return false, nil
	}
	s.running++
	return true, s
}

// UpdateGetAllowedWithoutPermission is called after every flush, with
// pebble's lock held. If the allowance rose, a waiting compaction may now
// run; the grant has to call into pebble, so it happens on a goroutine of
// its own.
func (s *compactionScheduler) UpdateGetAllowedWithoutPermission() {
	s.mu.Lock()
	defer s.mu.Unlock()
	allowed := s.db.GetAllowedWithoutPermission()
	rose := allowed > s.allowed
	s.allowed = allowed
	if !rose || s.closed || s.poked {
		return
	}
	s.poked = true
	s.pokes.Add(1)
	go func() {
		defer s.pokes.Done()
		s.mu.Lock()
		s.poked = false
		s.grantAndUnlock()
	}()
}

// Started, MeasureCPU and CumulativeStats are the grant handle's reports,
// which only a resource-aware scheduler needs.
func (s *compactionScheduler) Started()                                          {}
func (s *compactionScheduler) MeasureCPU(pebble.CompactionGoroutineKind)         {}
func (s *compactionScheduler) CumulativeStats(pebble.CompactionGrantHandleStats) {}

// Done is called when a granted compaction ends, without pebble's lock: its
// slot goes to a waiting compaction, if there is one.
func (s *compactionScheduler) Done() {
	s.mu.Lock()
	s.running--
	s.grantAndUnlock()
}

// grantAndUnlock hands free slots to waiting compactions. It is called with
// s.mu held and returns with it released.
func (s *compactionScheduler) grantAndUnlock() {
	defer s.mu.Unlock()
	for s.granting && !s.closed {
		s.grantDone.Wait()
	}
	if s.closed {
		return
	}
	s.allowed = s.db.GetAllowedWithoutPermission()
	free := s.allowed - s.running
	if free <= 0 {
		return
	}
	s.granting = true
	s.mu.Unlock()
	// GetWaitingCompaction and Schedule take pebble's lock, which ranks
	// before s.mu, so s.mu is not held across them.
	for ; free > 0; free-- {
		if waiting, _ := s.db.GetWaitingCompaction(); !waiting {
			break
		}
		if !s.db.Schedule(s) {
			break
		}
		s.mu.Lock()
		s.running++
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.granting = false
	s.grantDone.Broadcast()
}
