package sasl

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

// testIterations is the count for credentials whose count does not matter
// to the test; PBKDF2 at 4096 is slow under qemu-user.
func testIterations() int {
	if testing.Short() {
		return 64
	}
	return DefaultIterations
}

// accounts maps username to hash name to credentials.
type accounts map[string]map[string]Credentials

func newAccounts(t testing.TB, iterations int, users map[string]string) accounts {
	t.Helper()
	a := accounts{}
	for user, password := range users {
		a[user] = map[string]Credentials{}
		for _, h := range []string{SHA1, SHA256} {
			salt := make([]byte, saltLen)
			rand.Read(salt)
			c, err := deriveCredentials(h, password, salt, iterations)
			if err != nil {
				t.Fatalf("deriveCredentials(%s, %q): %v", h, password, err)
			}
			a[user][h] = c
		}
	}
	return a
}

func (a accounts) lookup(username, hash string) (Credentials, error) {
	c, ok := a[username][hash]
	if !ok {
		return Credentials{}, ErrUnknownUser
	}
	return c, nil
}

func isSCRAM(mech string) bool { return mech != PLAIN }

// exchange runs a client against a server until one of them stops, and
// returns the server's error or the client's.
func exchange(t testing.TB, c *Client, s *Server) error {
	t.Helper()
	resp, err := c.Step(nil)
	if err != nil {
		t.Fatalf("client initial response: %v", err)
	}
	for range 4 {
		out, done, err := s.Step(resp)
		if err != nil {
			if out != nil || done {
				t.Fatalf("server Step returned out %q, done %v with error %v", out, done, err)
			}
			return err
		}
		if done {
			if _, err := c.Step(out); err != nil && (isSCRAM(s.mech) || !errors.Is(err, errClientDone)) {
				return err
			}
			return nil
		}
		if resp, err = c.Step(out); err != nil {
			return err
		}
	}
	t.Fatal("exchange did not end after four rounds")
	return nil
}

// wantFailure checks that err is a *Failure with the condition and, when
// text is not "", the text.
func wantFailure(t testing.TB, err error, condition, text string) {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T), want *Failure %s", err, err, condition)
	}
	if f.Condition != condition || (text != "" && f.Text != text) {
		t.Fatalf("failure %s %q, want %s %q", f.Condition, f.Text, condition, text)
	}
}

// fakeBinding is a channel binding for tests that need one without TLS.
func fakeBinding(b byte) ChannelBinding {
	return ChannelBinding{Exporter: bytes.Repeat([]byte{b}, 32), EndPoint: bytes.Repeat([]byte{b ^ 0xff}, 32)}
}

// clientBinding is what a well-behaved client passes to NewClient: the
// binding for a -PLUS mechanism, nothing otherwise (flag n).
func clientBinding(mech string, cb ChannelBinding) ChannelBinding {
	if strings.HasSuffix(mech, "-PLUS") {
		return cb
	}
	return ChannelBinding{}
}
