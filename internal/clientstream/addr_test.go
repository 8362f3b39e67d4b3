package clientstream

import "testing"

// TestAddrKey: IPv6 addresses of one /64 count as one address; IPv4 ones,
// written plainly or mapped, count each on its own.
func TestAddrKey(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"192.0.2.1", "::ffff:192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
	} {
		if got := AddrKey(tc.a) == AddrKey(tc.b); got != tc.same {
			t.Errorf("AddrKey(%s) == AddrKey(%s) is %v (%s, %s)", tc.a, tc.b, got, AddrKey(tc.a), AddrKey(tc.b))
		}
	}
}
