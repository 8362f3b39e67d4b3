// Package all links in every module compiled into xmppd: this list is the
// one place that decides what the binary contains.
package all

import (
	// The control socket of the daemon.
	_ "xmppd/internal/modules/admin"
	// Listeners.
	_ "xmppd/internal/modules/c2s"
	// Delivery.
	_ "xmppd/internal/modules/message"
)
