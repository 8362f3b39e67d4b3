package clientstream

import "net/netip"

// AddrKey groups peers by where they come from: the IPv4 address, or the
// /64 of an IPv6 one, which is what one customer line is given. Login
// throttles and connection limits count per key.
func AddrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
