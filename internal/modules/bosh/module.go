// Package bosh is the BOSH client transport (XEP-0124, XMPP over BOSH
// XEP-0206) at /http-bind: each session is an ordinary client session of
// the shared stream machine (internal/clientstream), whose output waits in
// a bounded queue until a held HTTP request carries it. The transport
// only frames: SASL, binding and the login throttles are the machine's.
package bosh

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"xmppd/internal/clientstream"
	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
	"xmppd/internal/xml"
)

func init() {
	core.Register(core.ModuleInfo{Name: "bosh", Global: true, Auto: true,
		Requires: []string{"c2s"},
		Options:  func(r *config.Reader) { readOptions(r) },
		New:      func() core.Module { return &Module{} }})
}

// Path is where the endpoint is served, the path clients try first.
const Path = "/http-bind"

// relXBOSH is the host-meta relation of a BOSH endpoint (XEP-0156).
const relXBOSH = "urn:xmpp:alt-connections:xbosh"

// Defaults of the module's options.
const (
	defaultMaxWait    = 60 * time.Second
	defaultMaxHold    = 1
	defaultInactivity = 60 * time.Second
	defaultMaxPause   = 5 * time.Minute
	// polling is the shortest interval between two polls the session
	// creation response announces (XEP-0124 §7.1).
	polling = 2
)

// options are the module's settings.
type options struct {
	maxWait     time.Duration // longest a request is held
	maxHold     int           // most requests held at once
	inactivity  time.Duration // how long a session lives without a request
	maxPause    time.Duration // longest pause a client may ask for
	origins     []string      // origins allowed by CORS; "*" any
	behindProxy bool          // a TLS-terminating proxy forwards to us
}

// readOptions reads the module's options, for Load, Reload and the
// configuration checks alike.
func readOptions(r *config.Reader) options {
	o := options{
		maxWait:     r.Duration("max_wait", defaultMaxWait, time.Second, 10*time.Minute),
		maxHold:     r.Int("max_hold", defaultMaxHold, 0, 8),
		inactivity:  r.Duration("inactivity", defaultInactivity, time.Second, time.Hour),
		maxPause:    r.Duration("max_pause", defaultMaxPause, 0, time.Hour),
		origins:     r.List("cors_origins"),
		behindProxy: r.Bool("behind_tls_proxy", false),
	}
	for _, origin := range o.origins {
		if origin != "*" && !validOrigin(origin) {
			r.Errorf("cors_origins", "option cors_origins: %q is not an origin (scheme://host[:port]) or '*'", origin)
		}
	}
	r.Unknown()
	return o
}

// validOrigin reports whether s looks like a browser's Origin header.
func validOrigin(s string) bool {
	scheme, rest, ok := strings.Cut(s, "://")
	return ok && (scheme == "http" || scheme == "https") && rest != "" && !strings.ContainsAny(rest, "/ ")
}

// Module is the BOSH endpoint, one for every host: the body's to chooses.
type Module struct {
	api   *core.API
	srv   *core.Server
	opts  atomic.Pointer[options]
	limit int // bytes of one request body, and of one stanza in it

	readers sync.Pool // *stanza.Reader, lent for one body

	mu       sync.Mutex
	sessions map[string]*session // by sid
	perAddr  map[string]int      // sessions by address group
	sweep    *time.Timer         // the inactivity sweep; nil without sessions
	stopped  bool

	requests, created, expired *core.Counter
}

