package webadmin_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// pemPair makes a certificate for names valid from notBefore to notAfter,
// and its key, as PEM.
func pemPair(t *testing.T, names []string, notBefore, notAfter time.Time) (certPEM, keyPEM string, fingerprint string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	sum := sha256.Sum256(der)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), hex.EncodeToString(sum[:])
}

// TestCertUploadRefused: every pair that would not serve the host is
// refused with what is wrong, and nothing is staged or written.
func TestCertUploadRefused(t *testing.T) {
	e := start(t, "")
	b := e.admin(t)
	now := time.Now()
	good, goodKey, _ := pemPair(t, []string{"localhost"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	_, otherKey, _ := pemPair(t, []string{"localhost"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	wrongName, wrongNameKey, _ := pemPair(t, []string{"example.org"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	expired, expiredKey, _ := pemPair(t, []string{"localhost"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	future, futureKey, _ := pemPair(t, []string{"localhost"}, now.Add(24*time.Hour), now.Add(48*time.Hour))
	before, _ := os.ReadFile(e.path)
	for _, tc := range []struct {
		name, host, cert, key, want string
	}{
		{"unknown host", "example.org", good, goodKey, "does not serve"},
		{"no certificate", "localhost", "hello", goodKey, "no PEM certificate"},
		{"no key", "localhost", good, "hello", "no PEM private key"},
		{"another key", "localhost", good, otherKey, "do not make a pair"},
		{"other name", "localhost", wrongName, wrongNameKey, "does not name localhost"},
		{"expired", "localhost", expired, expiredKey, "expired on"},
		{"not yet valid", "localhost", future, futureKey, "valid only from"},
	} {
		code, out := b.do("POST", "/admin/api/certs/upload", map[string]string{"host": tc.host, "cert": tc.cert, "key": tc.key}, b.csrf)
		if msg, _ := out["error"].(string); code != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v, want 400 saying %q", tc.name, code, out, tc.want)
		}
	}
	if cfg := b.call("GET", "/admin/api/config", nil); cfg["changes"] != float64(0) {
		t.Errorf("a refused upload staged changes: %v", cfg["changes"])
	}
	if after, _ := os.ReadFile(e.path); string(after) != string(before) {
		t.Error("a refused upload changed the file")
	}
	if files, _ := os.ReadDir(e.Config.CertDir()); len(files) > 0 {
		for _, f := range files {
			if strings.HasSuffix(f.Name(), ".key") && !strings.HasPrefix(f.Name(), "selfsigned") {
				t.Errorf("a refused upload wrote %s", f.Name())
			}
		}
	}
}

// TestCertUploadStaged: for a host on the self-signed certificate, a good
// pair is stored and the host's cert and key are staged; the apply writes
// them and says they wait for a restart.
func TestCertUploadStaged(t *testing.T) {
	e := start(t, "")
	b := e.admin(t)
	now := time.Now()
	cert, key, _ := pemPair(t, []string{"localhost"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	if out := b.call("POST", "/admin/api/certs/upload", map[string]string{"host": "localhost", "cert": cert, "key": key}); out["staged"] != true {
		t.Fatalf("upload: %v, want staged", out)
	}
	if cfg := b.call("GET", "/admin/api/config", nil); cfg["changes"] != float64(1) {
		t.Fatalf("upload staged %v changes, want 1", cfg["changes"])
	}
	res := b.call("POST", "/admin/api/config/apply", map[string]any{"rollback": 0})
	if restart, _ := res["restart"].([]any); len(restart) == 0 || !strings.Contains(restart[0].(string), "cert") {
		t.Errorf("apply: %v, want the certificate listed as waiting for a restart", res)
	}
	dir := e.Config.CertDir()
	text, _ := os.ReadFile(e.path)
	if !strings.Contains(string(text), "option cert '"+dir+"/localhost.crt'") || !strings.Contains(string(text), "option key '"+dir+"/localhost.key'") {
		t.Fatalf("the file does not point the host at the upload:\n%s", text)
	}
	if fi, err := os.Stat(dir + "/localhost.key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v, want mode 0600", fi, err)
	}
	if data, _ := os.ReadFile(dir + "/localhost.crt"); string(data) != cert {
		t.Error("the certificate file is not the upload")
	}
}

// TestCertUploadLive: for a host whose cert and key name the upload's
// files, the new pair is in use at once: the certificates page shows it
// and a client gets it in its TLS handshake.
func TestCertUploadLive(t *testing.T) {
	now := time.Now()
	oldCert, oldKey, _ := pemPair(t, []string{"localhost"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	e := startHost(t, "\toption cert '{dir}/certs/localhost.crt'\n\toption key '{dir}/certs/localhost.key'\n", "", func(dir string) {
		os.MkdirAll(dir+"/certs", 0o700)
		os.WriteFile(dir+"/certs/localhost.crt", []byte(oldCert), 0o644)
		os.WriteFile(dir+"/certs/localhost.key", []byte(oldKey), 0o600)
	})
	b := e.admin(t)
	cert, key, fp := pemPair(t, []string{"localhost"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	if out := b.call("POST", "/admin/api/certs/upload", map[string]string{"host": "localhost", "cert": cert, "key": key}); out["live"] != true {
		t.Fatalf("upload: %v, want live", out)
	}
	if cfg := b.call("GET", "/admin/api/config", nil); cfg["changes"] != float64(0) {
		t.Errorf("a live upload staged %v changes", cfg["changes"])
	}
	certs := b.call("GET", "/admin/api/certs", nil)["certs"].([]any)
	if got := certs[0].(map[string]any)["sha256"]; !strings.EqualFold(strings.ReplaceAll(got.(string), ":", ""), fp) {
		t.Errorf("certificates page shows %v, want %s", got, fp)
	}
	conn, err := tls.Dial("tcp", e.Direct, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	if hex.EncodeToString(sum[:]) != fp {
		t.Error("the TLS listener does not present the uploaded certificate")
	}
}
