package webadmin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/logring"
	"xmppd/internal/xmpptest"
)

// env is a running server with its configuration in a file, served over
// HTTP as the http module serves it.
type env struct {
	*xmpptest.Server
	path string
	web  *httptest.Server
}

const (
	adminJID  = "admin@localhost"
	adminPass = "correct horse"
)

func start(t *testing.T, extra string) *env {
	t.Helper()
	return startHost(t, "", extra, nil)
}

// startHost is start with hostExtra added to the host section ({dir} in
// it stands for the data directory) and prepare run on the data
// directory before the server starts.
func startHost(t *testing.T, hostExtra, extra string, prepare func(dir string)) *env {
	t.Helper()
	dir := t.TempDir()
	if prepare != nil {
		prepare(dir)
	}
	p1, p2 := xmpptest.FreePort(t), xmpptest.FreePort(t)
	uci := fmt.Sprintf(`config xmppd 'main'
	option data_dir '%s'
	option log_level 'debug'
	list modules_enabled 'webadmin'

config host 'localhost'
	option domain 'localhost'
%s
config listener 'c2s'
	option address '127.0.0.1'
	option port '%d'

config listener 'c2s_direct_tls'
	option address '127.0.0.1'
	option port '%d'
	option tls 'direct'

config module 'webadmin'
	list admins '%s'
%s`, dir, strings.ReplaceAll(hostExtra, "{dir}", dir), p1, p2, adminJID, extra)
	path := filepath.Join(dir, "xmppd.uci")
	if err := os.WriteFile(path, []byte(uci), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(logring.NewHandler(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}), logring.New(100)))
	srv, err := core.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	web := httptest.NewServer(srv.HTTP)
	t.Cleanup(web.Close)
	e := &env{Server: &xmpptest.Server{Server: srv, Domain: "localhost", Dir: dir,
		StartTLS: fmt.Sprintf("127.0.0.1:%d", p1), Direct: fmt.Sprintf("127.0.0.1:%d", p2)}, path: path, web: web}
	e.AddUser(t, "admin", adminPass)
	return e
}

// browser is an HTTP client with a cookie jar, as a browser tab is.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func (e *env) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: e.web.URL, c: &http.Client{Jar: jar}}
}

// do sends a request and decodes the JSON answer into a map.
func (b *browser) do(method, path string, body any, csrf string) (int, map[string]any) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			data, _ := json.Marshal(body)
			rd = bytes.NewReader(data)
		}
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil && resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: %d with a body that is not JSON: %q", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

// call is do with the login's CSRF token, failing the test unless 200.
func (b *browser) call(method, path string, body any) map[string]any {
	b.t.Helper()
	code, out := b.do(method, path, body, b.csrf)
	if code != http.StatusOK {
		b.t.Fatalf("%s %s: %d %v", method, path, code, out)
	}
	return out
}

func (b *browser) login(jid, pass string) (int, map[string]any) {
	b.t.Helper()
	code, out := b.do("POST", "/admin/api/login", map[string]string{"jid": jid, "password": pass}, "")
	if code == http.StatusOK {
		b.csrf, _ = out["csrf"].(string)
	}
	return code, out
}

func (e *env) admin(t *testing.T) *browser {
	t.Helper()
	b := e.browser(t)
	if code, out := b.login(adminJID, adminPass); code != http.StatusOK {
		t.Fatalf("login: %d %v", code, out)
	}
	return b
}

// endpoints is every API route with a body that would be accepted.
var endpoints = []struct{ method, path, body string }{
	{"POST", "/admin/api/logout", `{}`},
	{"GET", "/admin/api/session", ""},
	{"GET", "/admin/api/status", ""},
	{"GET", "/admin/api/users", ""},
	{"POST", "/admin/api/users", `{"jid":"new@localhost","password":"pw"}`},
	{"POST", "/admin/api/users/delete", `{"jid":"new@localhost"}`},
	{"POST", "/admin/api/users/password", `{"jid":"admin@localhost","password":"pw"}`},
	{"GET", "/admin/api/sessions", ""},
	{"POST", "/admin/api/sessions/kick", `{"jid":"admin@localhost"}`},
	{"GET", "/admin/api/hosts", ""},
	{"GET", "/admin/api/modules", ""},
	{"GET", "/admin/api/config", ""},
	{"POST", "/admin/api/config/stage", `{"changes":[{"op":"set","section":"main","values":{"log_level":"info"}}]}`},
	{"POST", "/admin/api/config/revert", `{}`},
	{"POST", "/admin/api/config/apply", `{}`},
	{"POST", "/admin/api/config/confirm", `{}`},
	{"POST", "/admin/api/config/rollback", `{}`},
	{"GET", "/admin/api/certs", ""},
	{"POST", "/admin/api/certs/selfsigned", `{}`},
	{"POST", "/admin/api/certs/upload", `{"host":"localhost","cert":"","key":""}`},
	{"GET", "/admin/api/logs", ""},
}

