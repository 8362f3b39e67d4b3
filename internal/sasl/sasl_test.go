package sasl

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var allMechs = []string{PLAIN, SCRAMSHA1, SCRAMSHA1Plus, SCRAMSHA256, SCRAMSHA256Plus}

func TestMechanisms(t *testing.T) {
	cb := fakeBinding(1)
	tests := []struct {
		secure        bool
		cb            ChannelBinding
		plainInsecure bool
		want          []string
	}{
		{false, ChannelBinding{}, false, []string{SCRAMSHA256, SCRAMSHA1}},
		{false, ChannelBinding{}, true, []string{SCRAMSHA256, SCRAMSHA1, PLAIN}},
		{true, ChannelBinding{}, false, []string{SCRAMSHA256, SCRAMSHA1, PLAIN}},
		{true, cb, false, []string{SCRAMSHA256Plus, SCRAMSHA1Plus, SCRAMSHA256, SCRAMSHA1, PLAIN}},
		{true, ChannelBinding{EndPoint: cb.EndPoint}, false, []string{SCRAMSHA256Plus, SCRAMSHA1Plus, SCRAMSHA256, SCRAMSHA1, PLAIN}},
		{true, ChannelBinding{Exporter: cb.Exporter}, true, []string{SCRAMSHA256Plus, SCRAMSHA1Plus, SCRAMSHA256, SCRAMSHA1, PLAIN}},
		{true, ChannelBinding{Exporter: []byte{}}, false, []string{SCRAMSHA256, SCRAMSHA1, PLAIN}},
	}
	for _, tt := range tests {
		got := Mechanisms(tt.secure, tt.cb, tt.plainInsecure)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Mechanisms(%v, %v, %v) = %v, want %v", tt.secure, tt.cb.available(), tt.plainInsecure, got, tt.want)
		}
	}
}

func TestNewServerMechanism(t *testing.T) {
	a := accounts{}
	for _, mech := range []string{"", "plain", "SCRAM-SHA-512", "DIGEST-MD5", "EXTERNAL"} {
		_, err := NewServer(mech, a.lookup, fakeBinding(1), true)
		wantFailure(t, err, InvalidMechanism, "")
	}
	for _, mech := range []string{SCRAMSHA1Plus, SCRAMSHA256Plus} {
		_, err := NewServer(mech, a.lookup, ChannelBinding{}, false)
		wantFailure(t, err, InvalidMechanism, "")
	}
	_, err := NewServer(PLAIN, nil, ChannelBinding{}, false)
	wantFailure(t, err, TemporaryAuthFailure, "")
	for _, mech := range allMechs {
		if _, err := NewServer(mech, a.lookup, fakeBinding(1), true); err != nil {
			t.Errorf("NewServer(%s): %v", mech, err)
		}
	}
}

func TestNewCredentials(t *testing.T) {
	if _, err := NewCredentials(SHA256, "pencil", 1000); err == nil {
		t.Error("NewCredentials accepted 1000 iterations")
	}
	if _, err := NewCredentials("SHA-512", "pencil", 0); err == nil {
		t.Error("NewCredentials accepted SHA-512")
	}
	if _, err := NewCredentials(SHA256, "", 0); err == nil {
		t.Error("NewCredentials accepted an empty password")
	}
	if _, err := NewCredentials(SHA256, "bell\a", 0); err == nil {
		t.Error("NewCredentials accepted a control character")
	}
	if testing.Short() {
		t.Skip("4096 iterations are slow under emulation")
	}
	c1, err := NewCredentials(SHA256, "pencil", 0)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := NewCredentials(SHA256, "pencil", DefaultIterations)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Hash != SHA256 || c1.Iterations != DefaultIterations || len(c1.Salt) != 16 || len(c1.StoredKey) != 32 || len(c1.ServerKey) != 32 {
		t.Fatalf("NewCredentials = %+v", c1)
	}
	if string(c1.Salt) == string(c2.Salt) {
		t.Fatal("two credentials share a salt")
	}
	c3, err := NewCredentials(SHA1, "pencil", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c3.StoredKey) != 20 || len(c3.ServerKey) != 20 {
		t.Fatalf("SHA-1 credentials = %+v", c3)
	}
	for _, c := range []Credentials{c1, c2, c3} {
		if !VerifyPlain(c, "pencil") || VerifyPlain(c, "Pencil") {
			t.Fatalf("VerifyPlain disagrees with %+v", c)
		}
	}
}

