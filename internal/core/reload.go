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
// options changed loaded again with them (a Reloader is told instead), and
// "reload" fires. What only a restart can apply is returned, and left as it
// was. A module that fails to load with its new options keeps its old ones;
// the failures are returned together.
func (srv *Server) Reload(cfg *config.Config) (restart []string, err error) {
	if err := checkModuleNames(cfg); err != nil {
		return nil, err
	}
	old := srv.Config
	restart = needsRestart(old, cfg)
	srv.Config = cfg
	var errs []error
	srv.global = srv.reloadModules(nil, srv.global, old, cfg, &errs)
	for _, h := range srv.hostList {
		if cfg.Host(h.Name) == nil || !cfg.Host(h.Name).Enabled {
			continue // the host goes at the next restart, with its modules
		}
		h.modules = srv.reloadModules(h, h.modules, old, cfg, &errs)
	}
	srv.Events.Fire("reload", &Event{Data: cfg})
	return restart, errors.Join(errs...)
}

// reloadModules brings the modules loaded for h (nil: the global ones) in
// line with cfg and returns the new list, in registration order as Start
// loads them.
func (srv *Server) reloadModules(h *Host, apis []*API, old, cfg *config.Config, errs *[]error) []*API {
	domain := ""
	if h != nil {
		domain = h.Name
	}
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
		switch {
		case a == nil:
			a, err := srv.load(m, h, cfg)
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			a.log.Info("loaded")
			out = append(out, a)
		case r != nil:
			if err := r.Reload(a, cfg); err != nil {
				*errs = append(*errs, fmt.Errorf("module %s: %w", m.Name, err))
			}
			out = append(out, a)
		case optionsKey(old.ModuleSection(m.Name, domain)) != optionsKey(cfg.ModuleSection(m.Name, domain)):
			a.unload()
			na, err := srv.load(m, h, cfg)
			if err != nil {
				*errs = append(*errs, err)
				// The old options loaded before, so they load again.
				if na, err = srv.load(m, h, old); err != nil {
					*errs = append(*errs, err)
					continue
				}
			}
			na.log.Info("loaded again with new options")
			out = append(out, na)
		default:
			out = append(out, a)
		}
	}
	return out
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

// needsRestart names the changes from old to cur that Reload cannot apply:
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
