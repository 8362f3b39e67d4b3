package sasl

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// recentModel is what recent must behave like: a map and a list in order
// of the last login, most recent first.
type recentModel struct {
	size  int
	ttl   time.Duration
	at    map[string]time.Time
	order []string
}

func (m *recentModel) has(k string, now time.Time) bool {
	at, ok := m.at[k]
	if !ok {
		return false
	}
	if now.Sub(at) > m.ttl {
		m.drop(k)
		return false
	}
	return true
}

func (m *recentModel) add(k string, now time.Time) {
	if _, ok := m.at[k]; ok {
		m.drop(k)
	} else if len(m.order) == m.size {
		m.drop(m.order[len(m.order)-1])
	}
	m.at[k] = now
	m.order = append([]string{k}, m.order...)
}

func (m *recentModel) drop(k string) {
	delete(m.at, k)
	for i, o := range m.order {
		if o == k {
			m.order = append(m.order[:i], m.order[i+1:]...)
			return
		}
	}
}

// TestRecentMatchesModel: random logins and lookups, with pairs expiring
// and the oldest forgotten when full, give the answers of a plain map and
// list, for sizes where the index's probe runs wrap around and collide.
func TestRecentMatchesModel(t *testing.T) {
	for _, size := range []int{1, 2, 3, 7, 64} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			const ttl = 100 * time.Second
			r := newRecent(size, ttl)
			m := &recentModel{size: size, ttl: ttl, at: map[string]time.Time{}}
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			for step := range 20000 {
				account := fmt.Sprint("u", rng.IntN(2*size+2), "@example.net")
				addr := fmt.Sprint("192.0.2.", rng.IntN(3))
				k := account + "\x00" + addr
				now = now.Add(time.Duration(rng.IntN(3)) * time.Second)
				if rng.IntN(2) == 0 {
					r.add(account, addr, now)
					m.add(k, now)
				} else if got, want := r.has(account, addr, now), m.has(k, now); got != want {
					t.Fatalf("step %d: has(%q) = %v, want %v", step, k, got, want)
				}
				if r.len() != len(m.order) {
					t.Fatalf("step %d: %d pairs, want %d", step, r.len(), len(m.order))
				}
			}
			// The list runs through every pair in order of the last login.
			s, n := r.head, 0
			for ; s >= 0; s = r.slots[s].next {
				n++
			}
			if n != r.len() {
				t.Fatalf("the list holds %d slots of %d", n, r.len())
			}
		})
	}
}

// TestRecentAllocatesNothing: remembering a login makes no object, so the
// pairs cannot keep the heap spans of sessions long gone in use.
func TestRecentAllocatesNothing(t *testing.T) {
	r := newRecent(256, time.Hour)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	accounts := make([]string, 1024)
	for i := range accounts {
		accounts[i] = fmt.Sprint("user", i, "@example.net")
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		r.add(accounts[i%len(accounts)], "192.0.2.1", now)
		r.has(accounts[(i*7)%len(accounts)], "192.0.2.1", now)
		i++
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per login", allocs)
	}
}