func TestVerifyPlain(t *testing.T) {
	n := testIterations()
	a := newAccounts(t, n, map[string]string{"u": "Ünïcode pässwörd"})
	for _, h := range []string{SHA1, SHA256} {
		c := a["u"][h]
		tests := []struct {
			password string
			want     bool
		}{
			{"Ünïcode pässwörd", true},
			// NFD spelling and a no-break space prepare to the same
			// string (RFC 8265 §4.2.2).
			{"U\u0308ni\u0308code pa\u0308sswo\u0308rd", true},
			{"Ünïcode\u00a0pässwörd", true},
			{"ünïcode pässwörd", false},
			{"Ünïcode pässwörd ", false},
			{"", false},
			{"Ünïcode\x07pässwörd", false},
		}
		for _, tt := range tests {
			if got := VerifyPlain(c, tt.password); got != tt.want {
				t.Errorf("%s: VerifyPlain(%q) = %v, want %v", h, tt.password, got, tt.want)
			}
		}
		bad := c
		bad.Hash = "MD5"
		if VerifyPlain(bad, "Ünïcode pässwörd") {
			t.Errorf("%s: VerifyPlain accepted unknown hash", h)
		}
		bad = c
		bad.StoredKey = bad.StoredKey[:5]
		if VerifyPlain(bad, "Ünïcode pässwörd") {
			t.Errorf("%s: VerifyPlain accepted a short key", h)
		}
	}
}

// TestRoundTrip logs in with every mechanism, with and without authzid,
// with names that need escaping and passwords that need preparing.
func TestRoundTrip(t *testing.T) {
	users := map[string]string{
		"juliet":    "r0m30!",
		"a,b=c":     "pencil",
		"=2C,=3D":   "pencil",
		"ñandú":     "contraseña",
		"space man": "two  spaces",
	}
	a := newAccounts(t, testIterations(), users)
	cb := fakeBinding(7)
	logins := []struct{ user, password string }{
		{"juliet", "r0m30!"},
		{"a,b=c", "pencil"},
		{"=2C,=3D", "pencil"},
		{"ñandú", "contraseña"},
		{"ñandú", "contrasen\u0303a"},     // NFD
		{"space man", "two\u2003 spaces"}, // em space maps to space
	}
	for _, mech := range allMechs {
		for _, l := range logins {
			for _, authzid := range []string{"", "romeo@example.net", "a=b,c"} {
				name := fmt.Sprintf("%s/%s/%s", mech, l.user, authzid)
				c, err := NewClient(mech, l.user, l.password, authzid, clientBinding(mech, cb))
				if err != nil {
					t.Fatalf("%s: NewClient: %v", name, err)
				}
				s, err := NewServer(mech, a.lookup, cb, true)
				if err != nil {
					t.Fatalf("%s: NewServer: %v", name, err)
				}
				if err := exchange(t, c, s); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if s.Username() != l.user || s.Authzid() != authzid {
					t.Fatalf("%s: Username, Authzid = %q, %q", name, s.Username(), s.Authzid())
				}
			}
		}
	}
}

// TestRoundTripNoPlusAdvertised checks flag y where the server offered no
// -PLUS mechanism, and flag n where the client has no binding.
func TestRoundTripNoPlusAdvertised(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"u": "p"})
	for _, mech := range []string{SCRAMSHA1, SCRAMSHA256} {
		for _, clientCB := range []ChannelBinding{{}, fakeBinding(3)} {
			c, _ := NewClient(mech, "u", "p", "", clientCB)
			s, _ := NewServer(mech, a.lookup, ChannelBinding{}, false)
			if err := exchange(t, c, s); err != nil {
				t.Fatalf("%s with client binding %v: %v", mech, clientCB.available(), err)
			}
		}
		// A server that offered -PLUS still accepts n from a client
		// without a binding.
		c, _ := NewClient(mech, "u", "p", "", ChannelBinding{})
		s, _ := NewServer(mech, a.lookup, fakeBinding(3), true)
		if err := exchange(t, c, s); err != nil {
			t.Fatalf("%s, flag n, -PLUS offered: %v", mech, err)
		}
	}
}

