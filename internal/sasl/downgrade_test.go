package sasl

import (
	"testing"
)

// TestDowngradeRule: the gs2 flag y after -PLUS was offered is refused where
// tls-unique was offered, which every binding client knows; where it was
// not (TLS 1.3), y is what a client that knows only tls-unique sends, and
// it is accepted when the caller allows it, and refused under RFC 5802's
// rule otherwise.
func TestDowngradeRule(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"u": "p"})
	tls13 := fakeBinding(4)
	tls12 := ChannelBinding{EndPoint: tls13.EndPoint, Unique: tls13.Exporter[:12]}
	for _, tc := range []struct {
		name   string
		cb     ChannelBinding
		plus   bool
		strict bool
		refuse bool
	}{
		{"TLS 1.3", tls13, true, false, false},
		{"TLS 1.3, strict", tls13, true, true, true},
		{"TLS 1.2 with tls-unique", tls12, true, false, true},
		{"TLS 1.2 with tls-unique, strict", tls12, true, true, true},
		{"no -PLUS offered", tls12, false, true, false},
	} {
		for _, mech := range []string{SCRAMSHA1, SCRAMSHA256} {
			t.Run(tc.name+"/"+mech, func(t *testing.T) {
				// Any binding makes NewClient send y for plain SCRAM.
				c, err := NewClient(mech, "u", "p", "", ChannelBinding{Unique: []byte("client-side")})
				if err != nil {
					t.Fatal(err)
				}
				s, err := NewServer(mech, a.lookup, tc.cb, tc.plus)
				if err != nil {
					t.Fatal(err)
				}
				s.AcceptYWithoutUnique = !tc.strict
				err = exchange(t, c, s)
				if !tc.refuse {
					if err != nil {
						t.Fatalf("y refused: %v", err)
					}
					return
				}
				wantFailure(t, err, NotAuthorized, textDowngrade)
				f := err.(*Failure)
				if !f.Downgrade() || f.Guess() {
					t.Fatalf("Downgrade() = %v, Guess() = %v", f.Downgrade(), f.Guess())
				}
			})
		}
	}
}

// TestTLSUniqueBinding: a client that knows only tls-unique binds on a
// connection that has it, and is told the type is unsupported on one that
// does not.
func TestTLSUniqueBinding(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"u": "p"})
	server := ChannelBinding{EndPoint: fakeBinding(5).EndPoint, Unique: []byte("finished message")}
	for _, mech := range []string{SCRAMSHA1Plus, SCRAMSHA256Plus} {
		c, _ := NewClient(mech, "u", "p", "", ChannelBinding{Unique: server.Unique})
		s, _ := NewServer(mech, a.lookup, server, true)
		if err := exchange(t, c, s); err != nil {
			t.Fatalf("%s with tls-unique: %v", mech, err)
		}
		if got := s.ChannelBinding(); got != "tls-unique" {
			t.Fatalf("ChannelBinding() = %q", got)
		}
		c, _ = NewClient(mech, "u", "p", "", ChannelBinding{Unique: []byte("another connection")})
		s, _ = NewServer(mech, a.lookup, server, true)
		wantFailure(t, exchange(t, c, s), NotAuthorized, "channel-bindings-dont-match")

		c, _ = NewClient(mech, "u", "p", "", ChannelBinding{Unique: server.Unique})
		s, _ = NewServer(mech, a.lookup, fakeBinding(5), true)
		wantFailure(t, exchange(t, c, s), MalformedRequest, "unsupported-channel-binding-type")
	}
	if got := server.Types(); len(got) != 2 || got[0] != "tls-server-end-point" || got[1] != "tls-unique" {
		t.Fatalf("Types() = %q", got)
	}
	if got := fakeBinding(5).Types(); len(got) != 2 || got[0] != "tls-exporter" || got[1] != "tls-server-end-point" {
		t.Fatalf("Types() = %q", got)
	}
	if got := (ChannelBinding{}).Types(); len(got) != 0 {
		t.Fatalf("Types() of no binding = %q", got)
	}
}

// TestGate: the gate runs once the message to check has arrived and before
// it is checked, so that a refusal there is the same answer whatever the
// password.
func TestGate(t *testing.T) {
	a := newAccounts(t, testIterations(), map[string]string{"victim": "right"})
	refuse := &Failure{Condition: TemporaryAuthFailure, Text: "throttled"}
	for _, mech := range allMechs {
		for _, password := range []string{"right", "wrong"} {
			var gated []string
			c, _ := NewClient(mech, "victim", password, "", clientBinding(mech, fakeBinding(1)))
			s, _ := NewServer(mech, a.lookup, fakeBinding(1), true)
			s.Gate = func(username string) *Failure {
				gated = append(gated, username)
				return refuse
			}
			resp, _ := c.Step(nil)
			out, _, err := s.Step(resp)
			if isSCRAM(mech) {
				// The first message checks nothing.
				if err != nil || len(gated) != 0 {
					t.Fatalf("%s: first step: %v, gate called %d times", mech, err, len(gated))
				}
				resp, _ = c.Step(out)
				out, _, err = s.Step(resp)
			}
			if out != nil {
				t.Fatalf("%s, %s password: the server answered %q", mech, password, out)
			}
			if err != refuse {
				t.Fatalf("%s, %s password: got %v, want the gate's failure", mech, password, err)
			}
			if len(gated) != 1 || gated[0] != "victim" {
				t.Fatalf("%s: gate called with %q", mech, gated)
			}
		}
		// A gate that lets the attempt through changes nothing.
		c, _ := NewClient(mech, "victim", "right", "", clientBinding(mech, fakeBinding(1)))
		s, _ := NewServer(mech, a.lookup, fakeBinding(1), true)
		s.Gate = func(string) *Failure { return nil }
		if err := exchange(t, c, s); err != nil {
			t.Fatalf("%s through an open gate: %v", mech, err)
		}
		if s.Mechanism() != mech {
			t.Fatalf("Mechanism() = %q, want %q", s.Mechanism(), mech)
		}
	}
}
