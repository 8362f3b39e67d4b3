package disco_test

import (
	"slices"
	"strings"
	"testing"

	"mellium.im/xmpp/disco"

	xdisco "xmppd/internal/modules/disco"
	"xmppd/internal/xmpptest"
)

// TestContactAddresses: configured addresses appear in the domain's
// disco#info as the XEP-0157 form, each kind in its field; kinds with no
// address have no field, and accounts' disco#info has no form.
func TestContactAddresses(t *testing.T) {
	s := xmpptest.Start(t, "config module 'disco'\n"+
		"\tlist abuse_addresses 'mailto:abuse@example.org'\n"+
		"\tlist abuse_addresses 'xmpp:abuse@example.org'\n"+
		"\tlist support_addresses 'https://example.org/support'\n")
	s.AddUser(t, "juliet", "balcony")
	c := login(t, s, "juliet", "balcony")
	inf, err := disco.GetInfo(ctx(t), "", server, c.Session)
	if err != nil {
		t.Fatal(err)
	}
	if len(inf.Form) != 1 {
		t.Fatalf("%d forms, want 1", len(inf.Form))
	}
	f := &inf.Form[0]
	if typ, _ := f.GetString("FORM_TYPE"); typ != xdisco.NSServerInfo {
		t.Fatalf("FORM_TYPE %q", typ)
	}
	if v, _ := f.Raw("abuse-addresses"); !slices.Equal(v, []string{"mailto:abuse@example.org", "xmpp:abuse@example.org"}) {
		t.Errorf("abuse-addresses %q", v)
	}
	if v, _ := f.Raw("support-addresses"); !slices.Equal(v, []string{"https://example.org/support"}) {
		t.Errorf("support-addresses %q", v)
	}
	if _, ok := f.Raw("admin-addresses"); ok {
		t.Error("a field for a kind with no address")
	}
	// The form describes the server, not its accounts.
	self, err := disco.GetInfo(ctx(t), "", c.Session.LocalAddr().Bare(), c.Session)
	if err != nil {
		t.Fatal(err)
	}
	if len(self.Form) != 0 {
		t.Errorf("account disco#info has %d forms", len(self.Form))
	}
}

// TestNoContactAddresses: nothing configured, no form.
func TestNoContactAddresses(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	c := login(t, s, "juliet", "balcony")
	inf, err := disco.GetInfo(ctx(t), "", server, c.Session)
	if err != nil {
		t.Fatal(err)
	}
	if len(inf.Form) != 0 {
		t.Fatalf("%d forms with no address configured", len(inf.Form))
	}
}

// TestContactAddressErrors: a value that is not a URI, and an unknown
// kind, are configuration errors with their line.
func TestContactAddressErrors(t *testing.T) {
	for _, tc := range []struct{ uci, want string }{
		{"\tlist admin_addresses 'root@example.org'\n", "not a URI"},
		{"\tlist admin_addresses 'mailto:root@example.org and more'\n", "not a URI"},
		{"\tlist sale_addresses 'mailto:sales@example.org'\n", "sales_addresses"},
	} {
		_, err := xmpptest.StartErr(t, "config module 'disco'\n"+tc.uci)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test.uci:") {
			t.Errorf("%q: got %v, want an error with %q and the line", tc.uci, err, tc.want)
		}
	}
}
