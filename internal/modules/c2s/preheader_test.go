package c2s_test

import (
	"strings"
	"testing"

	"xmppd/internal/xmpptest"
)

// TestErrorsBeforeHeader: a stream error for input that came before or
// instead of a stream header is preceded by our header, so the peer can
// parse it (RFC 6120 §4.9.1.1).
func TestErrorsBeforeHeader(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_open_timeout '1s'\n")
	for _, tc := range []struct{ name, in, cond string }{
		{"http", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "not-well-formed"},
		{"doctype", "<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY a 'b'>]>", "restricted-xml"},
		{"utf-16", "<?xml version='1.0' encoding='UTF-16'?>", ""},
		{"open timeout", "", "connection-timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, s.StartTLS)
			if tc.in != "" {
				go r.c.Write([]byte(tc.in)) // the server may close before it has read everything
			}
			r.closed()
			got := r.got.String()
			h := strings.Index(got, "<stream:stream")
			e := strings.Index(got, "<stream:error>")
			if h < 0 || e < h || !strings.HasSuffix(got, "</stream:stream>") {
				t.Fatalf("got %q, want our stream header, then a stream error, then the stream's end", got)
			}
			if tc.cond != "" && !strings.Contains(got, "<"+tc.cond+" ") {
				t.Fatalf("got %q, want %s", got, tc.cond)
			}
		})
	}
}

// TestAuthTimeoutText: the timeout that ends a stream which opened but did
// not authenticate says so, not that the header was missing.
func TestAuthTimeoutText(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_auth_timeout '1s'\n")
	r := dialRaw(t, s.StartTLS)
	r.send(rawHeader)
	r.expect("</stream:features>")
	r.closed()
	got := r.got.String()
	if !strings.Contains(got, "<connection-timeout ") || strings.Contains(got, "no stream header") {
		t.Fatalf("got %q, want connection-timeout about authentication", got)
	}
}
