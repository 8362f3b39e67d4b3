package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// msgConfig configures the chat message scenario.
type msgConfig struct {
	opts
	// carbons logs in a second resource of every account; both enable
	// carbons, and the second one counts the copies it gets.
	carbons  bool
	user     string
	pairs    int
	window   int
	duration time.Duration
	warmup   time.Duration
	inflight int
	pid      int
}

// msgResult is the msg scenario's line; messages and latencies count only
// what arrived during the measured phase.
type msgResult struct {
	common
	Pairs               int     `json:"pairs"`
	Window              int     `json:"window"`
	Messages            int     `json:"messages"`
	MsgsPerSec          float64 `json:"msgs_per_sec"`
	LatP50ms            float64 `json:"lat_p50_ms"`
	LatP99ms            float64 `json:"lat_p99_ms"`
	ServerCPUPer100kSec float64 `json:"server_cpu_per_100k_sec"`
	// With -carbons: the copies the second resources got in the measured
	// phase (two per message: the sender's sent copy, the recipient's
	// received copy), and their latency from the original's send.
	Carbons         int     `json:"carbons,omitempty"`
	CarbonsPerSec   float64 `json:"carbons_per_sec,omitempty"`
	CarbonLatP99ms  float64 `json:"carbon_lat_p99_ms,omitempty"`
	BytesPerMessage float64 `json:"bytes_per_message"`
}

// watcher is an account's second resource in a carbons run: it only
// counts the copies of its account's messages.
type watcher struct {
	c     *client
	phase *atomic.Int32
	got   int
	lat   hist
}

// read counts carbon copies until the connection ends.
func (w *watcher) read() {
	for {
		el, err := w.c.stanza()
		if err != nil {
			return
		}
		if !nameIs(el, "message") || w.phase.Load() != phaseMeasure {
			continue
		}
		cc := child(el, "received")
		if cc == nil {
			cc = child(el, "sent")
		}
		inner := child(child(cc, "forwarded"), "message")
		if inner == nil {
			continue
		}
		id, _ := attr(inner, "id")
		if sent, ok := parseStamp(stampPart(id)); ok {
			w.got++
			w.lat.add(time.Duration(now() - sent))
		}
	}
}

// Phases of a measured run, shared by every reader.
const (
	phaseWarmup = iota
	phaseMeasure
	phaseStop
)

// chatter is one side of a pair: it reads what its peer sends, and for each
// message read makes the peer send the next, so that each direction keeps
// the same number in flight.
type chatter struct {
	c     *client
	peer  *chatter
	phase *atomic.Int32
	seq   int

	// Owned by the reading goroutine until it ends.
	got    int
	lat    hist
	failed int
}

// send writes k messages to the peer's full JID in one write. The id
// carries the send time and a sequence number; the body repeats the time
// for anyone reading a capture.
func (s *chatter) send(k int) {
	c := s.c
	c.wmu.Lock()
	t := now()
	b := c.wbuf[:0]
	for range k {
		s.seq++
		b = append(b, "<message type='chat' to='"...)
		b = append(b, s.peer.c.jid...)
		b = append(b, "' id='m"...)
		b = t.append(b)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(s.seq), 10)
		b = append(b, "'><body>"...)
		b = t.append(b)
		b = append(b, "</body></message>"...)
	}
	c.conn.Write(b)
	c.wbuf = b
	c.wmu.Unlock()
}

// read runs until the connection ends. Messages from one read are answered
// together, just before the next read, as a client would batch its writes.
func (s *chatter) read() {
	pending := 0
	s.c.in.beforeRead = func() {
		if pending > 0 && s.phase.Load() != phaseStop {
			s.peer.send(pending)
		}
		pending = 0
	}
	for {
		el, err := s.c.stanza()
		if err != nil {
			if s.phase.Load() != phaseStop {
				s.failed++
				fmt.Fprintln(os.Stderr, "loadgen: msg:", s.c.jid, err)
			}
			return
		}
		if !nameIs(el, "message") {
			continue
		}
		if attrString(el, "type") == "error" {
			// Once the run stops, the peer may close first and bounce
			// what was still on its way: that is the end, not a failure.
			if s.phase.Load() == phaseStop {
				continue
			}
			s.failed++
			if s.failed == 1 {
				fmt.Fprintf(os.Stderr, "loadgen: msg: %s got an error: %s\n", s.c.jid, errorCondition(el))
			}
			continue
		}
		id, _ := attr(el, "id")
		sent, ok := parseStamp(stampPart(id))
		if !ok {
			continue
		}
		pending++
		if s.phase.Load() == phaseMeasure {
			s.got++
			s.lat.add(time.Duration(now() - sent))
		}
	}
}

