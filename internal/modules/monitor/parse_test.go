package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixed(t *testing.T) {
	for _, c := range []struct {
		in    string
		scale int
		want  int64
		ok    bool
	}{
		{"0.42", 2, 42, true},
		{"12.5", 2, 1250, true},
		{"3", 2, 300, true},
		{"358213.47", 0, 358213, true},
		{"1.239", 2, 123, true},
		{"", 2, 0, false},
		{"1.2.3", 2, 0, false},
		{"x", 2, 0, false},
	} {
		got, ok := parseFixed([]byte(c.in), c.scale)
		if got != c.want || ok != c.ok {
			t.Errorf("parseFixed(%q, %d) = %d, %v; want %d, %v", c.in, c.scale, got, ok, c.want, c.ok)
		}
	}
}

func TestParseLoadavg(t *testing.T) {
	for _, c := range []struct {
		in   string
		want loadSample
		ok   bool
	}{
		{string(readTestdata(t, "openwrt/proc/loadavg")), loadSample{avg1: 42, avg5: 31, avg15: 18, running: 2, procs: 97}, true},
		{"13.95 12.91 10.23 20/179 20459\n", loadSample{avg1: 1395, avg5: 1291, avg15: 1023, running: 20, procs: 179}, true},
		{"0.00 0.00", loadSample{}, false},
		{"", loadSample{}, false},
	} {
		var s loadSample
		ok := parseLoadavg([]byte(c.in), &s)
		if ok != c.ok || (ok && s != c.want) {
			t.Errorf("parseLoadavg(%q) = %+v, %v; want %+v, %v", c.in, s, ok, c.want, c.ok)
		}
	}
	var s loadSample
	if !parseUptime(readTestdata(t, "openwrt/proc/uptime"), &s) || s.uptime != 358213 {
		t.Errorf("uptime %d", s.uptime)
	}
}

func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		in   string
		want cpuTimes
		ok   bool
	}{
		// busy: user+nice+system+irq+softirq+steal; idle and iowait not.
		{string(readTestdata(t, "openwrt/proc/stat")), cpuTimes{busy: 1840331 + 652847 + 389112, total: 1840331 + 652847 + 132971210 + 10284 + 389112}, true},
		{"cpu  10 0 10 70 10 0 0 0 0 0\n", cpuTimes{busy: 20, total: 100}, true},
		{"cpu  10 0 10 70 10 0 0 0 5 5\n", cpuTimes{busy: 20, total: 100}, true}, // guest is in user already
		{"cpu0 1 2 3 4\n", cpuTimes{}, false},
		{"cpu  1 x 3 4\n", cpuTimes{}, false},
	} {
		var got cpuTimes
		ok := parseStat([]byte(c.in), &got)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if p := cpuPercent(cpuTimes{busy: 20, total: 100}, cpuTimes{busy: 45, total: 200}); p != 250 {
		t.Errorf("cpuPercent = %d, want 250 (25.0 %%)", p)
	}
	if p := cpuPercent(cpuTimes{busy: 20, total: 100}, cpuTimes{busy: 20, total: 100}); p != -1 {
		t.Errorf("cpuPercent with no time = %d", p)
	}
}

func TestParseMeminfo(t *testing.T) {
	for _, c := range []struct {
		file string
		want memSample
		used int64
	}{
		{"openwrt/proc/meminfo", memSample{total: 499180 << 10, free: 301952 << 10, available: 312480 << 10, buffers: 4096 << 10, cached: 48212 << 10}, 374},
		// Before Linux 3.14 there is no MemAvailable: free + buffers + cached.
		{"oldkernel/meminfo", memSample{total: 61348 << 10, free: 17232 << 10, available: (17232 + 2440 + 14288) << 10, buffers: 2440 << 10, cached: 14288 << 10}, 446},
	} {
		var s memSample
		if !parseMeminfo(readTestdata(t, c.file), &s) || s != c.want || s.usedPercent() != c.used {
			t.Errorf("%s: %+v (used %d); want %+v (used %d)", c.file, s, s.usedPercent(), c.want, c.used)
		}
	}
	var s memSample
	if parseMeminfo([]byte("MemFree: 12 kB\n"), &s) {
		t.Error("meminfo without MemTotal accepted")
	}
	if parseMeminfo([]byte("MemTotal: x kB\n"), &s) {
		t.Error("meminfo with a bad number accepted")
	}
}

func TestParseSelfStatus(t *testing.T) {
	var p procSelf
	if !parseSelfStatus(readTestdata(t, "openwrt/proc/self/status"), &p) || p.rss != 12844<<10 || p.hwm != 14212<<10 {
		t.Errorf("%+v", p)
	}
}

