package pubsub

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// Access models (XEP-0060 §4.5).
const (
	accessOpen      = "open"
	accessPresence  = "presence"
	accessRoster    = "roster"
	accessWhitelist = "whitelist"
	accessAuthorize = "authorize"
)

// Affiliations (XEP-0060 §4.1).
const (
	affOwner       = "owner"
	affPublisher   = "publisher"
	affPublishOnly = "publish-only"
	affMember      = "member"
	affNone        = "none"
	affOutcast     = "outcast"
)

// Subscription states (XEP-0060 §4.2).
const (
	subSubscribed = "subscribed"
	subPending    = "pending"
)

// config is a node's configuration (XEP-0060 §16.4.4, pubsub#node_config),
// with the xmppd#interval extension.
type nodeConfig struct {
	accessModel      string
	publishModel     string // publishers, subscribers, open
	maxItems         int    // 0: "max", the configured limit
	persistItems     bool
	notifyRetract    bool
	notifyDelete     bool
	deliverPayloads  bool
	sendLast         string // never, on_sub, on_sub_and_presence
	notificationType string // headline, normal
	title            string
	rosterGroups     []string
	interval         time.Duration // xmppd#interval: coalescing for every subscriber
}

// Field vars of pubsub#node_config.
const (
	fAccess     = "pubsub#access_model"
	fPublish    = "pubsub#publish_model"
	fMaxItems   = "pubsub#max_items"
	fPersist    = "pubsub#persist_items"
	fRetract    = "pubsub#notify_retract"
	fDelete     = "pubsub#notify_delete"
	fPayloads   = "pubsub#deliver_payloads"
	fSendLast   = "pubsub#send_last_published_item"
	fNotifyType = "pubsub#notification_type"
	fTitle      = "pubsub#title"
	fGroups     = "pubsub#roster_groups_allowed"
	fInterval   = "xmppd#interval"
)

