package register

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"xmppd/internal/config"
)

// defaultAllow is where registration is allowed from unless configured:
// loopback and the private LAN ranges (RFC 1918, RFC 4193, RFC 4291
// link-local), the networks behind a router rather than the Internet.
var defaultAllow = []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fe80::/10"}

// Defaults of the options.
const (
	defaultThrottle   = "5/1h"
	defaultReuseAfter = 30 * 24 * time.Hour
)

// settings are the module's options as Load uses them.
type settings struct {
	allow      []netip.Prefix
	count      int           // registrations per address per period; 0: no throttle
	period     time.Duration // the throttle's window
	reuseAfter time.Duration // how long a removed name stays taken; 0: not at all
}

// readSettings reads the module's options, for Load and for the
// configuration checks alike.
func readSettings(opts *config.Reader) settings {
	var s settings
	list := opts.List("allow_from")
	if list == nil {
		list = defaultAllow
	}
	for _, v := range list {
		p, err := parsePrefix(v)
		if err != nil {
			opts.Errorf("allow_from", "list allow_from: %q is not an address or a CIDR range such as '192.168.1.0/24'", v)
			continue
		}
		s.allow = append(s.allow, p)
	}
	th := opts.String("throttle", defaultThrottle)
	n, d, ok := parseThrottle(th)
	if !ok {
		opts.Errorf("throttle", "option throttle: %q is not a rate: use '0' (no throttle) or COUNT/PERIOD, such as '5/1h'", th)
		n, d, _ = parseThrottle(defaultThrottle)
	}
	s.count, s.period = n, d
	s.reuseAfter = opts.Duration("reuse_after", defaultReuseAfter, 0, 10*365*24*time.Hour)
	opts.Unknown()
	return s
}

// parsePrefix reads a CIDR range, or a single address as the range of
// that address alone.
func parsePrefix(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseThrottle reads "0" (none) or "COUNT/PERIOD", the period a duration
// of at least a second ("5/1h", "20/24h", "1/30s").
func parseThrottle(v string) (count int, period time.Duration, ok bool) {
	if v == "0" {
		return 0, 0, true
	}
	c, p, found := strings.Cut(v, "/")
	if !found {
		return 0, 0, false
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 1 || n > 10000 {
		return 0, 0, false
	}
	d, err := time.ParseDuration(p)
	if err != nil || d < time.Second || d > 30*24*time.Hour {
		return 0, 0, false
	}
	return n, d, true
}
