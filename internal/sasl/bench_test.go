package sasl

import "testing"

// benchAccount is one SHA-256 account at the default count.
func benchAccount(b *testing.B) accounts {
	return newAccounts(b, DefaultIterations, map[string]string{"juliet": "r0m30!"})
}

// BenchmarkSCRAMSHA256Server is the server's cost of a SCRAM-SHA-256 login
// at 4096 iterations: the PBKDF2 work is the client's, so this is a few
// HMACs and the parsing.
func BenchmarkSCRAMSHA256Server(b *testing.B) {
	a := benchAccount(b)
	c, _ := NewClient(SCRAMSHA256, "juliet", "r0m30!", "", ChannelBinding{})
	c.nonce = func() string { return tCNonce }
	s, _ := NewServer(SCRAMSHA256, a.lookup, ChannelBinding{}, false)
	s.nonce = func() string { return tSNonce }
	first, _ := c.Step(nil)
	out, _, _ := s.Step(first)
	final, _ := c.Step(out)
	b.ReportAllocs()
	for b.Loop() {
		s, _ := NewServer(SCRAMSHA256, a.lookup, ChannelBinding{}, false)
		s.nonce = func() string { return tSNonce }
		if _, _, err := s.Step(first); err != nil {
			b.Fatal(err)
		}
		if _, done, err := s.Step(final); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}

// BenchmarkSCRAMSHA256RoundTrip is a whole login, both sides, with random
// nonces: what the load generator pays per connection.
func BenchmarkSCRAMSHA256RoundTrip(b *testing.B) {
	a := benchAccount(b)
	b.ReportAllocs()
	for b.Loop() {
		c, _ := NewClient(SCRAMSHA256, "juliet", "r0m30!", "", ChannelBinding{})
		s, _ := NewServer(SCRAMSHA256, a.lookup, ChannelBinding{}, false)
		if err := exchange(b, c, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlainServer is the server's cost of a PLAIN login, which
// derives the StoredKey from the password: 4096 iterations of
// HMAC-SHA-256.
func BenchmarkPlainServer(b *testing.B) {
	a := benchAccount(b)
	msg := []byte("\x00juliet\x00r0m30!")
	b.ReportAllocs()
	for b.Loop() {
		s, _ := NewServer(PLAIN, a.lookup, ChannelBinding{}, false)
		if _, done, err := s.Step(msg); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}

func BenchmarkVerifyPlain(b *testing.B) {
	c := benchAccount(b)["juliet"][SHA256]
	b.ReportAllocs()
	for b.Loop() {
		if !VerifyPlain(c, "r0m30!") {
			b.Fatal("VerifyPlain failed")
		}
	}
}
