package c2s

import (
	"strconv"

	"xmppd/internal/clientstream"
	"xmppd/internal/netio"
)

// addrState is what one address group has open: every connection counts
// against c2s_max_per_ip; only unauthenticated ones that are being served
// count against c2s_max_unauth_per_ip, and the ones over that wait.
type addrState struct {
	conns   int // waiting included
	active  int // unauthenticated and served
	waiting []waiter
}

// waiter is an accepted connection whose handshake has not started: its
// bytes stay in the kernel's socket buffer until a slot is free.
type waiter struct {
	s      netio.Socket
	ip     string
	direct bool
}

// maxRefusing bounds the refused connections being told why at once: past
// it, a flood is closed without a word rather than costing a goroutine and
// a TLS handshake each.
const maxRefusing = 64

// verdict is what admit decides for a new connection.
type verdict uint8

const (
	serve  verdict = iota // start the handshake now
	wait                  // queued behind the address's handshakes
	refuse                // over a hard cap: a stream error, then close
)

// admit counts a new connection from ip and says what to do with it. A
// refused one comes with the reason for the stream error and the log.
func (m *Module) admit(s netio.Socket, ip string, direct bool) (verdict, string) {
	cfg := m.conf()
	key := clientstream.AddrKey(ip)
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.addrs[key]
	if st == nil {
		st = &addrState{}
		m.addrs[key] = st
	}
	switch {
	case cfg.MaxPerIP > 0 && st.conns >= cfg.MaxPerIP:
		return refuse, "too many connections from your address (limit " + strconv.Itoa(cfg.MaxPerIP) + ")"
	case cfg.MaxUnauth > 0 && m.unauth >= cfg.MaxUnauth:
		return refuse, "too many connections are logging in; try again later"
	}
	st.conns++
	m.unauth++
	if st.active >= max(cfg.MaxUnauthPerIP, 1) {
		st.waiting = append(st.waiting, waiter{s: s, ip: ip, direct: direct})
		return wait, ""
	}
	st.active++
	return serve, ""
}

// authDone ends c's handshake: it no longer counts as unauthenticated, and
// the next connection waiting behind it, if any, is served.
func (m *Module) authDone(c *conn) {
	m.mu.Lock()
	next, ok := m.endHandshakeLocked(c)
	m.mu.Unlock()
	if ok {
		go m.open(next.s, next.ip, next.direct, "")
	}
}

// endHandshakeLocked takes c out of the unauthenticated counts, once, and
// hands its slot to the first waiter of its address.
func (m *Module) endHandshakeLocked(c *conn) (waiter, bool) {
	if !c.inHandshake {
		return waiter{}, false
	}
	c.inHandshake = false
	m.unauth--
	st := m.addrs[c.key]
	st.active--
	if len(st.waiting) == 0 {
		return waiter{}, false
	}
	next := st.waiting[0]
	st.waiting[0] = waiter{}
	st.waiting = st.waiting[1:]
	st.active++
	return next, true
}

// release forgets c when its connection is gone.
func (m *Module) release(c *conn) {
	m.mu.Lock()
	delete(m.conns, c)
	if c.key == "" { // refused: never counted
		m.mu.Unlock()
		m.refusing.Add(-1)
		return
	}
	next, ok := m.endHandshakeLocked(c)
	st := m.addrs[c.key]
	if st.conns--; st.conns <= 0 {
		delete(m.addrs, c.key)
	}
	m.mu.Unlock()
	if ok {
		go m.open(next.s, next.ip, next.direct, "")
	}
}

// dropWaiting closes every connection still waiting for a handshake slot.
func (m *Module) dropWaiting() {
	m.mu.Lock()
	var all []waiter
	for key, st := range m.addrs {
		all = append(all, st.waiting...)
		m.unauth -= len(st.waiting)
		st.conns -= len(st.waiting)
		st.waiting = nil
		if st.conns <= 0 {
			delete(m.addrs, key)
		}
	}
	m.mu.Unlock()
	for _, w := range all {
		w.s.Close()
	}
}
