// Package certs provides the server's TLS certificates: configured files per
// host, reloaded on demand (SIGHUP), or a self-signed ECDSA certificate
// generated into the data directory on first start, so a fresh install
// speaks TLS with nothing to configure.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Pair names a certificate and its key on disk.
type Pair struct{ Cert, Key string }

// Manager serves one certificate per host, chosen by SNI.
type Manager struct {
	mu      sync.RWMutex
	files   map[string]Pair // host → files
	certs   map[string]*tls.Certificate
	leaf    map[*tls.Certificate]*x509.Certificate
	fallbck string
}

// New loads a certificate for every host: files[host] when given, else the
// self-signed one in dir (made if missing or not covering every host).
func New(dir string, hosts []string, files map[string]Pair) (*Manager, error) {
	m := &Manager{files: map[string]Pair{}, fallbck: hosts[0]}
	var unconfigured []string
	for _, h := range hosts {
		if p, ok := files[h]; ok && p.Cert != "" {
			m.files[h] = p
		} else {
			unconfigured = append(unconfigured, h)
		}
	}
	if len(unconfigured) > 0 {
		p, err := SelfSigned(dir, unconfigured)
		if err != nil {
			return nil, err
		}
		for _, h := range unconfigured {
			m.files[h] = p
		}
	}
	return m, m.Reload()
}

// Reload reads every certificate again; on any error nothing changes.
func (m *Manager) Reload() error {
	certs := map[string]*tls.Certificate{}
	leaf := map[*tls.Certificate]*x509.Certificate{}
	loaded := map[Pair]*tls.Certificate{}
	for h, p := range m.files {
		c, ok := loaded[p]
		if !ok {
			cert, err := tls.LoadX509KeyPair(p.Cert, p.Key)
			if err != nil {
				return fmt.Errorf("certificate for %s (%s, %s): %w", h, p.Cert, p.Key, err)
			}
			c = &cert
			loaded[p] = c
			if leaf[c], err = x509.ParseCertificate(c.Certificate[0]); err != nil {
				return fmt.Errorf("certificate for %s: %w", h, err)
			}
		}
		certs[h] = c
	}
	m.mu.Lock()
	m.certs, m.leaf = certs, leaf
	m.mu.Unlock()
	return nil
}

// Certificate returns the certificate for a server name (the first host's
// when the client sent none or an unknown one).
func (m *Manager) Certificate(name string) (*tls.Certificate, *x509.Certificate) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.certs[strings.ToLower(name)]
	if !ok {
		c = m.certs[m.fallbck]
	}
	return c, m.leaf[c]
}

// TLSConfig returns a server configuration: TLS 1.2 at least, certificate by SNI.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			c, _ := m.Certificate(hello.ServerName)
			return c, nil
		},
	}
}

// SelfSigned returns the self-signed pair in dir covering hosts, creating it
// (or replacing one that lacks a host or expires within a week).
func SelfSigned(dir string, hosts []string) (Pair, error) {
	p := Pair{Cert: filepath.Join(dir, "selfsigned.crt"), Key: filepath.Join(dir, "selfsigned.key")}
	if c, err := tls.LoadX509KeyPair(p.Cert, p.Key); err == nil {
		if leaf, err := x509.ParseCertificate(c.Certificate[0]); err == nil &&
			time.Until(leaf.NotAfter) > 7*24*time.Hour && coversAll(leaf, hosts) {
			return p, nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return p, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"xmppd self-signed"}},
		DNSNames:              hosts,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return p, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return p, err
	}
	if err := writeFile(p.Key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return p, err
	}
	return p, writeFile(p.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func coversAll(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if !slices.Contains(c.DNSNames, h) {
			return false
		}
	}
	return true
}

func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return nil
}
