package csi_test

import (
	"testing"

	"xmppd/internal/xmpptest"
)

// rawClient is xmpptest's hand-speaking client.
type rawClient struct{ *xmpptest.RawClient }

// plainUCI lets PLAIN run without TLS on loopback, for raw clients.
const plainUCI = "\toption c2s_plain_on_loopback '1'\n"

func dial(t testing.TB, s *xmpptest.Server) *rawClient {
	t.Helper()
	return &rawClient{xmpptest.DialRaw(t, s)}
}
