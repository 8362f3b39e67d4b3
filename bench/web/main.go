// Command web measures XMPP's web transports on a loopback server: memory
// per idle WebSocket (RFC 7395) or BOSH (XEP-0124/0206) session, and chat
// messages per second through WebSocket. It speaks only what xmppd and
// Prosody both serve, so the same binary measures either.
//
//	web -transport ws   -scenario idle -url http://127.0.0.1:15280 -pid PID -accounts 2000 -steps 500,2000
//	web -transport bosh -scenario idle -url http://127.0.0.1:15280 -pid PID -accounts 2000 -steps 500,2000
//	web -transport ws   -scenario msg  -url http://127.0.0.1:15280 -pid PID -pairs 50 -window 8 -duration 10s
//
// Each run prints one JSON line on stdout; diagnostics go to stderr.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

func main() { os.Exit(run(os.Args[1:])) }

// opts is what every session needs to log in.
type opts struct {
	base, domain, user, pass string
	accounts                 int
	wait                     int // BOSH wait, seconds
	presence                 bool
	ownReader                bool // msg: the caller reads, no idle reader
	client                   *http.Client
}

func run(args []string) int {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	transport := fs.String("transport", "ws", "ws (RFC 7395) or bosh (XEP-0206)")
	scenario := fs.String("scenario", "idle", "idle (memory per session) or msg (chat messages over ws)")
	base := fs.String("url", "http://127.0.0.1:5280", "server's HTTP base URL (loopback only); /xmpp-websocket and /http-bind are appended")
	domain := fs.String("domain", "localhost", "XMPP domain")
	user := fs.String("user", "bench", "account localpart, before the account number")
	pass := fs.String("pass", "bench", "password of every account")
	accounts := fs.Int("accounts", 2000, "accounts <user>0 … <user>N-1 the sessions use")
	stepsFlag := fs.String("steps", "500,2000", "idle: ascending session counts at which to sample memory")
	inflight := fs.Int("inflight", 20, "logins in flight at once")
	pid := fs.Int("pid", 0, "server process to sample memory and CPU of")
	settle := fs.Duration("settle", 5*time.Second, "idle: wait after each step's logins before sampling memory")
	wait := fs.Int("wait", 60, "bosh: the wait attribute, seconds a held request may last")
	presence := fs.Bool("presence", true, "send initial presence and wait for it to come back")
	pairs := fs.Int("pairs", 50, "msg: pairs of sessions (accounts 2i and 2i+1)")
	window := fs.Int("window", 8, "msg: messages in flight per direction")
	duration := fs.Duration("duration", 10*time.Second, "msg: measured phase")
	warmup := fs.Duration("warmup", 2*time.Second, "msg: unmeasured phase before it")
	admin := fs.String("admin", "", "idle: xmppd's admin socket, to sample the Go heap in use beside RSS")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http") {
		return usage("-url must be http://host:port")
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return usage("only loopback addresses are allowed")
	}
	if *transport != "ws" && *transport != "bosh" {
		return usage("-transport must be ws or bosh")
	}
	steps, err := parseSteps(*stepsFlag)
	if err != nil {
		return usage(err.Error())
	}
	o := &opts{base: strings.TrimRight(*base, "/"), domain: *domain, user: *user, pass: *pass,
		accounts: *accounts, wait: *wait, presence: *presence}
	o.client = &http.Client{Transport: &http.Transport{
		MaxIdleConns: 0, MaxIdleConnsPerHost: 100000, MaxConnsPerHost: 0,
		DisableCompression: true, ForceAttemptHTTP2: false,
	}}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	r := map[string]any{"transport": *transport, "scenario": *scenario}
	switch *scenario {
	case "idle":
		if steps[len(steps)-1] > *accounts {
			return usage("the last step exceeds -accounts")
		}
		err = idle(ctx, o, *transport, steps, *inflight, *pid, *admin, *settle, r)
	case "msg":
		if *transport != "ws" {
			return usage("-scenario msg is for -transport ws")
		}
		if 2**pairs > *accounts {
			return usage("-pairs needs 2P accounts")
		}
		err = msg(ctx, o, *pairs, *window, *inflight, *pid, *warmup, *duration, r)
	default:
		return usage("-scenario must be idle or msg")
	}
	if err != nil {
		r["error"] = err.Error()
	}
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
	if err != nil {
		return 1
	}
	return 0
}

