package webadmin

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"xmppd/internal/config"
)

// certUploadRequest is the body of POST /admin/api/certs/upload: PEM text
// as the page reads it from the files the admin picked.
type certUploadRequest struct {
	Host string `json:"host"`
	Cert string `json:"cert"` // the certificate, then its chain
	Key  string `json:"key"`
}

// certUpload checks a certificate and its key for one host and writes
// them as HOST.crt and HOST.key in the certificate directory. A host whose
// cert and key options name those files already uses the new pair at once
// (a reload, as a new self-signed certificate is loaded). Any other host
// gets its cert and key options staged: Save & Apply writes them, and they
// take effect at the next restart, since the server binds certificate
// files at start.
func (m *Module) certUpload(w http.ResponseWriter, r *http.Request, l *login) {
	var req certUploadRequest
	if !decode(w, r, &req) {
		return
	}
	cfg := m.srv.Config
	var hc *config.Host
	for i := range cfg.Hosts {
		if cfg.Hosts[i].Domain == req.Host {
			hc = &cfg.Hosts[i]
		}
	}
	if hc == nil {
		fail(w, http.StatusBadRequest, "host: this server does not serve "+strconv.Quote(req.Host))
		return
	}
	leaf, err := checkPair(req.Host, []byte(req.Cert), []byte(req.Key), time.Now())
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	base := filepath.Join(cfg.CertDir(), req.Host)
	certFile, keyFile := base+".crt", base+".key"

	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	live := hc.Cert == certFile && hc.Key == keyFile
	var next *config.File
	if !live {
		cur, err := m.current()
		if err != nil {
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		next = cloneFile(cur)
		sec := hostSection(next, req.Host)
		if sec == nil {
			fail(w, http.StatusBadRequest, "host: no config host section with option domain "+strconv.Quote(req.Host)+" in "+cur.Name)
			return
		}
		if err := setValues(sec, map[string]any{"cert": certFile, "key": keyFile}); err != nil {
			fail(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	if err := os.MkdirAll(cfg.CertDir(), 0o700); err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	// The key first: a certificate next to an old key would not load.
	if err := writeAtomic(keyFile, []byte(req.Key), 0o600); err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err := writeAtomic(certFile, []byte(req.Cert), 0o644); err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	m.api.Log().Info("admin UI: certificate uploaded", "by", l.jid, "host", req.Host, "file", certFile,
		"not_after", leaf.NotAfter, "live", live)
	if live {
		if _, err := m.srv.Reload(cfg); err != nil {
			fail(w, http.StatusInternalServerError, "the certificate was written, but the reload failed: "+err.Error())
			return
		}
		reply(w, certUploadReply{Live: true})
		return
	}
	m.staged = next
	m.changes++
	reply(w, certUploadReply{Staged: true})
}

// certUploadReply tells the page what an upload did: the pair is in use,
// or the host's options are staged for Save & Apply.
type certUploadReply struct {
	Live   bool `json:"live"`
	Staged bool `json:"staged"`
}

// checkPair parses a PEM certificate chain and key and refuses a pair
// that would not serve host at now: the admin hears it here rather than
// from clients that fail to connect.
func checkPair(host string, certPEM, keyPEM []byte, now time.Time) (*x509.Certificate, error) {
	if !strings.Contains(string(certPEM), "-----BEGIN CERTIFICATE-----") {
		return nil, certError("cert: no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	if !strings.Contains(string(keyPEM), "PRIVATE KEY-----") {
		return nil, certError("key: no PEM private key (-----BEGIN ... PRIVATE KEY-----)")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, certError("the certificate and key do not make a pair: " + err.Error())
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, certError("cert: " + err.Error())
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return nil, certError("the certificate does not name " + host + ": " + err.Error())
	}
	if now.After(leaf.NotAfter) {
		return nil, certError("the certificate expired on " + leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	if now.Before(leaf.NotBefore) {
		return nil, certError("the certificate is valid only from " + leaf.NotBefore.UTC().Format(time.DateOnly))
	}
	return leaf, nil
}

// hostSection finds the config host section serving domain.
func hostSection(f *config.File, domain string) *config.Section {
	for _, s := range f.SectionsOf("host") {
		if o := s.Option("domain"); o != nil && len(o.Values) == 1 && o.Values[0] == domain {
			return s
		}
	}
	return nil
}

// writeAtomic writes data to path through a temporary file and a rename,
// so a reader never sees half a key.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
