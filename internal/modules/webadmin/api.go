package webadmin

import (
	"encoding/json"
	"errors"

	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/admin"
)

// maxBody bounds a request body; a certificate with its chain and key is
// the largest thing the page sends.
const maxBody = 256 << 10

// routes lists the API. Every route but the page and the login needs a
// login; every POST also needs the CSRF token (authed).
func (m *Module) routes() {
	m.mux.HandleFunc("GET /admin/{$}", m.serveIndex)
	m.mux.HandleFunc("GET /admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently).ServeHTTP)
	m.mux.HandleFunc("POST /admin/api/login", m.login)
	api := map[string]handler{
		"POST /admin/api/logout":           m.logout,
		"GET /admin/api/session":           m.session,
		"GET /admin/api/status":            m.status,
		"GET /admin/api/users":             m.users,
		"POST /admin/api/users":            m.userAdd,
		"POST /admin/api/users/delete":     m.userDelete,
		"POST /admin/api/users/password":   m.userPassword,
		"GET /admin/api/sessions":          m.sessionList,
		"POST /admin/api/sessions/kick":    m.kick,
		"GET /admin/api/hosts":             m.hosts,
		"GET /admin/api/modules":           m.modules,
		"GET /admin/api/config":            m.configGet,
		"POST /admin/api/config/stage":     m.configStage,
		"POST /admin/api/config/revert":    m.configRevert,
		"POST /admin/api/config/apply":     m.configApply,
		"POST /admin/api/config/confirm":   m.configConfirm,
		"POST /admin/api/config/rollback":  m.configRollback,
		"GET /admin/api/certs":             m.certs,
		"POST /admin/api/certs/selfsigned": m.certRegenerate,
		"POST /admin/api/certs/upload":     m.certUpload,
		"GET /admin/api/logs":              m.logs,
	}
	for pattern, h := range api {
		m.mux.HandleFunc(pattern, m.authed(h))
	}
	m.mux.HandleFunc("/admin/api/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// apiError is the body of every refusal.
type apiError struct {
	Error  string   `json:"error"`
	Errors []string `json:"errors,omitempty"` // one per configuration problem
}

func fail(w http.ResponseWriter, code int, msg string) {
	send(w, code, apiError{Error: msg})
}

func reply(w http.ResponseWriter, v any) { send(w, http.StatusOK, v) }

func send(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v, answering 400 with what is wrong.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fail(w, http.StatusBadRequest, "the body must be JSON (Content-Type: application/json)")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, "the body is larger than "+strconv.Itoa(maxBody)+" bytes")
		} else {
			fail(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		}
		return false
	}
	if dec.More() {
		fail(w, http.StatusBadRequest, "bad JSON body: more than one value")
		return false
	}
	return true
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "xmppd"
	}
	return h
}

// statusReply is GET /admin/api/status.
type statusReply struct {
	*admin.Status
	Hostname   string                    `json:"hostname"`
	Started    time.Time                 `json:"started"`
	UptimeSecs int64                     `json:"uptime_secs"`
	ByHost     map[string]map[string]int `json:"by_host"` // host → transport → sessions
	StoreBytes int64                     `json:"store_bytes"`
	ModuleList []moduleStatus            `json:"module_status"`
}

type moduleStatus struct {
	Key   string `json:"key"` // module or module@host
	Level string `json:"level"`
	Msg   string `json:"msg"`
}

func (m *Module) status(w http.ResponseWriter, r *http.Request, l *login) {
	resp := admin.Handle(m.srv, admin.Request{Cmd: "status"})
	if resp.Error != "" {
		fail(w, http.StatusInternalServerError, resp.Error)
		return
	}
	st := statusReply{Status: resp.Status, Hostname: hostname(), Started: m.srv.Started,
		UptimeSecs: int64(time.Since(m.srv.Started) / time.Second), ByHost: map[string]map[string]int{}}
	for _, h := range m.srv.Hosts() {
		by := map[string]int{}
		for _, s := range h.AllSessions() {
			t := s.Info().Transport
			if t == "" {
				t = "detached"
			}
			by[t]++
		}
		st.ByHost[h.Name] = by
	}
	st.StoreBytes = dirSize(m.srv.Config.StoreDir())
	for k, v := range m.srv.Statuses() {
		st.ModuleList = append(st.ModuleList, moduleStatus{Key: k, Level: v.Level.String(), Msg: v.Msg})
	}
	slices.SortFunc(st.ModuleList, func(a, b moduleStatus) int { return strings.Compare(a.Key, b.Key) })
	reply(w, st)
}

