// Package websocket is the WebSocket client transport (RFC 7395, XMPP over
// WebSocket) at /xmpp-websocket: each connection is an ordinary client
// session of the shared stream machine (internal/clientstream), framed as
// one XML element per WebSocket text message. The transport only frames:
// SASL, binding and the login throttles are the machine's.
//
// The WebSocket protocol itself (RFC 6455: handshake, frames, masking,
// ping, close) is github.com/coder/websocket: it is maintained, small,
// has no dependencies of its own, takes a context on every call, answers
// and sends pings, does the close handshake, and lets compression be
// turned off. gorilla/websocket is in maintenance mode, and
// golang.org/x/net/websocket has no ping or close handling.
package websocket

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"

	"xmppd/internal/clientstream"
	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/httpd"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
	"xmppd/internal/xml"
)

func init() {
	core.Register(core.ModuleInfo{Name: "websocket", Global: true, Auto: true,
		Requires: []string{"c2s"},
		Options:  func(r *config.Reader) { readOptions(r) },
		New:      func() core.Module { return &Module{} }})
}

// Path is where the endpoint is served, the path clients try first.
const Path = "/xmpp-websocket"

// Protocol is the WebSocket subprotocol of XMPP (RFC 7395 §3.1).
const Protocol = "xmpp"

// relWebSocket is the host-meta relation of a WebSocket endpoint
// (XEP-0156).
const relWebSocket = "urn:xmpp:alt-connections:websocket"

// defaultKeepalive is how often an open connection is pinged: under the
// idle timeouts of common proxies (nginx's proxy_read_timeout is 60s).
const defaultKeepalive = 30 * time.Second

// options are the module's settings.
type options struct {
	keepalive   time.Duration // ping interval, and how long a pong may take; 0: no pings
	origins     []string      // origins allowed besides the endpoint's own; "*" any
	behindProxy bool          // a TLS-terminating proxy forwards to us
}

// readOptions reads the module's options, for Load, Reload and the
// configuration checks alike.
func readOptions(r *config.Reader) options {
	o := options{
		keepalive:   r.Duration("keepalive", defaultKeepalive, 0, time.Hour),
		origins:     httpd.ReadOrigins(r, "origins"),
		behindProxy: r.Bool("behind_tls_proxy", false),
	}
	if o.keepalive > 0 && o.keepalive < time.Second {
		r.Errorf("keepalive", "option keepalive: pings more often than every second ('1s') only load the line; use '0' for none")
	}
	r.Unknown()
	return o
}

// Module is the WebSocket endpoint, one for every host: the <open/>'s to
// chooses.
type Module struct {
	api   *core.API
	srv   *core.Server
	opts  atomic.Pointer[options]
	limit int // bytes of one message, and of one stanza

	readers sync.Pool // *stanza.Reader, lent while a connection has input
	bufs    sync.Pool // *[]byte, input windows lent likewise

	mu      sync.Mutex
	conns   map[*conn]struct{}
	perAddr map[string]int // connections by address group
	unauth  int            // connections not bound yet
	stopped bool

	upgrades, refused *core.Counter
	warn              *core.LogLimiter
}

// Load registers the endpoint and its host-meta link.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	o := readOptions(api.Options())
	m.opts.Store(&o)
	m.limit = m.srv.Config.StanzaSizeLimit
	m.readers.New = func() any { return stanza.NewReader(xml.Limits{MaxStanzaBytes: m.limit}) }
	m.bufs.New = func() any { b := make([]byte, 0, initialWindow); return &b }
	m.conns, m.perAddr = map[*conn]struct{}{}, map[string]int{}
	m.warn = core.NewLogLimiter(time.Minute)
	m.upgrades = api.Counter("connections", "WebSocket connections accepted")
	m.refused = api.Counter("refused", "WebSocket handshakes refused (origin, subprotocol, limits)")
	api.Gauge("sessions", "open WebSocket connections", func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return float64(len(m.conns))
	})
	api.HandleHTTPAt(Path, m)
	api.AdvertiseHTTP(relWebSocket, Path)
	api.HookServer(core.EventServerStopping, core.PriorityModule, func(*core.Event) bool {
		m.closeAll()
		return false
	})
	api.OnUnload(m.closeAll)
	return nil
}

