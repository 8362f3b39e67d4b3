package disco_test

import (
	"slices"
	"strings"
	"testing"

	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/disco/items"

	"xmppd/internal/core"
	"xmppd/internal/xmpptest"
)

// test_account advertises, as PEP and MAM will, a feature and an identity
// on every account and an item on the host.
func init() {
	core.Register(core.ModuleInfo{Name: "test_account", New: func() core.Module { return accountModule{} }})
}

type accountModule struct{}

// testFeature is a namespace no real module advertises.
const testFeature = "urn:xmppd:test:account"

func (accountModule) Load(api *core.API) error {
	api.AddAccountFeature(testFeature)
	api.AddAccountIdentity(core.Identity{Category: "test", Type: "account"})
	api.AddItem("service.localhost", "", "A Service")
	api.AddItem("localhost", "announcements", "")
	return nil
}

// TestAccountRegistrations: what modules add for accounts is in every
// account's disco#info, their host items in the host's disco#items, and
// all of it goes when the module unloads.
func TestAccountRegistrations(t *testing.T) {
	const enable = "\tlist modules_enabled 'test_account'\n"
	s := xmpptest.Start(t, enable)
	s.AddUser(t, "juliet", "balcony")
	c := login(t, s, "juliet", "balcony")
	self := c.LocalAddr().Bare()

	accountInfo := func() (ids, features []string) {
		inf, err := disco.GetInfo(ctx(t), "", self, c.Session)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range inf.Identity {
			ids = append(ids, id.Category+"/"+id.Type)
		}
		for _, f := range inf.Features {
			features = append(features, f.Var)
		}
		return ids, features
	}
	hostItems := func() []string {
		iter := disco.FetchItems(ctx(t), items.Item{JID: server}, c.Session)
		defer iter.Close()
		var got []string
		for iter.Next() {
			it := iter.Item()
			got = append(got, it.JID.String()+" "+it.Node+" "+it.Name)
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}

	ourItems := []string{"service.localhost  A Service", "localhost announcements "}
	hasItems := func(items []string) bool {
		i := slices.Index(items, ourItems[0])
		return i >= 0 && i+1 < len(items) && items[i+1] == ourItems[1]
	}
	ids, features := accountInfo()
	if len(ids) < 2 || ids[0] != "account/registered" || !slices.Contains(ids, "test/account") {
		t.Errorf("account identities %q, want account/registered first, and test/account", ids)
	}
	for _, f := range []string{testFeature, "http://jabber.org/protocol/disco#info"} {
		if !slices.Contains(features, f) {
			t.Errorf("account features %q lack %s", features, f)
		}
	}
	if items := hostItems(); !hasItems(items) {
		t.Errorf("host items %q lack %q in order", items, ourItems)
	}
	// The host's own disco#info is not the accounts'.
	inf, err := disco.GetInfo(ctx(t), "", server, c.Session)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(inf.Features, func(f info.Feature) bool { return f.Var == testFeature }) {
		t.Error("an account feature is listed on the host")
	}

	if _, err := s.Reload(t, strings.Replace(s.UCI, enable, "", 1)); err != nil {
		t.Fatal(err)
	}
	ids, features = accountInfo()
	if slices.Contains(ids, "test/account") || slices.Contains(features, testFeature) {
		t.Errorf("after unload: identities %q, features %q", ids, features)
	}
	if got := hostItems(); slices.Contains(got, ourItems[0]) || slices.Contains(got, ourItems[1]) {
		t.Errorf("after unload: host items %q", got)
	}
}
