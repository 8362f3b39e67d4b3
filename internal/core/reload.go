package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"xmppd/internal/config"
)

// Reloader is a module that applies a new configuration in place because
// unloading it would drop what it holds (c2s and its connections; any
// module that holds a port or a file only one instance can hold). Other
// modules are loaded again when their options change.
type Reloader interface {
	Reload(api *API, cfg *config.Config) error
}

// EventReload fires on the server bus once a reload has applied; ev.Data
// is the *config.Config now running.
const EventReload = "reload"

// ErrNotApplied is wrapped by the errors of a Reload that changed nothing.
var ErrNotApplied = errors.New("nothing of it was applied: everything runs on as it was")

// Reload applies cfg to the running server without dropping sessions, all
// or nothing: modules enabled since are loaded, and modules whose options
// differ from those they run with are loaded again with the new ones, each
// beside the instance it replaces, which goes on serving meanwhile; only
// when every load has succeeded are the old instances and the modules no
// longer enabled unloaded (in reverse load order), the Reloaders told, and
// "reload" fired. So no stanza ever meets a module half gone, and a load
// that fails leaves everything as it was: the load's error is returned,
// wrapping ErrNotApplied, and the next Reload tries again.
//
// A configuration CheckModules refuses changes nothing either, and its
// errors are returned, wrapping ErrNotApplied. What only a restart can
// apply is compared with what the server started with, returned in
// restart, and left as it was: srv.Config keeps the running values of those
// settings, so it never names a store, socket or certificate the server
// does not use. A Reloader that cannot apply all of the new configuration
// keeps what it could not apply as it was; its error is returned.
func (srv *Server) Reload(cfg *config.Config) (restart []string, err error) {
	if err := CheckModules(cfg); err != nil {
		return nil, fmt.Errorf("%w; %w", err, ErrNotApplied)
	}
	restart = needsRestart(srv.started, cfg)
	cfg = srv.running(cfg)
	old := srv.Config
	// Set before the loads: a module reads the server's configuration in
	// its Load.
	srv.Config = cfg

	// Build: every new instance loads beside what runs.
	var steps []*reloadStep
	fail := func(err error) ([]string, error) {
		errs := []error{err}
		for _, st := range slices.Backward(steps) {
			for _, a := range slices.Backward(st.added) {
				a.unload()
			}
		}
		srv.Config = old
		return restart, fmt.Errorf("%w; %w", errors.Join(errs...), ErrNotApplied)
	}
	global, err := plan(cfg, "", nil)
	if err != nil {
		return fail(err)
	}
	st, err := srv.prepare(nil, srv.global, global, cfg)
	steps = append(steps, st)
	if err != nil {
		return fail(err)
	}
	for _, h := range srv.hostList {
		if hc := cfg.Host(h.Name); hc == nil || !hc.Enabled {
			continue // the host goes at the next restart, with its modules
		}
		mods, err := plan(cfg, h.Name, global)
		if err != nil {
			return fail(err)
		}
		st, err := srv.prepare(h, h.modules, mods, cfg)
		steps = append(steps, st)
		if err != nil {
			return fail(err)
		}
	}

	// Swap: what the new instances replace goes, hosts before the global
	// modules they may use, as Stop unloads them.
	for _, st := range steps {
		if st.host == nil {
			srv.global = st.next
		} else {
			st.host.modules = st.next
		}
	}
	for _, st := range slices.Backward(steps) {
		for _, a := range slices.Backward(st.running) {
			if !st.gone[a] {
				continue
			}
			a.unload()
			if st.replaced[a.info.Name] {
				continue
			}
			a.log.Info("unloaded")
		}
		for _, a := range st.added {
			if st.replaced[a.info.Name] {
				a.log.Info("loaded again with new options")
			} else {
				a.log.Info("loaded")
			}
		}
	}
	var errs []error
	for _, st := range steps {
		for _, a := range st.reloaders {
			if err := a.mod.(Reloader).Reload(a, cfg); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w; what it could not apply stays as it was", moduleName(a.info, st.host), err))
			}
		}
	}
	srv.Events.Fire(EventReload, &Event{Data: cfg})
	return restart, errors.Join(errs...)
}

// reloadStep is a reload of the modules of one host (nil: the global ones).
type reloadStep struct {
	host      *Host
	running   []*API          // as loaded before, in load order
	next      []*API          // as loaded after, in load order
	added     []*API          // new instances, loaded beside the running ones
	gone      map[*API]bool   // running instances to unload
	replaced  map[string]bool // modules whose new instance replaces a running one
	reloaders []*API          // Reloaders to tell
}

// prepare loads, beside the running instances, the modules of mods (the
// new configuration's, in load order) that are new or whose options
// changed, and says what the swap will unload. On an error the step says
// what it loaded, for the caller to unload.
func (srv *Server) prepare(h *Host, running []*API, mods []ModuleInfo, cfg *config.Config) (*reloadStep, error) {
	st := &reloadStep{host: h, running: running, gone: map[*API]bool{}, replaced: map[string]bool{}}
	loaded := map[string]*API{}
	for _, a := range running {
		loaded[a.info.Name] = a
		st.gone[a] = true
	}
	for _, m := range mods {
		a := loaded[m.Name]
		opts := options(cfg, m, h)
		if a != nil {
			if _, ok := a.mod.(Reloader); ok {
				delete(st.gone, a)
				st.next = append(st.next, a)
				st.reloaders = append(st.reloaders, a)
				continue
			}
			// Compared with the options the module runs with, not with the
			// file read last: after a failed reload they differ, and the
			// next one must try (and report) again.
			if optionsKey(a.opts.Section()) == optionsKey(opts.Section()) {
				delete(st.gone, a)
				st.next = append(st.next, a)
				continue
			}
			st.replaced[m.Name] = true
		}
		na, err := srv.load(m, h, opts)
		if err != nil {
			return st, err
		}
		st.added = append(st.added, na)
		st.next = append(st.next, na)
	}
	return st, nil
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

// moduleName names module m on h in messages.
func moduleName(m ModuleInfo, h *Host) string {
	if h == nil {
		return "module " + m.Name
	}
	return "module " + m.Name + " on " + h.Name
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