func TestNoInitialResponse(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"u": "p"})
	for _, mech := range allMechs {
		s, err := NewServer(mech, a.lookup, fakeBinding(1), true)
		if err != nil {
			t.Fatal(err)
		}
		out, done, err := s.Step(nil)
		if err != nil || done || out == nil || len(out) != 0 {
			t.Fatalf("%s: Step(nil) = %q, %v, %v; want an empty challenge", mech, out, done, err)
		}
		c, _ := NewClient(mech, "u", "p", "", clientBinding(mech, fakeBinding(1)))
		if err := exchange(t, c, s); err != nil {
			t.Fatalf("%s after an empty challenge: %v", mech, err)
		}

		s, _ = NewServer(mech, a.lookup, fakeBinding(1), true)
		s.Step(nil)
		_, _, err = s.Step([]byte{})
		wantFailure(t, err, MalformedRequest, "")
	}
}

func TestWrongPassword(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"u": "right"})
	for _, mech := range allMechs {
		c, _ := NewClient(mech, "u", "wrong", "", clientBinding(mech, fakeBinding(1)))
		s, _ := NewServer(mech, a.lookup, fakeBinding(1), true)
		err := exchange(t, c, s)
		wantFailure(t, err, NotAuthorized, "")
		if s.Username() != "u" {
			t.Errorf("%s: Username after a failure = %q", mech, s.Username())
		}
	}
}

var serverFirstRE = regexp.MustCompile(`^r=CLIENTNONCE[A-Za-z0-9+/]{24},s=([A-Za-z0-9+/]{22}==),i=([0-9]+)$`)

// TestUnknownUser checks that an unknown account fails like a wrong
// password, after a server-first message that looks like a real one.
func TestUnknownUser(t *testing.T) {
	n := testIterations()
	a := newAccounts(t, n, map[string]string{"known": "right"})
	for _, mech := range allMechs {
		first := func(user string) (salt, iterations string) {
			t.Helper()
			// A real lookup first, so that the stand-in follows its
			// count even when other tests used another.
			s, _ := NewServer(mech, a.lookup, fakeBinding(1), true)
			c, _ := NewClient(mech, "known", "right", "", clientBinding(mech, fakeBinding(1)))
			if err := exchange(t, c, s); err != nil {
				t.Fatal(err)
			}
			s, _ = NewServer(mech, a.lookup, fakeBinding(1), true)
			c, _ = NewClient(mech, user, "whatever", "", clientBinding(mech, fakeBinding(1)))
			c.nonce = func() string { return "CLIENTNONCE" }
			resp, _ := c.Step(nil)
			out, done, err := s.Step(resp)
			if err != nil || done {
				t.Fatalf("%s: first step for %q: %v, %v", mech, user, done, err)
			}
			m := serverFirstRE.FindStringSubmatch(string(out))
			if m == nil {
				t.Fatalf("%s: server-first for %q = %q, not like a real one", mech, user, out)
			}
			resp, err = c.Step(out)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.Step(resp)
			wantFailure(t, err, NotAuthorized, "invalid-proof")
			return m[1], m[2]
		}
		if mech == PLAIN {
			for _, user := range []string{"known", "nobody"} {
				s, _ := NewServer(mech, a.lookup, ChannelBinding{}, false)
				c, _ := NewClient(mech, user, "wrong", "", ChannelBinding{})
				err := exchange(t, c, s)
				wantFailure(t, err, NotAuthorized, "wrong username or password")
			}
			continue
		}
		salt1, iter1 := first("nobody")
		salt2, iter2 := first("nobody")
		salt3, _ := first("somebody else")
		_, realIter := first("known")
		if salt1 != salt2 {
			t.Errorf("%s: unknown account got salts %s and %s", mech, salt1, salt2)
		}
		if salt1 == salt3 {
			t.Errorf("%s: two unknown accounts share salt %s", mech, salt1)
		}
		if iter1 != realIter || iter2 != realIter {
			t.Errorf("%s: unknown account has %s iterations, real ones %s", mech, iter1, realIter)
		}
	}
}