// Reload implements core.Reloader: connections stay; the origins and the
// proxy setting apply to new handshakes, the keepalive to every
// connection's next ping.
func (m *Module) Reload(api *core.API, cfg *config.Config) error {
	r := config.NewReader(api.Options().File(), cfg.ModuleSection("websocket", ""))
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

// ServeHTTP answers one request to /xmpp-websocket: a WebSocket handshake
// becomes a client stream served until it ends.
func (m *Module) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != Path {
		http.NotFound(w, req)
		return
	}
	if !isUpgrade(req) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Upgrade", "websocket")
		w.WriteHeader(http.StatusUpgradeRequired)
		w.Write([]byte("This is an XMPP over WebSocket endpoint (RFC 7395): open a WebSocket with the 'xmpp' subprotocol.\n"))
		return
	}
	o := m.opts.Load()
	if origin := req.Header.Get("Origin"); origin != "" && !o.allows(origin, req) {
		m.refuse(w, http.StatusForbidden, "origin "+origin+" is not allowed here (list origins of the websocket module)")
		return
	}
	if !offers(req, Protocol) {
		m.refuse(w, http.StatusBadRequest, "this endpoint speaks the '"+Protocol+"' WebSocket subprotocol (RFC 7395): offer it in Sec-WebSocket-Protocol")
		return
	}
	svc := m.service()
	if svc == nil {
		http.Error(w, "client streams are not available", http.StatusServiceUnavailable)
		return
	}
	ip := m.clientIP(req)
	c := &conn{m: m, ip: ip, key: clientstream.AddrKey(ip), secure: req.TLS != nil || o.behindProxy, done: make(chan struct{})}
	if req.TLS != nil && !o.behindProxy {
		// One TLS connection carries the whole stream, so SCRAM may
		// bind to it.
		c.tls = req.TLS
	}
	if why := m.add(c, svc.Conf()); why != "" {
		m.warn.Warn(m.api.Log(), why, "WebSocket connection refused", "ip", ip, "reason", why)
		m.refuse(w, http.StatusTooManyRequests, why)
		return
	}
	// The HTTP server's read and write timeouts are for requests; this
	// connection lives as long as its stream.
	if err := httpd.LongLived(w, 0); err != nil {
		m.api.Log().Debug("cannot lift the HTTP timeouts", "ip", ip, "err", err)
	}
	wc, err := ws.Accept(smallBuffers{w}, req, &ws.AcceptOptions{
		Subprotocols: []string{Protocol},
		// The origin was checked above, with the module's own list.
		InsecureSkipVerify: true,
		// Compression would cost a flate state per connection and mix
		// secrets with what a peer controls in one compressed context.
		CompressionMode: ws.CompressionDisabled,
	})
	if err != nil {
		// Accept answered the request with the reason.
		m.release(c)
		m.api.Log().Debug("WebSocket handshake failed", "ip", ip, "err", err)
		return
	}
	m.upgrades.Inc()
	// A goroutine of its own rather than the handler's: once the
	// handler returns, the HTTP server lets go of the request, the
	// response and the connection's state, which an idle session would
	// otherwise keep, and the new goroutine's stack is shallow.
	go c.serve(svc, wc)
}

// refuse answers a handshake that cannot go on.
func (m *Module) refuse(w http.ResponseWriter, code int, why string) {
	m.refused.Inc()
	http.Error(w, why, code)
}

// isUpgrade reports whether req asks for a WebSocket.
func isUpgrade(req *http.Request) bool {
	return req.Method == http.MethodGet && headerHas(req.Header, "Connection", "upgrade") && headerHas(req.Header, "Upgrade", "websocket")
}

// offers reports whether req offers subprotocol p.
func offers(req *http.Request, p string) bool {
	return headerHas(req.Header, "Sec-WebSocket-Protocol", p)
}

// headerHas reports whether a comma-separated header lists token, in any
// case.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// allows reports whether a page of origin may open a WebSocket here: the
// endpoint's own origin always, others when listed. A browser sends the
// page's Origin on every WebSocket handshake, and the same-origin policy
// does not apply to WebSockets: without this check any page could use a
// visitor's network position to talk to the server.
func (o *options) allows(origin string, req *http.Request) bool {
	for _, a := range o.origins {
		if a == "*" || strings.EqualFold(a, origin) {
			return true
		}
	}
	_, host, ok := strings.Cut(origin, "://")
	return ok && host != "" && strings.EqualFold(host, req.Host)
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

// add counts c, unless its address group has as many connections as
// c2s_max_per_ip allows, or as many connections are logging in as
// c2s_max_unauth allows (0: no limit); the refusal says why.
func (m *Module) add(c *conn, conf *config.C2S) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.stopped:
		return "the server is shutting down"
	case conf.MaxPerIP > 0 && m.perAddr[c.key] >= conf.MaxPerIP:
		return "too many connections from your address (limit " + strconv.Itoa(conf.MaxPerIP) + ")"
	case conf.MaxUnauth > 0 && m.unauth >= conf.MaxUnauth:
		return "too many connections are logging in; try again later"
	}
	m.conns[c] = struct{}{}
	m.perAddr[c.key]++
	m.unauth++
	c.unauth = true
	return ""
}

// bound takes c out of the connections logging in.
func (m *Module) bound(c *conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.unauth {
		c.unauth = false
		m.unauth--
	}
}

// release forgets c.
func (m *Module) release(c *conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.conns[c]; !ok {
		return
	}
	delete(m.conns, c)
	if m.perAddr[c.key]--; m.perAddr[c.key] <= 0 {
		delete(m.perAddr, c.key)
	}
	if c.unauth {
		c.unauth = false
		m.unauth--
	}
}

// shutdownWait is how long the server's stop waits for connections to
// deliver their system-shutdown and close.
const shutdownWait = 3 * time.Second

// closeAll ends every connection: the server is stopping or the module
// unloading.
func (m *Module) closeAll() {
	m.mu.Lock()
	m.stopped = true
	all := make([]*conn, 0, len(m.conns))
	for c := range m.conns {
		all = append(all, c)
	}
	m.mu.Unlock()
	for _, c := range all {
		c.Close(stream.SystemShutdown, "the server is shutting down")
	}
	deadline := time.Now().Add(shutdownWait)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		n := len(m.conns)
		m.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var (
	_ core.Module   = (*Module)(nil)
	_ core.Reloader = (*Module)(nil)
	_ http.Handler  = (*Module)(nil)
)