// dirSize adds up the sizes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// userRow is one account in GET /admin/api/users.
type userRow struct {
	JID      string `json:"jid"`
	Sessions int    `json:"sessions"`
	Admin    bool   `json:"admin"`
}

// users lists accounts: q filters by substring, offset and limit page.
func (m *Module) users(w http.ResponseWriter, r *http.Request, l *login) {
	q := r.URL.Query()
	offset, err1 := atoiDefault(q.Get("offset"), 0)
	limit, err2 := atoiDefault(q.Get("limit"), 50)
	if err1 != nil || err2 != nil || offset < 0 || limit < 1 || limit > 1000 {
		fail(w, http.StatusBadRequest, "offset must be 0 or more and limit 1 to 1000")
		return
	}
	host := q.Get("host")
	if host != "" && m.srv.Host(host) == nil {
		fail(w, http.StatusBadRequest, "host: this server does not serve "+strconv.Quote(host))
		return
	}
	resp := admin.Handle(m.srv, admin.Request{Cmd: "user-list", Domain: host})
	if resp.Error != "" {
		fail(w, http.StatusInternalServerError, resp.Error)
		return
	}
	needle := strings.ToLower(q.Get("q"))
	var rows []userRow
	for _, u := range resp.Users {
		if needle == "" || strings.Contains(u, needle) {
			rows = append(rows, userRow{JID: u})
		}
	}
	total := len(rows)
	rows = rows[min(offset, total):min(offset+limit, total)]
	for i := range rows {
		if j, err := jid.Parse(rows[i].JID); err == nil {
			if h := m.srv.Host(j.Domain()); h != nil {
				h.Sessions(j.Local(), func(*core.Session) { rows[i].Sessions++ })
			}
		}
		rows[i].Admin = m.isAdmin(rows[i].JID)
	}
	reply(w, struct {
		Users  []userRow `json:"users"`
		Total  int       `json:"total"`
		Offset int       `json:"offset"`
		Limit  int       `json:"limit"`
	}{Users: append([]userRow{}, rows...), Total: total, Offset: offset, Limit: limit})
}