// stampPart cuts "m<stamp>.<seq>" to "m<stamp>".
func stampPart(id []byte) []byte {
	for i, c := range id {
		if c == '.' {
			return id[:i]
		}
	}
	return id
}

// runMsg logs in the pairs, starts every window at once, and measures
// after the warm-up.
func runMsg(cfg msgConfig) (*msgResult, error) {
	r := &msgResult{common: common{Scenario: "msg", TLS: cfg.tls, Mech: cfg.mech}, Pairs: cfg.pairs, Window: cfg.window}
	var phase atomic.Int32
	n := 2 * cfg.pairs
	// The second resources first, so that their carbons are on before
	// anything is sent.
	var ws []*watcher
	if cfg.carbons {
		cfg.opts.carbons = true
		ws = make([]*watcher, n)
		_, failed := loginPool(0, n, cfg.inflight, func(i int) error {
			c, err := login(cfg.opts, cfg.user+strconv.Itoa(i), "cc"+strconv.Itoa(i))
			if err != nil {
				return err
			}
			ws[i] = &watcher{c: c, phase: &phase}
			return nil
		})
		r.Failed += failed
	}
	var wwg sync.WaitGroup
	for _, w := range ws {
		if w != nil {
			wwg.Go(w.read)
		}
	}
	defer func() {
		for _, w := range ws {
			if w != nil {
				w.c.close()
			}
		}
		wwg.Wait()
	}()
	cs := make([]*chatter, n)
	_, failed := loginPool(0, n, cfg.inflight, func(i int) error {
		c, err := login(cfg.opts, cfg.user+strconv.Itoa(i), "msg"+strconv.Itoa(i))
		if err != nil {
			return err
		}
		cs[i] = &chatter{c: c, phase: &phase}
		return nil
	})
	r.Failed += failed
	var live []*chatter
	for i := 0; i < n; i += 2 {
		a, b := cs[i], cs[i+1]
		if a == nil || b == nil {
			for _, x := range []*chatter{a, b} {
				if x != nil {
					x.c.close()
				}
			}
			continue
		}
		a.peer, b.peer = b, a
		live = append(live, a, b)
	}
	if len(live) == 0 {
		return nil, errors.New("no pair could log in")
	}
	var wg sync.WaitGroup
	for _, s := range live {
		wg.Go(s.read)
	}
	for _, s := range live {
		s.send(cfg.window)
	}
	time.Sleep(cfg.warmup)
	var m meter
	bytes0 := readBytes(live)
	phase.Store(phaseMeasure)
	m.start(cfg.pid)
	time.Sleep(cfg.duration)
	m.stop()
	phase.Store(phaseStop)
	bytesRead := readBytes(live) - bytes0
	for _, s := range live {
		s.c.close()
	}
	wg.Wait()
	var lat hist
	for _, s := range live {
		r.Messages += s.got
		r.Failed += s.failed
		lat.merge(&s.lat)
	}
	if r.Messages == 0 {
		return nil, fmt.Errorf("no message arrived in the measured %v", cfg.duration)
	}
	m.fill(&r.common)
	r.MsgsPerSec = perSec(r.Messages, m.elapsed)
	r.LatP50ms, r.LatP99ms = lat.percentile(0.5), lat.percentile(0.99)
	if r.Messages > 0 {
		r.ServerCPUPer100kSec = round3(m.serverCPU / float64(r.Messages) * 100000)
		r.BytesPerMessage = round3(float64(bytesRead) / float64(r.Messages))
	}
	if cfg.carbons {
		var clat hist
		for _, w := range ws {
			if w != nil {
				w.c.close()
			}
		}
		wwg.Wait()
		for _, w := range ws {
			if w != nil {
				r.Carbons += w.got
				clat.merge(&w.lat)
			}
		}
		ws = nil
		r.CarbonsPerSec = perSec(r.Carbons, m.elapsed)
		r.CarbonLatP99ms = clat.percentile(0.99)
	}
	return r, nil
}

// readBytes sums what the chatters have read so far.
func readBytes(cs []*chatter) int64 {
	var n int64
	for _, s := range cs {
		n += s.c.in.bytes.Load()
	}
	return n
}
