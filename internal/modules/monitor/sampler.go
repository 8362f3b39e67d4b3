package monitor

import (
	"path/filepath"
	"strconv"
	"time"
)

// NS is the namespace of the monitor's payloads; its nodes are NS + "#" +
// a group's name (docs/monitoring.md).
const NS = "urn:xmppd:monitor:0"

// Node names of the groups, one PEP node each.
const (
	NodeLoad     = NS + "#load"
	NodeMemory   = NS + "#memory"
	NodeNet      = NS + "#net"
	NodeThermal  = NS + "#thermal"
	NodeWireless = NS + "#wireless"
	NodeXMPPD    = NS + "#xmppd"
)

// group is one node's latest sample: its payload, and the values whose
// change beyond the threshold makes it publish before its interval.
type group struct {
	node    string
	payload []byte  // built anew on every sample, in place
	watch   []int64 // compared with last
	last    []int64 // watch at the last publish
	lastAt  time.Time
	ok      bool // the latest sample produced a payload
}

// due reports whether g publishes now: never published, its interval
// passed (interval 0: never for that reason alone), or a watched value moved
// more than threshold percent since the last publish.
func (g *group) due(now time.Time, interval time.Duration, threshold int64) bool {
	if !g.ok {
		return false
	}
	if g.lastAt.IsZero() || len(g.last) != len(g.watch) {
		return true
	}
	if interval > 0 && now.Sub(g.lastAt) >= interval {
		return true
	}
	for i, v := range g.watch {
		if moved(g.last[i], v, threshold) {
			return true
		}
	}
	return false
}

// published records what was published at now.
func (g *group) published(now time.Time) {
	g.last = append(g.last[:0], g.watch...)
	g.lastAt = now
}

// moved reports whether cur differs from old by more than threshold
// percent of old; from zero any change counts.
func moved(old, cur, threshold int64) bool {
	d := cur - old
	if d < 0 {
		d = -d
	}
	if old < 0 {
		old = -old
	}
	if old == 0 {
		return d != 0
	}
	return d*100 > old*threshold
}

// sampler reads the device's values. Its files stay open and its buffers
// are reused, so a sample allocates nothing once every interface has been
// seen.
type sampler struct {
	loadavg, uptime, stat, meminfo, netdev, self *source
	zones                                        []*thermalZone
	wifi                                         []*wifiIface

	cpuPrev cpuTimes
	cpuHave bool
	load    loadSample
	mem     memSample
	net     netSample
	proc    procSelf
	netAt   time.Time

	sessions func() (sessions, users int)
	groups   [6]group
}

// newSampler opens what the kernel offers under procRoot (/proc), sysRoot
// (/sys) and debugRoot (/sys/kernel/debug).
func newSampler(procRoot, sysRoot, debugRoot string, sessions func() (int, int)) *sampler {
	s := &sampler{
		loadavg:  newSource(filepath.Join(procRoot, "loadavg"), 128),
		uptime:   newSource(filepath.Join(procRoot, "uptime"), 128),
		stat:     newSource(filepath.Join(procRoot, "stat"), 4096),
		meminfo:  newSource(filepath.Join(procRoot, "meminfo"), 4096),
		netdev:   newSource(filepath.Join(procRoot, "net", "dev"), 4096),
		self:     newSource(filepath.Join(procRoot, "self", "status"), 4096),
		zones:    openThermal(filepath.Join(sysRoot, "class", "thermal")),
		wifi:     openWireless(filepath.Join(debugRoot, "ieee80211")),
		sessions: sessions,
	}
	for i, n := range []string{NodeLoad, NodeMemory, NodeNet, NodeThermal, NodeWireless, NodeXMPPD} {
		s.groups[i].node = n
		s.groups[i].payload = make([]byte, 0, 512)
	}
	return s
}

func (s *sampler) close() {
	for _, src := range []*source{s.loadavg, s.uptime, s.stat, s.meminfo, s.netdev, s.self} {
		src.close()
	}
	for _, z := range s.zones {
		z.temp.close()
	}
	for _, w := range s.wifi {
		w.dir.Close()
	}
}

// sample reads everything and rebuilds every group's payload.
func (s *sampler) sample(now time.Time) {
	s.sampleLoad()
	s.sampleMemory()
	s.sampleNet(now)
	s.sampleThermal()
	s.sampleWireless()
	s.sampleSelf()
}

// open starts a payload element in NS.
func open(b []byte, name string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, " xmlns='"...)
	b = append(b, NS...)
	return append(b, "'>"...)
}

// num appends <name>v</name>.
func num(b []byte, name string, v int64) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = strconv.AppendInt(b, v, 10)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// fixed appends <name>v/10^scale</name>, as "0.42" for 42 and scale 2.
func fixed(b []byte, name string, v int64, scale int) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	div := int64(1)
	for range scale {
		div *= 10
	}
	b = strconv.AppendInt(b, v/div, 10)
	if scale > 0 {
		b = append(b, '.')
		frac := v % div
		for d := div / 10; d > 0; d /= 10 {
			b = append(b, byte('0'+frac/d%10))
		}
	}
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

