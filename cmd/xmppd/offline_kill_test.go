package main

import (
	"crypto/tls"
	"encoding/xml"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"xmppd/internal/xmpptest"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// killClient is a real client of the daemon; the start tags and bodies of
// what it receives are queued as text.
type killClient struct {
	sess *xmpp.Session
	in   chan string
}

type killTokens struct{ d *xml.Decoder }

func (r killTokens) Token() (xml.Token, error) { return r.d.RawToken() }

func killLogin(t *testing.T, addr, user string) *killClient {
	t.Helper()
	ctx := xmpptest.Context(t, 10*time.Second)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := xmpp.NewClientSession(ctx, jid.MustParse(user+"@localhost"), conn,
		xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}),
		xmpp.SASL("", "pw", sasl.ScramSha256), xmpp.BindResource())
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	c := &killClient{sess: sess, in: make(chan string, 64)}
	t.Cleanup(func() { conn.Close() })
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var b strings.Builder
		b.WriteString(start.Name.Local)
		for _, a := range start.Attr {
			b.WriteString(" " + a.Name.Local + "=" + a.Value)
		}
		for {
			tok, err := r.Token()
			if err != nil {
				break
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				b.WriteString(" <" + tok.Name.Space + " " + tok.Name.Local + ">")
				for _, a := range tok.Attr {
					b.WriteString(" " + a.Name.Local + "=" + a.Value)
				}
			case xml.CharData:
				b.Write(tok)
			}
		}
		c.in <- b.String()
		return nil
	}))
	return c
}

func (c *killClient) send(t *testing.T, s string) {
	t.Helper()
	ctx := xmpptest.Context(t, 10*time.Second)
	if err := c.sess.Send(ctx, killTokens{xml.NewDecoder(strings.NewReader(s))}); err != nil {
		t.Fatal(err)
	}
}

func (c *killClient) wait(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-c.in:
			if strings.Contains(got, want) {
				return got
			}
		case <-deadline:
			t.Fatalf("nothing with %q arrived", want)
		}
	}
}

// TestOfflineMessageSurvivesKill: once the sender has the answer to an iq
// it sent after a message to an account with no session, the message is on
// disk (stanzas of one stream are handled in order, and offline storage
// syncs before it returns); a SIGKILL right then loses nothing, and the
// restarted daemon delivers it at the recipient's initial presence.
func TestOfflineMessageSurvivesKill(t *testing.T) {
	file, _ := writeConfig(t)
	cfg, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	addr := listenerAddr(string(cfg))
	ctx := xmpptest.Context(t, time.Minute)
	d := startDaemon(t, file)
	for _, u := range []string{"alice", "bob"} {
		if out, err := xmppd(ctx, "pw\n", "user", "add", u+"@localhost", "--password-stdin", "-c", file).CombinedOutput(); err != nil {
			t.Fatalf("user add: %v %s", err, out)
		}
	}
	a := killLogin(t, addr, "alice")
	a.send(t, "<message to='bob@localhost' type='chat' id='m1'><body>survives</body></message>")
	a.send(t, "<iq type='get' id='after'><ping xmlns='urn:xmpp:ping'/></iq>")
	if got := a.wait(t, "id=after"); !strings.Contains(got, "type=result") {
		t.Fatalf("ping answered with %s", got)
	}
	d.Process.Signal(syscall.SIGKILL)
	d.Wait()

	startDaemon(t, file)
	b := killLogin(t, addr, "bob")
	b.send(t, "<presence/>")
	got := b.wait(t, "survives")
	if !strings.Contains(got, "<urn:xmpp:delay delay>") {
		t.Fatalf("no delay stamp: %s", got)
	}
}
