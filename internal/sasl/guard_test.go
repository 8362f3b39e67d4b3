package sasl

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestThrottleReserve: attempts in flight take the free tries as failures
// would, and give them back when they end without failing.
func TestThrottleReserve(t *testing.T) {
	th := NewThrottle(10)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const k = "ip:192.0.2.1"
	for i := range 5 {
		if ok, _ := th.Reserve(k, now); !ok {
			t.Fatalf("reservation %d refused", i+1)
		}
	}
	if ok, wait := th.Reserve(k, now); ok || wait != throttleBase {
		t.Fatalf("sixth reservation with five in flight: %v, %v", ok, wait)
	}
	// Allow is the cheap check and does not count what is in flight.
	if ok, _ := th.Allow(k, now); !ok {
		t.Fatal("Allow refused with no failure recorded")
	}
	th.Release(k)
	if ok, _ := th.Reserve(k, now); !ok {
		t.Fatal("a released try was not given back")
	}
	for range 5 {
		th.Release(k)
	}
	if th.Len() != 0 {
		t.Fatalf("Len = %d with nothing in flight and no failure", th.Len())
	}

	for range 3 {
		th.Failure(k, now)
	}
	for i := range 2 {
		if ok, _ := th.Reserve(k, now); !ok {
			t.Fatalf("after 3 failures, reservation %d refused", i+1)
		}
	}
	// 3 failures and 2 in flight: the five free tries are taken.
	if ok, _ := th.Reserve(k, now); ok {
		t.Fatal("reserved past the free tries")
	}
	th.Failure(k, now)
	if ok, _ := th.Reserve(k, now); ok {
		t.Fatal("reserved past the free tries after one in flight failed")
	}
	th.Failure(k, now)
	if ok, wait := th.Reserve(k, now); ok || wait != time.Second {
		t.Fatalf("after five failures: %v, %v; want a wait of 1s", ok, wait)
	}
	now = now.Add(time.Second)
	if ok, _ := th.Reserve(k, now); !ok {
		t.Fatal("refused after the wait")
	}
	// Past the free tries, one at a time.
	if ok, _ := th.Reserve(k, now); ok {
		t.Fatal("a second attempt in flight past the free tries")
	}
	th.Release(k)
	th.Release(k) // one too many: ignored
	if ok, _ := th.Reserve(k, now); !ok {
		t.Fatal("refused once the attempt in flight ended")
	}
	th.Success(k)
	if th.Len() != 0 {
		t.Fatalf("Len = %d after the last attempt succeeded", th.Len())
	}
}

// TestThrottleEvictionKeepsReservations: a full Throttle does not forget a
// key with attempts in flight, or those attempts would be free.
func TestThrottleEvictionKeepsReservations(t *testing.T) {
	th := NewThrottle(2)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 5 {
		th.Reserve("a", now)
	}
	th.Failure("b", now)
	th.Failure("c", now) // evicts b, not a
	th.Failure("d", now) // evicts c
	if ok, _ := th.Reserve("a", now); ok {
		t.Fatal("a's reservations were forgotten")
	}
	if th.Len() != 2 {
		t.Fatalf("Len = %d, want 2", th.Len())
	}
	for range 5 {
		th.Release("a")
	}
	if th.Len() != 1 {
		t.Fatalf("Len = %d after a's attempts ended, want 1", th.Len())
	}
}

// guessInParallel has n clients guess at account from addr(i) at once, each
// guess taking a while to check, and returns how many were checked.
func guessInParallel(g *Guard, n int, account string, addr func(i int) string) int {
	var checked atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, _, ok := g.Begin(account, addr(i))
			if !ok {
				return
			}
			checked.Add(1)
			time.Sleep(20 * time.Millisecond) // PBKDF2
			a.Failed()
		}()
	}
	close(start)
	wg.Wait()
	return int(checked.Load())
}

// TestGuardParallelGuesses: sixteen connections guessing at once get the
// five free guesses between them, not one each before any has failed.
func TestGuardParallelGuesses(t *testing.T) {
	one := func(int) string { return "192.0.2.1" }
	if n := guessInParallel(NewGuard(100), 16, "victim@example.net", one); n != 5 {
		t.Errorf("one address: %d guesses checked, want 5", n)
	}
	many := func(i int) string { return fmt.Sprint("192.0.2.", i+1) }
	if n := guessInParallel(NewGuard(100), 16, "victim@example.net", many); n != 5 {
		t.Errorf("16 addresses: %d guesses checked, want 5", n)
	}
}

