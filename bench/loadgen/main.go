// Command loadgen drives an XMPP server on loopback with many clients and
// prints one JSON line per run: what the load cost the server (memory from
// /proc/PID/status, CPU from /proc/PID/stat) and what it achieved.
//
// Scenarios: idle (memory of logged-in idle sessions), msg (chat messages
// between pairs), pep (XEP-0163 notifications to subscribers), login
// (complete logins and logouts) and create (accounts through xmppd's admin
// socket). Exit status: 0 when the scenario ran, even if some clients
// failed (the line's "failed" counts them, and stderr says so); 1 when it
// could not run, with no line; 2 for bad flags; 3 when the server lacks
// what the scenario needs (the line's "error" says what).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// report is a scenario's result line.
type report interface{ base() *common }

// holder is a result that keeps clients connected until it is printed.
type holder interface{ release() }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	scenario := fs.String("scenario", "idle", "idle, msg, pep, login, mqtt (an MQTT 3.1.1 broker), nodes (pubsub memory), or create (make the accounts through -admin)")
	admin := fs.String("admin", "", "admin socket of the server, for -scenario create (and idle, nodes: heap figures)")
	accounts := fs.Int("accounts", 1, "accounts the idle and login clients cycle over: <user>0 … <user>N-1 (1: just <user>)")
	addr := fs.String("addr", "127.0.0.1:5222", "server address (loopback only)")
	domain := fs.String("domain", "localhost", "XMPP domain")
	user := fs.String("user", "bench", "account localpart, before the account number")
	pass := fs.String("pass", "bench", "password of every account")
	mech := fs.String("mech", "PLAIN", "SASL mechanism: PLAIN, SCRAM-SHA-1 or SCRAM-SHA-256")
	sm := fs.Bool("sm", false, "enable stream management with resumption (XEP-0198) after binding")
	hibernate := fs.Bool("hibernate", false, "idle: drop each step's connections without ending their streams (with -sm the sessions hibernate)")
	carbons := fs.Bool("carbons", false, "msg: every account also logs in a second resource; both enable carbons (XEP-0280) and the second counts the copies")
	useTLS := fs.Bool("tls", false, "STARTTLS before authenticating (TLS 1.2 or later, certificate not checked)")
	n := fs.Int("n", 1000, "idle: clients (one step); login: logins")
	stepsFlag := fs.String("steps", "", "idle: ascending session counts at which to sample memory, e.g. 1000,5000 (default: -n)")
	inflight := fs.Int("inflight", 50, "logins in flight at once")
	pid := fs.Int("pid", 0, "server process to sample memory and CPU of")
	settle := fs.Duration("settle", 3*time.Second, "idle: wait after each step's logins before sampling")
	hold := fs.Duration("hold", 0, "idle: after the last step, release every client at once and sample the server's memory for this long (needs -pid)")
	every := fs.Duration("every", 250*time.Millisecond, "idle with -hold: sampling interval, from the first login on")
	trace := fs.String("trace", "", "idle with -hold: write every memory sample to this file (tab-separated)")
	pairs := fs.Int("pairs", 50, "msg: pairs of clients (accounts <user>0 … <user>2P-1)")
	window := fs.Int("window", 8, "msg: messages in flight per direction; pep: publishes in flight; mqtt: publishes between PINGREQ round trips (0: all at once); nodes: requests in flight")
	duration := fs.Duration("duration", 10*time.Second, "msg: measured phase")
	warmup := fs.Duration("warmup", 2*time.Second, "msg: unmeasured phase before it")
	subscribers := fs.Int("subscribers", 50, "pep, mqtt: subscribers (accounts <user>1 … <user>S; <user>0 publishes)")
	items := fs.Int("items", 1000, "pep, mqtt: items to publish; nodes: items per node")
	pepTimeout := fs.Duration("pep-timeout", 30*time.Second, "pep, mqtt: wait for the notifications after the first publish")
	nodes := fs.Int("nodes", 1000, "nodes: pubsub nodes to create on pubsub.<domain>")
	dataDir := fs.String("data", "", "nodes: the server's data directory, whose size is sampled")
	cpuProfile := fs.String("cpuprofile", "", "write the generator's own CPU profile to this file, to check that it is not the bottleneck")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			return 2
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	usage := func(msg string) int {
		fmt.Fprintln(os.Stderr, "loadgen:", msg)
		return 2
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || !isLoopback(host) {
		return usage("only loopback addresses are allowed")
	}
	switch *mech {
	case "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256":
	default:
		return usage("-mech must be PLAIN, SCRAM-SHA-1 or SCRAM-SHA-256")
	}
	if *inflight < 1 || *accounts < 1 || *window < 0 || (*window == 0 && *scenario != "mqtt") {
		return usage("-inflight, -window and -accounts must be at least 1 (-window 0 only for mqtt)")
	}
	o := opts{addr: *addr, domain: *domain, pass: *pass, mech: *mech, tls: *useTLS, sm: *sm}

	var r report
	var err error
	switch *scenario {
	case "idle":
		steps := []int{*n}
		if *stepsFlag != "" {
			if steps, err = parseSteps(*stepsFlag); err != nil {
				return usage(err.Error())
			}
		}
		if *hold > 0 && (*pid == 0 || *every <= 0) {
			return usage("-hold needs -pid and a positive -every")
		}
		cfg := idleConfig{opts: o, user: *user, accounts: *accounts, steps: steps, inflight: *inflight, pid: *pid, settle: *settle, hold: *hold, every: *every, hibernate: *hibernate, admin: *admin}
		if *trace != "" {
			f, err := os.Create(*trace)
			if err != nil {
				fmt.Fprintln(os.Stderr, "loadgen:", err)
				return 1
			}
			defer f.Close()
			cfg.trace = f
		}
		r, err = runIdle(cfg)
	case "msg":
		if *pairs < 1 {
			return usage("-pairs must be at least 1")
		}
		r, err = runMsg(msgConfig{opts: o, carbons: *carbons, user: *user, pairs: *pairs, window: *window, duration: *duration, warmup: *warmup, inflight: *inflight, pid: *pid})
	case "pep":
		if *subscribers < 1 || *items < 1 {
			return usage("-subscribers and -items must be at least 1")
		}
		r, err = runPEP(pepConfig{opts: o, user: *user, subscribers: *subscribers, items: *items, window: *window, inflight: *inflight, pid: *pid, timeout: *pepTimeout})
	case "login":
		if *n < 1 {
			return usage("-n must be at least 1")
		}
		r, err = runLogin(loginConfig{opts: o, user: *user, accounts: *accounts, n: *n, inflight: *inflight, pid: *pid})
	case "mqtt":
		if *subscribers < 1 || *items < 1 {
			return usage("-subscribers and -items must be at least 1")
		}
		r, err = runMQTT(mqttConfig{addr: *addr, subscribers: *subscribers, messages: *items, window: *window, inflight: *inflight, pid: *pid, timeout: *pepTimeout})
	case "nodes":
		if *nodes < 1 || *items < 0 {
			return usage("-nodes must be at least 1")
		}
		r, err = runNodes(nodesConfig{opts: o, user: *user, nodes: *nodes, items: *items, window: *window, pid: *pid, admin: *admin, data: *dataDir, settle: *settle})
	case "create":
		return create(*admin, *domain, *user, *pass, *accounts)
	default:
		return usage("unknown scenario " + *scenario)
	}
	return finish(r, err)
}

