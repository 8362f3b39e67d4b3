package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"xmppd/internal/config"
)

// Reloader is a module that applies a new configuration in place because
// unloading it would drop what it holds (c2s and its connections). Other
// modules are unloaded and loaded again when their options change.
type Reloader interface {
	Reload(api *API, cfg *config.Config) error
}

// Reload applies cfg to the running server without dropping sessions:
// modules enabled since are loaded, disabled ones unloaded, modules whose
// options differ from those they run with are loaded again with the new
// ones (a Reloader is told instead), and "reload" fires.
//
// A configuration CheckModules refuses changes nothing, and its errors are
// returned. What only a restart can apply is compared with what the server
// started with, returned in restart, and left as it was: srv.Config keeps
// the running values of those settings, so it never names a store, socket
// or certificate the server does not use. A module that fails to load with
// its new options runs on with its old ones; each failure is returned,
// saying what stayed, and the next Reload tries again.
func (srv *Server) Reload(cfg *config.Config) (restart []string, err error) {
	if err := CheckModules(cfg); err != nil {
		return nil, err
	}
	restart = needsRestart(srv.started, cfg)
	cfg = srv.running(cfg)
	srv.Config = cfg
	var errs []error
	srv.global = srv.reloadModules(nil, srv.global, cfg, &errs)
	for _, h := range srv.hostList {
		if cfg.Host(h.Name) == nil || !cfg.Host(h.Name).Enabled {
			continue // the host goes at the next restart, with its modules
		}
		h.modules = srv.reloadModules(h, h.modules, cfg, &errs)
	}
	srv.Events.Fire("reload", &Event{Data: cfg})
	return restart, errors.Join(errs...)
}

// running returns cfg with what only a restart changes set back to what
// the server runs with.
func (srv *Server) running(cfg *config.Config) *config.Config {
	c, s := *cfg, srv.started
	c.DataDir, c.AdminSocket, c.StanzaSizeLimit, c.Storage = s.DataDir, s.AdminSocket, s.StanzaSizeLimit, s.Storage
	c.Hosts = slices.Clone(cfg.Hosts)
	for i := range c.Hosts {
		if old := s.Host(c.Hosts[i].Domain); old != nil {
			c.Hosts[i].Cert, c.Hosts[i].Key = old.Cert, old.Key
		}
	}
	return &c
}

// reloadModules brings the modules loaded for h (nil: the global ones) in
// line with cfg and returns the new list, in registration order as Start
// loads them.
func (srv *Server) reloadModules(h *Host, apis []*API, cfg *config.Config, errs *[]error) []*API {
	loaded := map[string]*API{}
	for _, a := range slices.Backward(apis) {
		if wanted(a.info, h, cfg) {
			loaded[a.info.Name] = a
			continue
		}
		a.unload()
		a.log.Info("unloaded")
	}
	var out []*API
	for _, m := range Registered() {
		if m.Global != (h == nil) || !wanted(m, h, cfg) {
			continue
		}
		a := loaded[m.Name]
		var r Reloader
		if a != nil {
			r, _ = a.mod.(Reloader)
		}
		opts := options(cfg, m, h)
		switch {
		case a == nil:
			a, err := srv.load(m, h, opts)
			if err != nil {
				*errs = append(*errs, fmt.Errorf("%w; it stays unloaded", err))
				continue
			}
			a.log.Info("loaded")
			out = append(out, a)
		case r != nil:
			if err := r.Reload(a, cfg); err != nil {
				*errs = append(*errs, fmt.Errorf("%s: %w; what it could not apply stays as it was", moduleName(m, h), err))
			}
			out = append(out, a)
		// Compared with the options the module runs with, not with the
		// file read last: after a failed reload they differ, and the next
		// one must try (and report) again.
		case optionsKey(a.opts.Section()) != optionsKey(opts.Section()):
			a.unload()
			na, err := srv.load(m, h, opts)
			if err != nil {
				// The options it ran with loaded before, so they load again.
				old, oerr := srv.load(m, h, config.NewReader(a.opts.File(), a.opts.Section()))
				if oerr != nil {
					*errs = append(*errs, fmt.Errorf("%w; loading it again with its old options failed too, so it is not running: %v", err, oerr))
					continue
				}
				old.log.Warn("new options refused; loaded again with the old ones")
				*errs = append(*errs, fmt.Errorf("%w; it runs on with its old options", err))
				out = append(out, old)
				continue
			}
			na.log.Info("loaded again with new options")
			out = append(out, na)
		default:
			out = append(out, a)
		}
	}
	return out
}

// moduleName names module m on h in messages.
func moduleName(m ModuleInfo, h *Host) string {
	if h == nil {
		return "module " + m.Name
	}
	return "module " + m.Name + " on " + h.Name
}

// wanted reports whether cfg enables module m for h (nil: globally).
func wanted(m ModuleInfo, h *Host, cfg *config.Config) bool {
	if h == nil {
		return m.Global && (m.Auto || slices.Contains(cfg.ModulesEnabled, m.Name))
	}
	hc := cfg.Host(h.Name)
	if m.Global || hc == nil || slices.Contains(hc.ModulesDisabled, m.Name) {
		return false
	}
	return m.Auto || slices.Contains(cfg.ModulesFor(h.Name), m.Name)
}

// optionsKey is a module section's options without their line numbers, to
// tell whether they changed.
func optionsKey(s *config.Section) string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	for _, o := range s.Options {
		b.WriteString(o.Name)
		for _, v := range o.Values {
			b.WriteByte(0)
			b.WriteString(v)
		}
		b.WriteByte(1)
	}
	return b.String()
}

// needsRestart names the changes from old, what the server started with,
// to cur that Reload cannot apply:
// the store, the admin socket, the stanza limit (every open stream has its
// reader) and the set of hosts with their certificate files.
func needsRestart(old, cur *config.Config) []string {
	var out []string
	add := func(changed bool, what string) {
		if changed {
			out = append(out, what)
		}
	}
	add(old.DataDir != cur.DataDir, "data_dir")
	add(old.AdminSocket != cur.AdminSocket, "admin_socket")
	add(old.StanzaSizeLimit != cur.StanzaSizeLimit, "stanza_size_limit")
	add(old.Storage != cur.Storage, "storage_memtable_size, storage_cache_size")
	add(hostsKey(old) != hostsKey(cur), "hosts (domains, enabled, cert, key)")
	return out
}

func hostsKey(c *config.Config) string {
	var b strings.Builder
	for _, h := range c.Hosts {
		fmt.Fprintf(&b, "%s\x00%t\x00%s\x00%s\x01", h.Domain, h.Enabled, h.Cert, h.Key)
	}
	return b.String()
}