func usage(msg string) int {
	fmt.Fprintln(os.Stderr, "web:", msg)
	return 2
}

func parseSteps(s string) ([]int, error) {
	var steps []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(steps) > 0 && n <= steps[len(steps)-1]) {
			return nil, errors.New("-steps must be ascending positive counts")
		}
		steps = append(steps, n)
	}
	if len(steps) == 0 {
		return nil, errors.New("-steps is empty")
	}
	return steps, nil
}

// session is one logged-in client.
type session interface {
	jid() string
	close()
}

// openSessions logs in accounts [from, to) with inflight logins at once.
func openSessions(ctx context.Context, o *opts, transport string, from, to, inflight int, out []session) error {
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	for i := from; i < to; i++ {
		sem <- struct{}{}
		if first.Load() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			var s session
			var err error
			if transport == "ws" {
				s, err = loginWS(lctx, ctx, o, i)
			} else {
				s, err = loginBOSH(lctx, ctx, o, i)
			}
			if err != nil {
				err = fmt.Errorf("session %d: %w", i, err)
				first.CompareAndSwap(nil, &err)
				return
			}
			out[i] = s
		}(i)
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return *e
	}
	return nil
}

func closeAll(ss []session) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for _, s := range ss {
		if s == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() { defer func() { <-sem; wg.Done() }(); s.close() }()
	}
	wg.Wait()
}

// idle opens sessions up to each step, lets the server settle and samples
// its resident memory.
func idle(ctx context.Context, o *opts, transport string, steps []int, inflight, pid int, admin string, settle time.Duration, r map[string]any) error {
	ss := make([]session, steps[len(steps)-1])
	defer closeAll(ss)
	cpu0, scpu0 := selfCPU(), procCPU(pid)
	base := rssKiB(pid)
	r["rss_base_kib"] = base
	if heap0, g0 := adminHeap(admin); heap0 > 0 {
		r["heap_base_bytes"], r["goroutines_base"] = heap0, g0
	}
	type step struct {
		Sessions   int     `json:"sessions"`
		RSSKiB     int64   `json:"rss_kib"`
		HeapBytes  int64   `json:"heap_bytes,omitempty"`
		Goroutines int     `json:"goroutines,omitempty"`
		LoginSec   float64 `json:"login_sec"`
	}
	var out []step
	from := 0
	for _, n := range steps {
		t0 := time.Now()
		if err := openSessions(ctx, o, transport, from, n, inflight, ss); err != nil {
			r["steps"] = out
			return err
		}
		login := time.Since(t0).Seconds()
		select {
		case <-time.After(settle):
		case <-ctx.Done():
			return ctx.Err()
		}
		heap, g := adminHeap(admin)
		out = append(out, step{n, rssKiB(pid), heap, g, login})
		fmt.Fprintf(os.Stderr, "web: %s %d sessions: rss %d KiB\n", transport, n, out[len(out)-1].RSSKiB)
		from = n
	}
	r["steps"] = out
	last := out[len(out)-1]
	r["bytes_per_session_all"] = (last.RSSKiB - base) * 1024 / int64(last.Sessions)
	if len(out) > 1 {
		first := out[0]
		r["bytes_per_session"] = (last.RSSKiB - first.RSSKiB) * 1024 / int64(last.Sessions-first.Sessions)
		if first.HeapBytes > 0 && last.HeapBytes > 0 {
			r["heap_bytes_per_session"] = (last.HeapBytes - first.HeapBytes) / int64(last.Sessions-first.Sessions)
		}
	}
	r["settle_sec"] = settle.Seconds()
	r["tool_cpu_sec"] = selfCPU() - cpu0
	r["server_cpu_sec"] = procCPU(pid) - scpu0
	// Check the sessions are alive after the sampling: a BOSH session whose
	// held request failed, or a WebSocket that closed, is counted.
	dead := 0
	for _, s := range ss {
		if a, ok := s.(interface{ alive() bool }); ok && !a.alive() {
			dead++
		}
	}
	r["dead"] = dead
	if transport == "bosh" {
		r["held_answered"] = heldAnswered.Load()
	}
	return nil
}

