package monitor

import "bytes"

// ifaceStat is one interface's counters from /proc/net/dev. The name is
// kept in a fixed array (IFNAMSIZ is 16), so a sample of known interfaces
// allocates nothing.
type ifaceStat struct {
	name     [16]byte
	nameLen  int
	rxBytes  uint64
	rxPkts   uint64
	txBytes  uint64
	txPkts   uint64
	seen     bool // present in the latest sample
	rxRate   uint64
	txRate   uint64 // bytes per second since the previous sample
	hasRates bool
}

func (s *ifaceStat) Name() []byte { return s.name[:s.nameLen] }

// netSample is every interface of /proc/net/dev, in the kernel's order.
type netSample struct{ ifaces []ifaceStat }

// find returns the entry of name, adding one for an interface not seen
// before (the only allocation, once per new interface).
func (n *netSample) find(name []byte) *ifaceStat {
	for i := range n.ifaces {
		if bytes.Equal(n.ifaces[i].Name(), name) {
			return &n.ifaces[i]
		}
	}
	var s ifaceStat
	s.nameLen = copy(s.name[:], name)
	n.ifaces = append(n.ifaces, s)
	return &n.ifaces[len(n.ifaces)-1]
}

// parseNetDev reads /proc/net/dev: two header lines, then
// "  eth0: rxbytes rxpackets errs drop fifo frame compressed multicast
// txbytes txpackets ..." per interface. With elapsedMs > 0 since the
// previous sample, an interface seen then gets byte rates; a counter that
// went back (a 32-bit wrap, a driver reset) gives no rate this time.
// Interfaces gone from the file are marked unseen.
func parseNetDev(b []byte, n *netSample, elapsedMs int64) bool {
	known := len(n.ifaces)
	for i := range n.ifaces {
		n.ifaces[i].seen = false
	}
	_, b = line(b)
	_, b = line(b)
	ok := true
	for len(b) > 0 {
		var l []byte
		l, b = line(b)
		colon := bytes.IndexByte(l, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimSpace(l[:colon])
		rest := l[colon+1:]
		var v [10]uint64
		for k := range v {
			var f []byte
			f, rest = field(rest)
			x, good := parseUint(f)
			if !good {
				ok = false
				break
			}
			v[k] = x
		}
		if !ok {
			return false
		}
		before := len(n.ifaces)
		s := n.find(name)
		fresh := len(n.ifaces) > before || known == 0
		s.hasRates = false
		if !fresh && elapsedMs > 0 && v[0] >= s.rxBytes && v[8] >= s.txBytes {
			s.rxRate = (v[0] - s.rxBytes) * 1000 / uint64(elapsedMs)
			s.txRate = (v[8] - s.txBytes) * 1000 / uint64(elapsedMs)
			s.hasRates = true
		}
		s.rxBytes, s.rxPkts, s.txBytes, s.txPkts = v[0], v[1], v[8], v[9]
		s.seen = true
	}
	return ok
}
