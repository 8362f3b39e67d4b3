package register

import (
	"sync"
	"time"
)

// maxAddresses bounds the addresses the throttle remembers: a LAN has few,
// and a flood of addresses must not grow the map without end.
const maxAddresses = 4096

// throttle allows count registrations per address within a sliding period.
type throttle struct {
	count  int
	period time.Duration

	mu   sync.Mutex
	seen map[string][]time.Time // address → times of its recent attempts, oldest first
}

func newThrottle(count int, period time.Duration) *throttle {
	return &throttle{count: count, period: period, seen: map[string][]time.Time{}}
}

// allow records an attempt from addr and reports whether it is within the
// limit. When the table is full of live entries it refuses: a crowd of
// addresses registering at once is what the throttle is there to stop.
func (t *throttle) allow(addr string, now time.Time) bool {
	if t.count == 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.recent(addr, now)
	if len(list) >= t.count {
		return false
	}
	if _, known := t.seen[addr]; !known && len(t.seen) >= maxAddresses {
		t.prune(now)
		if len(t.seen) >= maxAddresses {
			return false
		}
	}
	t.seen[addr] = append(list, now)
	return true
}

// recent returns addr's attempts within the period, forgetting older ones.
func (t *throttle) recent(addr string, now time.Time) []time.Time {
	list := t.seen[addr]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= t.period {
		i++
	}
	if i == len(list) {
		delete(t.seen, addr)
		return nil
	}
	list = list[i:]
	t.seen[addr] = list
	return list
}

// prune forgets every address with no attempt within the period.
func (t *throttle) prune(now time.Time) {
	for addr := range t.seen {
		t.recent(addr, now)
	}
}
