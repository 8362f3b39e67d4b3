package sasl

import (
	"bytes"
	"errors"
	"testing"
)

// scramVectors are the example exchanges of RFC 5802 §5 and RFC 7677 §3:
// user "user", password "pencil", 4096 iterations.
var scramVectors = []struct {
	mech, hash                                         string
	salt, clientNonce, serverNonce                     string
	clientFirst, serverFirst, clientFinal, serverFinal string
}{
	{
		mech: SCRAMSHA1, hash: SHA1,
		salt:        "QSXCR+Q6sek8bf92",
		clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
		serverNonce: "3rfcNHYJY1ZVvWVs7j",
		clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	},
	{
		mech: SCRAMSHA256, hash: SHA256,
		salt:        "W22ZaJ0SNY7soEsUEjb6gQ==",
		clientNonce: "rOprNGfwEbeRWgbNEkqO",
		serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
		serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	},
}

// vectorCredentials derives the example account's credentials from the
// RFC's salt and count.
func vectorCredentials(t *testing.T, hash, salt string) Credentials {
	t.Helper()
	s, err := b64.DecodeString(salt)
	if err != nil {
		t.Fatal(err)
	}
	c, err := deriveCredentials(hash, "pencil", s, 4096)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSCRAMVectorsServer replays the RFC exchanges against the server,
// byte for byte. The proof only verifies, and the signature only matches,
// if the derived StoredKey and ServerKey are the RFC's.
func TestSCRAMVectorsServer(t *testing.T) {
	for _, v := range scramVectors {
		t.Run(v.mech, func(t *testing.T) {
			creds := vectorCredentials(t, v.hash, v.salt)
			lookup := func(user, hash string) (Credentials, error) {
				if user != "user" || hash != v.hash {
					t.Errorf("lookup(%q, %q), want (user, %s)", user, hash, v.hash)
					return Credentials{}, ErrUnknownUser
				}
				return creds, nil
			}
			s, err := NewServer(v.mech, lookup, ChannelBinding{}, false)
			if err != nil {
				t.Fatal(err)
			}
			s.nonce = func() string { return v.serverNonce }

			out, done, err := s.Step([]byte(v.clientFirst))
			if err != nil || done || string(out) != v.serverFirst {
				t.Fatalf("server-first = %q, %v, %v; want %q", out, done, err, v.serverFirst)
			}
			out, done, err = s.Step([]byte(v.clientFinal))
			if err != nil || !done || string(out) != v.serverFinal {
				t.Fatalf("server-final = %q, %v, %v; want %q", out, done, err, v.serverFinal)
			}
			if s.Username() != "user" || s.Authzid() != "" {
				t.Fatalf("Username, Authzid = %q, %q", s.Username(), s.Authzid())
			}
			if !VerifyPlain(creds, "pencil") || VerifyPlain(creds, "pencil ") {
				t.Fatal("VerifyPlain disagrees with the example credentials")
			}
		})
	}
}

// TestSCRAMVectorsClient replays the RFC exchanges from the client's side.
func TestSCRAMVectorsClient(t *testing.T) {
	for _, v := range scramVectors {
		t.Run(v.mech, func(t *testing.T) {
			c, err := NewClient(v.mech, "user", "pencil", "", ChannelBinding{})
			if err != nil {
				t.Fatal(err)
			}
			c.nonce = func() string { return v.clientNonce }
			steps := []struct{ in, want string }{
				{"", v.clientFirst},
				{v.serverFirst, v.clientFinal},
				{v.serverFinal, ""},
			}
			for i, st := range steps {
				var in []byte
				if i > 0 {
					in = []byte(st.in)
				}
				out, err := c.Step(in)
				if err != nil || string(out) != st.want {
					t.Fatalf("step %d = %q, %v; want %q", i+1, out, err, st.want)
				}
			}
		})
	}
}

// TestSCRAMVectorsClientBadSignature checks that the client refuses a
// server that cannot produce the signature.
func TestSCRAMVectorsClientBadSignature(t *testing.T) {
	v := scramVectors[1]
	for _, final := range []string{
		"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		"v=",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
		"e=invalid-proof",
		"x=1",
	} {
		c, err := NewClient(v.mech, "user", "pencil", "", ChannelBinding{})
		if err != nil {
			t.Fatal(err)
		}
		c.nonce = func() string { return v.clientNonce }
		c.Step(nil)
		if _, err := c.Step([]byte(v.serverFirst)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Step([]byte(final)); err == nil {
			t.Errorf("client accepted server-final %q", final)
		}
		if _, err := c.Step([]byte(v.serverFinal)); !errors.Is(err, errClientDone) {
			t.Errorf("client went on after refusing %q: %v", final, err)
		}
	}
}

// TestSCRAMVectorsStepAfterEnd checks that a finished server refuses more.
func TestSCRAMVectorsStepAfterEnd(t *testing.T) {
	v := scramVectors[0]
	creds := vectorCredentials(t, v.hash, v.salt)
	s, err := NewServer(v.mech, func(string, string) (Credentials, error) { return creds, nil }, ChannelBinding{}, false)
	if err != nil {
		t.Fatal(err)
	}
	s.nonce = func() string { return v.serverNonce }
	s.Step([]byte(v.clientFirst))
	if _, done, err := s.Step([]byte(v.clientFinal)); !done || err != nil {
		t.Fatal(done, err)
	}
	out, done, err := s.Step([]byte(v.clientFinal))
	if out != nil || done {
		t.Fatalf("Step after the end = %q, %v", out, done)
	}
	wantFailure(t, err, MalformedRequest, "")
	if !bytes.Equal(creds.StoredKey, vectorCredentials(t, v.hash, v.salt).StoredKey) {
		t.Fatal("the server changed the caller's credentials")
	}
}
