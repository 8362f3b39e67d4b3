package core

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"xmppd/internal/config"
)

// Module is a feature of the server. New makes an instance with no side
// effects; Load wires it in through the API, and everything it adds there is
// removed when it is unloaded.
type Module interface {
	Load(api *API) error
}

// Unloader is implemented by modules with state of their own to release
// beyond what the API tracks.
type Unloader interface {
	Unload()
}

// ModuleInfo registers a module.
type ModuleInfo struct {
	// Name is the module's name: in modules_enabled, its UCI section
	// (config module 'NAME'), its log prefix and its metrics subsystem.
	Name string
	// Global modules are loaded once for the server (listeners); the others
	// once per host that enables them.
	Global bool
	// Auto modules are loaded without being listed (core protocol pieces);
	// a host can still list them in modules_disabled.
	Auto bool
	// Options reads the module's options from r exactly as its Load does,
	// reporting every mistake on r, and has no side effects: the module's
	// Load and the configuration checks (Start, Reload, `xmppd check`)
	// share it, so they accept the same sections. Nil means the module
	// takes no options.
	Options func(r *config.Reader)
	// Requires names the modules this one needs loaded first, in the same
	// place (a host module may also require a global one). Enabling this
	// module loads them too, unless a host disables one, which is a
	// configuration error; so is a requirement that is not compiled in.
	Requires []string
	// Optional names modules this one uses when they are loaded: they load
	// first, but are not loaded for its sake.
	Optional []string
	// New returns a fresh instance.
	New func() Module
}

var (
	registryMu sync.Mutex
	registry   = map[string]ModuleInfo{}
)

// Register makes a module available; it is called from init functions and
// panics on a wiring mistake, so such mistakes never reach a device.
func Register(m ModuleInfo) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if m.Name == "" || m.New == nil {
		panic("core: Register needs a name and a constructor")
	}
	if _, dup := registry[m.Name]; dup {
		panic(fmt.Sprintf("core: module %q registered twice", m.Name))
	}
	registry[m.Name] = m
}

