package webadmin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"xmppd/internal/clientstream"
	"xmppd/internal/jid"
	"xmppd/internal/sasl"
)

// cookieName is the session cookie; csrfHeader carries the CSRF token on
// every request that changes something.
const (
	cookieName = "xmppd_admin"
	csrfHeader = "X-CSRF-Token"
)

// maxLogins bounds the logins kept; past it the least recently used goes.
const maxLogins = 64

// login is one admin's browser session.
type login struct {
	jid  string // bare
	csrf string
	used time.Time
}

// sessions holds the logins by the token in their cookie.
type sessions struct {
	mu sync.Mutex
	m  map[string]*login
}

func newSessions() *sessions { return &sessions{m: map[string]*login{}} }

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) add(bare string) (token string, l *login) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxLogins {
		var oldest string
		for t, l := range s.m {
			if oldest == "" || l.used.Before(s.m[oldest].used) {
				oldest = t
			}
		}
		delete(s.m, oldest)
	}
	token = randomToken()
	l = &login{jid: bare, csrf: randomToken(), used: time.Now()}
	s.m[token] = l
	return token, l
}

// get returns the login of token if it was used within idle, and marks
// it used.
func (s *sessions) get(token string, idle time.Duration) *login {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.m[token]
	if l == nil {
		return nil
	}
	if time.Since(l.used) > idle {
		delete(s.m, token)
		return nil
	}
	l.used = time.Now()
	c := *l
	return &c
}

func (s *sessions) remove(token string) {
	s.mu.Lock()
	delete(s.m, token)
	s.mu.Unlock()
}

// handler is an API handler that runs for a logged-in admin.
type handler func(w http.ResponseWriter, r *http.Request, l *login)

// authed wraps h: without a login the request gets 401, and a request
// that may change something (anything but GET and HEAD) without the
// login's CSRF token in the X-CSRF-Token header gets 403.
func (m *Module) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var l *login
		if c, err := r.Cookie(cookieName); err == nil {
			l = m.sessions.get(c.Value, m.opts.Load().idle)
		}
		if l == nil || !m.isAdmin(l.jid) {
			fail(w, http.StatusUnauthorized, "not logged in: log in with an admin account")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(l.csrf)) != 1 {
				fail(w, http.StatusForbidden, "missing or wrong CSRF token: send the token of your login in the "+csrfHeader+" header")
				return
			}
		}
		h(w, r, l)
	}
}

// sameOrigin reports whether a request that carries an Origin header
// comes from a page of this server; browsers send it on every POST.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// loginRequest is the body of POST /admin/api/login.
type loginRequest struct {
	JID      string `json:"jid"`
	Password string `json:"password"`
}

// sessionInfo answers a login and GET /admin/api/session.
type sessionInfo struct {
	JID      string `json:"jid"`
	CSRF     string `json:"csrf"`
	Hostname string `json:"hostname"`
}

// errBadLogin is the one answer to a wrong JID, a wrong password and an
// account that is no admin, so that the page reveals none of them.
var errBadLogin = errors.New("wrong JID or password, or the account is not an admin of this server")

// dummyCreds are checked against when the account does not exist, so a
// wrong JID costs the same time as a wrong password.
var dummyCreds = sync.OnceValue(func() sasl.Credentials {
	c, _ := sasl.NewCredentials(sasl.SHA256, randomToken(), 0)
	return c
})

func (m *Module) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		fail(w, http.StatusForbidden, "login from a page of another origin")
		return
	}
	var req loginRequest
	if !decode(w, r, &req) {
		return
	}
	if req.JID == "" || req.Password == "" {
		fail(w, http.StatusBadRequest, "give both jid and password")
		return
	}
	j, err := jid.Parse(req.JID)
	if err != nil || j.Local() == "" || !j.IsBare() {
		fail(w, http.StatusBadRequest, "jid: expected an account's bare JID such as admin@"+m.srv.Hosts()[0].Name)
		return
	}
	addr, _, _ := net.SplitHostPort(r.RemoteAddr)
	att, wait, ok := m.guard.Begin(j.String(), clientstream.AddrKey(addr))
	if !ok {
		secs := int(wait.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		fail(w, http.StatusTooManyRequests, "too many failed logins: try again in "+strconv.Itoa(max(secs, 1))+" s")
		return
	}
	creds, err := m.srv.Accounts.Lookup(j.Domain())(j.Local(), sasl.SHA256)
	known := err == nil
	if m.srv.Host(j.Domain()) == nil {
		known = false
	}
	if !known {
		creds = dummyCreds()
	}
	if !sasl.VerifyPlain(creds, req.Password) || !known || !m.isAdmin(j.String()) {
		att.Failed()
		m.api.Log().Info("admin login failed", "jid", j.String(), "ip", addr)
		fail(w, http.StatusUnauthorized, errBadLogin.Error())
		return
	}
	att.Succeeded()
	token, l := m.sessions.add(j.String())
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/admin/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	m.api.Log().Info("admin logged in", "jid", j.String(), "ip", addr)
	reply(w, sessionInfo{JID: l.jid, CSRF: l.csrf, Hostname: hostname()})
}

func (m *Module) logout(w http.ResponseWriter, r *http.Request, l *login) {
	if c, err := r.Cookie(cookieName); err == nil {
		m.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/admin/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	reply(w, struct{}{})
}

func (m *Module) session(w http.ResponseWriter, r *http.Request, l *login) {
	reply(w, sessionInfo{JID: l.jid, CSRF: l.csrf, Hostname: hostname()})
}
