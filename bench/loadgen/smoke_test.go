package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

// TestSmoke runs every scenario briefly against a real xmppd, to keep the
// generator working as the server changes. It asserts what a run must
// produce, never how fast: the machine is shared.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and logs in a few hundred times")
	}
	s := xmpptest.Start(t, "option c2s_plain_on_loopback '1'\n\toption c2s_max_per_ip '0'")
	const accounts = 40
	for i := range accounts {
		s.AddUser(t, "bench"+strconv.Itoa(i), "bench")
	}
	plain := opts{addr: s.StartTLS, domain: s.Domain, pass: "bench", mech: "PLAIN"}
	withTLS := plain
	withTLS.tls = true
	pid := os.Getpid() // the server runs in this process

	t.Run("idle", func(t *testing.T) {
		r, err := runIdle(idleConfig{opts: plain, user: "bench", accounts: accounts, steps: []int{20, 40}, inflight: 10, pid: pid, settle: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer r.release()
		checkCommon(t, r, "idle", "logins_per_sec", "login_p50_ms", "login_p99_ms", "steps", "rss_idle_kib", "anon_idle_kib", "bytes_per_session")
		if r.LoginsPerSec <= 0 || r.LoginP50ms <= 0 || r.LoginP99ms < r.LoginP50ms {
			t.Errorf("login figures %v/s, p50 %v, p99 %v", r.LoginsPerSec, r.LoginP50ms, r.LoginP99ms)
		}
		if len(r.Steps) != 2 || r.Steps[0].Sessions != 20 || r.Steps[1].Sessions != 40 {
			t.Fatalf("steps %+v, want sessions 20 and 40", r.Steps)
		}
		for _, st := range r.Steps {
			if st.RSSKiB <= 0 || st.AnonKiB <= 0 || st.AnonKiB > st.RSSKiB {
				t.Errorf("step %+v: memory not sampled", st)
			}
		}
		if r.RSSIdleKiB <= 0 {
			t.Errorf("idle sample %d KiB", r.RSSIdleKiB)
		}
	})

	t.Run("idle-release", func(t *testing.T) {
		var trace bytes.Buffer
		r, err := runIdle(idleConfig{opts: plain, user: "bench", accounts: accounts, steps: []int{accounts}, inflight: 10, pid: pid,
			settle: 100 * time.Millisecond, hold: 500 * time.Millisecond, every: 50 * time.Millisecond, trace: &trace})
		if err != nil {
			t.Fatal(err)
		}
		rel := r.Release
		if rel == nil || rel.Clients != accounts || r.clients != nil {
			t.Fatalf("release %+v, %d clients kept", rel, len(r.clients))
		}
		if rel.ConnectedRSSKiB <= 0 || rel.PeakLoginRSSKiB <= 0 || rel.PeakRSSKiB <= 0 || rel.EndRSSKiB <= 0 || rel.HoldSec != 0.5 {
			t.Errorf("release figures %+v", rel)
		}
		lines := strings.Split(strings.TrimSpace(trace.String()), "\n")
		if len(lines) < 10 || lines[0] != "sec\tphase\trss_kib\tanon_kib" || !strings.Contains(trace.String(), "\trelease\t") {
			t.Errorf("trace of %d lines: %.200q", len(lines), trace.String())
		}
		// Released means gone from the server, not merely sampled.
		for n := 0; ; n++ {
			if sessions, _ := s.Host(s.Domain).Count(); sessions == 0 {
				break
			}
			if n == 1000 {
				t.Fatal("sessions left after the release")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("msg", func(t *testing.T) {
		r, err := runMsg(msgConfig{opts: plain, user: "bench", pairs: 4, window: 4, duration: 2 * time.Second, warmup: 500 * time.Millisecond, inflight: 8, pid: pid})
		if err != nil {
			t.Fatal(err)
		}
		checkCommon(t, r, "msg", "pairs", "window", "messages", "msgs_per_sec", "lat_p50_ms", "lat_p99_ms", "server_cpu_per_100k_sec")
		if r.Messages <= 0 || r.MsgsPerSec <= 0 || r.LatP50ms <= 0 || r.LatP99ms < r.LatP50ms {
			t.Errorf("%d messages, %v/s, p50 %v, p99 %v", r.Messages, r.MsgsPerSec, r.LatP50ms, r.LatP99ms)
		}
		if r.ServerCPUPer100kSec <= 0 || r.LoadgenCPUSec <= 0 {
			t.Errorf("cpu: server %v per 100k, loadgen %v", r.ServerCPUPer100kSec, r.LoadgenCPUSec)
		}
	})

	t.Run("msg-carbons", func(t *testing.T) {
		r, err := runMsg(msgConfig{opts: plain, carbons: true, user: "bench", pairs: 3, window: 2, duration: time.Second, warmup: 300 * time.Millisecond, inflight: 8, pid: pid})
		if err != nil {
			t.Fatal(err)
		}
		checkCommon(t, r, "msg", "carbons", "carbons_per_sec", "carbon_lat_p99_ms", "bytes_per_message")
		// Each message makes a sent copy and a received copy; the phase's
		// edges may cut a few.
		if r.Messages <= 0 || r.Carbons < r.Messages || r.Carbons > 2*r.Messages+4*3*2 {
			t.Errorf("%d messages, %d carbons", r.Messages, r.Carbons)
		}
	})

	t.Run("hibernate", func(t *testing.T) {
		o := plain
		o.sm = true
		r, err := runIdle(idleConfig{opts: o, user: "bench", accounts: accounts, steps: []int{10, 20}, inflight: 10, pid: pid, settle: 100 * time.Millisecond, hibernate: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.release()
		checkCommon(t, r, "hibernate", "bytes_per_session", "bytes_per_session_all", "resume_tried", "resumed")
		if r.ResumeTried == 0 || r.Resumed != r.ResumeTried {
			t.Errorf("resumed %d of %d", r.Resumed, r.ResumeTried)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		r, err := runNodes(nodesConfig{opts: plain, user: "bench", nodes: 5, items: 3, window: 4, pid: pid, data: t.TempDir(), settle: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		checkCommon(t, r, "nodes", "rss_bytes_per_node", "store_bytes_per_item", "nodes_per_sec", "items_per_sec")
		if r.NodesPerSec <= 0 || r.ItemsPerSec <= 0 {
			t.Errorf("%v nodes/s, %v items/s", r.NodesPerSec, r.ItemsPerSec)
		}
	})

	logins := []struct {
		name string
		o    opts
		mech string
	}{
		{"login", plain, "PLAIN"},
		{"login-tls-scram-sha-256", withTLS, "SCRAM-SHA-256"},
		{"login-scram-sha-1", plain, "SCRAM-SHA-1"},
	}
	for _, l := range logins {
		t.Run(l.name, func(t *testing.T) {
			o := l.o
			o.mech = l.mech
			r, err := runLogin(loginConfig{opts: o, user: "bench", accounts: 10, n: 40, inflight: 8})
			if err != nil {
				t.Fatal(err)
			}
			checkCommon(t, r, "login", "logins", "logins_per_sec", "login_p50_ms", "login_p99_ms")
			if r.Logins != 40 || r.LoginsPerSec <= 0 || r.LoginP50ms <= 0 {
				t.Errorf("%d logins, %v/s, p50 %v", r.Logins, r.LoginsPerSec, r.LoginP50ms)
			}
			if r.TLS != o.tls || r.Mech != l.mech {
				t.Errorf("tls %v mech %s, want %v %s", r.TLS, r.Mech, o.tls, l.mech)
			}
		})
	}

	t.Run("pep-tls", func(t *testing.T) {
		const subs, items = 3, 20
		r, err := runPEP(pepConfig{opts: withTLS, user: "bench", subscribers: subs, items: items, window: 4, inflight: 8, pid: pid, timeout: 10 * time.Second})
		switch {
		case errors.Is(err, errNoPEP):
			// Until the server has PEP: the refusal, said as such, and
			// nothing else.
			if !strings.Contains(r.Error, "server has no PEP") {
				t.Fatalf("error %q, want the no-PEP refusal", r.Error)
			}
			b, _ := json.Marshal(r)
			if !strings.Contains(string(b), `"error":`) {
				t.Fatalf("line without the error: %s", b)
			}
			t.Log("server has no PEP yet:", r.Error)
		case err != nil:
			t.Fatal(err)
		default:
			checkCommon(t, r, "pep", "subscribers", "items", "notifications", "notifications_per_sec", "lat_p50_ms", "lat_p99_ms")
			if r.Error != "" || r.Notifications != subs*items || r.Missing != 0 || r.LatP50ms <= 0 {
				t.Errorf("error %q, %d notifications (%d missing), p50 %v; want %d", r.Error, r.Notifications, r.Missing, r.LatP50ms, subs*items)
			}
		}
	})

	t.Run("pep-plain-twice", func(t *testing.T) {
		// Setup must work again on the subscriptions the first run made.
		r, err := runPEP(pepConfig{opts: plain, user: "bench", subscribers: 3, items: 5, window: 2, inflight: 8, timeout: 10 * time.Second})
		if err != nil && !errors.Is(err, errNoPEP) {
			t.Fatal(err)
		}
		if err == nil && r.Notifications != 15 {
			t.Errorf("%d notifications, want 15", r.Notifications)
		}
	})
}

// checkCommon checks the fields every line has and the scenario's own.
func checkCommon(t *testing.T, r report, scenario string, fields ...string) {
	t.Helper()
	c := r.base()
	if c.Scenario != scenario || c.Failed != 0 || c.Error != "" {
		t.Errorf("scenario %q, failed %d, error %q", c.Scenario, c.Failed, c.Error)
	}
	if c.ElapsedSec <= 0 || c.LoadgenCPUSec < 0 || c.ServerCPUSec < 0 {
		t.Errorf("elapsed %v, cpu loadgen %v server %v", c.ElapsedSec, c.LoadgenCPUSec, c.ServerCPUSec)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range append([]string{"scenario", "tls", "mech", "failed", "loadgen_cpu_sec", "server_cpu_sec", "elapsed_sec"}, fields...) {
		if _, ok := m[f]; !ok {
			t.Errorf("line lacks %q: %s", f, b)
		}
	}
	if _, ok := m["error"]; ok {
		t.Errorf("line has an error: %s", b)
	}
}

// TestFlags checks the refusals that protect other machines and the exit
// statuses the orchestration reads.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-scenario", "idle", "-addr", "192.0.2.1:5222"},
		{"-scenario", "idle", "-addr", "example.org:5222"},
		{"-scenario", "idle", "-steps", "50,10"},
		{"-scenario", "idle", "-hold", "1s"}, // no -pid to sample
		{"-scenario", "msg", "-mech", "DIGEST-MD5"},
		{"-scenario", "nope"},
	} {
		if got := run(args); got != 2 {
			t.Errorf("run(%q) = %d, want 2", args, got)
		}
	}
	steps, err := parseSteps("1000, 5000")
	if err != nil || len(steps) != 2 || steps[0] != 1000 || steps[1] != 5000 {
		t.Errorf("parseSteps: %v, %v", steps, err)
	}
	if !isLoopback("127.0.0.1") || !isLoopback("::1") || !isLoopback("localhost") || isLoopback("10.0.0.1") {
		t.Error("isLoopback")
	}
}
