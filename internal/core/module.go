package core

import (
	"fmt"
	"slices"
	"sync"
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
