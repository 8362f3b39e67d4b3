package sasl

import (
	"errors"
	"testing"
)

// FuzzServerStep feeds a server two arbitrary messages, for each
// mechanism: it must not panic, must fail only with *Failure, and must
// keep its answers small.
func FuzzServerStep(f *testing.F) {
	cb := fakeBinding(5)
	a := newAccounts(f, 2, map[string]string{"u": "p", "a,b": "p"})
	// Seeds: complete exchanges with fixed nonces, so that the second
	// message is valid for the first and mutations start from success.
	for _, mech := range allMechs {
		for _, user := range []string{"u", "a,b", "nobody"} {
			c, err := NewClient(mech, user, "p", "authz", clientBinding(mech, cb))
			if err != nil {
				f.Fatal(err)
			}
			c.nonce = func() string { return tCNonce }
			s, _ := NewServer(mech, a.lookup, cb, true)
			s.nonce = func() string { return tSNonce }
			first, _ := c.Step(nil)
			var second []byte
			if out, done, err := s.Step(first); err == nil && !done {
				second, _ = c.Step(out)
			}
			f.Add(first, second)
		}
	}
	f.Add([]byte("y,,n=u,r=x,x=1"), []byte("c=eSws,r=xSNONCE,p=AAAA"))
	f.Add([]byte("p=tls-unique,a=x=3D,n=u,r=x"), []byte(""))
	f.Add([]byte(""), []byte("\x00u\x00p"))

	f.Fuzz(func(t *testing.T, first, second []byte) {
		for _, mech := range allMechs {
			s, err := NewServer(mech, a.lookup, cb, true)
			if err != nil {
				t.Fatal(err)
			}
			s.nonce = func() string { return tSNonce }
			ended := false
			for _, in := range [][]byte{first, second} {
				out, done, err := s.Step(in)
				if ended {
					if err == nil {
						t.Fatalf("%s: Step after the end succeeded", mech)
					}
					continue
				}
				if err != nil {
					var fl *Failure
					if !errors.As(err, &fl) || fl.Condition == "" {
						t.Fatalf("%s: error %v is not a *Failure", mech, err)
					}
					if out != nil || done {
						t.Fatalf("%s: failure with output %q, %v", mech, out, done)
					}
					ended = true
					continue
				}
				if len(out) > 512 {
					t.Fatalf("%s: %d-byte answer", mech, len(out))
				}
				ended = done
			}
		}
	})
}