// TestRefusals: no endpoint answers without a login, and none that
// changes something answers without the login's CSRF token.
func TestRefusals(t *testing.T) {
	e := start(t, "")
	anon := e.browser(t)
	for _, ep := range endpoints {
		var body any
		if ep.body != "" {
			body = ep.body
		}
		if code, out := anon.do(ep.method, ep.path, body, ""); code != http.StatusUnauthorized || out["error"] == "" {
			t.Errorf("%s %s without a login: %d %v, want 401 with an error", ep.method, ep.path, code, out)
		}
	}
	b := e.admin(t)
	for _, ep := range endpoints {
		if ep.method != "POST" {
			continue
		}
		for _, token := range []string{"", "not-the-token"} {
			if code, out := b.do(ep.method, ep.path, ep.body, token); code != http.StatusForbidden || out["error"] == "" {
				t.Errorf("%s %s with CSRF token %q: %d %v, want 403 with an error", ep.method, ep.path, token, code, out)
			}
		}
	}
	// The refusals changed nothing: the account is there, no user added.
	if !e.Accounts.Exists("localhost", "admin") || e.Accounts.Exists("localhost", "new") {
		t.Error("a refused request changed the accounts")
	}
	// With a forged cookie it is still no.
	forged := e.browser(t)
	req, _ := http.NewRequest("GET", e.web.URL+"/admin/api/status", nil)
	req.AddCookie(&http.Cookie{Name: "xmppd_admin", Value: "forged"})
	if resp, err := forged.c.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged cookie: %v %v", resp.StatusCode, err)
	}
	// Logging out ends the login.
	b.call("POST", "/admin/api/logout", map[string]any{})
	if code, _ := b.do("GET", "/admin/api/status", nil, ""); code != http.StatusUnauthorized {
		t.Errorf("status after logout: %d, want 401", code)
	}
}

func TestLogin(t *testing.T) {
	e := start(t, "")
	e.AddUser(t, "alice", "alice pw")
	b := e.browser(t)
	for _, tc := range []struct {
		name     string
		body     any
		code     int
		contains string
	}{
		{"not JSON", "jid=admin", http.StatusBadRequest, "JSON"},
		{"no password", map[string]string{"jid": adminJID}, http.StatusBadRequest, "password"},
		{"not a JID", map[string]string{"jid": "@@", "password": "x"}, http.StatusBadRequest, "bare JID"},
		{"unknown field", `{"jid":"a@localhost","password":"x","x":1}`, http.StatusBadRequest, "unknown field"},
		{"wrong password", map[string]string{"jid": adminJID, "password": "wrong"}, http.StatusUnauthorized, "wrong JID or password"},
		{"no such account", map[string]string{"jid": "nobody@localhost", "password": "x"}, http.StatusUnauthorized, "wrong JID or password"},
		{"not an admin", map[string]string{"jid": "alice@localhost", "password": "alice pw"}, http.StatusUnauthorized, "wrong JID or password"},
	} {
		code, out := b.do("POST", "/admin/api/login", tc.body, "")
		msg, _ := out["error"].(string)
		if code != tc.code || !strings.Contains(msg, tc.contains) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, code, msg, tc.code, tc.contains)
		}
	}

	// The cookie of a good login is HttpOnly and SameSite=Strict.
	body, _ := json.Marshal(map[string]string{"jid": adminJID, "password": adminPass})
	resp, err := http.Post(e.web.URL+"/admin/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusOK || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/admin/" {
		t.Errorf("login: %d, cookies %+v", resp.StatusCode, cookies)
	}
	// A login posted from another site's page is refused.
	req, _ := http.NewRequest("POST", e.web.URL+"/admin/api/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin login: %v %v, want 403", resp.StatusCode, err)
	}
}

