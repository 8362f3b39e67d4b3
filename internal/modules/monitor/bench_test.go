package monitor

import (
	"testing"
	"time"
)

// The parsers read /proc on every sample of a router that runs for months:
// in steady state (files open, interfaces known) a read allocates nothing.

func steadyCases(tb testing.TB) []struct {
	name string
	fn   func()
} {
	root := "testdata/openwrt"
	src := func(path string) *source {
		s := newSource(root+"/"+path, 64)
		if s == nil {
			tb.Fatal(path)
		}
		tb.Cleanup(s.close)
		return s
	}
	loadavg, uptime, stat, meminfo, netdev, self := src("proc/loadavg"), src("proc/uptime"),
		src("proc/stat"), src("proc/meminfo"), src("proc/net/dev"), src("proc/self/status")
	zones := openThermal(root + "/sys/class/thermal")
	wifi := openWireless(root + "/debug/ieee80211")
	var ls loadSample
	var ct cpuTimes
	var ms memSample
	var ns netSample
	var ps procSelf
	s := newSampler(root+"/proc", root+"/sys", root+"/debug", func() (int, int) { return 1, 1 })
	tb.Cleanup(s.close)
	now := time.Now()
	read := func(s *source) []byte {
		b, err := s.read()
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		fn   func()
	}{
		{"loadavg", func() { parseLoadavg(read(loadavg), &ls); parseUptime(read(uptime), &ls) }},
		{"stat", func() { parseStat(read(stat), &ct) }},
		{"meminfo", func() { parseMeminfo(read(meminfo), &ms) }},
		{"netdev", func() { parseNetDev(read(netdev), &ns, 2000) }},
		{"thermal", func() {
			for _, z := range zones {
				parseTemp(read(z.temp))
			}
		}},
		{"wireless", func() {
			for _, w := range wifi {
				w.count()
			}
		}},
		{"self", func() { parseSelfStatus(read(self), &ps) }},
		{"sample", func() { now = now.Add(2 * time.Second); s.sample(now) }},
	}
	for _, c := range cases {
		c.fn() // buffers grow to fit, interfaces are learnt: then steady
		c.fn()
	}
	return cases
}

// TestSteadyStateAllocs fails on any allocation of a steady-state read.
func TestSteadyStateAllocs(t *testing.T) {
	for _, c := range steadyCases(t) {
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %.1f allocations per read", c.name, n)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	for _, c := range steadyCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				c.fn()
			}
		})
	}
}