// TestGuardBurstOfGoodLogins: logins from one address beyond the free tries
// wait for those in flight instead of being refused.
func TestGuardBurstOfGoodLogins(t *testing.T) {
	g := NewGuard(100)
	var refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _, ok := g.Begin(fmt.Sprint("user", i%7, "@example.net"), "192.0.2.1")
			if !ok {
				refused.Add(1)
				return
			}
			time.Sleep(time.Millisecond)
			a.Succeeded()
		}()
	}
	wg.Wait()
	if n := refused.Load(); n != 0 {
		t.Fatalf("%d of 50 good logins refused", n)
	}
}

// TestGuardKnownAddress: an attacker who locks an account out does not lock
// out its owner, who logged in from their address before; a new address
// is held back by the account's limit, and the owner's address is known for
// 30 days.
func TestGuardKnownAddress(t *testing.T) {
	g := NewGuard(100)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	const victim, home, attacker, travel = "victim@example.net", "198.51.100.7", "203.0.113.9", "192.0.2.44"

	a, _, ok := g.Begin(victim, home)
	if !ok {
		t.Fatal("first login refused")
	}
	a.Succeeded()

	// The attacker keeps failing, waiting out each delay.
	for range 12 {
		a, wait, ok := g.Begin(victim, attacker)
		if !ok {
			now = now.Add(wait)
			if a, _, ok = g.Begin(victim, attacker); !ok {
				t.Fatal("refused after waiting as told")
			}
		}
		a.Failed()
	}
	if _, _, ok := g.Begin(victim, travel); ok {
		t.Fatal("a new address was not held back by the locked account")
	}
	a, _, ok = g.Begin(victim, home)
	if !ok {
		t.Fatal("the owner's address was locked out with the account")
	}
	a.Succeeded()
	// Its success does not reset the account's count of the attacker's
	// failures, which were not counted against it either way.
	if _, _, ok := g.Begin(victim, travel); ok {
		t.Fatal("a login from a known address forgave the attacker's failures")
	}

	// A known address failing is held back by its own limit, and its
	// failures do not add to the account's.
	for range 5 {
		a, _, ok := g.Begin(victim, home)
		if !ok {
			t.Fatal("a known address was refused before its own limit")
		}
		a.Failed()
	}
	if _, wait, ok := g.Begin(victim, home); ok || wait != time.Second {
		t.Fatalf("known address after five failures: %v, %v", ok, wait)
	}

	// Thirty days on, the address is no longer known.
	now = now.Add(guardKnownFor + time.Minute)
	fresh := NewGuard(100)
	fresh.now = g.now
	a, _, _ = fresh.Begin(victim, home)
	a.Succeeded()
	now = now.Add(guardKnownFor + time.Second)
	for range 5 {
		a, _, ok := fresh.Begin(victim, attacker)
		if ok {
			a.Failed()
		}
	}
	if _, _, ok := fresh.Begin(victim, home); ok {
		t.Fatal("an address known 30 days and a second ago still skips the account's limit")
	}
}

// TestGuardKnownBounded: the memory of known addresses keeps at most as
// many pairs as the Guard has keys, forgetting the oldest login first.
func TestGuardKnownBounded(t *testing.T) {
	g := NewGuard(2)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	for _, addr := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.3"} {
		a, _, _ := g.Begin("u@example.net", addr)
		a.Succeeded()
		now = now.Add(time.Second)
	}
	if g.known.len() != 2 {
		t.Fatalf("%d known pairs, want 2", g.known.len())
	}
	if g.known.has("u@example.net", "192.0.2.2", now) {
		t.Fatal("the least recent login was kept")
	}
	for _, addr := range []string{"192.0.2.1", "192.0.2.3"} {
		if !g.known.has("u@example.net", addr, now) {
			t.Fatalf("%s was forgotten", addr)
		}
	}
}

// TestGuardCancel: an attempt that checked no password gives its tries back.
func TestGuardCancel(t *testing.T) {
	g := NewGuard(100)
	for i := range 20 {
		a, _, ok := g.Begin("u@example.net", "192.0.2.1")
		if !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		a.Cancel()
	}
	if g.addrs.Len() != 0 || g.accounts.Len() != 0 {
		t.Fatalf("cancelled attempts left %d and %d keys", g.addrs.Len(), g.accounts.Len())
	}
	// The zero Attempt, from a refused Begin, is safe to end.
	Attempt{}.Cancel()
}
