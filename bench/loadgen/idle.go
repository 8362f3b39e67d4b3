package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// idleConfig configures the idle ramp.
type idleConfig struct {
	opts
	user     string
	accounts int
	steps    []int // ascending session counts at which memory is sampled
	inflight int
	pid      int
	settle   time.Duration
	// hold > 0 releases every client at once after the last step and
	// keeps sampling the server's memory for that long.
	hold  time.Duration
	every time.Duration // sampling interval while logging in and after the release
	trace io.Writer     // every sample as a line, or nil
	// hibernate drops each step's connections once logged in, without
	// ending their streams, as a phone losing its network does: with
	// opts.sm the server keeps the sessions for resumption, and the steps
	// sample the memory of hibernated sessions.
	hibernate bool
	// admin is xmppd's admin socket: each step also samples the Go heap.
	admin string
}

// idleStep is the server's memory with sessions clients logged in.
type idleStep struct {
	Sessions  int   `json:"sessions"`
	RSSKiB    int   `json:"rss_kib"`
	AnonKiB   int   `json:"anon_kib"`
	HeapBytes int64 `json:"heap_bytes,omitempty"`
}

// idleResult is the idle scenario's line. The measured phase runs from the
// first login to the last sample, settle waits included; logins_per_sec
// counts only the time spent logging in.
type idleResult struct {
	common
	LoginsPerSec    float64    `json:"logins_per_sec"`
	LoginP50ms      float64    `json:"login_p50_ms"`
	LoginP99ms      float64    `json:"login_p99_ms"`
	Steps           []idleStep `json:"steps"`
	RSSIdleKiB      int        `json:"rss_idle_kib"`
	AnonIdleKiB     int        `json:"anon_idle_kib"`
	BytesPerSession int        `json:"bytes_per_session"`
	// BytesPerSessionAll is (RSS at the last step − RSS before any login)
	// / sessions: start-up costs and what the server kept of connections
	// that are gone included, so an upper bound where a slope misleads
	// (memory given back between steps).
	BytesPerSessionAll int `json:"bytes_per_session_all"`
	// HeapPerSession is the slope of the Go heap between the steps
	// (xmppd, with -admin).
	HeapPerSession int `json:"heap_bytes_per_session,omitempty"`
	// HeapIdle and HeapPerSessionAll are the Go heap before any login and
	// (heap at the last step − HeapIdle) / sessions (xmppd, with -admin).
	HeapIdle          int64 `json:"heap_idle_bytes,omitempty"`
	HeapPerSessionAll int   `json:"heap_bytes_per_session_all,omitempty"`
	// With -hibernate: of a sample of the dropped sessions, how many the
	// server resumed after the last step, which shows that it kept them.
	ResumeTried int `json:"resume_tried,omitempty"`
	Resumed     int `json:"resumed,omitempty"`
	// Release is there with -hold: what the server did with its memory
	// when every client left at once.
	Release *idleRelease `json:"release,omitempty"`

	// clients stay logged in until the line is out, so that nothing the
	// server does as they leave shows in the figures.
	clients []*client
}

// idleRelease is the server's memory around a release of every client at
// once, a mass disconnect. A burst that costs
// memory shows as a peak above connected_rss_kib; memory not given back
// shows as end_rss_kib well above rss_idle_kib.
type idleRelease struct {
	Clients         int     `json:"clients"`
	ConnectedRSSKiB int     `json:"connected_rss_kib"` // the last step's sample
	PeakLoginRSSKiB int     `json:"peak_login_rss_kib"`
	PeakRSSKiB      int     `json:"peak_rss_kib"` // from the release on
	PeakAnonKiB     int     `json:"peak_anon_kib"`
	PeakAfterSec    float64 `json:"peak_after_sec"` // the peak's time after the release
	EndRSSKiB       int     `json:"end_rss_kib"`    // the last sample, -hold after the release
	EndAnonKiB      int     `json:"end_anon_kib"`
	HoldSec         float64 `json:"hold_sec"`
}

// release logs the clients out.
func (r *idleResult) release() {
	for _, c := range r.clients {
		if c != nil {
			c.close()
		}
	}
	r.clients = nil
}

// sample is one reading of the server's memory.
type sample struct {
	at        time.Duration // since the sampler started
	phase     string
	rss, anon int
}

