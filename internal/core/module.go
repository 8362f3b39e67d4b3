package core

import (
	"fmt"
	"slices"
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
// sections, that no compiled-in module answers to, and options each
// module's own Options refuses. Start and Reload refuse a configuration it
// finds fault with, and `xmppd check` reports the same.
func CheckModules(cfg *config.Config) error {
	var specs []config.ModuleSpec
	for _, m := range Registered() {
		specs = append(specs, config.ModuleSpec{Name: m.Name, Global: m.Global, Options: m.Options})
	}
	return cfg.CheckModules(specs)
}
