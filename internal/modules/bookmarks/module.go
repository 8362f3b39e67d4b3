// Package bookmarks keeps the two generations of chat room bookmarks in
// step (XEP-0402 §5.3, "urn:xmpp:bookmarks:1#compat"): XEP-0402 items in
// the account's PEP node urn:xmpp:bookmarks:1 are the one stored truth,
// and the XEP-0048 <storage xmlns='storage:bookmarks'/> a client reads or
// writes through private XML storage (XEP-0049) or through the legacy PEP
// node storage:bookmarks (XEP-0223) is made from them and turned back into
// them, item by item, so that old and new clients of one account see the
// same rooms.
package bookmarks

import (
	"errors"
	"hash/fnv"
	"sync"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/pubsub"
)

// Namespaces: XEP-0402's node and payload, XEP-0048's storage, and
// XEP-0049's query.
const (
	NS        = "urn:xmpp:bookmarks:1"
	NSLegacy  = "storage:bookmarks"
	nsPrivate = "jabber:iq:private"
)

// Features advertised on the account's bare JID (XEP-0402 §5.3): private
// storage is unified, and so is the legacy PEP node.
const (
	FeatureCompat    = NS + "#compat"
	FeatureCompatPEP = NS + "#compat-pep"
)

// Bounds: the default number of bookmarks matches pubsub's default
// max_items, so a node a client created without publish-options never
// drops a converted bookmark; what XEP-0402 has no place for (<url/>
// bookmarks) is bounded like one private fragment.
const (
	defaultMaxBookmarks = 256
	maxRestBytes        = 64 << 10
)

// priorityConvert runs the conversion of private-storage bookmarks before
// the private module's own handling of jabber:iq:private, which then
// never sees a storage:bookmarks get or set alone.
const priorityConvert = core.PriorityModule + 1

func init() {
	core.Register(core.ModuleInfo{Name: "bookmarks", Auto: true, New: func() core.Module { return &Module{} },
		Options:  func(r *config.Reader) { readMax(r) },
		Optional: []string{"pubsub", "private"}})
}

// readMax reads the module's one option, for Load and the configuration
// checks alike: the most bookmarks an account keeps.
func readMax(r *config.Reader) int {
	n := r.Int("max_bookmarks", defaultMaxBookmarks, 1, 4096)
	r.Unknown()
	return n
}

// Module converts bookmarks on one host.
type Module struct {
	api     *core.API
	max     int
	store   core.Map // the module's own records, see README.md
	private core.Map // the private module's fragments, read once per account to import

	// locks serialize the conversions of one account: a private set, a
	// legacy PEP publish and a XEP-0402 change each read the items and
	// write the difference, and two at once would each miss the other's.
	locks [64]sync.Mutex

	// checked holds the localparts whose old fragment was looked for:
	// the answer is on disk too (the import marks it), so this only
	// saves a read per login, and is bounded rather than grow with every
	// account that ever logged in.
	checkedMu sync.Mutex
	checked   map[string]struct{}

	served, converted, imported, refused *core.Counter
}

// Load hooks private storage and the PEP changes; with no pubsub on the
// host there is nothing to convert to, and private storage stays as it is.
func (m *Module) Load(api *core.API) error {
	m.api = api
	m.max = readMax(api.Options())
	if _, ok := core.ServiceOf[*pubsub.Module](api.Host(), pubsub.Service); !ok {
		api.Log().Info("no pubsub on this host: bookmarks are not converted")
		return nil
	}
	m.store = api.Map("bookmarks", true)
	m.private = api.Map("private", true)
	m.served = api.Counter("served", "XEP-0048 bookmarks answered from XEP-0402 items")
	m.converted = api.Counter("converted", "XEP-0048 bookmark lists turned into XEP-0402 items")
	m.imported = api.Counter("imported", "accounts whose old private-storage bookmarks were imported")
	m.refused = api.Counter("refused", "XEP-0048 bookmark lists refused")
	api.AddAccountFeature(FeatureCompat)
	api.AddAccountFeature(FeatureCompatPEP)
	api.Hook(core.IQEvent(core.TargetSelf, nsPrivate, "query"), priorityConvert, m.onPrivate)
	api.Hook(pubsub.EventPEPChanged, core.PriorityModule, m.onPEPChanged)
	api.Hook(core.EventResourceBind, core.PriorityModule, m.onBind)
	api.Hook(core.EventAccountDeleted, core.PriorityModule, func(ev *core.Event) bool {
		if user, ok := ev.Data.(string); ok {
			m.checkedMu.Lock()
			delete(m.checked, user)
			m.checkedMu.Unlock()
		}
		return false
	})
	return nil
}

// pubsub returns the host's pubsub module, looked up at each use since a
// reload may replace it.
func (m *Module) pubsub() (*pubsub.Module, error) {
	ps, ok := core.ServiceOf[*pubsub.Module](m.api.Host(), pubsub.Service)
	if !ok {
		return nil, errNoPubsub
	}
	return ps, nil
}

var errNoPubsub = errors.New("pubsub is not loaded")

// lock takes the lock of user's conversions and returns its release.
func (m *Module) lock(user string) func() {
	h := fnv.New32a()
	h.Write([]byte(user))
	mu := &m.locks[h.Sum32()%uint32(len(m.locks))]
	mu.Lock()
	return mu.Unlock
}

// account is the bare JID of user on this host.
func (m *Module) account(user string) (jid.JID, error) {
	return jid.New(user, m.api.Host().Name, "")
}

var _ core.Module = (*Module)(nil)

// maxChecked bounds the checked set; past it the set starts afresh.
const maxChecked = 1024

func (m *Module) isChecked(user string) bool {
	m.checkedMu.Lock()
	defer m.checkedMu.Unlock()
	_, ok := m.checked[user]
	return ok
}

func (m *Module) markChecked(user string) {
	m.checkedMu.Lock()
	defer m.checkedMu.Unlock()
	if m.checked == nil || len(m.checked) >= maxChecked {
		m.checked = make(map[string]struct{})
	}
	m.checked[user] = struct{}{}
}