// Registered lists the compiled-in modules, sorted.
func Registered() []ModuleInfo {
	registryMu.Lock()
	defer registryMu.Unlock()
	var out []ModuleInfo
	for _, m := range registry {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b ModuleInfo) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// CheckModules returns the mistakes in cfg's use of modules, each with its
// file and line: names in modules_enabled and modules_disabled, and module
// sections, that no compiled-in module answers to, options each module's
// own Options refuses, and modules whose requirements cannot load (a host
// disables one, it is not compiled in, or requirements form a cycle).
// Start and Reload refuse a configuration it finds fault with, and
// `xmppd check` reports the same.
func CheckModules(cfg *config.Config) error {
	var specs []config.ModuleSpec
	for _, m := range Registered() {
		specs = append(specs, config.ModuleSpec{Name: m.Name, Global: m.Global, Options: m.Options})
	}
	var list config.ErrorList
	if err := cfg.CheckModules(specs); err != nil && !errors.As(err, &list) {
		return err
	}
	seen := map[string]bool{}
	for _, e := range list {
		seen[e.Error()] = true
	}
	add := func(errs []*config.Error) {
		for _, e := range errs {
			// A cycle or a missing module shows on every host alike.
			if !seen[e.Error()] {
				seen[e.Error()] = true
				list = append(list, e)
			}
		}
	}
	global, errs := modulesFor(cfg, "", nil)
	add(errs)
	for _, hc := range cfg.Hosts {
		if hc.Enabled {
			_, errs := modulesFor(cfg, hc.Domain, global)
			add(errs)
		}
	}
	if len(list) == 0 {
		return nil
	}
	// By line, and what concerns the file as a whole (line 0) last.
	slices.SortStableFunc(list, func(a, b *config.Error) int { return cmp.Compare(uint(a.Line-1), uint(b.Line-1)) })
	return list
}

// modulesFor returns the modules cfg loads for host domain (""; the global
// ones), in load order: each after those it requires or optionally
// follows, otherwise by name. global is the global list, against which a
// host module's requirement of a global module is checked. The errors say
// why a requirement cannot be met.
func modulesFor(cfg *config.Config, domain string, global []ModuleInfo) ([]ModuleInfo, []*config.Error) {
	reg := map[string]ModuleInfo{}
	for _, m := range Registered() {
		reg[m.Name] = m
	}
	file := configFile(cfg)
	var errs []*config.Error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &config.Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	set := map[string]ModuleInfo{}
	var queue []string
	for _, m := range Registered() {
		if wanted(m, domain, cfg) {
			set[m.Name] = m
			queue = append(queue, m.Name)
		}
	}
	for len(queue) > 0 {
		m := set[queue[0]]
		queue = queue[1:]
		for _, name := range m.Requires {
			r, ok := reg[name]
			switch {
			case !ok:
				fail(0, "module %s requires module %s, which is not compiled in", m.Name, name)
			case r.Global && domain != "":
				if !slices.ContainsFunc(global, func(g ModuleInfo) bool { return g.Name == name }) {
					fail(0, "module %s requires module %s, which serves the whole server: add it to the global modules_enabled", m.Name, name)
				}
			case !r.Global && domain == "":
				fail(0, "module %s serves the whole server but requires module %s, which loads per host", m.Name, name)
			case disabled(cfg, domain, name):
				fail(listLine(cfg, domain, "modules_disabled", name),
					"option modules_disabled: host %s disables module %s, which module %s requires: enable it, or disable %s too", domain, name, m.Name, m.Name)
			default:
				if _, in := set[name]; !in {
					set[name] = r
					queue = append(queue, name)
				}
			}
		}
	}
	order, cycle := loadOrder(set)
	if cycle != nil {
		fail(0, "modules require each other in a cycle, so none of them can load first: %s", strings.Join(cycle, " → "))
	}
	return order, errs
}

// loadOrder sorts set so that every module comes after the modules of set
// it requires or optionally follows, and otherwise by name, which keeps
// the order of modules without dependencies as it always was. When some
// modules depend on each other in a cycle it returns one such cycle, and
// those modules last.
func loadOrder(set map[string]ModuleInfo) (order []ModuleInfo, cycle []string) {
	deps := func(m ModuleInfo) []string {
		var out []string
		for _, d := range slices.Concat(m.Requires, m.Optional) {
			if _, in := set[d]; in && d != m.Name && !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
		return out
	}
	waiting := map[string]int{}    // name → dependencies not placed yet
	users := map[string][]string{} // name → modules that depend on it
	var ready []string
	for name, m := range set {
		d := deps(m)
		waiting[name] = len(d)
		for _, x := range d {
			users[x] = append(users[x], name)
		}
		if len(d) == 0 {
			ready = append(ready, name)
		}
	}
	for len(ready) > 0 {
		slices.Sort(ready)
		name := ready[0]
		ready = ready[1:]
		order = append(order, set[name])
		delete(waiting, name)
		for _, u := range users[name] {
			if waiting[u]--; waiting[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(waiting) == 0 {
		return order, nil
	}
	// Walk from the first module left along dependencies that are left
	// too: every step has one, so the walk comes back to a module it met.
	left := slices.Sorted(maps.Keys(waiting))
	at := left[0]
	var path []string
	for !slices.Contains(path, at) {
		path = append(path, at)
		for _, d := range deps(set[at]) {
			if _, ok := waiting[d]; ok {
				at = d
				break
			}
		}
	}
	cycle = append(path[slices.Index(path, at):], at)
	for _, name := range left {
		order = append(order, set[name])
	}
	return order, cycle
}

// wanted reports whether cfg enables module m for host domain ("": the
// global modules), before requirements pull in more.
func wanted(m ModuleInfo, domain string, cfg *config.Config) bool {
	if domain == "" {
		return m.Global && (m.Auto || slices.Contains(cfg.ModulesEnabled, m.Name))
	}
	hc := cfg.Host(domain)
	if m.Global || hc == nil || slices.Contains(hc.ModulesDisabled, m.Name) {
		return false
	}
	return m.Auto || slices.Contains(cfg.ModulesFor(domain), m.Name)
}

// disabled reports whether host domain lists module name in modules_disabled.
func disabled(cfg *config.Config, domain, name string) bool {
	hc := cfg.Host(domain)
	return hc != nil && slices.Contains(hc.ModulesDisabled, name)
}

// listLine returns the line where the list option of host domain's section
// (the main section for "") names item, or 0.
func listLine(cfg *config.Config, domain, list, item string) int {
	if cfg.Raw == nil {
		return 0
	}
	var sections []*config.Section
	if domain == "" {
		sections = cfg.Raw.SectionsOf("xmppd")
	} else if hc := cfg.Host(domain); hc != nil {
		for _, s := range cfg.Raw.SectionsOf("host") {
			if s.Line == hc.Line {
				sections = append(sections, s)
			}
		}
	}
	for _, s := range sections {
		o := s.Option(list)
		if o == nil {
			continue
		}
		if !o.List {
			if slices.Contains(strings.Fields(strings.Join(o.Values, " ")), item) {
				return o.Line
			}
			continue
		}
		if i := slices.Index(o.Values, item); i >= 0 {
			return o.LineOf(i)
		}
	}
	return 0
}

// configFile names cfg's file in errors.
func configFile(cfg *config.Config) string {
	if cfg.Raw != nil {
		return cfg.Raw.Name
	}
	return cfg.File
}
