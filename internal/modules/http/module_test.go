package http_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"xmppd/internal/xmpptest"
)

// web starts a server with an HTTP and an HTTPS listener on loopback and a
// second host, and returns it with the two ports.
func web(t *testing.T, extra string) (*xmpptest.Server, int, int) {
	t.Helper()
	p, ps := xmpptest.FreePort(t), xmpptest.FreePort(t)
	s := xmpptest.Start(t, extra+fmt.Sprintf(`
config host 'other'
	option domain 'other.example'
config listener 'web'
	option type 'http'
	option address '127.0.0.1'
	option port '%d'
config listener 'web_tls'
	option type 'https'
	option address '127.0.0.1'
	option port '%d'
`, p, ps))
	return s, p, ps
}

func fetch(t *testing.T, c *http.Client, url, host string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestHostMeta: XEP-0156 host-meta in XML and JSON names the BOSH endpoint
// at the scheme, host and port the request came in on, and any origin may
// read it.
func TestHostMeta(t *testing.T) {
	_, port, _ := web(t, "")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	resp, body := fetch(t, http.DefaultClient, base+"/.well-known/host-meta", "")
	want := "<Link rel='urn:xmpp:alt-connections:xbosh' href='" + base + "/http-bind'/>"
	ws := fmt.Sprintf("<Link rel='urn:xmpp:alt-connections:websocket' href='ws://127.0.0.1:%d/xmpp-websocket'/>", port)
	if resp.StatusCode != 200 || !strings.Contains(body, want) || !strings.Contains(body, ws) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xrd+xml") {
		t.Fatalf("host-meta: %d %s\n%s", resp.StatusCode, resp.Header, body)
	}
	resp, body = fetch(t, http.DefaultClient, base+"/.well-known/host-meta.json", "localhost:80")
	var jrd struct {
		Links []struct{ Rel, Href string }
	}
	if err := json.Unmarshal([]byte(body), &jrd); err != nil || resp.StatusCode != 200 {
		t.Fatalf("host-meta.json: %d %v %s", resp.StatusCode, err, body)
	}
	found := false
	for _, l := range jrd.Links {
		found = found || (l.Rel == "urn:xmpp:alt-connections:xbosh" && l.Href == "http://localhost:80/http-bind")
	}
	if !found {
		t.Fatalf("host-meta.json lacks the BOSH link for the Host asked: %s", body)
	}
	req, _ := http.NewRequest("GET", base+"/.well-known/host-meta", nil)
	req.Header.Set("Origin", "https://anywhere.example")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("host-meta is not readable cross-origin: %v", r2.Header)
	}
}

// TestPublicURL: behind a proxy, host-meta advertises the proxy's URL.
func TestPublicURL(t *testing.T) {
	_, port, _ := web(t, "config module 'http'\n\toption public_url 'https://xmpp.example.org/chat/'\n")
	_, body := fetch(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/.well-known/host-meta", port), "")
	if !strings.Contains(body, "href='https://xmpp.example.org/chat/http-bind'") {
		t.Fatalf("host-meta: %s", body)
	}
	_, err := xmpptest.StartErr(t, "config module 'http'\n\toption public_url 'xmpp.example.org'\n")
	if err == nil || !strings.Contains(err.Error(), "public_url") || !strings.Contains(err.Error(), "test.uci:") {
		t.Fatalf("a URL without scheme: %v", err)
	}
}

// TestHTTPSBySNI: the HTTPS listener presents each host's own certificate,
// chosen by the name the client asks for.
func TestHTTPSBySNI(t *testing.T) {
	_, _, tlsPort := web(t, "")
	for _, name := range []string{"localhost", "other.example"} {
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), &tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cert := conn.ConnectionState().PeerCertificates[0]
		conn.Close()
		if cert.VerifyHostname(name) != nil {
			t.Fatalf("asked for %s, got a certificate for %v", name, cert.DNSNames)
		}
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "localhost", InsecureSkipVerify: true}}}
	resp, body := fetch(t, c, fmt.Sprintf("https://127.0.0.1:%d/.well-known/host-meta", tlsPort), "localhost")
	if resp.StatusCode != 200 || !strings.Contains(body, "href='https://localhost/http-bind'") || !strings.Contains(body, "href='wss://localhost/xmpp-websocket'") {
		t.Fatalf("host-meta over TLS: %d %s", resp.StatusCode, body)
	}
}

// TestReloadListeners: a reload opens a new web listener and closes a
// removed one; a typo in a limit is refused with its line.
func TestReloadListeners(t *testing.T) {
	s, port, tlsPort := web(t, "")
	p3 := xmpptest.FreePort(t)
	uci := strings.Replace(s.UCI, fmt.Sprintf("config listener 'web_tls'\n\toption type 'https'\n\toption address '127.0.0.1'\n\toption port '%d'\n", tlsPort),
		fmt.Sprintf("config listener 'more'\n\toption type 'http'\n\toption address '127.0.0.1'\n\toption port '%d'\n", p3), 1)
	if uci == s.UCI {
		t.Fatal("the test's edit did not apply")
	}
	if _, err := s.Reload(t, uci); err != nil {
		t.Fatal(err)
	}
	if resp, _ := fetch(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/.well-known/host-meta", p3), ""); resp.StatusCode != 200 {
		t.Fatalf("new listener: %d", resp.StatusCode)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort)); err == nil {
		c.Close()
		t.Fatal("the removed HTTPS listener still accepts")
	}
	if resp, _ := fetch(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/.well-known/host-meta", port), ""); resp.StatusCode != 200 {
		t.Fatalf("the listener that stayed: %d", resp.StatusCode)
	}
	if _, err := s.Reload(t, uci+"config module 'http'\n\toption max_body_size 'lots'\n"); err == nil || !strings.Contains(err.Error(), "max_body_size") {
		t.Fatalf("a typo in a limit: %v", err)
	}
}

// TestPortInUse: a web port held by another program stops the start with
// an error naming the listener.
func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = xmpptest.StartErr(t, fmt.Sprintf("config listener 'web'\n\toption type 'http'\n\toption address '127.0.0.1'\n\toption port '%d'\n", ln.Addr().(*net.TCPAddr).Port))
	if err == nil || !strings.Contains(err.Error(), "listener 'web'") || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("got %v", err)
	}
}