// ---- WebSocket ----

type wsSession struct {
	c    *websocket.Conn
	full string
	dead atomic.Bool
}

func (s *wsSession) jid() string { return s.full }
func (s *wsSession) alive() bool { return !s.dead.Load() }
func (s *wsSession) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s.c.Write(ctx, websocket.MessageText, []byte("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"))
	s.c.Close(websocket.StatusNormalClosure, "")
}

func account(o *opts, i int) string { return o.user + strconv.Itoa(i) }

func plainAuth(o *opts, i int) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + account(o, i) + "\x00" + o.pass))
}

// loginWS logs account i in over WebSocket within lctx; the connection
// lives until life ends.
func loginWS(lctx, life context.Context, o *opts, i int) (*wsSession, error) {
	wsURL := "ws" + strings.TrimPrefix(o.base, "http") + "/xmpp-websocket"
	c, _, err := websocket.Dial(lctx, wsURL, &websocket.DialOptions{
		HTTPClient:   o.client,
		Subprotocols: []string{"xmpp"},
	})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	fail := func(err error) (*wsSession, error) {
		c.Close(websocket.StatusNormalClosure, "")
		return nil, err
	}
	send := func(s string) error { return c.Write(lctx, websocket.MessageText, []byte(s)) }
	// until reads messages until one contains want; failure markers end it.
	until := func(want string) (string, error) {
		for {
			_, b, err := c.Read(lctx)
			if err != nil {
				return "", err
			}
			m := string(b)
			if strings.Contains(m, want) {
				return m, nil
			}
			if strings.Contains(m, "<failure") || strings.Contains(m, "stream:error") || strings.Contains(m, "type='error'") || strings.Contains(m, `type="error"`) {
				return "", fmt.Errorf("server said: %.300s", m)
			}
		}
	}
	open := "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='" + o.domain + "' version='1.0'/>"
	if err := send(open); err != nil {
		return fail(err)
	}
	if _, err := until("features"); err != nil {
		return fail(err)
	}
	if err := send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plainAuth(o, i) + "</auth>"); err != nil {
		return fail(err)
	}
	if _, err := until("<success"); err != nil {
		return fail(err)
	}
	if err := send(open); err != nil {
		return fail(err)
	}
	if _, err := until("features"); err != nil {
		return fail(err)
	}
	if err := send("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>"); err != nil {
		return fail(err)
	}
	m, err := until("</jid>")
	if err != nil {
		return fail(err)
	}
	s := &wsSession{c: c, full: between(m, "<jid>", "</jid>")}
	if o.presence {
		if err := send("<presence xmlns='jabber:client'/>"); err != nil {
			return fail(err)
		}
		if _, err := until("<presence"); err != nil {
			return fail(err)
		}
	}
	if o.ownReader {
		return s, nil
	}
	// The library answers pings only while a read is open.
	go func() {
		for {
			if _, _, err := c.Read(life); err != nil {
				s.dead.Store(true)
				return
			}
		}
	}()
	return s, nil
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return ""
}

// attr returns the value of attribute name in the first tag of s.
func attr(s, name string) string {
	end := strings.IndexByte(s, '>')
	if end < 0 {
		end = len(s)
	}
	tag := s[:end]
	for _, q := range []string{"'", `"`} {
		k := " " + name + "=" + q
		if i := strings.Index(tag, k); i >= 0 {
			v := tag[i+len(k):]
			if j := strings.Index(v, q); j >= 0 {
				return v[:j]
			}
		}
	}
	return ""
}

// ---- BOSH ----

type boshSession struct {
	o    *opts
	sid  string
	rid  atomic.Int64
	full string
	dead atomic.Bool
	stop context.CancelFunc
	done chan struct{}
}

func (s *boshSession) jid() string { return s.full }
func (s *boshSession) alive() bool { return !s.dead.Load() }

func (s *boshSession) close() {
	s.stop()
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.post(ctx, "type='terminate'", "<presence xmlns='jabber:client' type='unavailable'/>")
}

