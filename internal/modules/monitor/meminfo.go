package monitor

// memSample is /proc/meminfo, in bytes.
type memSample struct {
	total, free, available, buffers, cached uint64
}

// parseMeminfo reads the lines it knows, "MemTotal:  123456 kB"; kernels
// before 3.14 (old OpenWrt targets) have no MemAvailable, which is then
// estimated as free + buffers + cached.
func parseMeminfo(b []byte, s *memSample) bool {
	*s = memSample{}
	hasAvail, hasTotal := false, false
	for len(b) > 0 {
		var l []byte
		l, b = line(b)
		name, rest := field(l)
		var dst *uint64
		switch string(name) {
		case "MemTotal:":
			dst, hasTotal = &s.total, true
		case "MemFree:":
			dst = &s.free
		case "MemAvailable:":
			dst, hasAvail = &s.available, true
		case "Buffers:":
			dst = &s.buffers
		case "Cached:":
			dst = &s.cached
		default:
			continue
		}
		num, rest := field(rest)
		v, ok := parseUint(num)
		if !ok {
			return false
		}
		if unit, _ := field(rest); string(unit) == "kB" {
			v <<= 10
		}
		*dst = v
	}
	if !hasAvail {
		s.available = s.free + s.buffers + s.cached
	}
	return hasTotal
}

// usedPercent is the share of memory not available, in tenths of a percent.
func (s *memSample) usedPercent() int64 {
	if s.total == 0 || s.available > s.total {
		return 0
	}
	return int64((s.total - s.available) * 1000 / s.total)
}

// procSelf is what /proc/self/status says of xmppd's own memory, in bytes.
type procSelf struct{ rss, hwm uint64 }

// parseSelfStatus reads VmRSS and VmHWM from /proc/self/status.
func parseSelfStatus(b []byte, s *procSelf) bool {
	found := 0
	for len(b) > 0 && found < 2 {
		var l []byte
		l, b = line(b)
		name, rest := field(l)
		var dst *uint64
		switch string(name) {
		case "VmRSS:":
			dst = &s.rss
		case "VmHWM:":
			dst = &s.hwm
		default:
			continue
		}
		num, _ := field(rest)
		v, ok := parseUint(num)
		if !ok {
			return false
		}
		*dst = v << 10
		found++
	}
	return found == 2
}
