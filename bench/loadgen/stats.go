package main

import (
	"bufio"
	"bytes"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// common is what every scenario reports.
type common struct {
	Scenario string `json:"scenario"`
	TLS      bool   `json:"tls"`
	Mech     string `json:"mech"`
	// Failed counts logins, stanzas or clients that went wrong; a run
	// with failures exits non-zero.
	Failed int `json:"failed"`
	// LoadgenCPUSec and ServerCPUSec cover the measured phase only.
	LoadgenCPUSec float64 `json:"loadgen_cpu_sec"`
	ServerCPUSec  float64 `json:"server_cpu_sec"`
	ElapsedSec    float64 `json:"elapsed_sec"`
	// Error says why the scenario could not run at all (PEP refused).
	Error string `json:"error,omitempty"`
}

func (c *common) base() *common { return c }

// meter measures the CPU both sides spend and the time between start and
// stop.
type meter struct {
	pid       int
	t0        time.Time
	self0     float64
	server0   float64
	elapsed   time.Duration
	selfCPU   float64
	serverCPU float64
}

func (m *meter) start(pid int) {
	m.pid = pid
	m.self0, m.server0, m.t0 = selfCPU(), procCPU(pid), time.Now()
}

func (m *meter) stop() {
	m.elapsed = time.Since(m.t0)
	m.selfCPU = selfCPU() - m.self0
	m.serverCPU = procCPU(m.pid) - m.server0
}

func (m *meter) fill(c *common) {
	c.LoadgenCPUSec = round3(m.selfCPU)
	c.ServerCPUSec = round3(m.serverCPU)
	c.ElapsedSec = round3(m.elapsed.Seconds())
}

// procMem reads VmRSS and RssAnon (KiB) of a process; 0, 0 without one.
func procMem(pid int) (rss, anon int) {
	if pid == 0 {
		return 0, 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.Atoi(fields[1])
		switch fields[0] {
		case "VmRSS:":
			rss = v
		case "RssAnon:":
			anon = v
		}
	}
	return rss, anon
}

// clkTck is USER_HZ, which Linux fixes at 100 for /proc on every
// architecture the server runs on.
const clkTck = 100

// procCPU returns a process's user+system CPU seconds from
// /proc/PID/stat, 0 without one.
func procCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(u+s) / clkTck
}

// selfCPU returns this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// rank is the index of the q-th percentile among n sorted samples, by
// nearest rank, so that p50 <= p99 even for two samples.
func rank(q float64, n int) int {
	return max(int(math.Ceil(q*float64(n)))-1, 0)
}

// percentiles returns the 50th and 99th percentile of ds in milliseconds,
// sorting ds.
func percentiles(ds []time.Duration) (p50, p99 float64) {
	if len(ds) == 0 {
		return 0, 0
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }
	return ms(ds[rank(0.5, len(ds))]), ms(ds[rank(0.99, len(ds))])
}

// perSec is n over d, rounded for printing.
func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round3(float64(n) / d.Seconds())
}

func round3(v float64) float64 {
	return float64(int64(v*1000+0.5)) / 1000
}

// hist is a latency histogram with log-linear buckets of microseconds: exact
// below 128 µs, within 1/64 above. A reader adds to its own without
// allocating, which a slice of millions of samples would not allow.
type hist struct {
	counts [histBuckets]uint32
	n      int
}

const (
	histSub     = 64 // buckets per power of two above 2*histSub µs
	histBuckets = 2*histSub + 40*histSub
)

func histIndex(us uint64) int {
	if us < 2*histSub {
		return int(us)
	}
	shift := bits.Len64(us) - 7 // us>>shift is in [64, 128)
	i := 2*histSub + (shift-1)*histSub + int(us>>shift) - histSub
	return min(i, histBuckets-1)
}

// histValue is the middle of bucket i, in microseconds.
func histValue(i int) float64 {
	if i < 2*histSub {
		return float64(i)
	}
	shift := (i-2*histSub)/histSub + 1
	low := uint64((i-2*histSub)%histSub+histSub) << shift
	return float64(low) + float64(uint64(1)<<shift)/2
}

func (h *hist) add(d time.Duration) {
	h.counts[histIndex(uint64(max(d, 0)/time.Microsecond))]++
	h.n++
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// percentile returns the q-th percentile (0 < q < 1) in milliseconds, of
// the same rank as percentiles takes from a sorted slice.
func (h *hist) percentile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	r := rank(q, h.n)
	seen := 0
	for i, c := range h.counts {
		seen += int(c)
		if seen > r {
			return round3(histValue(i) / 1000)
		}
	}
	return 0
}
