package disco

import (
	"net/url"
	"strings"

	"xmppd/internal/config"
	"xmppd/internal/stanza"
)

// NSServerInfo is the FORM_TYPE of XEP-0157 contact addresses.
const NSServerInfo = "http://jabber.org/network/serverinfo"

// contactKinds are the address fields of XEP-0157 §3 (and the XMPP
// Registrar's serverinfo form), in form order: the option is
// <kind>_addresses, the field <kind>-addresses.
var contactKinds = []string{"abuse", "admin", "feedback", "sales", "security", "status", "support"}

// contacts is the configured addresses of each kind, in contactKinds order.
type contacts [][]string

// readContacts reads the module's options, for Load and for the
// configuration checks alike: `list abuse_addresses 'mailto:…'` and the
// like, each value a URI (XEP-0157 §3: mailto:, xmpp:, https: and so on).
func readContacts(r *config.Reader) contacts {
	c := make(contacts, len(contactKinds))
	for i, kind := range contactKinds {
		name := kind + "_addresses"
		for _, v := range r.List(name) {
			if u, err := url.Parse(v); err != nil || u.Scheme == "" || strings.ContainsAny(v, " \t\n") {
				r.Errorf(name, "option %s: %q is not a URI (write it as mailto:…, xmpp:… or https://…)", name, v)
				continue
			}
			c[i] = append(c[i], v)
		}
	}
	r.Unknown()
	return c
}

// contactForm returns the XEP-0157 extended disco#info form (XEP-0128)
// with a field for each kind that has addresses, or nil when none has:
// the form is there only when something is configured.
func contactForm(c contacts) []byte {
	var b stanza.Builder
	b.Reset(nil).Start("x").Attr("xmlns", "jabber:x:data").Attr("type", "result")
	b.Start("field").Attr("var", "FORM_TYPE").Attr("type", "hidden").
		Start("value").Text(NSServerInfo).End().End()
	some := false
	for i, kind := range contactKinds {
		if len(c[i]) == 0 {
			continue
		}
		some = true
		b.Start("field").Attr("var", kind+"-addresses").Attr("type", "list-multi")
		for _, v := range c[i] {
			b.Start("value").Text(v).End()
		}
		b.End()
	}
	if !some {
		return nil
	}
	return b.Bytes()
}