func TestLookupError(t *testing.T) {
	broken := func(string, string) (Credentials, error) { return Credentials{}, errors.New("disk on fire") }
	bad := func(string, hash string) (Credentials, error) {
		return Credentials{Hash: hash, Salt: []byte("s"), Iterations: 1, StoredKey: []byte("short"), ServerKey: []byte("short")}, nil
	}
	for _, lookup := range []Lookup{broken, bad} {
		for _, mech := range allMechs {
			c, _ := NewClient(mech, "u", "p", "", clientBinding(mech, fakeBinding(1)))
			s, _ := NewServer(mech, lookup, fakeBinding(1), true)
			wantFailure(t, exchange(t, c, s), TemporaryAuthFailure, "")
		}
	}
}

// TestPlainFallsBackToSHA1 checks that PLAIN verifies against SHA-1
// credentials when an account has no SHA-256 ones.
func TestPlainFallsBackToSHA1(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"old": "pw"})
	delete(a["old"], SHA256)
	c, _ := NewClient(PLAIN, "old", "pw", "", ChannelBinding{})
	s, _ := NewServer(PLAIN, a.lookup, ChannelBinding{}, false)
	if err := exchange(t, c, s); err != nil {
		t.Fatal(err)
	}
	c, _ = NewClient(PLAIN, "old", "wrong", "", ChannelBinding{})
	s, _ = NewServer(PLAIN, a.lookup, ChannelBinding{}, false)
	wantFailure(t, exchange(t, c, s), NotAuthorized, "")
}

func TestPlainMalformed(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"u": "p"})
	tests := []struct {
		msg, cond string
	}{
		{"u\x00p", MalformedRequest},
		{"up", MalformedRequest},
		{"\x00\x00p", MalformedRequest},
		{"\x00u\x00", MalformedRequest},
		{"a\x00u\x00p\x00", MalformedRequest},
		{"\x00u\x00p\xff", MalformedRequest},
		{"\x00u\xc3\x00p", MalformedRequest},
		{"\x00u\x00p\x07", NotAuthorized},
		{"\x00" + strings.Repeat("u", 4096) + "\x00p", MalformedRequest},
	}
	for _, tt := range tests {
		s, _ := NewServer(PLAIN, a.lookup, ChannelBinding{}, false)
		_, _, err := s.Step([]byte(tt.msg))
		wantFailure(t, err, tt.cond, "")
	}
	// And the good one, with an authzid.
	s, _ := NewServer(PLAIN, a.lookup, ChannelBinding{}, false)
	if _, done, err := s.Step([]byte("admin@example.net\x00u\x00p")); !done || err != nil {
		t.Fatalf("good PLAIN message: %v, %v", done, err)
	}
	if s.Authzid() != "admin@example.net" {
		t.Fatalf("Authzid = %q", s.Authzid())
	}
}

const (
	tCNonce = "CNONCE"
	tSNonce = "SNONCE"
)