func closeTag(b []byte, name string) []byte {
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

func (s *sampler) sampleLoad() {
	g := &s.groups[0]
	g.ok = false
	b, err := s.loadavg.readOK()
	if err != nil || !parseLoadavg(b, &s.load) {
		return
	}
	if b, err := s.uptime.readOK(); err == nil {
		parseUptime(b, &s.load)
	}
	cpu := int64(-1)
	var t cpuTimes
	if b, err := s.stat.readOK(); err == nil && parseStat(b, &t) {
		if s.cpuHave {
			cpu = cpuPercent(s.cpuPrev, t)
		}
		s.cpuPrev, s.cpuHave = t, true
	}
	p := open(g.payload[:0], "load")
	p = fixed(p, "avg1", s.load.avg1, 2)
	p = fixed(p, "avg5", s.load.avg5, 2)
	p = fixed(p, "avg15", s.load.avg15, 2)
	if cpu >= 0 {
		p = fixed(p, "cpu", cpu, 1)
	}
	p = num(p, "running", int64(s.load.running))
	p = num(p, "procs", int64(s.load.procs))
	p = num(p, "uptime", int64(s.load.uptime))
	g.payload = closeTag(p, "load")
	// CPU in whole percent points against the threshold would make an idle
	// device's 0.5 % to 1 % a 100 % change; compare it in points of 10 %.
	g.watch = append(g.watch[:0], s.load.avg1, max(cpu, 0)/100)
	g.ok = true
}

func (s *sampler) sampleMemory() {
	g := &s.groups[1]
	g.ok = false
	b, err := s.meminfo.readOK()
	if err != nil || !parseMeminfo(b, &s.mem) {
		return
	}
	p := open(g.payload[:0], "memory")
	p = num(p, "total", int64(s.mem.total))
	p = num(p, "free", int64(s.mem.free))
	p = num(p, "available", int64(s.mem.available))
	p = num(p, "buffers", int64(s.mem.buffers))
	p = num(p, "cached", int64(s.mem.cached))
	p = fixed(p, "used_percent", s.mem.usedPercent(), 1)
	g.payload = closeTag(p, "memory")
	g.watch = append(g.watch[:0], int64(s.mem.available))
	g.ok = true
}

func (s *sampler) sampleNet(now time.Time) {
	g := &s.groups[2]
	g.ok = false
	b, err := s.netdev.readOK()
	var elapsed int64
	if !s.netAt.IsZero() {
		elapsed = now.Sub(s.netAt).Milliseconds()
	}
	if err != nil || !parseNetDev(b, &s.net, elapsed) {
		return
	}
	s.netAt = now
	p := open(g.payload[:0], "net")
	g.watch = g.watch[:0]
	for i := range s.net.ifaces {
		it := &s.net.ifaces[i]
		if !it.seen {
			continue
		}
		p = append(p, "<interface name='"...)
		p = appendAttr(p, it.Name())
		p = append(p, "'>"...)
		p = num(p, "rx_bytes", int64(it.rxBytes))
		p = num(p, "tx_bytes", int64(it.txBytes))
		p = num(p, "rx_packets", int64(it.rxPkts))
		p = num(p, "tx_packets", int64(it.txPkts))
		if it.hasRates {
			p = num(p, "rx_rate", int64(it.rxRate))
			p = num(p, "tx_rate", int64(it.txRate))
		}
		p = closeTag(p, "interface")
		g.watch = append(g.watch, int64(it.rxRate), int64(it.txRate))
	}
	g.payload = closeTag(p, "net")
	g.ok = true
}

func (s *sampler) sampleThermal() {
	g := &s.groups[3]
	g.ok = false
	if len(s.zones) == 0 {
		return
	}
	p := open(g.payload[:0], "thermal")
	g.watch = g.watch[:0]
	for _, z := range s.zones {
		b, err := z.temp.readOK()
		if err != nil {
			continue
		}
		if z.milli, z.ok = parseTemp(b); !z.ok {
			continue
		}
		p = append(p, "<zone name='"...)
		p = append(p, z.name...)
		p = append(p, "' type='"...)
		p = appendAttr(p, z.typ)
		p = append(p, "'>"...)
		p = fixed(p, "temp", z.milli/100, 1)
		p = closeTag(p, "zone")
		// Temperatures compare in kelvin: a percent of degrees Celsius
		// near zero would be no measure.
		g.watch = append(g.watch, z.milli+273150)
	}
	g.payload = closeTag(p, "thermal")
	g.ok = len(g.watch) > 0
}

func (s *sampler) sampleWireless() {
	g := &s.groups[4]
	g.ok = false
	if len(s.wifi) == 0 {
		return
	}
	p := open(g.payload[:0], "wireless")
	g.watch = g.watch[:0]
	for _, w := range s.wifi {
		if !w.count() {
			continue
		}
		p = append(p, "<interface name='"...)
		p = appendAttr(p, w.name)
		p = append(p, "'>"...)
		p = num(p, "clients", int64(w.clients))
		p = closeTag(p, "interface")
		g.watch = append(g.watch, int64(w.clients))
	}
	g.payload = closeTag(p, "wireless")
	g.ok = len(g.watch) > 0
}

func (s *sampler) sampleSelf() {
	g := &s.groups[5]
	g.ok = false
	p := open(g.payload[:0], "xmppd")
	sessions, users := s.sessions()
	p = num(p, "sessions", int64(sessions))
	p = num(p, "users", int64(users))
	if b, err := s.self.readOK(); err == nil && parseSelfStatus(b, &s.proc) {
		p = num(p, "rss", int64(s.proc.rss))
		p = num(p, "rss_peak", int64(s.proc.hwm))
	}
	g.payload = closeTag(p, "xmppd")
	g.watch = append(g.watch[:0], int64(sessions), int64(s.proc.rss))
	g.ok = true
}

// appendAttr appends s escaped for an attribute in single quotes.
func appendAttr[T string | []byte](b []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b = append(b, "&apos;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '&':
			b = append(b, "&amp;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}