// TestLoginThrottled: guesses are slowed as c2s slows them; after five
// failures even the right password waits.
func TestLoginThrottled(t *testing.T) {
	e := start(t, "")
	b := e.browser(t)
	for i := 0; i < 5; i++ {
		if code, _ := b.login(adminJID, "guess"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, code)
		}
	}
	b2 := e.browser(t)
	code, out := b2.login(adminJID, adminPass)
	if code != http.StatusTooManyRequests || !strings.Contains(out["error"].(string), "try again") {
		t.Fatalf("after five failures: %d %v, want 429", code, out)
	}
}

// TestBadInput: every endpoint that takes input answers bad input with 400
// and a message saying what is wrong.
func TestBadInput(t *testing.T) {
	e := start(t, "")
	b := e.admin(t)
	for _, tc := range []struct{ method, path, body, contains string }{
		{"POST", "/admin/api/users", `{"jid":"nolocal","password":"x"}`, "bare JID"},
		{"POST", "/admin/api/users", `{"jid":"x@localhost"}`, "password"},
		{"POST", "/admin/api/users", `{"jid":"x@elsewhere.org","password":"x"}`, ""},
		{"POST", "/admin/api/users", `not json`, "JSON"},
		{"POST", "/admin/api/users", `{"jid":"admin@localhost","password":"x"}`, ""},
		{"POST", "/admin/api/users/delete", `{}`, "jid"},
		{"POST", "/admin/api/users/delete", `{"jid":"admin@localhost"}`, "logged in with"},
		{"POST", "/admin/api/users/password", `{"jid":"admin@localhost"}`, "password"},
		{"POST", "/admin/api/users/password", `{"jid":"ghost@localhost","password":"x"}`, ""},
		{"POST", "/admin/api/sessions/kick", `{"jid":"localhost"}`, "JID"},
		{"POST", "/admin/api/sessions/kick", `{"jid":"ghost@localhost/r"}`, "no session"},
		{"POST", "/admin/api/sessions/kick", `{"jid":"a@elsewhere.org"}`, "does not serve"},
		{"POST", "/admin/api/config/stage", `{"changes":[]}`, "nothing to stage"},
		{"POST", "/admin/api/config/stage", `{"changes":[{"op":"frob"}]}`, "use set, delete or add"},
		{"POST", "/admin/api/config/stage", `{"changes":[{"op":"set","section":"nosuch","values":{"a":"b"}}]}`, "no section"},
		{"POST", "/admin/api/config/stage", `{"changes":[{"op":"set","section":"main","values":{"bad-name":"b"}}]}`, "not a UCI name"},
		{"POST", "/admin/api/config/stage", `{"changes":[{"op":"set","section":"main","values":{"x":5}}]}`, "string"},
		{"POST", "/admin/api/config/stage", `{"changes":[{"op":"add","type":"module","name":"main"}]}`, "exists already"},
		{"POST", "/admin/api/config/apply", `{}`, "no staged changes"},
		{"POST", "/admin/api/config/apply", `{"rollback":-1}`, "rollback"},
		{"POST", "/admin/api/config/confirm", `{}`, "no apply"},
		{"GET", "/admin/api/users?limit=0", "", "limit"},
		{"GET", "/admin/api/users?offset=x", "", "offset"},
		{"GET", "/admin/api/users?host=elsewhere.org", "", "does not serve"},
		{"GET", "/admin/api/logs?level=loud", "", "level"},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		code, out := b.do(tc.method, tc.path, body, b.csrf)
		msg, _ := out["error"].(string)
		if code/100 != 4 || code == http.StatusUnauthorized || code == http.StatusForbidden || msg == "" || !strings.Contains(msg, tc.contains) {
			t.Errorf("%s %s %s: %d %q, want 4xx with a message containing %q", tc.method, tc.path, tc.body, code, msg, tc.contains)
		}
	}
}

func TestUsers(t *testing.T) {
	e := start(t, "")
	b := e.admin(t)
	for i := 0; i < 12; i++ {
		b.call("POST", "/admin/api/users", map[string]string{"jid": fmt.Sprintf("user%02d@localhost", i), "password": "pw"})
	}
	if !e.Accounts.Exists("localhost", "user07") {
		t.Fatal("user07 was not created")
	}
	out := b.call("GET", "/admin/api/users?q=user&offset=10&limit=5", nil)
	users := out["users"].([]any)
	if out["total"].(float64) != 12 || len(users) != 2 || users[0].(map[string]any)["jid"] != "user10@localhost" {
		t.Errorf("page 3 of users: %v", out)
	}
	b.call("POST", "/admin/api/users/password", map[string]string{"jid": "user01@localhost", "password": "new pw"})
	creds, err := e.Accounts.Lookup("localhost")("user01", "SHA-256")
	_ = creds
	if err != nil {
		t.Fatal(err)
	}
	b.call("POST", "/admin/api/users/delete", map[string]string{"jid": "user01@localhost"})
	if e.Accounts.Exists("localhost", "user01") {
		t.Error("user01 still exists after delete")
	}
}