// TestSCRAMMalformed feeds the server broken messages. The second message,
// where there is one, follows "n,,n=u,r=CNONCE" (or the case's first), and
// the server's nonce is SNONCE.
func TestSCRAMMalformed(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"u": "p"})
	cb := fakeBinding(9)
	exp := ChannelBinding{Exporter: cb.Exporter}
	uniq := ChannelBinding{Exporter: cb.Exporter, EndPoint: cb.EndPoint, Unique: cb.EndPoint[:12]}
	zero20 := b64.EncodeToString(make([]byte, 20))
	zero32 := b64.EncodeToString(make([]byte, 32))
	const good = "n,,n=u,r=" + tCNonce
	const nonce = tCNonce + tSNonce
	tests := []struct {
		name  string
		mech  string
		cb    ChannelBinding
		plus  bool // advertisedPlus
		first string
		final string // "" when the first message fails
		cond  string
		text  string
	}{
		{"bad flag", SCRAMSHA256, cb, true, "x,,n=u,r=abc", "", MalformedRequest, ""},
		{"no gs2 header", SCRAMSHA256, cb, true, "n=u,r=abc", "", MalformedRequest, ""},
		{"gs2 header cut short", SCRAMSHA256, cb, true, "n,", "", MalformedRequest, ""},
		{"flag only", SCRAMSHA256, cb, true, "n", "", MalformedRequest, ""},
		{"not a= in gs2", SCRAMSHA256, cb, true, "n,n=u,r=abc", "", MalformedRequest, ""},
		{"empty authzid", SCRAMSHA256, cb, true, "n,a=,n=u,r=abc", "", MalformedRequest, ""},
		{"bad escape in authzid", SCRAMSHA256, cb, true, "n,a=x=41,n=u,r=abc", "", MalformedRequest, ""},
		{"out of order", SCRAMSHA256, cb, true, "n,,r=abc,n=u", "", MalformedRequest, ""},
		{"missing nonce", SCRAMSHA256, cb, true, "n,,n=u", "", MalformedRequest, ""},
		{"missing username", SCRAMSHA256, cb, true, "n,,r=abc", "", MalformedRequest, ""},
		{"empty nonce", SCRAMSHA256, cb, true, "n,,n=u,r=", "", MalformedRequest, ""},
		{"nonce with space", SCRAMSHA256, cb, true, "n,,n=u,r=a c", "", MalformedRequest, ""},
		{"nonce too long", SCRAMSHA256, cb, true, "n,,n=u,r=" + strings.Repeat("x", 257), "", MalformedRequest, ""},
		{"duplicate n", SCRAMSHA256, cb, true, "n,,n=u,r=abc,n=v", "", MalformedRequest, ""},
		{"duplicate r", SCRAMSHA256, cb, true, "n,,n=u,r=abc,r=abc", "", MalformedRequest, ""},
		{"duplicate extension", SCRAMSHA256, cb, true, "n,,n=u,r=abc,x=1,x=2", "", MalformedRequest, ""},
		{"empty extension", SCRAMSHA256, cb, true, "n,,n=u,r=abc,x=", "", MalformedRequest, ""},
		{"extension not a letter", SCRAMSHA256, cb, true, "n,,n=u,r=abc,1=x", "", MalformedRequest, ""},
		{"trailing comma", SCRAMSHA256, cb, true, "n,,n=u,r=abc,", "", MalformedRequest, ""},
		{"m= first", SCRAMSHA256, cb, true, "n,,m=ext,n=u,r=abc", "", MalformedRequest, "extensions-not-supported"},
		{"m= last", SCRAMSHA256, cb, true, "n,,n=u,r=abc,m=ext", "", MalformedRequest, "extensions-not-supported"},
		{"bad escape", SCRAMSHA256, cb, true, "n,,n=u=2X,r=abc", "", MalformedRequest, ""},
		{"lone =", SCRAMSHA256, cb, true, "n,,n=u=,r=abc", "", MalformedRequest, ""},
		{"empty username", SCRAMSHA256, cb, true, "n,,n=,r=abc", "", MalformedRequest, ""},
		{"username not utf-8", SCRAMSHA256, cb, true, "n,,n=\xff,r=abc", "", MalformedRequest, ""},
		{"username with NUL", SCRAMSHA256, cb, true, "n,,n=u\x00,r=abc", "", MalformedRequest, ""},
		{"too long", SCRAMSHA256, cb, true, "n,,n=u,r=abc,x=" + strings.Repeat("x", 4096), "", MalformedRequest, ""},
		{"p= without -PLUS", SCRAMSHA256, cb, true, "p=tls-exporter,,n=u,r=abc", "", MalformedRequest, ""},
		{"p= without -PLUS or binding", SCRAMSHA256, ChannelBinding{}, false, "p=tls-exporter,,n=u,r=abc", "", MalformedRequest, ""},
		{"bad cb name", SCRAMSHA256Plus, cb, true, "p=tls_exporter,,n=u,r=abc", "", MalformedRequest, ""},
		{"empty cb name", SCRAMSHA256Plus, cb, true, "p=,,n=u,r=abc", "", MalformedRequest, ""},
		{"unsupported cb type", SCRAMSHA256Plus, cb, true, "p=tls-foo,,n=u,r=abc", "", MalformedRequest, "unsupported-channel-binding-type"},
		{"cb type not on this connection", SCRAMSHA256Plus, exp, true, "p=tls-server-end-point,,n=u,r=abc", "", MalformedRequest, "unsupported-channel-binding-type"},
		{"n with -PLUS", SCRAMSHA256Plus, cb, true, "n,,n=u,r=abc", "", MalformedRequest, ""},
		{"y with -PLUS", SCRAMSHA1Plus, cb, true, "y,,n=u,r=abc", "", MalformedRequest, ""},
		{"downgrade", SCRAMSHA256, uniq, true, "y,,n=u,r=abc", "", NotAuthorized, "server-does-support-channel-binding"},
		{"downgrade unknown user", SCRAMSHA1, uniq, true, "y,,n=nobody,r=abc", "", NotAuthorized, "server-does-support-channel-binding"},
		{"tls-unique not on this connection", SCRAMSHA256Plus, cb, true, "p=tls-unique,,n=u,r=abc", "", MalformedRequest, "unsupported-channel-binding-type"},

		{"no proof", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce, MalformedRequest, ""},
		{"single attribute", SCRAMSHA256, cb, true, good, "c=biws", MalformedRequest, ""},
		{"proof not last", SCRAMSHA256, cb, true, good, "c=biws,p=" + zero32 + ",r=" + nonce, MalformedRequest, ""},
		{"r before c", SCRAMSHA256, cb, true, good, "r=" + nonce + ",c=biws,p=" + zero32, MalformedRequest, ""},
		{"missing c", SCRAMSHA256, cb, true, good, "r=" + nonce + ",p=" + zero32, MalformedRequest, ""},
		{"missing r", SCRAMSHA256, cb, true, good, "c=biws,p=" + zero32, MalformedRequest, ""},
		{"duplicate r in final", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce + ",r=" + nonce + ",p=" + zero32, MalformedRequest, ""},
		{"duplicate c in final", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce + ",c=biws,p=" + zero32, MalformedRequest, ""},
		{"m= in final", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce + ",m=x,p=" + zero32, MalformedRequest, "extensions-not-supported"},
		{"bad base64 in c", SCRAMSHA256, cb, true, good, "c=biw,r=" + nonce + ",p=" + zero32, IncorrectEncoding, ""},
		{"empty c", SCRAMSHA256, cb, true, good, "c=,r=" + nonce + ",p=" + zero32, IncorrectEncoding, ""},
		{"bad base64 in p", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce + ",p=!!!!", IncorrectEncoding, ""},
		{"loose base64 in p", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce + ",p=AB==", IncorrectEncoding, ""},
		{"short proof", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce + ",p=AAAA", MalformedRequest, ""},
		{"sha-1 sized proof", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce + ",p=" + zero20, MalformedRequest, ""},
		{"nonce is only the client's", SCRAMSHA256, cb, true, good, "c=biws,r=" + tCNonce + ",p=" + zero32, NotAuthorized, ""},
		{"nonce does not extend the client's", SCRAMSHA256, cb, true, good, "c=biws,r=OTHER" + tSNonce + ",p=" + zero32, NotAuthorized, ""},
		{"gs2 header changed", SCRAMSHA256, cb, true, good, "c=eSws,r=" + nonce + ",p=" + zero32, NotAuthorized, "channel-bindings-dont-match"},
		{"authzid dropped", SCRAMSHA256, cb, true, "n,a=admin,n=u,r=" + tCNonce, "c=biws,r=" + nonce + ",p=" + zero32, NotAuthorized, "channel-bindings-dont-match"},
		{"binding data missing", SCRAMSHA256Plus, cb, true, "p=tls-exporter,,n=u,r=" + tCNonce,
			"c=" + b64.EncodeToString([]byte("p=tls-exporter,,")) + ",r=" + nonce + ",p=" + zero32, NotAuthorized, "channel-bindings-dont-match"},
		{"binding data differs", SCRAMSHA256Plus, cb, true, "p=tls-exporter,,n=u,r=" + tCNonce,
			"c=" + b64.EncodeToString(append([]byte("p=tls-exporter,,"), cb.EndPoint...)) + ",r=" + nonce + ",p=" + zero32, NotAuthorized, "channel-bindings-dont-match"},
		{"wrong proof", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce + ",p=" + zero32, NotAuthorized, "invalid-proof"},
		{"wrong proof, extension ignored", SCRAMSHA1, cb, true, good, "c=biws,r=" + nonce + ",x=ext,p=" + zero20, NotAuthorized, "invalid-proof"},
		{"wrong proof, unknown user", SCRAMSHA256, cb, true, "n,,n=nobody,r=" + tCNonce, "c=biws,r=" + nonce + ",p=" + zero32, NotAuthorized, "invalid-proof"},
		{"final too long", SCRAMSHA256, cb, true, good, "c=biws,r=" + nonce + ",x=" + strings.Repeat("x", 4096) + ",p=" + zero32, MalformedRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(tt.mech, a.lookup, tt.cb, tt.plus)
			if err != nil {
				t.Fatal(err)
			}
			s.nonce = func() string { return tSNonce }
			out, done, err := s.Step([]byte(tt.first))
			if tt.final == "" {
				if out != nil || done {
					t.Fatalf("failed Step returned %q, %v", out, done)
				}
				wantFailure(t, err, tt.cond, tt.text)
				return
			}
			if err != nil || done {
				t.Fatalf("first step: %v, %v", done, err)
			}
			out, done, err = s.Step([]byte(tt.final))
			if out != nil || done {
				t.Fatalf("failed Step returned %q, %v", out, done)
			}
			wantFailure(t, err, tt.cond, tt.text)
			// The exchange is over.
			_, _, err = s.Step([]byte(tt.final))
			wantFailure(t, err, MalformedRequest, "")
		})
	}
}

