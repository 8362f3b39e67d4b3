package main

import (
	"errors"
	"fmt"
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
}

// idleStep is the server's memory with sessions clients logged in.
type idleStep struct {
	Sessions int `json:"sessions"`
	RSSKiB   int `json:"rss_kib"`
	AnonKiB  int `json:"anon_kib"`
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

	// clients stay logged in until the line is out, so that nothing the
	// server does as they leave shows in the figures.
	clients []*client
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
	r := &idleResult{common: common{Scenario: "idle", TLS: cfg.tls, Mech: cfg.mech}}
	r.RSSIdleKiB, r.AnonIdleKiB = procMem(cfg.pid)
	last := cfg.steps[len(cfg.steps)-1]
	clients := make([]*client, last)
	r.clients = clients
	var m meter
	m.start(cfg.pid)
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
			go drain(c)
			return nil
		})
		loginTime += time.Since(t0)
		lat = append(lat, l...)
		r.Failed += failed
		done = step
		time.Sleep(cfg.settle)
		rss, anon := procMem(cfg.pid)
		r.Steps = append(r.Steps, idleStep{Sessions: step - r.Failed, RSSKiB: rss, AnonKiB: anon})
	}
	m.stop()
	if r.Failed == last {
		r.release()
		return nil, errors.New("no client could log in")
	}
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
		}
	}
	return r, nil
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