// Load registers the endpoint and its host-meta link.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	o := readOptions(api.Options())
	m.opts.Store(&o)
	m.limit = m.srv.Config.StanzaSizeLimit
	m.readers.New = func() any { return stanza.NewReader(xml.Limits{MaxStanzaBytes: m.limit}) }
	m.sessions, m.perAddr = map[string]*session{}, map[string]int{}
	m.requests = api.Counter("requests", "HTTP requests to the BOSH endpoint")
	m.created = api.Counter("sessions_created", "BOSH sessions created")
	m.expired = api.Counter("sessions_expired", "BOSH sessions ended by inactivity")
	api.Gauge("sessions", "open BOSH sessions", func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return float64(len(m.sessions))
	})
	api.HandleHTTPAt(Path, m)
	api.AdvertiseHTTP(relXBOSH, Path)
	api.HookServer(core.EventServerStopping, core.PriorityModule, func(*core.Event) bool {
		m.closeAll()
		return false
	})
	api.OnUnload(m.closeAll)
	return nil
}

// Reload implements core.Reloader: sessions stay, and new options apply
// to sessions created from now on (the inactivity sweep and CORS at once).
func (m *Module) Reload(api *core.API, cfg *config.Config) error {
	r := config.NewReader(api.Options().File(), cfg.ModuleSection("bosh", ""))
	o := readOptions(r)
	if err := r.Err(); err != nil {
		return err
	}
	m.opts.Store(&o)
	return nil
}

// service returns the client stream machine c2s offers.
func (m *Module) service() *clientstream.Service {
	svc, _ := m.api.Service(clientstream.ServiceName).(*clientstream.Service)
	return svc
}

// ServeHTTP answers one request to /http-bind.
func (m *Module) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if m.cors(w, req) {
		return
	}
	switch req.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodHead:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "This is a BOSH endpoint (XEP-0124, XEP-0206): POST <body/> elements to it.\n")
		return
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	m.requests.Inc()
	body, err := io.ReadAll(io.LimitReader(req.Body, int64(m.limit)+1))
	if err != nil {
		return // the client went away while sending
	}
	r := m.readers.Get().(*stanza.Reader)
	a, n, berr := readBody(r, body)
	r.Reset()
	m.readers.Put(r)
	if len(body) > m.limit {
		berr = &bodyError{condPolicy, "the body is over " + strconv.Itoa(m.limit) + " bytes"}
	}
	var s *session
	if a.sid != "" {
		s = m.lookup(a.sid)
	}
	switch {
	case berr != nil && s != nil:
		writeBody(w, s.refuse(berr.cond, berr.text))
	case berr != nil:
		writeBody(w, terminateBody(berr.cond, berr.text, nil))
	case a.rid < 0:
		writeBody(w, terminateBody(condBadRequest, "the body has no rid", nil))
	case a.sid == "":
		m.create(w, req, a)
	case s == nil:
		writeBody(w, terminateBody(condItemNotFound, "no such session", nil))
	default:
		s.request(w, req, a, body, n)
	}
}

// writeBody sends a response <body/>.
func writeBody(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// clientIP is the address of the client: the peer's, or, behind a
// TLS-terminating proxy, the address the proxy appended to
// X-Forwarded-For.
func (m *Module) clientIP(req *http.Request) string {
	ip, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		ip = req.RemoteAddr
	}
	if m.opts.Load().behindProxy {
		if xff := req.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			list := strings.Split(xff[len(xff)-1], ",")
			if a := strings.TrimSpace(list[len(list)-1]); net.ParseIP(a) != nil {
				ip = a
			}
		}
	}
	return ip
}

