package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// pepConfig configures the PEP scenario.
type pepConfig struct {
	opts
	user        string
	subscribers int
	items       int
	window      int
	inflight    int
	pid         int
	timeout     time.Duration // for the notifications, from the first publish
}

// pepResult is the pep scenario's line. The measured phase runs from the
// first publish until every subscriber has every item, or the timeout.
type pepResult struct {
	common
	Subscribers         int     `json:"subscribers"`
	Items               int     `json:"items"`
	Notifications       int     `json:"notifications"`
	Missing             int     `json:"missing"`
	NotificationsPerSec float64 `json:"notifications_per_sec"`
	LatP50ms            float64 `json:"lat_p50_ms"`
	LatP99ms            float64 `json:"lat_p99_ms"`
	// What a notification costs: server CPU per 100,000, and the bytes a
	// subscriber reads for one (the XML framing around the payload).
	ServerCPUPer100kSec  float64 `json:"server_cpu_per_100k_sec"`
	BytesPerNotification float64 `json:"bytes_per_notification"`
}

// exitNotBuilt is the status for a server that lacks what a scenario needs,
// so that the orchestration can tell "not built yet" from a failure.
const exitNotBuilt = 3

// pepNode is the node the publisher publishes to.
const pepNode = "urn:xmppd:bench:0"

// errNoPEP marks a run the server refused: the scenario reports it in the
// JSON line's error field rather than failing.
var errNoPEP = errors.New("publish refused")

// setupTimeout bounds each wait of the subscription setup.
const setupTimeout = 30 * time.Second

// pepRun is the state the readers share.
type pepRun struct {
	cfg     pepConfig
	pub     *pepClient
	subs    []*pepClient
	pubBare string

	mu sync.Mutex
	// pubHas and subHas mark the subscribers the publisher is subscribed
	// to, and those subscribed to the publisher, as far as the stanzas
	// show: a subscribed, or an available presence, from the other side.
	pubHas, subHas map[string]bool
	// capsSeen counts the available presences the publisher got from each
	// subscriber.
	capsSeen  map[string]int
	lastDisco time.Time

	acks  chan string // publish answers: "" or an error condition
	infos chan []byte // answers to the publisher's disco#info

	publishStart atomic.Int64 // a stamp; notifications sent before are old
	total        atomic.Int64
	expected     int64
	done         chan struct{}
	doneOnce     sync.Once
}

// pepClient is the publisher or one subscriber.
type pepClient struct {
	run  *pepRun
	c    *client
	bare string

	// Owned by the reading goroutine until it ends.
	seen []bool
	got  int
	lat  hist
}

// notification counts the items of one event for the bench node that were
// published in this run, once each.
func (p *pepClient) notification(ev []byte) {
	r := p.run
	items := child(ev, "items")
	if items == nil || !bytes.Equal(attrOf(items, "node"), []byte(pepNode)) || p.seen == nil {
		return
	}
	start := stamp(r.publishStart.Load())
	if start == 0 {
		return
	}
	for _, it := range children(items) {
		if !nameIs(it, "item") {
			continue
		}
		seq, err := strconv.Atoi(string(attrOf(it, "id")))
		sent, ok := parseStamp(text(child(it, "stamp")))
		if err != nil || !ok || seq < 0 || seq >= len(p.seen) || sent < start || p.seen[seq] {
			continue
		}
		p.seen[seq] = true
		p.got++
		p.lat.add(time.Duration(now() - sent))
		if r.total.Add(1) == r.expected {
			r.doneOnce.Do(func() { close(r.done) })
		}
	}
}

// primeCaps answers the server's disco#info query about the client's
// caps, if one comes within a few seconds; other stanzas wait for the
// reader.
func (p *pepClient) primeCaps() {
	c := p.c
	c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	defer c.conn.SetReadDeadline(time.Time{})
	for len(c.early) < maxEarly {
		el, err := c.read()
		if err != nil {
			// The deadline: no query came (the splitter keeps what it
			// had read, so a later read goes on where this one stopped).
			return
		}
		if nameIs(el, "iq") && attrString(el, "type") == "get" && bytes.Contains(attrOf(child(el, "query"), "xmlns"), []byte("disco#info")) {
			id, _ := attr(el, "id")
			from, _ := attr(el, "from")
			node, _ := attr(child(el, "query"), "node")
			c.write(discoInfoReply(replyAttrs(from, id), string(node), pepNode))
			return
		}
		c.early = append(c.early, bytes.Clone(el))
	}
}

