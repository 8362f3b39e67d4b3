// Package all links in every module compiled into xmppd: this list is the
// one place that decides what the binary contains.
package all

import (
	// The control socket of the daemon.
	_ "xmppd/internal/modules/admin"
	// Listeners.
	_ "xmppd/internal/modules/c2s"
	// The web server (HTTP, HTTPS, XEP-0156 host-meta) and /metrics.
	_ "xmppd/internal/modules/http"
	_ "xmppd/internal/modules/metrics"
	// BOSH at /http-bind (XEP-0124, XEP-0206).
	_ "xmppd/internal/modules/bosh"
	// XMPP over WebSocket at /xmpp-websocket (RFC 7395).
	_ "xmppd/internal/modules/websocket"
	// Delivery, rosters and presence (RFC 6121).
	_ "xmppd/internal/modules/message"
	_ "xmppd/internal/modules/presence"
	_ "xmppd/internal/modules/roster"
	// Mobile clients (XEP-0198, XEP-0352).
	_ "xmppd/internal/modules/csi"
	_ "xmppd/internal/modules/smacks"
	// Entity capabilities and publish-subscribe (XEP-0115, XEP-0060, XEP-0163).
	_ "xmppd/internal/modules/caps"
	_ "xmppd/internal/modules/pubsub"
	// Bookmarks kept in step between XEP-0402 and XEP-0048 (XEP-0402 §5.3).
	_ "xmppd/internal/modules/bookmarks"
	// The device monitor over PEP, loaded only where enabled.
	_ "xmppd/internal/modules/monitor"
	// What everyday clients expect of an IM server (XEP-0160, XEP-0280, XEP-0191).
	_ "xmppd/internal/modules/blocking"
	_ "xmppd/internal/modules/carbons"
	_ "xmppd/internal/modules/offline"
	// Message archive (XEP-0313, XEP-0359).
	_ "xmppd/internal/modules/mam"
	// Discovery and small services (XEP-0030, XEP-0012, XEP-0199, XEP-0092, XEP-0202).
	_ "xmppd/internal/modules/disco"
	_ "xmppd/internal/modules/lastactivity"
	_ "xmppd/internal/modules/ping"
	_ "xmppd/internal/modules/time"
	_ "xmppd/internal/modules/uptime"
	_ "xmppd/internal/modules/version"
	// Account data: vcard-temp and private XML storage (XEP-0054, XEP-0049).
	_ "xmppd/internal/modules/private"
	_ "xmppd/internal/modules/vcard"
	// In-band registration (XEP-0077), loaded only where enabled.
	_ "xmppd/internal/modules/register"
	// Ad-hoc commands and service administration (XEP-0050, XEP-0133).
	_ "xmppd/internal/modules/adhoc"
	// The browser admin UI at /admin/.
	_ "xmppd/internal/modules/webadmin"
)