// heldAnswered counts held requests the server answered during the run:
// with wait=60 and nothing to deliver it stays near 0, which shows the
// server holds them rather than answering at once.
var heldAnswered atomic.Int64

const boshNS = "xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'"

// post sends one request of the session and returns the response body.
func (s *boshSession) post(ctx context.Context, extra, payload string) (string, error) {
	rid := s.rid.Add(1)
	body := "<body " + boshNS + " rid='" + strconv.FormatInt(rid, 10) + "' sid='" + s.sid + "'"
	if extra != "" {
		body += " " + extra
	}
	if payload == "" {
		body += "/>"
	} else {
		body += ">" + payload + "</body>"
	}
	return boshPost(ctx, s.o, body)
}

func boshPost(ctx context.Context, o *opts, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", o.base+"/http-bind", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := o.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
	}
	m := string(b)
	if attr(m, "type") == "terminate" {
		return "", fmt.Errorf("session terminated: %.300s", m)
	}
	return m, nil
}

// until sends payload, then empty requests (each held until the server
// has output), until a response contains want.
func (s *boshSession) until(ctx context.Context, extra, payload, want string) (string, error) {
	m, err := s.post(ctx, extra, payload)
	for tries := 0; ; tries++ {
		if err != nil {
			return "", err
		}
		if strings.Contains(m, want) {
			return m, nil
		}
		if strings.Contains(m, "<failure") || strings.Contains(m, "stream:error") || strings.Contains(m, "type='error'") || strings.Contains(m, `type="error"`) {
			return "", fmt.Errorf("server said: %.300s", m)
		}
		if tries > 5 {
			return "", fmt.Errorf("no %q after %d requests", want, tries)
		}
		m, err = s.post(ctx, "", "")
	}
}

// loginBOSH logs account i in over BOSH within lctx, then keeps one request
// held by the server until life ends, as a real client does.
func loginBOSH(lctx, life context.Context, o *opts, i int) (*boshSession, error) {
	s := &boshSession{o: o, done: make(chan struct{})}
	rid0 := int64(1000000 + i*1000)
	s.rid.Store(rid0)
	create := fmt.Sprintf("<body %s content='text/xml; charset=utf-8' hold='1' rid='%d' to='%s' ver='1.6' wait='%d' xml:lang='en' xmpp:version='1.0'/>",
		boshNS, rid0, o.domain, o.wait)
	m, err := boshPost(lctx, o, create)
	if err != nil {
		return nil, err
	}
	s.sid = attr(m, "sid")
	if s.sid == "" {
		return nil, fmt.Errorf("no sid in %.200s", m)
	}
	if !strings.Contains(m, "mechanisms") {
		if _, err := s.until(lctx, "", "", "mechanisms"); err != nil {
			return nil, err
		}
	}
	if _, err := s.until(lctx, "", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"+plainAuth(o, i)+"</auth>", "<success"); err != nil {
		return nil, err
	}
	if _, err := s.until(lctx, "to='"+o.domain+"' xml:lang='en' xmpp:restart='true'", "", "bind"); err != nil {
		return nil, err
	}
	m, err = s.until(lctx, "", "<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>", "</jid>")
	if err != nil {
		return nil, err
	}
	s.full = between(m, "<jid>", "</jid>")
	if o.presence {
		if _, err := s.until(lctx, "", "<presence xmlns='jabber:client'/>", "<presence"); err != nil {
			return nil, err
		}
	}
	hold, stop := context.WithCancel(life)
	s.stop = stop
	// The held request: answered empty after wait seconds (or with a
	// stanza), then renewed at once.
	go func() {
		defer close(s.done)
		for hold.Err() == nil {
			_, err := s.post(hold, "", "")
			if hold.Err() == nil {
				heldAnswered.Add(1)
			}
			if err != nil && hold.Err() == nil {
				fmt.Fprintf(os.Stderr, "web: bosh %s: %v\n", s.full, err)
				s.dead.Store(true)
				return
			}
		}
	}()
	return s, nil
}

// ---- messages over WebSocket ----