// TestSCRAMExtensionsIgnored checks that unknown extensions in both client
// messages do not get in the way (RFC 5802 §5.1).
func TestSCRAMExtensionsIgnored(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"u": "p"})
	s, _ := NewServer(SCRAMSHA256, a.lookup, ChannelBinding{}, false)
	c, _ := NewClient(SCRAMSHA256, "u", "p", "", ChannelBinding{})
	first, _ := c.Step(nil)
	out, _, err := s.Step(append(first, ",x=1,Y=2"...))
	if err != nil {
		t.Fatal(err)
	}
	// The extension is part of client-first-message-bare and so of the
	// AuthMessage; the client must sign what it sent.
	c.firstBare += ",x=1,Y=2"
	final, err := c.Step(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := s.Step(final); !done || err != nil {
		t.Fatalf("with extensions: %v, %v", done, err)
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		mech, user, password, authzid string
		cb                            ChannelBinding
	}{
		{"SCRAM-SHA-512", "u", "p", "", ChannelBinding{}},
		{SCRAMSHA256, "", "p", "", ChannelBinding{}},
		{SCRAMSHA256, "u\x00", "p", "", ChannelBinding{}},
		{SCRAMSHA256, "\xff", "p", "", ChannelBinding{}},
		{SCRAMSHA256, "u", "", "", ChannelBinding{}},
		{SCRAMSHA256, "u", "p\x7f", "", ChannelBinding{}},
		{SCRAMSHA256, "u", "p", "\xff", ChannelBinding{}},
		{SCRAMSHA256Plus, "u", "p", "", ChannelBinding{}},
		{SCRAMSHA1Plus, "u", "p", "", ChannelBinding{Exporter: []byte{}}},
	}
	for _, tt := range tests {
		if _, err := NewClient(tt.mech, tt.user, tt.password, tt.authzid, tt.cb); err == nil {
			t.Errorf("NewClient(%q, %q, %q, %q, %v) succeeded", tt.mech, tt.user, tt.password, tt.authzid, tt.cb)
		}
	}

	// What the client sends first.
	cb := fakeBinding(1)
	firsts := []struct {
		mech    string
		authzid string
		cb      ChannelBinding
		want    string
	}{
		{SCRAMSHA256, "", ChannelBinding{}, "n,,n=a=2Cb=3D,r=N"},
		{SCRAMSHA256, "x,y=", ChannelBinding{}, "n,a=x=2Cy=3D,n=a=2Cb=3D,r=N"},
		{SCRAMSHA1, "", cb, "y,,n=a=2Cb=3D,r=N"},
		{SCRAMSHA1Plus, "", cb, "p=tls-exporter,,n=a=2Cb=3D,r=N"},
		{SCRAMSHA256Plus, "z", ChannelBinding{EndPoint: cb.EndPoint}, "p=tls-server-end-point,a=z,n=a=2Cb=3D,r=N"},
		{PLAIN, "z", cb, "z\x00a,b=\x00p"},
	}
	for _, tt := range firsts {
		c, err := NewClient(tt.mech, "a,b=", "p", tt.authzid, tt.cb)
		if err != nil {
			t.Fatal(err)
		}
		c.nonce = func() string { return "N" }
		got, err := c.Step(nil)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s first = %q, %v; want %q", tt.mech, got, err, tt.want)
		}
	}
}

