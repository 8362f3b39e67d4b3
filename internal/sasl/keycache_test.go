package sasl

import "testing"

// TestKeyCache logs in repeatedly through one cache: the first exchange per
// password, salt and count derives, the others reuse, and a wrong password
// under the same salt misses the cache rather than borrowing the right keys.
func TestKeyCache(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"juliet": "r0m30!", "romeo": "r0m30!"})
	k := NewKeyCache()
	login := func(mech, user, password string) error {
		t.Helper()
		c, err := NewClient(mech, user, password, "", ChannelBinding{})
		if err != nil {
			t.Fatal(err)
		}
		c.UseKeyCache(k)
		s, err := NewServer(mech, a.lookup, ChannelBinding{}, false)
		if err != nil {
			t.Fatal(err)
		}
		return exchange(t, c, s)
	}
	for _, mech := range []string{SCRAMSHA1, SCRAMSHA256} {
		for range 3 {
			if err := login(mech, "juliet", "r0m30!"); err != nil {
				t.Fatalf("%s: %v", mech, err)
			}
		}
	}
	if k.Len() != 2 || k.derived != 2 {
		t.Fatalf("after three logins with each hash: %d entries, %d derivations; want 2, 2", k.Len(), k.derived)
	}
	// Same password, another account: another salt, another entry.
	if err := login(SCRAMSHA256, "romeo", "r0m30!"); err != nil {
		t.Fatal(err)
	}
	if err := login(SCRAMSHA256, "juliet", "wrong"); err == nil {
		t.Fatal("a wrong password logged in through the cache")
	}
	if k.Len() != 4 || k.derived != 4 {
		t.Fatalf("%d entries, %d derivations; want 4, 4", k.Len(), k.derived)
	}
	// PLAIN derives nothing and leaves the cache alone.
	if err := login(PLAIN, "juliet", "r0m30!"); err != nil {
		t.Fatal(err)
	}
	if k.Len() != 4 {
		t.Fatalf("PLAIN changed the cache to %d entries", k.Len())
	}
}