func atoiDefault(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

// userRequest is the body of the user endpoints.
type userRequest struct {
	JID      string `json:"jid"`
	Password string `json:"password,omitempty"`
}

func (m *Module) userCmd(cmd string, needPassword bool) handler {
	return func(w http.ResponseWriter, r *http.Request, l *login) {
		var req userRequest
		if !decode(w, r, &req) {
			return
		}
		if req.JID == "" {
			fail(w, http.StatusBadRequest, "jid: give the account's bare JID")
			return
		}
		if needPassword && req.Password == "" {
			fail(w, http.StatusBadRequest, "password: give a password")
			return
		}
		if cmd == "user-del" && req.JID == l.jid {
			fail(w, http.StatusBadRequest, "you cannot delete the account you are logged in with")
			return
		}
		resp := admin.Handle(m.srv, admin.Request{Cmd: cmd, JID: req.JID, Password: req.Password})
		if resp.Error != "" {
			fail(w, http.StatusBadRequest, resp.Error)
			return
		}
		m.api.Log().Info("admin UI: "+cmd, "by", l.jid, "jid", req.JID)
		reply(w, struct{}{})
	}
}

func (m *Module) userAdd(w http.ResponseWriter, r *http.Request, l *login) {
	m.userCmd("user-add", true)(w, r, l)
}

func (m *Module) userDelete(w http.ResponseWriter, r *http.Request, l *login) {
	m.userCmd("user-del", false)(w, r, l)
}

func (m *Module) userPassword(w http.ResponseWriter, r *http.Request, l *login) {
	m.userCmd("user-passwd", true)(w, r, l)
}

// sessionRow is one session in GET /admin/api/sessions.
type sessionRow struct {
	JID       string `json:"jid"`
	ID        uint64 `json:"id"`
	Transport string `json:"transport"`
	Remote    string `json:"remote"`
	Secure    bool   `json:"secure"`
	Available bool   `json:"available"`
	Priority  int    `json:"priority"`
}

func (m *Module) sessionList(w http.ResponseWriter, r *http.Request, l *login) {
	user := r.URL.Query().Get("user") // a bare JID: only its sessions
	rows := []sessionRow{}
	for _, h := range m.srv.Hosts() {
		for _, s := range h.AllSessions() {
			if user != "" && s.JID.Bare().String() != user {
				continue
			}
			info := s.Info()
			t := info.Transport
			if t == "" {
				t = "detached"
			}
			rows = append(rows, sessionRow{JID: s.JID.String(), ID: s.ID, Transport: t, Remote: info.Remote,
				Secure: info.Secure, Available: s.Available(), Priority: s.Priority()})
		}
	}
	slices.SortFunc(rows, func(a, b sessionRow) int { return strings.Compare(a.JID, b.JID) })
	reply(w, struct {
		Sessions []sessionRow `json:"sessions"`
	}{rows})
}

// kick ends the session bound to a full JID, or every session of a bare one.
func (m *Module) kick(w http.ResponseWriter, r *http.Request, l *login) {
	var req userRequest
	if !decode(w, r, &req) {
		return
	}
	j, err := jid.Parse(req.JID)
	if err != nil || j.Local() == "" {
		fail(w, http.StatusBadRequest, "jid: expected a full JID like user@"+m.srv.Hosts()[0].Name+"/resource, or a bare one for all its sessions")
		return
	}
	h := m.srv.Host(j.Domain())
	if h == nil {
		fail(w, http.StatusBadRequest, "jid: this server does not serve "+j.Domain())
		return
	}
	var victims []*core.Session
	if j.IsBare() {
		h.Sessions(j.Local(), func(s *core.Session) { victims = append(victims, s) })
	} else if s := h.Session(j); s != nil {
		victims = append(victims, s)
	}
	if len(victims) == 0 {
		fail(w, http.StatusBadRequest, "no session of "+j.String())
		return
	}
	for _, s := range victims {
		s.Close("policy-violation", "disconnected by an administrator")
	}
	m.api.Log().Info("admin UI: kicked", "by", l.jid, "jid", j.String(), "sessions", len(victims))
	reply(w, struct {
		Kicked int `json:"kicked"`
	}{len(victims)})
}

// logs answers GET /admin/api/logs?level=warn&module=c2s&limit=200.
func (m *Module) logs(w http.ResponseWriter, r *http.Request, l *login) {
	q := r.URL.Query()
	var level = m.levelOf(q.Get("level"))
	if level == nil {
		fail(w, http.StatusBadRequest, "level: use debug, info, warn or error")
		return
	}
	limit, err := atoiDefault(q.Get("limit"), 200)
	if err != nil || limit < 1 || limit > 10000 {
		fail(w, http.StatusBadRequest, "limit: use 1 to 10000")
		return
	}
	if m.ring == nil {
		fail(w, http.StatusNotFound, "this server keeps no log records in memory")
		return
	}
	recs := m.ring.Records(*level, q.Get("module"))
	recs = recs[max(0, len(recs)-limit):]
	reply(w, struct {
		Records any `json:"records"`
	}{recs})
}

// levelOf parses a level name; "" is debug, everything.
func (m *Module) levelOf(s string) *slog.Level {
	l := slog.LevelDebug
	if s == "" {
		return &l
	}
	if l.UnmarshalText([]byte(s)) != nil {
		return nil
	}
	return &l
}

// serveIndex serves the page; it reads its files from web_dir when set,
// so a change shows on reload without a build.
func (m *Module) serveIndex(w http.ResponseWriter, r *http.Request) {
	if dir := m.opts.Load().webDir; dir != "" {
		p, err := buildPage(os.DirFS(dir), time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		p.serve(w, r)
		return
	}
	p, err := m.page.get()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	p.serve(w, r)
}
