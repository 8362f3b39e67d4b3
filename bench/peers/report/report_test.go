package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAddWrapsOutputAndErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	errf := filepath.Join(dir, "err")
	os.WriteFile(out, []byte("progress\n{\"scenario\":\"idle\",\"failed\":0,\"logins_per_sec\":12.5}\n"), 0o644)
	os.WriteFile(errf, nil, 0o644)
	var b bytes.Buffer
	if err := add([]string{"-server", "xmppd", "-variant", "plain", "-run", "2", "-scenario", "idle", "-exit", "0", "-out", out, "-err", errf}, &b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{`"server":"xmppd"`, `"variant":"plain"`, `"run":2`, `"logins_per_sec":12.5`} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "error") {
		t.Errorf("a clean run got an error: %s", got)
	}

	os.WriteFile(out, []byte("not json\n"), 0o644)
	os.WriteFile(errf, []byte("loadgen: dial tcp 127.0.0.1:15222: connection refused\n"), 0o644)
	b.Reset()
	add([]string{"-server", "prosody", "-variant", "plain", "-run", "1", "-scenario", "msg", "-exit", "1", "-out", out, "-err", errf}, &b)
	if got := b.String(); !strings.Contains(got, `"error":"load generator exit 1: loadgen: dial tcp`) || !strings.Contains(got, `"scenario":"msg"`) {
		t.Errorf("failed run: %s", got)
	}
}

const sample = `{"meta":{"runs":3,"accounts":10000,"cores":2,"servers":["xmppd","prosody","ejabberd"],"variants":["plain"],"idle_steps":"1000,5000","versions":{"prosody":"0.12.3"}}}
{"server":"xmppd","variant":"plain","run":1,"scenario":"idle","failed":0,"rss_idle_kib":10240,"anon_idle_kib":3072,"steps":[{"sessions":1000,"rss_kib":16384,"anon_kib":1},{"sessions":5000,"rss_kib":40960,"anon_kib":2}],"logins_per_sec":900,"loadgen_cpu_sec":1}
{"server":"xmppd","variant":"plain","run":2,"scenario":"idle","failed":0,"rss_idle_kib":11264,"anon_idle_kib":3072,"steps":[{"sessions":1000,"rss_kib":16384,"anon_kib":1},{"sessions":5000,"rss_kib":40960,"anon_kib":2}],"logins_per_sec":1000,"loadgen_cpu_sec":1}
{"server":"xmppd","variant":"plain","run":3,"scenario":"idle","failed":0,"rss_idle_kib":12288,"anon_idle_kib":3072,"steps":[{"sessions":1000,"rss_kib":16384,"anon_kib":1},{"sessions":5000,"rss_kib":40960,"anon_kib":2}],"logins_per_sec":1100,"loadgen_cpu_sec":1}
{"server":"prosody","variant":"plain","run":1,"scenario":"idle","failed":3,"rss_idle_kib":16384,"anon_idle_kib":4096,"logins_per_sec":200,"loadgen_cpu_sec":1}
{"server":"prosody","variant":"plain","run":2,"scenario":"idle","exit":1,"error":"load generator exit 1: connection refused"}
{"server":"prosody","variant":"plain","run":3,"scenario":"idle","failed":0,"rss_idle_kib":20480,"anon_idle_kib":4096,"logins_per_sec":300,"loadgen_cpu_sec":1}
{"server":"ejabberd","variant":"plain","run":1,"scenario":"idle","exit":1,"error":"server did not start"}
{"server":"xmppd","variant":"plain","run":1,"scenario":"pep","exit":3,"error":"no PEP"}
{"server":"prosody","variant":"plain","run":1,"scenario":"pep","notifications_per_sec":10000,"lat_p50_ms":30,"lat_p99_ms":80}
{"server":"xmppd","variant":"plain","run":1,"sce
`

func TestTableSurvivesFailures(t *testing.T) {
	m, recs, err := load(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	render(&b, m, recs)
	got := b.String()
	rows := map[string]string{}
	for _, l := range strings.Split(got, "\n") {
		if cells := strings.Split(l, " | "); len(cells) > 1 {
			rows[strings.TrimPrefix(cells[0], "| ")] = l
		}
	}
	want := map[string]string{
		"RSS idle, no connections (VmRSS), MiB":              "| 11.0 | 18.0 * | failed | 0.61× (better) | — |",
		"memory per idle session, (RSS@5k − RSS@1k)/4k, KiB": "| 6.1 | failed | failed | — | — |",
		"logins/s, ramp to 5,000 sessions":                   "| 1,000 | 250 * | failed | 4.0× (better) | — |",
		"PEP notifications/s":                                "| not built yet | 10,000 | not run | xmppd: not built yet | xmppd: not built yet |",
	}
	if _, ok := rows["chat msgs/s"]; ok {
		t.Error("a row for a scenario that never ran")
	}
	for label, suffix := range want {
		if !strings.HasSuffix(rows[label], suffix) {
			t.Errorf("row %q:\n got %s\nwant …%s", label, rows[label], suffix)
		}
	}
	for _, note := range []string{
		"Prosody, idle ramp, run 2: load generator exit 1: connection refused",
		"Prosody, idle ramp, run 1: 3 clients failed",
		"Prosody, idle ramp, run 1, 3: the load generator reported no steps",
		"ejabberd, idle ramp, run 1: server did not start",
		"xmppd, PEP, run 1: not built yet: no PEP",
		"median of 3 runs",
	} {
		if !strings.Contains(got, note) {
			t.Errorf("no note %q in:\n%s", note, got)
		}
	}
}

func TestRatioDirection(t *testing.T) {
	lower := metric{better: -1}
	higher := metric{better: +1}
	for _, c := range []struct {
		x, p float64
		m    metric
		want string
	}{
		{1.8, 10, lower, "0.18× (better)"},
		{34, 10, higher, "3.4× (better)"},
		{34, 10, lower, "3.4× (worse)"},
		{120, 10, higher, "12× (better)"},
		{10.1, 10, higher, "1.0× (same)"},
	} {
		if got := ratio(cell{value: c.x}, cell{value: c.p}, c.m); got != c.want {
			t.Errorf("ratio(%v, %v) = %q, want %q", c.x, c.p, got, c.want)
		}
	}
}
