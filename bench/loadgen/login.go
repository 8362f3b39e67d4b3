package main

import (
	"errors"
	"strconv"
	"time"
)

// loginConfig configures the login scenario.
type loginConfig struct {
	opts
	user     string
	accounts int
	n        int
	inflight int
	pid      int
}

// loginResult is the login scenario's line. Each login's latency runs from
// connect to the server's echo of the initial presence; logins_per_sec
// counts complete cycles, the end of the stream included.
type loginResult struct {
	common
	Logins       int     `json:"logins"`
	LoginsPerSec float64 `json:"logins_per_sec"`
	LoginP50ms   float64 `json:"login_p50_ms"`
	LoginP99ms   float64 `json:"login_p99_ms"`
}

// runLogin logs in and out n times, cycling over the accounts.
func runLogin(cfg loginConfig) (*loginResult, error) {
	r := &loginResult{common: common{Scenario: "login", TLS: cfg.tls, Mech: cfg.mech}}
	lat := make([]time.Duration, cfg.n)
	var m meter
	m.start(cfg.pid)
	_, failed := loginPool(0, cfg.n, cfg.inflight, func(i int) error {
		t0 := time.Now()
		c, err := login(cfg.opts, account(cfg.user, i, cfg.accounts), "login"+strconv.Itoa(i))
		lat[i] = time.Since(t0)
		if err != nil {
			return err
		}
		// Without waiting for the server's end tag: ejabberd sends it only
		// after 100 ms, which would cap it at inflight*10 logins a second.
		c.close()
		return nil
	})
	m.stop()
	m.fill(&r.common)
	if failed == cfg.n {
		return nil, errors.New("no login succeeded")
	}
	r.Failed = failed
	r.Logins = cfg.n - failed
	r.LoginsPerSec = perSec(r.Logins, m.elapsed)
	r.LoginP50ms, r.LoginP99ms = percentiles(lat)
	return r, nil
}
