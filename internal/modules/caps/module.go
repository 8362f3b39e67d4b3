// Package caps implements entity capabilities (XEP-0115) on the server's
// side: it reads the <c/> of every available presence, asks a client's
// disco#info once per unknown verification string, checks the string
// against the answer, and keeps the verified feature sets in a bounded
// cache. Other modules ask it what a full JID supports; PEP asks whether
// it wants notifications of a node (XEP-0163 §4.2, "+notify").
package caps

import (
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/modules/presence"
)

func init() {
	core.Register(core.ModuleInfo{Name: "caps", Auto: true, New: func() core.Module { return &Module{} },
		Options:  func(r *config.Reader) { readOptions(r) },
		Optional: []string{"presence"}})
}

// Defaults and bounds of the module's options.
const (
	defaultCacheSize = 256
	defaultTimeout   = 10 * time.Second
)

type options struct {
	cacheSize int
	timeout   time.Duration
}

// readOptions reads the module's options, for Load and the configuration
// checks alike.
func readOptions(r *config.Reader) options {
	o := options{
		cacheSize: r.Int("cache_size", defaultCacheSize, 1, 1<<16),
		timeout:   r.Duration("query_timeout", defaultTimeout, time.Second, 5*time.Minute),
	}
	r.Unknown()
	return o
}

// Module is the capabilities cache of one host.
type Module struct {
	api *core.API
	c   *Caps

	queries, mismatches *core.Counter
}

// Load offers the cache as the "caps" service and follows presence.
func (m *Module) Load(api *core.API) error {
	o := readOptions(api.Options())
	m.api = api
	m.queries = api.Counter("queries", "disco#info queries sent for unknown verification strings")
	m.mismatches = api.Counter("mismatches", "disco#info answers whose hash did not match the verification string")
	m.c = newCaps(api, o, m.queries, m.mismatches)
	if err := api.Provide(Service, m.c); err != nil {
		return err
	}
	api.Gauge("cached", "verified feature sets held in memory", func() float64 { return float64(m.c.cached()) })
	api.Hook(presence.EventAvailable, core.PriorityModule, m.c.onAvailable)
	api.Hook(presence.EventUnavailable, core.PriorityModule, m.c.onGone)
	api.Hook(core.EventResourceUnbind, core.PriorityModule, m.c.onGone)
	return nil
}

var _ core.Module = (*Module)(nil)