// fields returns the configuration as form fields, in form order.
func (c *nodeConfig) fields(limit int) [][2]string {
	mi := "max"
	if c.maxItems > 0 && c.maxItems < limit {
		mi = strconv.Itoa(c.maxItems)
	}
	return [][2]string{
		{fTitle, c.title},
		{fAccess, c.accessModel},
		{fPublish, c.publishModel},
		{fMaxItems, mi},
		{fPersist, boolStr(c.persistItems)},
		{fRetract, boolStr(c.notifyRetract)},
		{fDelete, boolStr(c.notifyDelete)},
		{fPayloads, boolStr(c.deliverPayloads)},
		{fSendLast, c.sendLast},
		{fNotifyType, c.notificationType},
		{fGroups, strings.Join(c.rosterGroups, "\n")},
		{fInterval, durStr(c.interval)},
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func durStr(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

// parseBool reads an xs:boolean (XEP-0004 §3.3).
func parseBool(s string) (bool, bool) {
	switch s {
	case "1", "true":
		return true, true
	case "0", "false":
		return false, true
	}
	return false, false
}

// parseInterval reads an interval: seconds as a number, or a Go duration
// ("500ms", "2s"); bounded so that a typo cannot hold items for days.
func parseInterval(s string) (time.Duration, bool) {
	if s == "" || s == "0" {
		return 0, true
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, false
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 || d > time.Hour {
		return 0, false
	}
	return d, true
}

// set applies one field; false with a reason when the value is not
// acceptable (XEP-0060 §8.2.5: not-acceptable / bad-request).
func (c *nodeConfig) set(v, val string, limit int) (ok bool, why string) {
	switch v {
	case "FORM_TYPE":
	case fAccess:
		switch val {
		case accessOpen, accessPresence, accessRoster, accessWhitelist, accessAuthorize:
			c.accessModel = val
		default:
			return false, "unknown access model " + strconv.Quote(val)
		}
	case fPublish:
		switch val {
		case "publishers", "subscribers", "open":
			c.publishModel = val
		default:
			return false, "unknown publish model " + strconv.Quote(val)
		}
	case fMaxItems:
		if val == "max" {
			c.maxItems = 0
			return true, ""
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 {
			return false, "max_items must be a positive number or max"
		}
		if n > limit {
			return false, "max_items is above this server's limit of " + strconv.Itoa(limit)
		}
		c.maxItems = n
	case fPersist, fRetract, fDelete, fPayloads:
		b, ok := parseBool(val)
		if !ok {
			return false, v + " must be a boolean"
		}
		switch v {
		case fPersist:
			c.persistItems = b
		case fRetract:
			c.notifyRetract = b
		case fDelete:
			c.notifyDelete = b
		default:
			c.deliverPayloads = b
		}
	case fSendLast:
		switch val {
		case "never", "on_sub", "on_sub_and_presence":
			c.sendLast = val
		default:
			return false, "unknown send_last_published_item value " + strconv.Quote(val)
		}
	case fNotifyType:
		switch val {
		case "headline", "normal":
			c.notificationType = val
		default:
			return false, "notification_type must be headline or normal"
		}
	case fTitle:
		c.title = val
	case fGroups:
		c.rosterGroups = nil
		for g := range strings.SplitSeq(val, "\n") {
			if g != "" {
				c.rosterGroups = append(c.rosterGroups, g)
			}
		}
	case fInterval:
		d, ok := parseInterval(val)
		if !ok {
			return false, "xmppd#interval must be 0 to 1h (seconds, or a duration such as 500ms)"
		}
		c.interval = d
	default:
		// Fields this server does not implement are ignored rather than
		// refused: clients send whole forms of what other servers know.
	}
	return true, ""
}

// subscription is one JID's subscription to a node.
type subscription struct {
	jid      string  // bare or full, as subscribed
	addr     jid.JID // jid parsed once, so a publish parses none; zero if unparsable
	subid    string
	state    string
	filter   *filter // nil: every item
	interval time.Duration
}

// newSubscription makes a subscription of j, parsed here once rather than
// on every notification of the fan-out.
func newSubscription(j, subid, state string) *subscription {
	addr, _ := jid.Parse(j)
	return &subscription{jid: j, addr: addr, subid: subid, state: state}
}

// node is a node's state in memory: configuration, affiliations and
// subscriptions, written through to the map store on every change.
type node struct {
	mu    sync.Mutex
	owner string // the storage owner: the account for PEP, the service's pseudo-user
	name  string
	cfg   nodeConfig
	affs  map[string]string // bare JID → affiliation
	subs  map[string]*subscription

	// Coalescing state per recipient full JID (notify.go), guarded by mu.
	pacers map[string]*pacer
}

func (n *node) record() record {
	var r record
	for _, f := range n.cfg.fields(1 << 30) {
		r = append(r, recConfig, f[0], f[1], "")
	}
	for j, a := range n.affs {
		r = append(r, recAff, j, a, "")
	}
	for _, s := range n.subs {
		fs := ""
		if s.filter != nil {
			fs = s.filter.src
		}
		r = append(r, recSub, s.jid, s.subid, s.state+"\x00"+fs+"\x00"+durStr(s.interval))
	}
	return r
}

// load restores a node from its record; unreadable parts are dropped
// rather than fail the node, since a release may have written them.
func (n *node) load(r record) {
	n.affs, n.subs = map[string]string{}, map[string]*subscription{}
	for i := 0; i+3 < len(r); i += 4 {
		switch r[i] {
		case recConfig:
			n.cfg.set(r[i+1], r[i+2], 1<<30)
		case recAff:
			n.affs[r[i+1]] = r[i+2]
		case recSub:
			parts := strings.SplitN(r[i+3], "\x00", 3)
			s := newSubscription(r[i+1], r[i+2], parts[0])
			if len(parts) > 1 && parts[1] != "" {
				s.filter, _ = parseFilter(parts[1])
			}
			if len(parts) > 2 {
				s.interval, _ = parseInterval(parts[2])
			}
			n.subs[s.jid] = s
		}
	}
}

// formFields reads the fields of the jabber:x:data form in parent, in
// order; nil when there is none.
func formFields(parent *stanza.Element) (fields [][2]string, formType string, ok bool) {
	if parent == nil {
		return nil, "", false
	}
	x := parent.Child(nsData, "x")
	if x == nil {
		return nil, "", false
	}
	for _, c := range x.Children {
		f := c.Elem
		if f == nil || f.Local != "field" {
			continue
		}
		var vals []string
		for _, vc := range f.Children {
			if vc.Elem != nil && vc.Elem.Local == "value" {
				vals = append(vals, vc.Elem.Text())
			}
		}
		v := f.Attr("var")
		val := strings.Join(vals, "\n")
		if v == "FORM_TYPE" {
			formType = val
			continue
		}
		fields = append(fields, [2]string{v, val})
	}
	return fields, formType, true
}

// writeForm writes a form of type typ ("form" or "result") with
// FORM_TYPE formType and fields.
func writeForm(b *stanza.Builder, typ, formType string, fields [][2]string) {
	b.Start("x").Attr("xmlns", nsData).Attr("type", typ)
	b.Start("field").Attr("var", "FORM_TYPE").Attr("type", "hidden").Start("value").Text(formType).End().End()
	for _, f := range fields {
		b.Start("field").Attr("var", f[0])
		for v := range strings.SplitSeq(f[1], "\n") {
			b.Start("value").Text(v).End()
		}
		b.End()
	}
	b.End()
}
