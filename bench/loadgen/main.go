// Command loadgen drives an XMPP server on loopback with many clients and
// reports one JSON line per scenario: what the load cost the server
// (memory from /proc/PID/status) and what it achieved.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	scenario := flag.String("scenario", "idle", "idle (N logged-in clients held while memory is sampled), or create (make the accounts through -admin)")
	admin := flag.String("admin", "", "admin socket of the server, for -scenario create")
	accounts := flag.Int("accounts", 1, "accounts the clients spread over: <user>0 … <user>N-1 (1: just <user>)")
	addr := flag.String("addr", "127.0.0.1:5222", "server address (loopback only)")
	domain := flag.String("domain", "localhost", "XMPP domain")
	user := flag.String("user", "bench", "account localpart (one account, a resource per client)")
	pass := flag.String("pass", "bench", "password")
	mech := flag.String("mech", "PLAIN", "SASL mechanism: PLAIN or SCRAM-SHA-256")
	useTLS := flag.Bool("tls", false, "STARTTLS before authenticating")
	n := flag.Int("n", 1000, "clients")
	inflight := flag.Int("inflight", 50, "logins in flight at once")
	pid := flag.Int("pid", 0, "server process to sample memory of")
	settle := flag.Duration("settle", 3*time.Second, "wait after the logins before sampling")
	flag.Parse()
	if !strings.HasPrefix(*addr, "127.") && !strings.HasPrefix(*addr, "localhost:") && !strings.HasPrefix(*addr, "[::1]:") {
		fmt.Fprintln(os.Stderr, "loadgen: only loopback addresses are allowed")
		os.Exit(2)
	}
	switch *scenario {
	case "idle":
		idle(*addr, *domain, *user, *pass, *mech, *useTLS, *n, *accounts, *inflight, *pid, *settle)
	case "create":
		create(*admin, *domain, *user, *pass, *accounts)
	default:
		fmt.Fprintln(os.Stderr, "loadgen: unknown scenario", *scenario)
		os.Exit(2)
	}
}

type result struct {
	Scenario      string  `json:"scenario"`
	Clients       int     `json:"clients"`
	TLS           bool    `json:"tls"`
	Failed        int     `json:"failed"`
	LoginsPerSec  float64 `json:"logins_per_sec"`
	LoginP50ms    float64 `json:"login_p50_ms"`
	LoginP99ms    float64 `json:"login_p99_ms"`
	RSSBeforeKiB  int     `json:"server_rss_before_kib,omitempty"`
	RSSAfterKiB   int     `json:"server_rss_after_kib,omitempty"`
	AnonBeforeKiB int     `json:"server_anon_before_kib,omitempty"`
	AnonAfterKiB  int     `json:"server_anon_after_kib,omitempty"`
	PerSessionB   int     `json:"server_bytes_per_session,omitempty"`
	LoadgenCPUSec float64 `json:"loadgen_cpu_sec"`
}

// account names client i's account.
func account(user string, i, accounts int) string {
	if accounts <= 1 {
		return user
	}
	return user + strconv.Itoa(i%accounts)
}

// create makes the benchmark accounts through the daemon's admin socket,
// one connection, one request per line.
func create(path, domain, user, pass string, accounts int) {
	c, err := net.Dial("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: admin socket:", err)
		os.Exit(1)
	}
	defer c.Close()
	enc, dec := json.NewEncoder(c), json.NewDecoder(c)
	start := time.Now()
	for i := range accounts {
		req := map[string]string{"cmd": "user-add", "jid": account(user, i, accounts) + "@" + domain, "password": pass}
		var resp struct{ Error string }
		if err := enc.Encode(req); err != nil || dec.Decode(&resp) != nil {
			fmt.Fprintln(os.Stderr, "loadgen: admin socket failed")
			os.Exit(1)
		}
		if resp.Error != "" && !strings.Contains(resp.Error, "exists") {
			fmt.Fprintln(os.Stderr, "loadgen:", resp.Error)
			os.Exit(1)
		}
	}
	fmt.Printf("{\"scenario\":\"create\",\"accounts\":%d,\"seconds\":%.1f}\n", accounts, time.Since(start).Seconds())
}

func idle(addr, domain, user, pass, mech string, useTLS bool, n, accounts, inflight, pid int, settle time.Duration) {
	r := result{Scenario: "idle", Clients: n, TLS: useTLS}
	r.RSSBeforeKiB, r.AnonBeforeKiB = procMem(pid)
	clients := make([]*client, n)
	lat := make([]time.Duration, n)
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := time.Now()
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			c, err := login(addr, domain, account(user, i, accounts), pass, "r"+strconv.Itoa(i), mech, useTLS)
			lat[i] = time.Since(t0)
			if err != nil {
				mu.Lock()
				r.Failed++
				if r.Failed <= 3 {
					fmt.Fprintln(os.Stderr, "loadgen: login:", err)
				}
				mu.Unlock()
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r.LoginsPerSec = float64(n-r.Failed) / elapsed.Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r.LoginP50ms = float64(lat[n/2].Microseconds()) / 1000
	r.LoginP99ms = float64(lat[n*99/100].Microseconds()) / 1000
	time.Sleep(settle)
	r.RSSAfterKiB, r.AnonAfterKiB = procMem(pid)
	if pid != 0 && n > r.Failed {
		r.PerSessionB = (r.RSSAfterKiB - r.RSSBeforeKiB) * 1024 / (n - r.Failed)
	}
	r.LoadgenCPUSec = cpuSeconds()
	json.NewEncoder(os.Stdout).Encode(r)
	for _, c := range clients {
		if c != nil {
			c.c.Close()
		}
	}
	runtime.KeepAlive(clients)
}

// procMem reads VmRSS and RssAnon (KiB) of a process.
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

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