// finish prints the line and picks the exit status.
func finish(r report, err error) int {
	if err != nil && !errors.Is(err, errNoPEP) {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 1
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	if h, ok := r.(holder); ok {
		h.release()
	}
	switch c := r.base(); {
	case errors.Is(err, errNoPEP):
		fmt.Fprintln(os.Stderr, "loadgen:", c.Error)
		return exitNotBuilt
	case c.Failed > 0:
		fmt.Fprintf(os.Stderr, "loadgen: %s: %d failed; the figures cover the rest\n", c.Scenario, c.Failed)
	}
	return 0
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseSteps reads "1000,5000".
func parseSteps(s string) ([]int, error) {
	var steps []int
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 || (len(steps) > 0 && v <= steps[len(steps)-1]) {
			return nil, fmt.Errorf("-steps %q: want ascending positive counts separated by commas", s)
		}
		steps = append(steps, v)
	}
	return steps, nil
}

// create makes the benchmark accounts through the daemon's admin socket,
// one connection, one request per line.
func create(path, domain, user, pass string, accounts int) int {
	c, err := net.Dial("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: admin socket:", err)
		return 1
	}
	defer c.Close()
	enc, dec := json.NewEncoder(c), json.NewDecoder(c)
	start := time.Now()
	for i := range accounts {
		req := map[string]string{"cmd": "user-add", "jid": account(user, i, accounts) + "@" + domain, "password": pass}
		var resp struct{ Error string }
		if err := enc.Encode(req); err != nil || dec.Decode(&resp) != nil {
			fmt.Fprintln(os.Stderr, "loadgen: admin socket failed")
			return 1
		}
		if resp.Error != "" && !strings.Contains(resp.Error, "exists") {
			fmt.Fprintln(os.Stderr, "loadgen:", resp.Error)
			return 1
		}
	}
	fmt.Printf("{\"scenario\":\"create\",\"accounts\":%d,\"seconds\":%.1f}\n", accounts, time.Since(start).Seconds())
	return 0
}