// TestClientRefusesServerFirst checks the client's side of the nonce rule
// and the other checks on server-first-message.
func TestClientRefusesServerFirst(t *testing.T) {
	for _, msg := range []string{
		"r=N,s=QSXCR+Q6sek8bf92,i=64",        // does not extend
		"r=XN,s=QSXCR+Q6sek8bf92,i=64",       // does not start with the client's
		"r=N S,s=QSXCR+Q6sek8bf92,i=64",      // not printable
		"r=NS,s=,i=64",                       // empty salt
		"r=NS,s=QSXCR+Q6sek8bf9,i=64",        // bad base64
		"r=NS,s=QSXCR+Q6sek8bf92,i=0",        // zero
		"r=NS,s=QSXCR+Q6sek8bf92,i=064",      // leading zero
		"r=NS,s=QSXCR+Q6sek8bf92,i=20000000", // above the bound
		"r=NS,s=QSXCR+Q6sek8bf92",            // missing count
		"r=NS,i=64,s=QSXCR+Q6sek8bf92",       // out of order
		"s=QSXCR+Q6sek8bf92,r=NS,i=64",       // out of order
		"m=x,r=NS,s=QSXCR+Q6sek8bf92,i=64",   // reserved
		"r=NS,s=QSXCR+Q6sek8bf92,i=64,m=x",   // reserved
		"r=NS,s=QSXCR+Q6sek8bf92,i=64,r=NS",  // duplicate
		"e=other-error",
	} {
		c, _ := NewClient(SCRAMSHA256, "u", "p", "", ChannelBinding{})
		c.nonce = func() string { return "N" }
		c.Step(nil)
		if _, err := c.Step([]byte(msg)); err == nil {
			t.Errorf("client accepted server-first %q", msg)
		}
		// Nothing verifies after a refused server-first message, not
		// even an empty signature.
		if _, err := c.Step([]byte("v=")); !errors.Is(err, errClientDone) {
			t.Errorf("after refusing %q, the client went on: %v", msg, err)
		}
	}
}

