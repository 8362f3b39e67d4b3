package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"xmppd/internal/xmpptest"
)

// scrape asks the server's routes for /metrics as a client at remote.
func scrape(s *xmpptest.Server, remote string, hdr ...string) (int, string) {
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	s.HTTP.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// TestDefaultLoopbackOnly: by default this machine may scrape, nobody
// else, not even through a proxy on this machine.
func TestDefaultLoopbackOnly(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "alice", "secret")
	xmpptest.Login(t, s, "alice", "secret", "r")
	code, body := scrape(s, "127.0.0.1:4000")
	if code != 200 || !strings.Contains(body, "# EOF") || !strings.Contains(body, "xmppd_") {
		t.Fatalf("loopback: %d\n%s", code, body)
	}
	if code, _ := scrape(s, "[::1]:4000"); code != 200 {
		t.Fatalf("::1: %d", code)
	}
	if code, body := scrape(s, "192.168.1.20:4000"); code != http.StatusForbidden || !strings.Contains(body, "option allow") {
		t.Fatalf("LAN address: %d %s", code, body)
	}
	if code, _ := scrape(s, "127.0.0.1:4000", "X-Forwarded-For", "203.0.113.9"); code != http.StatusForbidden {
		t.Fatalf("through a local proxy: %d", code)
	}
}

// TestTokenAndAllowList: a bearer token opens the metrics to any address,
// a wrong one does not, and allow names networks.
func TestTokenAndAllowList(t *testing.T) {
	tok := "0123456789abcdef0123"
	s := xmpptest.Start(t, "config module 'metrics'\n\tlist allow '192.168.1.0/24'\n\toption token '"+tok+"'\n")
	if code, _ := scrape(s, "192.168.1.20:4000"); code != 200 {
		t.Fatalf("allowed network: %d", code)
	}
	if code, _ := scrape(s, "127.0.0.1:4000"); code != http.StatusUnauthorized {
		t.Fatalf("loopback, no longer in the list, no token: %d", code)
	}
	if code, _ := scrape(s, "203.0.113.9:4000", "Authorization", "Bearer "+tok); code != 200 {
		t.Fatalf("the token: %d", code)
	}
	if code, _ := scrape(s, "203.0.113.9:4000", "Authorization", "Bearer "+tok+"x"); code != http.StatusUnauthorized {
		t.Fatalf("a wrong token: %d", code)
	}
}

// TestOptionMistakes: a short token and a bad network are refused with
// their line.
func TestOptionMistakes(t *testing.T) {
	for _, tc := range []struct{ uci, want string }{
		{"config module 'metrics'\n\toption token 'short'\n", "at least 16"},
		{"config module 'metrics'\n\tlist allow '192.168.1.0/33'\n", "not an IP address or network"},
	} {
		_, err := xmpptest.StartErr(t, tc.uci)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test.uci:") {
			t.Errorf("%q: %v", tc.uci, err)
		}
	}
}
