package sasl

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	th := NewThrottle(100)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	allow := func(want bool, wantWait time.Duration) {
		t.Helper()
		ok, wait := th.Allow("ip:192.0.2.1", now)
		if ok != want || wait != wantWait {
			t.Fatalf("Allow = %v, %v; want %v, %v", ok, wait, want, wantWait)
		}
	}
	for range 4 {
		allow(true, 0)
		th.Failure("ip:192.0.2.1", now)
	}
	// The fifth failure starts the delays: 1 s, 2 s, 4 s, ...
	allow(true, 0)
	waits := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300}
	for _, w := range waits {
		th.Failure("ip:192.0.2.1", now)
		allow(false, w*time.Second)
		now = now.Add(w*time.Second - time.Millisecond)
		allow(false, time.Millisecond)
		now = now.Add(time.Millisecond)
		allow(true, 0)
	}
	// Many more failures do not overflow the shift.
	for range 100 {
		th.Failure("ip:192.0.2.1", now)
	}
	allow(false, 300*time.Second)

	// Other keys are independent.
	if ok, _ := th.Allow("user:juliet", now); !ok {
		t.Fatal("an untouched key is throttled")
	}

	// Success forgets.
	th.Success("ip:192.0.2.1")
	allow(true, 0)
	for range 4 {
		th.Failure("ip:192.0.2.1", now)
	}
	allow(true, 0)
	th.Failure("ip:192.0.2.1", now)
	allow(false, time.Second)

	// So does a quiet quarter hour.
	now = now.Add(15*time.Minute + time.Second)
	allow(true, 0)
	th.Failure("ip:192.0.2.1", now)
	allow(true, 0)
}

func TestThrottleBounded(t *testing.T) {
	th := NewThrottle(3)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fail := func(key string, n int) {
		for range n {
			th.Failure(key, now)
		}
		now = now.Add(time.Millisecond)
	}
	fail("a", 6)
	fail("b", 6)
	fail("c", 6)
	fail("a", 1) // a is now the most recent failure, b the least
	fail("d", 1)
	if th.Len() != 3 {
		t.Fatalf("Len = %d, want 3", th.Len())
	}
	if ok, _ := th.Allow("b", now); !ok {
		t.Fatal("b should have been forgotten")
	}
	for _, k := range []string{"a", "c"} {
		if ok, _ := th.Allow(k, now); ok {
			t.Fatalf("%s should still be throttled", k)
		}
	}
	for i := range 1000 {
		fail(fmt.Sprint("k", i), 1)
	}
	if th.Len() != 3 {
		t.Fatalf("Len = %d after 1000 keys, want 3", th.Len())
	}
	// Removing down to empty and filling again keeps the list sound.
	for i := 997; i < 1000; i++ {
		th.Success(fmt.Sprint("k", i))
	}
	if th.Len() != 0 || th.head != nil || th.tail != nil {
		t.Fatalf("after removing all: Len %d, head %v, tail %v", th.Len(), th.head, th.tail)
	}
	fail("x", 6)
	if ok, _ := th.Allow("x", now); ok {
		t.Fatal("x should be throttled")
	}
	if NewThrottle(0).max != 1 {
		t.Fatal("NewThrottle(0) does not hold one key")
	}
}
