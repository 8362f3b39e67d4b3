package core_test

import (
	"fmt"
	"testing"

	"xmppd/internal/core"
)

// TestSendWithin: what a read sends to others through SendWithin waits
// for the end of that read, and each recipient is flushed once however
// often the read wrote to it, with a fan-out wide enough to need the
// index of touched sessions.
func TestSendWithin(t *testing.T) {
	srv := newServer(t)
	var o sink
	origin := bind(t, srv, "pub@localhost", "r", &o)
	const n = 100
	sinks := make([]*sink, n)
	targets := make([]*core.Session, n)
	for i := range n {
		sinks[i] = &sink{}
		targets[i] = bind(t, srv, fmt.Sprintf("sub%d@localhost", i), "r", sinks[i])
	}
	for range 3 {
		for _, s := range targets {
			s.SendWithin(origin, []byte("<message/>"))
		}
	}
	for i, k := range sinks {
		if k.bytes.Load() != 3*int64(len("<message/>")) || k.flushes.Load() != 0 {
			t.Fatalf("target %d before the read ends: %d bytes, %d flushes", i, k.bytes.Load(), k.flushes.Load())
		}
	}
	origin.FlushTouched()
	for i, k := range sinks {
		if k.flushes.Load() != 1 {
			t.Fatalf("target %d: %d flushes", i, k.flushes.Load())
		}
	}
	// Without an origin, the write goes out at once.
	targets[0].SendWithin(nil, []byte("<message/>"))
	if sinks[0].flushes.Load() != 2 {
		t.Fatalf("no origin: %d flushes", sinks[0].flushes.Load())
	}
	// The next read starts with nothing touched.
	origin.FlushTouched()
	if sinks[1].flushes.Load() != 1 {
		t.Fatal("flushed again with nothing sent")
	}
}
