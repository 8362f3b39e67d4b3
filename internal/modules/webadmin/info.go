package webadmin

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"xmppd/internal/certs"
	"xmppd/internal/config"
	"xmppd/internal/core"
)

// moduleRow is one compiled-in module in GET /admin/api/modules.
type moduleRow struct {
	Name     string             `json:"name"`
	Global   bool               `json:"global"`
	Auto     bool               `json:"auto"` // loaded unless a host disables it
	Requires []string           `json:"requires,omitempty"`
	Enabled  bool               `json:"enabled"`         // global: loaded; else on some host
	Hosts    map[string]bool    `json:"hosts,omitempty"` // host module: enabled per host
	Status   []moduleStatus     `json:"status,omitempty"`
	Options  map[string]any     `json:"options,omitempty"` // the global section's
	Docs     []config.OptionDoc `json:"docs,omitempty"`    // what its option reader asks for
}

func (m *Module) modules(w http.ResponseWriter, r *http.Request, l *login) {
	cfg := m.srv.Config
	statuses := m.srv.Statuses()
	var rows []moduleRow
	for _, info := range core.Registered() {
		row := moduleRow{Name: info.Name, Global: info.Global, Auto: info.Auto, Requires: info.Requires}
		if info.Global {
			row.Enabled = info.Auto || slices.Contains(cfg.ModulesEnabled, info.Name)
		} else {
			row.Hosts = map[string]bool{}
			for _, h := range cfg.Hosts {
				on := h.Enabled && !slices.Contains(h.ModulesDisabled, info.Name) &&
					(info.Auto || slices.Contains(cfg.ModulesFor(h.Domain), info.Name))
				row.Hosts[h.Domain] = on
				row.Enabled = row.Enabled || on
			}
		}
		for k, v := range statuses {
			if k == info.Name || len(k) > len(info.Name) && k[:len(info.Name)+1] == info.Name+"@" {
				row.Status = append(row.Status, moduleStatus{Key: k, Level: v.Level.String(), Msg: v.Msg})
			}
		}
		if sec := cfg.ModuleSection(info.Name, ""); sec != nil {
			row.Options = map[string]any{}
			for _, o := range sec.Options {
				if o.List {
					row.Options[o.Name] = o.Values
				} else if len(o.Values) > 0 {
					row.Options[o.Name] = o.Values[0]
				}
			}
		}
		if info.Options != nil {
			row.Docs = config.Asked(info.Options)
		}
		rows = append(rows, row)
	}
	reply(w, struct {
		Modules []moduleRow                   `json:"modules"`
		Docs    map[string][]config.OptionDoc `json:"docs"`
	}{rows, map[string][]config.OptionDoc{
		"xmppd": config.Docs("xmppd"), "host": config.Docs("host"),
		"listener": config.Docs("listener"), "module": config.Docs("module"),
	}})
}

// hostRow is one host in GET /admin/api/hosts.
type hostRow struct {
	config.Host
	Sessions int `json:"sessions"`
	Users    int `json:"users"`
}

func (m *Module) hosts(w http.ResponseWriter, r *http.Request, l *login) {
	cfg := m.srv.Config
	var hosts []hostRow
	for _, hc := range cfg.Hosts {
		row := hostRow{Host: hc}
		if h := m.srv.Host(hc.Domain); h != nil {
			row.Sessions, row.Users = h.Count()
		}
		hosts = append(hosts, row)
	}
	var links []core.HTTPLink
	for _, h := range m.srv.Hosts() {
		for _, l := range m.srv.HTTP.Links(h.Name) {
			if !slices.Contains(links, l) {
				links = append(links, l)
			}
		}
	}
	reply(w, struct {
		Hosts     []hostRow         `json:"hosts"`
		Listeners []config.Listener `json:"listeners"`
		Routes    []string          `json:"routes"`
		Links     []core.HTTPLink   `json:"links"`
	}{hosts, cfg.Listeners, m.srv.HTTP.Paths(), links})
}

// certRow describes the certificate a host uses.
type certRow struct {
	Host        string    `json:"host"`
	File        string    `json:"file"`
	SelfSigned  bool      `json:"self_signed"`
	Subject     string    `json:"subject,omitempty"`
	Issuer      string    `json:"issuer,omitempty"`
	DNSNames    []string  `json:"dns_names,omitempty"`
	NotBefore   time.Time `json:"not_before,omitzero"`
	NotAfter    time.Time `json:"not_after,omitzero"`
	Fingerprint string    `json:"sha256,omitempty"`
	Error       string    `json:"error,omitempty"`
}

func (m *Module) certs(w http.ResponseWriter, r *http.Request, l *login) {
	cfg := m.srv.Config
	var rows []certRow
	for _, hc := range cfg.Hosts {
		if !hc.Enabled {
			continue
		}
		row := certRow{Host: hc.Domain, File: hc.Cert}
		if hc.Cert == "" {
			row.File = filepath.Join(cfg.CertDir(), "selfsigned.crt")
		}
		data, err := os.ReadFile(row.File)
		if err == nil {
			block, _ := pem.Decode(data)
			if block == nil {
				err = errNoPEM
			} else if c, perr := x509.ParseCertificate(block.Bytes); perr != nil {
				err = perr
			} else {
				sum := sha256.Sum256(c.Raw)
				row.Subject, row.Issuer, row.DNSNames = c.Subject.String(), c.Issuer.String(), c.DNSNames
				row.NotBefore, row.NotAfter = c.NotBefore, c.NotAfter
				row.SelfSigned = bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
				row.Fingerprint = hex.EncodeToString(sum[:])
			}
		}
		if err != nil {
			row.Error = err.Error()
		}
		rows = append(rows, row)
	}
	reply(w, struct {
		Certs []certRow `json:"certs"`
	}{rows})
}

type certError string

func (e certError) Error() string { return string(e) }

const errNoPEM = certError("no PEM certificate in the file")

// certRegenerate makes a new self-signed certificate for the hosts
// without a configured one, and has the listeners load it.
func (m *Module) certRegenerate(w http.ResponseWriter, r *http.Request, l *login) {
	cfg := m.srv.Config
	var hosts []string
	for _, hc := range cfg.Hosts {
		if hc.Enabled && hc.Cert == "" {
			hosts = append(hosts, hc.Domain)
		}
	}
	if len(hosts) == 0 {
		fail(w, http.StatusBadRequest, "every host has a configured certificate; no self-signed one is in use")
		return
	}
	dir := cfg.CertDir()
	os.Remove(filepath.Join(dir, "selfsigned.crt"))
	if _, err := certs.SelfSigned(dir, hosts); err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	m.cfgMu.Lock()
	_, err := m.srv.Reload(cfg)
	m.cfgMu.Unlock()
	if err != nil {
		fail(w, http.StatusInternalServerError, "the new certificate was written, but the reload failed: "+err.Error())
		return
	}
	m.api.Log().Info("admin UI: new self-signed certificate", "by", l.jid, "hosts", hosts)
	m.certs(w, r, l)
}
