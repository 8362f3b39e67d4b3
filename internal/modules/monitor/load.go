package monitor

// loadSample is /proc/loadavg and /proc/uptime: averages in hundredths,
// uptime in whole seconds.
type loadSample struct {
	avg1, avg5, avg15 int64
	running, procs    uint64
	uptime            uint64
}

// parseLoadavg reads "0.42 0.35 0.30 1/123 4567".
func parseLoadavg(b []byte, s *loadSample) bool {
	var f []byte
	var ok1, ok5, ok15 bool
	f, b = field(b)
	s.avg1, ok1 = parseFixed(f, 2)
	f, b = field(b)
	s.avg5, ok5 = parseFixed(f, 2)
	f, b = field(b)
	s.avg15, ok15 = parseFixed(f, 2)
	f, _ = field(b)
	for i, c := range f {
		if c == '/' {
			s.running, _ = parseUint(f[:i])
			s.procs, _ = parseUint(f[i+1:])
		}
	}
	return ok1 && ok5 && ok15
}

// parseUptime reads "12345.67 2345.67", keeping whole seconds.
func parseUptime(b []byte, s *loadSample) bool {
	f, _ := field(b)
	v, ok := parseFixed(f, 0)
	s.uptime = uint64(v)
	return ok
}

// cpuTimes is the first line of /proc/stat, in clock ticks.
type cpuTimes struct{ busy, total uint64 }

// parseStat reads "cpu  user nice system idle iowait irq softirq steal ...";
// idle and iowait are idle time, the rest busy.
func parseStat(b []byte, t *cpuTimes) bool {
	l, _ := line(b)
	f, l := field(l)
	if string(f) != "cpu" {
		return false
	}
	*t = cpuTimes{}
	for i := 0; ; i++ {
		f, l = field(l)
		if len(f) == 0 {
			return i >= 4
		}
		v, ok := parseUint(f)
		if !ok {
			return false
		}
		if i >= 8 {
			break // guest and guest_nice are counted in user and nice already
		}
		t.total += v
		if i != 3 && i != 4 {
			t.busy += v
		}
	}
	return true
}

// cpuPercent is the busy share between two samples, in tenths of a
// percent; -1 when no time passed.
func cpuPercent(prev, cur cpuTimes) int64 {
	if cur.total <= prev.total || cur.busy < prev.busy {
		return -1
	}
	return int64((cur.busy - prev.busy) * 1000 / (cur.total - prev.total))
}