func TestClientStepAfterEnd(t *testing.T) {
	c, _ := NewClient(PLAIN, "u", "p", "", ChannelBinding{})
	c.Step(nil)
	if _, err := c.Step([]byte("x")); !errors.Is(err, errClientDone) {
		t.Fatalf("PLAIN second step: %v", err)
	}
}

func TestFailureError(t *testing.T) {
	f := &Failure{Condition: NotAuthorized, Text: "invalid-proof"}
	if f.Error() != "sasl: not-authorized: invalid-proof" {
		t.Fatal(f.Error())
	}
	if (&Failure{Condition: Aborted}).Error() != "sasl: aborted" {
		t.Fatal("Failure without text")
	}
}

func TestFailureGuess(t *testing.T) {
	for _, c := range []struct {
		f    Failure
		want bool
	}{
		{Failure{NotAuthorized, "invalid-proof"}, true},
		{Failure{NotAuthorized, ""}, true},
		{Failure{NotAuthorized, textDowngrade}, false},
		{Failure{MalformedRequest, "unsupported-channel-binding-type"}, false},
		{Failure{TemporaryAuthFailure, ""}, false},
	} {
		if got := c.f.Guess(); got != c.want {
			t.Errorf("%v: Guess() = %v", &c.f, got)
		}
	}
}