// create starts a session (XEP-0124 §7.1, XEP-0206 §4).
func (m *Module) create(w http.ResponseWriter, req *http.Request, a attrs) {
	svc := m.service()
	if svc == nil {
		writeBody(w, terminateBody(condInternal, "client streams are not available", nil))
		return
	}
	o := m.opts.Load()
	ip := m.clientIP(req)
	s := &session{m: m, ip: ip, key: clientstream.AddrKey(ip), to: a.to,
		secure:     req.TLS != nil || o.behindProxy,
		inactivity: o.inactivity, maxPause: o.maxPause,
		maxQueue: int(svc.Conf().QueueBytes),
		next:     uint64(a.rid) + 1,
		acks:     a.ack == 1}
	s.wait = o.maxWait
	if a.wait >= 0 && time.Duration(a.wait)*time.Second < s.wait {
		s.wait = time.Duration(a.wait) * time.Second
	}
	s.hold = min(o.maxHold, 1)
	if a.hold >= 0 {
		s.hold = int(min(a.hold, int64(o.maxHold)))
	}
	s.requests = s.hold + 1
	if why := m.add(s, svc.Conf().MaxPerIP); why != "" {
		svc.Warn("bosh_max_per_ip", "BOSH session refused", "ip", ip, "reason", why)
		writeBody(w, terminateBody(condPolicy, why, nil))
		return
	}
	m.created.Inc()
	s.st = svc.NewStream(s, clientstream.Options{IP: ip, Secure: s.secure})
	h := stream.Header{Space: stanza.NSClient, To: a.to, Version: a.version, Lang: a.lang}
	var herr *stream.Error
	if major, _, _ := strings.Cut(a.version, "."); a.version != "" && major != "1" {
		herr = &stream.Error{Condition: stream.UnsupportedVersion, Text: "this server speaks XMPP version 1.0"}
	}
	s.open(uint64(a.rid), h, herr)
	s.respondCreated(w, uint64(a.rid))
}

// newSID returns a session id: 128 random bits.
func newSID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// add registers s under a fresh sid, unless its address group has as many
// sessions as max allows (0: no limit); the refusal says why.
func (m *Module) add(s *session, max int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return "the server is shutting down"
	}
	if max > 0 && m.perAddr[s.key] >= max {
		return "too many sessions from your address"
	}
	for {
		s.sid = newSID()
		if m.sessions[s.sid] == nil {
			break
		}
	}
	m.sessions[s.sid] = s
	m.perAddr[s.key]++
	if m.sweep == nil {
		m.sweep = time.AfterFunc(m.sweepEvery(), m.sweepIdle)
	}
	return ""
}

// lookup returns the session with id sid, or nil.
func (m *Module) lookup(sid string) *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[sid]
}

// remove forgets s; later requests for it get item-not-found.
func (m *Module) remove(s *session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[s.sid] != s {
		return
	}
	delete(m.sessions, s.sid)
	if m.perAddr[s.key]--; m.perAddr[s.key] <= 0 {
		delete(m.perAddr, s.key)
	}
}

// sweepEvery is the interval of the inactivity sweep: a fraction of the
// inactivity time, so that a session ends soon after its time is up.
func (m *Module) sweepEvery() time.Duration {
	return min(max(m.opts.Load().inactivity/8, 50*time.Millisecond), 5*time.Second)
}

// sweepIdle ends the sessions whose inactivity time is over, and forgets
// closed ones whose client did not come back for their last words. One
// timer serves every session, and only while there are sessions.
func (m *Module) sweepIdle() {
	now := time.Now().UnixNano()
	var due []*session
	m.mu.Lock()
	for _, s := range m.sessions {
		if d := s.deadline.Load(); d != 0 && now > d {
			due = append(due, s)
		}
	}
	m.mu.Unlock()
	for _, s := range due {
		s.expire()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sessions) == 0 || m.stopped {
		m.sweep = nil
		return
	}
	m.sweep.Reset(m.sweepEvery())
}

// closeAll ends every session: the server is stopping or the module
// unloading.
func (m *Module) closeAll() {
	m.mu.Lock()
	m.stopped = true
	all := make([]*session, 0, len(m.sessions))
	for _, s := range m.sessions {
		all = append(all, s)
	}
	if m.sweep != nil {
		m.sweep.Stop()
		m.sweep = nil
	}
	m.mu.Unlock()
	for _, s := range all {
		s.st.Fail(stream.SystemShutdown, "the server is shutting down")
		s.expire()
	}
}

var (
	_ core.Module   = (*Module)(nil)
	_ core.Reloader = (*Module)(nil)
	_ http.Handler  = (*Module)(nil)
)
