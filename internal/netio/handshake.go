package netio

import (
	"runtime"
	"sync"
)

// TLS handshakes block on their peer, for up to Config.HandshakeTimeout,
// so they run on goroutines of their own rather than on the workers, where
// a few slow peers would stop every connection. Each one in flight holds a
// grown stack and crypto/tls's handshake state, tens of kilobytes, so the
// gate lets only so many run at once: when a thousand clients reconnect
// with STARTTLS together, the rest wait on a list, holding no goroutine,
// until a slot frees. A client waiting there is still under its
// protocol's own timeouts, which close it.

// handshakesPerCPU bounds the handshakes in flight per CPU. A handshake
// takes about a millisecond of CPU and several round trips of waiting on
// the peer, so many must overlap to keep a CPU busy.
const handshakesPerCPU = 16

// gate bounds the TLS handshakes in flight on one Poller.
type gate struct {
	slots chan struct{} // one token per handshake in flight
	// mu guards waiting, the STARTTLS connections in line for a slot, and
	// orders taking a slot against handing one over, so that none is left
	// waiting while a slot is free.
	mu      sync.Mutex
	waiting []*Conn
}

func newGate(n int) *gate { return &gate{slots: make(chan struct{}, n)} }

// enter waits for a slot on the calling goroutine (a direct TLS handshake
// runs on the goroutine that attaches the connection); leave gives it back.
func (g *gate) enter() { g.slots <- struct{}{} }

func (g *gate) leave() {
	if c := g.pass(); c != nil {
		go g.run(c)
	}
}

// start runs c's STARTTLS handshake now if a slot is free, else once one
// frees.
func (g *gate) start(c *Conn) {
	g.mu.Lock()
	select {
	case g.slots <- struct{}{}:
		g.mu.Unlock()
		go g.run(c)
	default:
		g.waiting = append(g.waiting, c)
		g.mu.Unlock()
	}
}

// run upgrades c, then whoever waits, on one goroutine and one slot.
func (g *gate) run(c *Conn) {
	for c != nil {
		c.upgrade()
		c = g.pass()
	}
}

// pass hands the caller's slot to the first waiting connection, or frees
// it when none waits.
func (g *gate) pass() *Conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		g.waiting = nil // the line of a burst goes with it
		<-g.slots
		return nil
	}
	c := g.waiting[0]
	g.waiting[0] = nil
	g.waiting = g.waiting[1:]
	return c
}

// handshakeBound is the default number of handshakes a Poller runs at once.
func handshakeBound() int { return handshakesPerCPU * runtime.GOMAXPROCS(0) }