// TestKick: a connected client's session is listed and ended.
func TestKick(t *testing.T) {
	e := start(t, "")
	e.AddUser(t, "bob", "bob pw")
	xmpptest.Login(t, e.Server, "bob", "bob pw", "phone")
	b := e.admin(t)
	out := b.call("GET", "/admin/api/sessions", nil)
	list := out["sessions"].([]any)
	full, _ := list[0].(map[string]any)["jid"].(string)
	if len(list) != 1 || !strings.HasPrefix(full, "bob@localhost/") || list[0].(map[string]any)["transport"] != "c2s" {
		t.Fatalf("sessions: %v", out)
	}
	st := b.call("GET", "/admin/api/status", nil)
	if st["by_host"].(map[string]any)["localhost"].(map[string]any)["c2s"] != 1.0 {
		t.Errorf("status by host: %v", st["by_host"])
	}
	b.call("POST", "/admin/api/sessions/kick", map[string]string{"jid": full})
	h := e.Host("localhost")
	for i := 0; ; i++ {
		n, _ := h.Count()
		if n == 0 {
			break
		}
		if i > 500 {
			t.Fatal("the kicked session is still bound")
		}
		sleep()
	}
}

// TestConfigFlow: stage, apply with a rollback timer, confirm; the file is
// written and the running server has the new value.
func TestConfigFlow(t *testing.T) {
	e := start(t, "")
	b := e.admin(t)
	out := b.call("GET", "/admin/api/config", nil)
	main := out["values"].(map[string]any)["main"].(map[string]any)
	if main[".type"] != "xmppd" || main["log_level"] != "debug" {
		t.Fatalf("config main: %v", main)
	}
	before, _ := os.ReadFile(e.path)
	out = b.call("POST", "/admin/api/config/stage", map[string]any{"changes": []any{
		map[string]any{"op": "set", "section": "main", "values": map[string]any{"max_resources": "3"}},
	}})
	if out["changes"].(float64) != 1 {
		t.Errorf("staged: %v", out)
	}
	if now, _ := os.ReadFile(e.path); !bytes.Equal(now, before) {
		t.Fatal("staging wrote the file")
	}
	out = b.call("POST", "/admin/api/config/apply", map[string]any{"rollback": 60})
	if out["unconfirmed"] != true || out["rollback_in"].(float64) != 60 {
		t.Errorf("apply: %v", out)
	}
	if e.Config.C2S.MaxResources != 3 {
		t.Errorf("running max_resources = %d, want 3", e.Config.C2S.MaxResources)
	}
	if code, _ := b.do("POST", "/admin/api/config/stage", `{"changes":[{"op":"set","section":"main","values":{"max_resources":"4"}}]}`, b.csrf); code != 200 {
		t.Fatal("stage while pending")
	}
	if code, out := b.do("POST", "/admin/api/config/apply", `{}`, b.csrf); code != http.StatusConflict {
		t.Errorf("a second apply before the confirm: %d %v, want 409", code, out)
	}
	b.call("POST", "/admin/api/config/confirm", map[string]any{})
	b.call("POST", "/admin/api/config/revert", map[string]any{})
	cfg, err := config.Load(e.path)
	if err != nil || cfg.C2S.MaxResources != 3 {
		t.Fatalf("file after confirm: %v %+v", err, cfg)
	}

	// Rolled back by hand: the file and the server are as before.
	b.call("POST", "/admin/api/config/stage", map[string]any{"changes": []any{
		map[string]any{"op": "set", "section": "main", "values": map[string]any{"max_resources": "7"}},
	}})
	b.call("POST", "/admin/api/config/apply", map[string]any{})
	if e.Config.C2S.MaxResources != 7 {
		t.Fatalf("running max_resources = %d, want 7", e.Config.C2S.MaxResources)
	}
	b.call("POST", "/admin/api/config/rollback", map[string]any{})
	if e.Config.C2S.MaxResources != 3 {
		t.Errorf("after rollback max_resources = %d, want 3", e.Config.C2S.MaxResources)
	}
	if cfg, err := config.Load(e.path); err != nil || cfg.C2S.MaxResources != 3 {
		t.Errorf("file after rollback: %v", err)
	}
}

