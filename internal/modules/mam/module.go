// Package mam keeps each account's message archive and serves it to the
// account's clients (XEP-0313, urn:xmpp:mam:2): every chat message an
// account sends or receives is stored once in its own archive, the copy a
// local recipient gets carries the archive id as a XEP-0359 stanza-id, and
// clients page through the archive with XEP-0059 result set management.
package mam

import (
	"sync"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

func init() {
	core.Register(core.ModuleInfo{Name: "mam", Auto: true, New: func() core.Module { return &Module{} },
		Optional: []string{"roster"},
		Options:  func(r *config.Reader) { readOptions(r) }})
}

// Namespaces the module speaks.
const (
	NS         = "urn:xmpp:mam:2"          // XEP-0313
	NSExtended = "urn:xmpp:mam:2#extended" // XEP-0313 §7.1: before-id, after-id, ids, flip-page, metadata
	NSSID      = "urn:xmpp:sid:0"          // XEP-0359
	NSRSM      = "http://jabber.org/protocol/rsm"
	NSForward  = "urn:xmpp:forward:0" // XEP-0297
	NSDelay    = "urn:xmpp:delay"     // XEP-0203
	NSData     = "jabber:x:data"      // XEP-0004
	NSHints    = "urn:xmpp:hints"     // XEP-0334
)

// Policies for messages with JIDs on neither preference list (XEP-0313 §6).
const (
	Always = "always"
	Never  = "never"
	Roster = "roster"
)

// Defaults of the module's options.
const (
	// DefaultExpires keeps a week: enough to sync a phone that was off
	// over a holiday, little enough for a router's flash (Prosody's
	// archive_expires_after default is the same).
	DefaultExpires = 7 * 24 * time.Hour
	// DefaultMaxPage caps a page of results; a client asking for more gets
	// this many and complete='false'.
	DefaultMaxPage = 100
)

// options are the module's settings.
type options struct {
	expires time.Duration // 0 keeps items forever
	maxPage int
	policy  string // default preference of accounts that set none
	durable bool
}

// readOptions reads the module's options, for Load and for the
// configuration checks alike.
func readOptions(r *config.Reader) options {
	o := options{
		expires: r.Duration("archive_expires", DefaultExpires, 0, 100*365*24*time.Hour),
		maxPage: r.Int("max_page", DefaultMaxPage, 1, 1000),
		policy:  r.Enum("default_policy", Always, Always, Roster, Never),
		// Not synced by default: the archive is a copy of what was
		// delivered (offline storage, which is the only copy, syncs), and
		// an fsync per message wears a router's flash and costs the
		// sender milliseconds.
		durable: r.Bool("durable", false),
	}
	r.Unknown()
	return o
}

// Module is the message archive of one host.
type Module struct {
	api   *core.API
	host  *core.Host
	opts  options
	store core.Archive
	prefs core.KeyVal

	// known caches users' preferences, read for every message archived;
	// users without any are cached too, as the default.
	knownMu  sync.Mutex
	known    map[string]prefsRecord
	knownGen uint64 // counts sets and forgets, so a slow read cannot cache a stale record

	archived, queries, expired *core.Counter
}

// maxKnownPrefs bounds the preferences cached; past it the cache starts
// afresh.
const maxKnownPrefs = 1024

// Load opens the stores, hooks archiving on both sides of a message and
// the archive's iqs, and starts the expiry job.
func (m *Module) Load(api *core.API) error {
	m.api, m.host = api, api.Host()
	m.opts = readOptions(api.Options())
	// Not synced unless option durable says so: on flash, a sync per
	// message costs wear and milliseconds (README.md).
	m.store = api.Archive("mam", m.opts.durable)
	m.prefs = api.KeyVal("mam_prefs", true)
	m.archived = api.Counter("archived", "messages stored in archives (each party's copy counts)")
	m.queries = api.Counter("queries", "archive queries answered")
	m.expired = api.Counter("expired", "archived messages deleted for being older than archive_expires")

	// XEP-0313 §7.1: the archive is the account's, so the features are
	// on the account's bare JID, not the server's.
	api.AddAccountFeature(NS)
	api.AddAccountFeature(NSExtended)
	api.AddAccountFeature(NSSID)

	// The sender's copy: before routing, whatever the destination.
	api.Hook(core.OutEvent(stanza.Message), core.PriorityModule, m.onSent)
	// The recipient's copy: after policy checks (blocking) have had their
	// say, before any module that takes the message to deliver it.
	api.Hook(core.StanzaEvent(stanza.Message, core.TargetBare), priorityArchive, m.onReceived)
	api.Hook(core.StanzaEvent(stanza.Message, core.TargetFull), priorityArchive, m.onReceived)

	// Another account's archive is refused (forbidden); the server's own
	// has none to query, which the core's fallback answers.
	for _, t := range []string{core.TargetSelf, core.TargetBare} {
		api.Hook(core.IQEvent(t, NS, "query"), core.PriorityModule, m.onQuery)
		api.Hook(core.IQEvent(t, NS, "prefs"), core.PriorityModule, m.onPrefs)
		api.Hook(core.IQEvent(t, NS, "metadata"), core.PriorityModule, m.onMetadata)
	}

	// A name registered again must not inherit its old preferences.
	api.Hook(core.EventAccountDeleted, core.PriorityModule, func(ev *core.Event) bool {
		if user, ok := ev.Data.(string); ok {
			m.forgetPrefs(user)
		}
		return false
	})

	if m.opts.expires > 0 {
		api.Every(expiryInterval(m.opts.expires), m.expire)
	}
	return nil
}

// priorityArchive runs the recipient's archiving between the policy
// checks and modules' own handling, so that a message a policy refuses is
// not archived (XEP-0313 §7.1) and every module after it sees the copy
// with its stanza-id.
const priorityArchive = core.PriorityModule + 1

var _ core.Module = (*Module)(nil)
