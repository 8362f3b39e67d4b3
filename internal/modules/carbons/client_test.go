package carbons_test

import (
	"testing"

	"xmppd/internal/xmpptest"
)

// node is a received stanza, as xmpptest's recording client keeps it.
type node = xmpptest.Node

// client is xmpptest's recording client, with the tests' own helpers.
type client struct{ *xmpptest.Client }

// login logs user in (password "pw") with the given resource.
func login(t *testing.T, s *xmpptest.Server, user, resource string) *client {
	t.Helper()
	return &client{xmpptest.Login(t, s, user, "pw", resource)}
}

var errorFor = xmpptest.ErrorFor