// msg runs P pairs of WebSocket sessions that chat: every message received
// is answered by a new one to the sender, so each direction keeps window
// messages in flight; the id carries the send time.
func msg(ctx context.Context, o *opts, pairs, window, inflight, pid int, warmup, duration time.Duration, r map[string]any) error {
	o.presence, o.ownReader = true, true
	ss := make([]session, 2*pairs)
	defer closeAll(ss)
	if err := openSessions(ctx, o, "ws", 0, 2*pairs, inflight, ss); err != nil {
		return err
	}
	t0 := time.Now()
	var measuring atomic.Bool
	var count, errs atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	var wg sync.WaitGroup
	rctx, cancel := context.WithCancel(ctx)
	body := "<body>" + strings.Repeat("x", 64) + "</body>"
	for i := range ss {
		s := ss[i].(*wsSession)
		peer := ss[i^1].(*wsSession).full
		stanza := func() []byte {
			id := "t" + strconv.FormatInt(int64(time.Since(t0)), 10)
			return []byte("<message xmlns='jabber:client' type='chat' to='" + peer + "' id='" + id + "'>" + body + "</message>")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			defer func() { mu.Lock(); lats = append(lats, mine...); mu.Unlock() }()
			for range window {
				if s.c.Write(rctx, websocket.MessageText, stanza()) != nil {
					return
				}
			}
			for {
				b, err := s.next(rctx)
				if err != nil {
					return
				}
				m := string(b)
				if !strings.HasPrefix(m, "<message") {
					continue
				}
				if attr(m, "type") == "error" {
					errs.Add(1)
					continue
				}
				id := attr(m, "id")
				if len(id) > 1 && id[0] == 't' {
					if ns, err := strconv.ParseInt(id[1:], 10, 64); err == nil && measuring.Load() {
						mine = append(mine, time.Since(t0)-time.Duration(ns))
						count.Add(1)
					}
				}
				if s.c.Write(rctx, websocket.MessageText, stanza()) != nil {
					return
				}
			}
		}()
	}
	time.Sleep(warmup)
	cpu0, scpu0 := selfCPU(), procCPU(pid)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(duration)
	measuring.Store(false)
	el := time.Since(start).Seconds()
	n := count.Load()
	r["tool_cpu_sec"] = selfCPU() - cpu0
	r["server_cpu_sec"] = procCPU(pid) - scpu0
	cancel()
	wg.Wait()
	mu.Lock()
	slices.Sort(lats)
	mu.Unlock()
	r["pairs"], r["window"], r["messages"], r["errors"] = pairs, window, n, errs.Load()
	r["elapsed_sec"] = el
	r["msgs_per_sec"] = float64(n) / el
	if len(lats) > 0 {
		r["lat_p50_ms"] = ms(lats[len(lats)/2])
		r["lat_p99_ms"] = ms(lats[len(lats)*99/100])
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// next reads the session's next message (ownReader sessions only).
func (s *wsSession) next(ctx context.Context) ([]byte, error) {
	_, b, err := s.c.Read(ctx)
	return b, err
}

// ---- /proc ----

// adminHeap is the Go heap in use and the goroutines that xmppd's admin
// socket reports; 0 without a socket or on failure.
func adminHeap(path string) (heap int64, goroutines int) {
	if path == "" {
		return 0, 0
	}
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return 0, 0
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if json.NewEncoder(c).Encode(map[string]string{"cmd": "status"}) != nil {
		return 0, 0
	}
	var resp struct {
		Status struct {
			HeapBytes  int64 `json:"heap_bytes"`
			Goroutines int   `json:"goroutines"`
		}
	}
	if json.NewDecoder(c).Decode(&resp) != nil {
		return 0, 0
	}
	return resp.Status.HeapBytes, resp.Status.Goroutines
}

// rssKiB is VmRSS of pid, 0 without one.
func rssKiB(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for l := range bytes.SplitSeq(b, []byte("\n")) {
		if f := strings.Fields(string(l)); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// procCPU is utime+stime of pid in seconds (clock ticks of 100 Hz).
func procCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	return statCPU("/proc/" + strconv.Itoa(pid) + "/stat")
}

func selfCPU() float64 { return statCPU("/proc/self/stat") }

func statCPU(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}