// sampler reads the server's memory every interval on a goroutine of its
// own, labelling each sample with the phase the scenario is in.
type sampler struct {
	t0      time.Time
	mu      sync.Mutex
	phase   string
	samples []sample
	stop    chan struct{}
	done    chan struct{}
}

func startSampler(pid int, every time.Duration, phase string) *sampler {
	t0 := time.Now()
	s := &sampler{t0: t0, phase: phase, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			rss, anon := procMem(pid)
			s.mu.Lock()
			s.samples = append(s.samples, sample{time.Since(t0), s.phase, rss, anon})
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// enter labels the samples from now on, and says when that began.
func (s *sampler) enter(phase string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phase = phase
	return time.Since(s.t0)
}

// end stops sampling, takes a last sample labelled phase, and returns all.
func (s *sampler) end(pid int, phase string) []sample {
	close(s.stop)
	<-s.done
	rss, anon := procMem(pid)
	return append(s.samples, sample{time.Since(s.t0), phase, rss, anon})
}

// releaseAll closes every client at once, then samples for cfg.hold.
func (r *idleResult) releaseAll(cfg idleConfig, s *sampler) {
	rel := &idleRelease{ConnectedRSSKiB: r.Steps[len(r.Steps)-1].RSSKiB, HoldSec: cfg.hold.Seconds()}
	for _, c := range r.clients {
		if c != nil {
			rel.Clients++
		}
	}
	from := s.enter("release")
	r.release()
	time.Sleep(time.Until(s.t0.Add(from + cfg.hold)))
	samples := s.end(cfg.pid, "end")
	for _, x := range samples {
		switch {
		case x.phase == "login" || x.phase == "settle":
			rel.PeakLoginRSSKiB = max(rel.PeakLoginRSSKiB, x.rss)
		case x.rss > rel.PeakRSSKiB:
			rel.PeakRSSKiB, rel.PeakAfterSec = x.rss, round3(max(0, x.at-from).Seconds())
		}
		if x.phase == "release" || x.phase == "end" {
			rel.PeakAnonKiB = max(rel.PeakAnonKiB, x.anon)
		}
	}
	last := samples[len(samples)-1]
	rel.EndRSSKiB, rel.EndAnonKiB = last.rss, last.anon
	r.Release = rel
	if cfg.trace != nil {
		fmt.Fprintln(cfg.trace, "sec\tphase\trss_kib\tanon_kib")
		for _, x := range samples {
			fmt.Fprintf(cfg.trace, "%.2f\t%s\t%d\t%d\n", x.at.Seconds(), x.phase, x.rss, x.anon)
		}
	}
}

// account names client i's account: <user>0 … <user>N-1 over N accounts,
// the bare <user> when there is just one.
func account(user string, i, accounts int) string {
	if accounts <= 1 {
		return user
	}
	return user + strconv.Itoa(i%accounts)
}

// loginPool runs logins first..last-1, inflight at once, and returns each
// one's duration (failures included) and the number that failed. Each
// login is timed from connect until the server echoed its presence.
func loginPool(first, last, inflight int, do func(i int) error) (lat []time.Duration, failed int) {
	lat = make([]time.Duration, last-first)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, inflight)
	for i := first; i < last; i++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t0 := time.Now()
			err := do(i)
			lat[i-first] = time.Since(t0)
			if err != nil {
				mu.Lock()
				failed++
				if failed <= 3 {
					fmt.Fprintln(os.Stderr, "loadgen: login:", err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat, failed
}

// runIdle logs in clients up to each step and samples the server's memory
// once they have settled. The clients stay connected until the result's
// release.
func runIdle(cfg idleConfig) (*idleResult, error) {
	name := "idle"
	switch {
	case cfg.hibernate:
		name = "hibernate"
	case cfg.sm:
		name = "idle-sm"
	}
	r := &idleResult{common: common{Scenario: name, TLS: cfg.tls, Mech: cfg.mech}}
	r.RSSIdleKiB, r.AnonIdleKiB = procMem(cfg.pid)
	if cfg.admin != "" {
		r.HeapIdle = adminHeap(cfg.admin)
	}
	last := cfg.steps[len(cfg.steps)-1]
	clients := make([]*client, last)
	r.clients = clients
	var m meter
	m.start(cfg.pid)
	var s *sampler
	if cfg.hold > 0 {
		s = startSampler(cfg.pid, cfg.every, "login")
	}
	var lat []time.Duration
	var loginTime time.Duration
	done := 0
	for _, step := range cfg.steps {
		t0 := time.Now()
		l, failed := loginPool(done, step, cfg.inflight, func(i int) error {
			c, err := login(cfg.opts, account(cfg.user, i, cfg.accounts), "idle"+strconv.Itoa(i))
			if err != nil {
				return err
			}
			clients[i] = c
			// Idle clients still read: a server must not be left queueing
			// what it sends them (the presence of other resources of a
			// shared account, pings).
			if c.sm {
				go drainSM(c)
			} else {
				go drain(c)
			}
			return nil
		})
		loginTime += time.Since(t0)
		if cfg.hibernate {
			for _, c := range clients[done:step] {
				if c != nil {
					c.conn.Close()
				}
			}
		}
		lat = append(lat, l...)
		r.Failed += failed
		done = step
		if s != nil {
			s.enter("settle")
		}
		time.Sleep(cfg.settle)
		rss, anon := procMem(cfg.pid)
		st := idleStep{Sessions: step - r.Failed, RSSKiB: rss, AnonKiB: anon}
		if cfg.admin != "" {
			st.HeapBytes = adminHeap(cfg.admin)
		}
		r.Steps = append(r.Steps, st)
		if s != nil {
			s.enter("login")
		}
	}
	if r.Failed == last {
		if s != nil {
			s.end(cfg.pid, "end")
		}
		r.release()
		return nil, errors.New("no client could log in")
	}
	if cfg.hibernate && cfg.sm {
		r.resumeSample(cfg)
	}
	if s != nil {
		r.releaseAll(cfg, s)
	}
	m.stop()
	m.fill(&r.common)
	r.LoginsPerSec = perSec(last-r.Failed, loginTime)
	r.LoginP50ms, r.LoginP99ms = percentiles(lat)
	if cfg.pid != 0 {
		a, b := idleStep{RSSKiB: r.RSSIdleKiB}, r.Steps[len(r.Steps)-1]
		if len(r.Steps) > 1 {
			a = r.Steps[0]
		}
		if b.Sessions > a.Sessions {
			r.BytesPerSession = (b.RSSKiB - a.RSSKiB) * 1024 / (b.Sessions - a.Sessions)
			if a.HeapBytes > 0 && b.HeapBytes > 0 {
				r.HeapPerSession = int(b.HeapBytes-a.HeapBytes) / (b.Sessions - a.Sessions)
			}
		}
		if b.Sessions > 0 {
			r.BytesPerSessionAll = (b.RSSKiB - r.RSSIdleKiB) * 1024 / b.Sessions
			if r.HeapIdle > 0 && b.HeapBytes > 0 {
				r.HeapPerSessionAll = int(b.HeapBytes-r.HeapIdle) / b.Sessions
			}
		}
	}
	return r, nil
}

// resumeSample resumes up to 20 of the dropped sessions, spread over all
// of them, after the memory was sampled; the resumed clients replace the
// dropped ones, to be released with the rest.
func (r *idleResult) resumeSample(cfg idleConfig) {
	n := len(r.clients)
	step := max(n/20, 1)
	for i := 0; i < n; i += step {
		old := r.clients[i]
		if old == nil || old.smID == "" {
			continue
		}
		r.ResumeTried++
		c, err := resume(cfg.opts, old)
		if err != nil {
			if r.ResumeTried-r.Resumed <= 3 {
				fmt.Fprintln(os.Stderr, "loadgen: hibernate:", err)
			}
			continue
		}
		r.Resumed++
		go drainSM(c)
		r.clients[i] = c
	}
}

// drainSM is drain for a client with stream management: it counts the
// stanzas and answers the server's ack requests, as a client must, or the
// server would keep every stanza it sent for resending.
func drainSM(c *client) {
	for {
		el, err := c.read()
		if err != nil {
			return
		}
		if nameIs(el, "r") {
			c.ack()
		}
	}
}

// drain reads and drops whatever the server sends an idle client, with a
// small buffer: thousands of idle clients should cost the generator little.
func drain(c *client) {
	var buf [512]byte
	for {
		if _, err := c.conn.Read(buf[:]); err != nil {
			return
		}
	}
}
