// Package offline keeps messages for accounts with no available resource
// and hands them over when one becomes available (XEP-0160, RFC 6121
// §8.5.2): stored durably before the sender hears anything back, delivered
// in order with a XEP-0203 delay stamp, within a per-account quota.
package offline

import (
	"hash/fnv"
	"sync"
	"sync/atomic"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/modules/presence"
	"xmppd/internal/stanza"
)

func init() {
	core.Register(core.ModuleInfo{Name: "offline", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readQuota(r) }})
}

// Feature is what disco#info advertises while the module is loaded
// (XEP-0160 §6: the service discovery feature of offline storage).
const Feature = "msgoffline"

// DefaultMaxOffline is the default of max_offline: enough for a phone left
// off over a weekend, small enough that a flood costs a bounded part of the
// flash.
const DefaultMaxOffline = 500

// readQuota reads the module's options, for Load and for the configuration
// checks alike: the most messages kept per account.
func readQuota(opts *config.Reader) int {
	n := opts.Int("max_offline", DefaultMaxOffline, 1, 1<<20)
	opts.Unknown()
	return n
}

// Module is the offline store of one host.
type Module struct {
	api   *core.API
	srv   *core.Server
	store core.Archive
	max   int
	// flushed marks a session that has had the stored messages: one
	// hand-over per session, at its first available presence with a
	// non-negative priority.
	flushed *core.Key

	stored, delivered, refused *core.Counter
	failing                    atomic.Bool
}

// Load opens the durable store, hooks delivery after the message module
// and the hand-over on available presence.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	m.max = readQuota(api.Options())
	// Durable: the sender is told nothing went wrong once Append returns,
	// so the message must survive a power cut from then on.
	m.store = api.Archive("offline", true)
	m.flushed = core.NewKey("offline")
	m.stored = api.Counter("stored", "messages stored for accounts with no available resource")
	m.delivered = api.Counter("delivered", "stored messages handed to a session")
	m.refused = api.Counter("refused", "messages refused because the account's offline store was full")
	api.AddFeature(Feature)
	// PriorityStore runs after the message module's delivery declined:
	// no available resource for the bare JID, and none for a full JID
	// whose resource is gone (RFC 6121 §8.5.3.2.1 treats it as bare).
	api.Hook(core.StanzaEvent(stanza.Message, core.TargetBare), core.PriorityStore, m.onMessage)
	api.Hook(core.StanzaEvent(stanza.Message, core.TargetFull), core.PriorityStore, m.onMessage)
	// Initial presence, after its broadcast, is what hands over the stored
	// messages (RFC 6121 §8.5.2.1.1, XEP-0160 §3).
	api.Hook(presence.EventAvailable, core.PriorityModule, m.onAvailable)
	return nil
}

// locks serialise the quota check with the append, and the hand-over with
// new appends, per account: two messages at once must not both pass a
// quota with room for one.
var locks [64]sync.Mutex

func lock(host, user string) *sync.Mutex {
	f := fnv.New32a()
	f.Write([]byte(host))
	f.Write([]byte{0})
	f.Write([]byte(user))
	mu := &locks[f.Sum32()%uint32(len(locks))]
	mu.Lock()
	return mu
}

var _ core.Module = (*Module)(nil)