func TestParseNetDev(t *testing.T) {
	var n netSample
	if !parseNetDev(readTestdata(t, "openwrt/proc/net/dev"), &n, 0) {
		t.Fatal("not parsed")
	}
	want := []struct {
		name             string
		rx, rxp, tx, txp uint64
	}{
		{"lo", 1841220, 16312, 1841220, 16312},
		{"eth0", 18446203944, 21530744, 3411874113, 12403917},
		{"lan1", 1276409921, 5101273, 12804412330, 9931208},
		{"lan2", 0, 0, 0, 0},
		{"wan", 12701844177, 11318024, 1303992818, 4975611},
		{"br-lan", 1190311804, 4934112, 13904433017, 10714382},
		{"wlan0", 512994410, 1988344, 2207739117, 2431101},
		{"wlan1", 88201117, 409331, 401992004, 512012},
	}
	if len(n.ifaces) != len(want) {
		t.Fatalf("%d interfaces, want %d", len(n.ifaces), len(want))
	}
	for i, w := range want {
		g := n.ifaces[i]
		if string(g.Name()) != w.name || g.rxBytes != w.rx || g.rxPkts != w.rxp || g.txBytes != w.tx || g.txPkts != w.txp || g.hasRates || !g.seen {
			t.Errorf("%d: %s %+v, want %+v", i, g.Name(), g, w)
		}
	}
	// A second sample two seconds later: rates; wlan1 gone, a counter reset on wan.
	next := strings.NewReplacer(
		"br-lan: 1190311804", "br-lan: 1190511804",
		"13904433017", "13905433017",
		"   wan: 12701844177", "   wan: 100",
	).Replace(string(readTestdata(t, "openwrt/proc/net/dev")))
	next = next[:strings.Index(next, " wlan1:")]
	if !parseNetDev([]byte(next), &n, 2000) {
		t.Fatal("second sample not parsed")
	}
	br := n.ifaces[5]
	if !br.hasRates || br.rxRate != 100000 || br.txRate != 500000 {
		t.Errorf("br-lan rates %+v", br)
	}
	if n.ifaces[4].hasRates {
		t.Error("wan has a rate after its counter went back")
	}
	if n.ifaces[7].seen {
		t.Error("wlan1 seen after it went away")
	}
	if parseNetDev([]byte("h\nh\n  eth0: 1 2 x\n"), &n, 0) {
		t.Error("bad line accepted")
	}
}

func TestThermal(t *testing.T) {
	zones := openThermal("testdata/openwrt/sys/class/thermal")
	if len(zones) != 2 || zones[0].typ != "cpu-thermal" || zones[1].typ != "mt7915-phy0" {
		t.Fatalf("zones %+v", zones)
	}
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{{"48312\n", 48312, true}, {"-5000\n", -5000, true}, {"\n", 0, false}, {"4x\n", 0, false}} {
		got, ok := parseTemp([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseTemp(%q) = %d, %v", c.in, got, ok)
		}
	}
	if len(openThermal("testdata/none")) != 0 {
		t.Error("zones where there are none")
	}
}

func TestWireless(t *testing.T) {
	w := openWireless("testdata/openwrt/debug/ieee80211")
	if len(w) != 2 || w[0].name != "wlan0" || w[1].name != "wlan1" {
		t.Fatalf("%+v", w)
	}
	for i, want := range []int{3, 1} {
		if !w[i].count() || w[i].clients != want {
			t.Errorf("%s: %d clients, want %d", w[i].name, w[i].clients, want)
		}
	}
}

// TestSampleOpenWrt reads the whole recorded router and checks the
// payloads the nodes get.
func TestSampleOpenWrt(t *testing.T) {
	root := "testdata/openwrt"
	s := newSampler(root+"/proc", root+"/sys", root+"/debug", func() (int, int) { return 3, 2 })
	defer s.close()
	now := time.Now()
	s.sample(now)
	s.sample(now.Add(2 * time.Second)) // rates and CPU need two samples
	want := map[string][]string{
		NodeLoad:     {"<load xmlns='" + NS + "'><avg1>0.42</avg1><avg5>0.31</avg5><avg15>0.18</avg15>", "<uptime>358213</uptime>"},
		NodeMemory:   {"<total>511160320</total>", "<available>319979520</available>", "<used_percent>37.4</used_percent>"},
		NodeNet:      {"<interface name='br-lan'><rx_bytes>1190311804</rx_bytes>", "<rx_rate>0</rx_rate>", "<interface name='wlan0'>"},
		NodeThermal:  {"<zone name='thermal_zone0' type='cpu-thermal'><temp>48.3</temp></zone>", "type='mt7915-phy0'><temp>52.1</temp>"},
		NodeWireless: {"<interface name='wlan0'><clients>3</clients></interface><interface name='wlan1'><clients>1</clients></interface>"},
		NodeXMPPD:    {"<sessions>3</sessions><users>2</users><rss>13152256</rss>"},
	}
	for i := range s.groups {
		g := &s.groups[i]
		if !g.ok {
			t.Errorf("%s: no payload", g.node)
			continue
		}
		for _, w := range want[g.node] {
			if !strings.Contains(string(g.payload), w) {
				t.Errorf("%s: %s\nwants %s", g.node, g.payload, w)
			}
		}
	}
}

func TestDue(t *testing.T) {
	now := time.Now()
	g := group{ok: true, watch: []int64{100}}
	if !g.due(now, time.Minute, 5) {
		t.Fatal("never published, not due")
	}
	g.published(now)
	for _, c := range []struct {
		v     int64
		after time.Duration
		want  bool
	}{
		{104, time.Second, false}, // within 5 %
		{106, time.Second, true},  // beyond
		{94, time.Second, true},
		{100, time.Minute, true}, // the interval
	} {
		g.watch[0] = c.v
		if got := g.due(now.Add(c.after), time.Minute, 5); got != c.want {
			t.Errorf("%d after %s: due %v", c.v, c.after, got)
		}
	}
	g.watch[0] = 100
	if g.due(now.Add(time.Hour), 0, 5) {
		t.Error("interval 0 publishes an unchanged value")
	}
}