// TestConfigInvalidNotWritten: a change that fails validation is refused
// with the reasons, and the file stays as it was, byte for byte.
func TestConfigInvalidNotWritten(t *testing.T) {
	e := start(t, "")
	b := e.admin(t)
	before, _ := os.ReadFile(e.path)
	for _, ch := range []map[string]any{
		{"op": "set", "section": "main", "values": map[string]any{"max_resources": "lots"}},
		{"op": "set", "section": "webadmin", "values": map[string]any{"rollback": "1s"}},
		{"op": "set", "section": "main", "values": map[string]any{"modules_enabled": []any{"webadmin", "nosuchmodule"}}},
		{"op": "add", "type": "frobnicator"},
	} {
		b.call("POST", "/admin/api/config/revert", map[string]any{})
		out := b.call("POST", "/admin/api/config/stage", map[string]any{"changes": []any{ch}})
		if errs, _ := out["errors"].([]any); len(errs) == 0 {
			t.Errorf("stage %v: no errors shown", ch)
		}
		code, resp := b.do("POST", "/admin/api/config/apply", map[string]any{}, b.csrf)
		if errs, _ := resp["errors"].([]any); code != http.StatusBadRequest || len(errs) == 0 {
			t.Errorf("apply %v: %d %v, want 400 with errors", ch, code, resp)
		}
		if now, _ := os.ReadFile(e.path); !bytes.Equal(now, before) {
			t.Fatalf("apply of %v changed the file", ch)
		}
	}
	if e.Config.C2S.MaxResources != 10 {
		t.Errorf("running max_resources = %d", e.Config.C2S.MaxResources)
	}
}

func TestInfoPages(t *testing.T) {
	e := start(t, "")
	b := e.admin(t)
	mods := b.call("GET", "/admin/api/modules", nil)
	found := false
	for _, m := range mods["modules"].([]any) {
		row := m.(map[string]any)
		if row["name"] == "webadmin" {
			found = row["enabled"] == true && row["global"] == true
			docs := fmt.Sprint(row["docs"])
			if !strings.Contains(docs, "rollback") || !strings.Contains(docs, "duration") {
				t.Errorf("webadmin docs: %s", docs)
			}
		}
	}
	if !found {
		t.Error("modules: webadmin not listed as enabled")
	}
	if !strings.Contains(fmt.Sprint(mods["docs"]), "c2s_max_per_ip") {
		t.Error("modules: main option docs missing")
	}
	hosts := b.call("GET", "/admin/api/hosts", nil)
	if !strings.Contains(fmt.Sprint(hosts["routes"]), "/admin/") || len(hosts["listeners"].([]any)) != 2 {
		t.Errorf("hosts: %v", hosts)
	}
	certs := b.call("GET", "/admin/api/certs", nil)
	c := certs["certs"].([]any)[0].(map[string]any)
	if c["self_signed"] != true || !strings.Contains(fmt.Sprint(c["dns_names"]), "localhost") {
		t.Errorf("certs: %v", certs)
	}
	old := c["sha256"]
	certs = b.call("POST", "/admin/api/certs/selfsigned", map[string]any{})
	if certs["certs"].([]any)[0].(map[string]any)["sha256"] == old {
		t.Error("regenerate kept the old certificate")
	}
	logs := b.call("GET", "/admin/api/logs?level=info&module=webadmin", nil)
	if !strings.Contains(fmt.Sprint(logs["records"]), "admin logged in") {
		t.Errorf("logs: %v", logs)
	}
	if strings.Contains(fmt.Sprint(b.call("GET", "/admin/api/logs?level=error", nil)["records"]), "admin logged in") {
		t.Error("logs: level filter lets info through")
	}
}

// TestPage: the page is one document with its code inlined and a CSP that
// allows only that code.
func TestPage(t *testing.T) {
	e := start(t, "")
	resp, err := http.Get(e.web.URL + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<script>") || strings.Contains(string(body), `src="app.js"`) ||
		!strings.Contains(csp, "script-src 'sha256-") || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("page: %d csp %q", resp.StatusCode, csp)
	}
	// The page talks to this server only: its API, and the Monitor's
	// WebSocket to the same host.
	if !strings.Contains(csp, "connect-src 'self';") {
		t.Errorf("connect-src must be 'self' alone: %q", csp)
	}
}
