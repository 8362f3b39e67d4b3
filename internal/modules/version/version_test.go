package version_test

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/version"

	xversion "xmppd/internal/modules/version"
	buildversion "xmppd/internal/version"
	"xmppd/internal/xmpptest"
)

func login(t *testing.T, s *xmpptest.Server, user, pass string) *xmpp.Session {
	t.Helper()
	sess, _ := s.Dial(t, user, pass)
	go sess.Serve(nil)
	return sess
}

func query(t *testing.T, extra string) version.Query {
	t.Helper()
	s := xmpptest.Start(t, extra)
	s.AddUser(t, "juliet", "balcony")
	sess := login(t, s, "juliet", "balcony")
	if !slices.Contains(s.Host("localhost").Features(), xversion.NS) {
		t.Errorf("features %q lack %s", s.Host("localhost").Features(), xversion.NS)
	}
	ctx := xmpptest.Context(t, 5*time.Second)
	q, err := version.Get(ctx, sess, jid.MustParse("localhost"))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// XEP-0092 §2, and §5: no operating system unless configured.
func TestVersion(t *testing.T) {
	q := query(t, "")
	if q.Name != "xmppd" || q.Version != buildversion.Version || q.OS != "" {
		t.Fatalf("got %+v, want xmppd %s and no os", q, buildversion.Version)
	}
}

func TestShowOS(t *testing.T) {
	q := query(t, "\nconfig module 'version'\n\toption show_os '1'\n")
	if q.Name != "xmppd" || q.Version != buildversion.Version || !strings.HasSuffix(q.OS, " "+runtime.GOARCH) {
		t.Fatalf("got %+v, want xmppd %s on .../%s", q, buildversion.Version, runtime.GOARCH)
	}
}

// A set is not part of XEP-0092: the fallback refuses it.
func TestSet(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	sess := login(t, s, "juliet", "balcony")
	ctx := xmpptest.Context(t, 5*time.Second)
	iq := stanza.IQ{Type: stanza.SetIQ, To: jid.MustParse("localhost")}
	err := sess.UnmarshalIQ(ctx, iq.Wrap(version.Query{}.TokenReader()), nil)
	var se stanza.Error
	if !errors.As(err, &se) || se.Condition != stanza.ServiceUnavailable {
		t.Fatalf("got %v, want service-unavailable", err)
	}
}