// runPEP sets up the subscriptions, publishes, and counts notifications.
func runPEP(cfg pepConfig) (*pepResult, error) {
	res := &pepResult{common: common{Scenario: "pep", TLS: cfg.tls, Mech: cfg.mech}, Subscribers: cfg.subscribers, Items: cfg.items}
	r := &pepRun{cfg: cfg, pubHas: map[string]bool{}, subHas: map[string]bool{}, capsSeen: map[string]int{},
		acks: make(chan string, cfg.items+cfg.window), infos: make(chan []byte, 4), done: make(chan struct{})}
	r.pubBare = cfg.user + "0@" + cfg.domain

	// Subscribers first, with caps in their initial presence; on a server
	// where the subscriptions exist already, the publisher's login then
	// probes them and learns their caps at once.
	subOpts := cfg.opts
	subOpts.presence = "<presence>" + capsElement(pepNode) + "</presence>"
	subs := make([]*pepClient, cfg.subscribers)
	loginSub := func(i int) error {
		c, err := login(subOpts, cfg.user+strconv.Itoa(i), "pep"+strconv.Itoa(i))
		if err != nil {
			return err
		}
		subs[i-1] = &pepClient{run: r, c: c, bare: bareJID([]byte(c.jid)), seen: make([]bool, cfg.items)}
		return nil
	}
	// The first subscriber alone, answering the server's caps query, so
	// that the others find their verification string known, as on a
	// server that has seen a client of their kind before; all at once
	// would measure the first minutes after a restart instead.
	_, failed := loginPool(1, 2, 1, loginSub)
	if subs[0] != nil {
		subs[0].primeCaps()
	}
	_, more := loginPool(2, cfg.subscribers+1, cfg.inflight, loginSub)
	res.Failed = failed + more
	for _, s := range subs {
		if s != nil {
			r.subs = append(r.subs, s)
		}
	}
	var all []*pepClient
	var wg sync.WaitGroup
	defer func() {
		for _, p := range all {
			p.c.close()
		}
		wg.Wait()
	}()
	all = append(all, r.subs...)
	if len(r.subs) == 0 {
		return nil, errors.New("no subscriber could log in")
	}
	pc, err := login(cfg.opts, cfg.user+"0", "pep0")
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	// The readers compare with r.pub, so they start once it is set; what
	// the subscribers got meanwhile waits in their sockets.
	r.pub = &pepClient{run: r, c: pc, bare: bareJID([]byte(pc.jid))}
	all = append(all, r.pub)
	for _, p := range all {
		wg.Go(p.read)
	}

	hasPEP, err := r.accountHasPEP()
	if err != nil {
		return nil, err
	}
	if err := r.subscribe(); err != nil {
		return nil, err
	}

	r.expected = int64(len(r.subs) * cfg.items)
	var bytes0 int64
	for _, s := range r.subs {
		bytes0 += s.c.in.bytes.Load()
	}
	var m meter
	m.start(cfg.pid)
	r.publishStart.Store(int64(now()))
	cond, err := r.publish()
	if err != nil {
		return nil, err
	}
	if cond != "" {
		why := "PEP announced on the account, yet refused"
		if !hasPEP {
			why = "server has no PEP"
		}
		res.Error = fmt.Sprintf("publish refused: %s (%s)", cond, why)
		return res, errNoPEP
	}
	timer := time.NewTimer(cfg.timeout)
	select {
	case <-r.done:
	case <-timer.C:
	}
	timer.Stop()
	m.stop()
	var bytesRead int64
	for _, s := range r.subs {
		bytesRead += s.c.in.bytes.Load()
	}
	bytesRead -= bytes0

	for _, p := range all {
		p.c.close()
	}
	wg.Wait()
	all = nil
	var lat hist
	for _, s := range r.subs {
		res.Notifications += s.got
		if s.got < cfg.items {
			res.Failed++
			res.Missing += cfg.items - s.got
		}
		lat.merge(&s.lat)
	}
	if res.Missing > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: pep: %d notifications missing after %v\n", res.Missing, cfg.timeout)
	}
	m.fill(&res.common)
	res.NotificationsPerSec = perSec(res.Notifications, m.elapsed)
	res.LatP50ms, res.LatP99ms = lat.percentile(0.5), lat.percentile(0.99)
	if res.Notifications > 0 {
		res.ServerCPUPer100kSec = round3(m.serverCPU / float64(res.Notifications) * 100000)
		res.BytesPerNotification = round3(float64(bytesRead) / float64(res.Notifications))
	}
	return res, nil
}

// publish sends the items with window publishes in flight and returns the
// first error condition, or "" when every publish succeeded.
func (r *pepRun) publish() (string, error) {
	cfg := r.cfg
	next := 0
	send := func() {
		seq := strconv.Itoa(next)
		b := make([]byte, 0, 256)
		b = append(b, "<iq type='set' id='pub"+seq+"'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='"+pepNode+"'><item id='"+seq+"'><stamp xmlns='urn:xmppd:bench'>"...)
		b = now().append(b)
		b = append(b, "</stamp></item></publish></pubsub></iq>"...)
		r.pub.c.write(b)
		next++
	}
	for next < cfg.items && next < cfg.window {
		send()
	}
	for answered := 0; answered < cfg.items; answered++ {
		select {
		case cond := <-r.acks:
			if cond != "" {
				return cond, nil
			}
		case <-time.After(setupTimeout):
			return "", fmt.Errorf("publish: no answer after %v (%d of %d answered)", setupTimeout, answered, cfg.items)
		}
		if next < cfg.items {
			send()
		}
	}
	return "", nil
}
