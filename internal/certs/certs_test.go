package certs

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
)

func TestSelfSignedAndReload(t *testing.T) {
	dir := t.TempDir()
	m, err := New(dir, []string{"example.org", "other.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, leaf := m.Certificate("other.example")
	if c == nil || leaf.DNSNames[1] != "other.example" {
		t.Fatalf("leaf %v", leaf.DNSNames)
	}
	// A second start reuses the pair.
	st1, _ := os.Stat(filepath.Join(dir, "selfsigned.crt"))
	if _, err := New(dir, []string{"example.org"}, nil); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(dir, "selfsigned.crt"))
	if !st1.ModTime().Equal(st2.ModTime()) {
		t.Fatal("certificate regenerated needlessly")
	}
	// A configured pair is used for its host and reloaded on demand.
	p, _ := SelfSigned(t.TempDir(), []string{"conf.example"})
	m, err = New(dir, []string{"example.org", "conf.example"}, map[string]Pair{"conf.example": p})
	if err != nil {
		t.Fatal(err)
	}
	if _, leaf := m.Certificate("conf.example"); leaf.DNSNames[0] != "conf.example" {
		t.Fatal("configured certificate not used")
	}
	if _, leaf := m.Certificate("unknown"); leaf.DNSNames[0] != "example.org" {
		t.Fatal("fallback certificate")
	}
	os.WriteFile(p.Cert, []byte("garbage"), 0o644)
	if err := m.Reload(); err == nil {
		t.Fatal("bad certificate accepted")
	}
	if c, _ := m.Certificate("conf.example"); c == nil {
		t.Fatal("failed reload dropped the old certificate")
	}
	cfg := m.TLSConfig()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatal("min version")
	}
}
