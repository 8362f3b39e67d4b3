package pubsub

import (
	"slices"

	"xmppd/internal/core"
	"xmppd/internal/modules/roster"
)

// ownerJIDs returns the bare JIDs whose rosters decide presence and
// roster access to n: the account for PEP, the owners for the service.
func (m *Module) ownerJIDs(f face, n *node) []string {
	if f.pep {
		return []string{f.jid.String()}
	}
	var out []string
	for j, a := range n.affs {
		if a == affOwner {
			out = append(out, j)
		}
	}
	return out
}

// inRoster reports whether contact is subscribed to the presence of one of
// owners (XEP-0060 §4.5 presence access), and, with groups, in one of them.
func (m *Module) inRoster(owners []string, contact string, groups []string) bool {
	for _, o := range owners {
		local, domain := splitBare(o)
		h := m.api.Server().Host(domain)
		if h == nil {
			continue
		}
		r := roster.For(h)
		if r == nil {
			continue
		}
		it, found, err := r.Get(local, contact)
		if err != nil || !found || !it.HasFrom() {
			continue
		}
		if len(groups) == 0 || slices.ContainsFunc(it.Groups, func(g string) bool { return slices.Contains(groups, g) }) {
			return true
		}
	}
	return false
}

func splitBare(b string) (local, domain string) {
	for i := 0; i < len(b); i++ {
		if b[i] == '@' {
			return b[:i], b[i+1:]
		}
	}
	return "", b
}

// denied checks whether who (a bare JID with affiliation aff) may see n's
// items or subscribe, and answers the XEP-0060 §6.1.3 error when not;
// pending reports that the authorize model makes a subscription wait.
func (m *Module) denied(r *request, n *node, who, aff string) (refused, pending bool) {
	if aff == affOutcast {
		m.fail(r.ev, core.ErrAuth, "forbidden", "", "", "you are banned from this node")
		return true, false
	}
	if aff == affOwner || aff == affPublisher || aff == affMember {
		return false, false
	}
	ok, pend, app, cond, typ := m.access(r.f, n, who, aff)
	if ok {
		return false, pend
	}
	m.fail(r.ev, typ, cond, app, "", "")
	return true, false
}

// access decides the access model for a non-affiliated JID.
func (m *Module) access(f face, n *node, who, aff string) (ok, pending bool, app, cond, typ string) {
	switch n.cfg.accessModel {
	case accessOpen:
		return true, false, "", "", ""
	case accessPresence:
		if m.inRoster(m.ownerJIDs(f, n), who, nil) {
			return true, false, "", "", ""
		}
		return false, false, "presence-subscription-required", "not-authorized", core.ErrAuth
	case accessRoster:
		if m.inRoster(m.ownerJIDs(f, n), who, n.cfg.rosterGroups) {
			return true, false, "", "", ""
		}
		return false, false, "not-in-roster-group", "not-authorized", core.ErrAuth
	case accessAuthorize:
		return true, true, "", "", ""
	}
	return false, false, "closed-node", "not-allowed", core.ErrCancel
}

// mayRead reports whether who may receive n's items: the same rules as
// subscribing, without answering anything; pending authorizations may not.
func (m *Module) mayRead(f face, n *node, who string) bool {
	aff := n.affs[who]
	if f.pep && who == f.jid.String() {
		aff = affOwner
	}
	switch aff {
	case affOutcast, affPublishOnly:
		return false
	case affOwner, affPublisher, affMember:
		return true
	}
	if n.cfg.accessModel == accessAuthorize {
		s := n.subs[who]
		return s != nil && s.state == subSubscribed
	}
	ok, _, _, _, _ := m.access(f, n, who, aff)
	return ok
}
