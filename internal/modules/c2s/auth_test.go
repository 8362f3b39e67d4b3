package c2s_test

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	msasl "mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"xmppd/internal/sasl"
	"xmppd/internal/xmpptest"
)

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines returns the lines with msg="<msg>" (or msg=<msg>) in them.
func (l *logBuffer) lines(msg string) []string {
	var out []string
	for line := range strings.Lines(l.String()) {
		if strings.Contains(line, " msg="+msg+" ") || strings.Contains(line, ` msg="`+msg+`" `) {
			out = append(out, strings.TrimSuffix(line, "\n"))
		}
	}
	return out
}

// waitLines waits until the log has n lines with msg.
func (l *logBuffer) waitLines(t *testing.T, msg string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := l.lines(msg)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lines with msg %q, want %d; log:\n%s", len(got), msg, n, l.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fail2banRegex returns the failregex of the README, with fail2ban's
// <HOST> as a capture.
func fail2banRegex(t *testing.T) *regexp.Regexp {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^failregex = (.*)$`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("no failregex in README.md")
	}
	re, err := regexp.Compile(strings.Replace(string(m[1]), "<HOST>", `(\S+)`, 1))
	if err != nil {
		t.Fatalf("failregex %q: %v", m[1], err)
	}
	return re
}

// dialFrom connects to addr from a loopback address of its own, so that a
// test can be several clients to the per-address throttle.
func dialFrom(t testing.TB, from, addr string) *rawClient {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c}
}

// plain tries PLAIN in the clear (c2s_plain_on_loopback) and returns the
// server's answer: the <success/> or <failure/> element.
func (r *rawClient) plain(user, pass string) string {
	r.t.Helper()
	r.send(rawHeader)
	r.expect("</stream:features>")
	r.got.Reset()
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>")
	return r.saslAnswer()
}

// saslAnswer reads until a SASL element has arrived and returns it.
func (r *rawClient) saslAnswer() string {
	r.t.Helper()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.got.String()
		for _, end := range []string{"</challenge>", "</failure>", "</success>", "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"} {
			if i := strings.Index(got, end); i >= 0 {
				r.got.Reset()
				r.got.WriteString(got[i+len(end):])
				return got[:i+len(end)]
			}
		}
		r.c.SetReadDeadline(deadline)
		n, err := r.c.Read(buf)
		r.got.Write(buf[:n])
		if err != nil {
			r.t.Fatalf("waiting for a SASL answer: %v; got %q", err, r.got.String())
		}
	}
}

// scram runs a SCRAM exchange with xmppd's own client, which sends what it
// is told to (a username as typed, the gs2 flag y), and returns the
// server's last answer.
func (r *rawClient) scram(mech, user, pass string, cb sasl.ChannelBinding) string {
	r.t.Helper()
	c, err := sasl.NewClient(mech, user, pass, "", cb)
	if err != nil {
		r.t.Fatal(err)
	}
	resp, _ := c.Step(nil)
	r.got.Reset()
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + mech + "'>" + base64.StdEncoding.EncodeToString(resp) + "</auth>")
	for {
		answer := r.saslAnswer()
		if !strings.HasSuffix(answer, "</challenge>") {
			return answer
		}
		data := answer[strings.Index(answer, ">")+1 : len(answer)-len("</challenge>")]
		challenge, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			r.t.Fatalf("challenge %q: %v", answer, err)
		}
		if resp, err = c.Step(challenge); err != nil {
			r.t.Fatalf("client step: %v", err)
		}
		r.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64.StdEncoding.EncodeToString(resp) + "</response>")
	}
}

// startTLSVersion upgrades the stream with TLS up to version and returns
// the features of the stream that follows and the client's bindings.
func (r *rawClient) startTLSVersion(version uint16) (string, sasl.ChannelBinding) {
	r.t.Helper()
	r.send(rawHeader)
	r.expect("</stream:features>")
	r.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	r.expect("<proceed")
	tc := tls.Client(r.c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", MaxVersion: version})
	if err := tc.Handshake(); err != nil {
		r.t.Fatal(err)
	}
	r.c = tc
	r.got.Reset()
	r.send(rawHeader)
	features := r.expect("</stream:features>")
	r.got.Reset()
	cs := tc.ConnectionState()
	return features, sasl.BindingFromTLS(&cs)
}

func isFailure(answer, cond string) bool {
	i := strings.LastIndex(answer, "<failure")
	return i >= 0 && strings.Contains(answer[i:], "<"+cond+"/>")
}

func isSuccess(answer string) bool {
	return strings.Contains(answer, "<success")
}

// lockAccount fails at user's password from from until the server stops
// checking the guesses, which takes five.
func lockAccount(t *testing.T, s *xmpptest.Server, from, user string) {
	t.Helper()
	for i := range 10 {
		got := dialFrom(t, from, s.StartTLS).plain(user, "guess"+fmt.Sprint(i))
		switch {
		case isFailure(got, "temporary-auth-failure") && i >= 5:
			return
		case !isFailure(got, "not-authorized"):
			t.Fatalf("guess %d: %s", i+1, got)
		}
	}
	t.Fatal("ten guesses checked")
}

// TestLoginLog: logins, failed logins and account changes are logged at
// info, the failed ones in a form fail2ban's pattern in the README finds,
// and no password is ever written.
func TestLoginLog(t *testing.T) {
	var log logBuffer
	s := xmpptest.StartLogged(t, "\toption c2s_plain_on_loopback '1'\n", &log)
	const password, guess = "balcony-S3cret", "wrong-Gu3ss"
	s.AddUser(t, "juliet", password)
	log.waitLines(t, "account created", 1)

	if _, err := client(t, s, "juliet", password, false, msasl.ScramSha256); err != nil {
		t.Fatal(err)
	}
	login := log.waitLines(t, "login", 1)[0]
	for _, want := range []string{"level=INFO", " ip=127.0.0.1 ", " jid=juliet@localhost ", " mechanism=SCRAM-SHA-256 ", " tls=true"} {
		if !strings.Contains(login, want) {
			t.Errorf("login line %q lacks %q", login, want)
		}
	}

	if got := dialFrom(t, "127.0.0.2", s.StartTLS).plain("juliet", guess); !isFailure(got, "not-authorized") {
		t.Fatalf("wrong password: %s", got)
	}
	// A username made to look like the fields after it.
	if got := dialFrom(t, "127.0.0.3", s.StartTLS).plain(`x" ip=192.0.2.66 y`, guess); !isFailure(got, "not-authorized") {
		t.Fatalf("odd username: %s", got)
	}
	failed := log.waitLines(t, "login failed", 2)
	want := `level=INFO msg="login failed" mod=c2s ip=127.0.0.2 user=juliet host=localhost mechanism=PLAIN reason=not-authorized `
	if !strings.Contains(failed[0], want) {
		t.Errorf("failed login line\n%s\nlacks\n%s", failed[0], want)
	}
	failregex := fail2banRegex(t)
	for i, wantIP := range []string{"127.0.0.2", "127.0.0.3"} {
		m := failregex.FindStringSubmatch(failed[i])
		if m == nil || m[1] != wantIP {
			t.Errorf("the README's failregex finds %q in %q, want %s", m, failed[i], wantIP)
		}
	}

	if err := s.Accounts.SetPassword("localhost", "juliet", password+"2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Accounts.Delete("localhost", "juliet"); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"account created", "account password changed", "account deleted"} {
		if line := log.waitLines(t, msg, 1)[0]; !strings.Contains(line, "level=INFO") || !strings.Contains(line, " jid=juliet@localhost") {
			t.Errorf("%s: %q", msg, line)
		}
	}

	all := log.String()
	for _, secret := range []string{password, guess, base64.StdEncoding.EncodeToString([]byte("\x00juliet\x00" + guess))} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// TestThrottledPlainSameAnswer: while an account is throttled, PLAIN with
// the right password gets the same answer as with a wrong one, so the
// throttle does not turn into an oracle.
func TestThrottledPlainSameAnswer(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	s.AddUser(t, "victim", "right")
	lockAccount(t, s, "127.0.0.2", "victim")
	right := dialFrom(t, "127.0.0.3", s.StartTLS).plain("victim", "right")
	wrong := dialFrom(t, "127.0.0.4", s.StartTLS).plain("victim", "wrong")
	if !isFailure(right, "temporary-auth-failure") || !isFailure(wrong, "temporary-auth-failure") {
		t.Fatalf("right password: %s\nwrong password: %s\nwant temporary-auth-failure for both", right, wrong)
	}
}

// TestThrottlePreparedUsername: the account's throttle counts the account,
// however its name is spelled, with every mechanism.
func TestThrottlePreparedUsername(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	s.AddUser(t, "victim", "right")
	lockAccount(t, s, "127.0.0.2", "victim")
	for i, user := range []string{"VICTIM", "Victim", "victim"} {
		if got := dialFrom(t, fmt.Sprint("127.0.0.", 10+i), s.StartTLS).plain(user, "right"); !isFailure(got, "temporary-auth-failure") {
			t.Errorf("PLAIN as %s while victim is throttled: %s", user, got)
		}
		for j, mech := range []string{sasl.SCRAMSHA1, sasl.SCRAMSHA256} {
			r := dialFrom(t, fmt.Sprint("127.0.0.", 20+2*i+j), s.StartTLS)
			r.send(rawHeader)
			r.expect("</stream:features>")
			if got := r.scram(mech, user, "right", sasl.ChannelBinding{}); !isFailure(got, "temporary-auth-failure") {
				t.Errorf("%s as %s while victim is throttled: %s", mech, user, got)
			}
		}
	}
}

// TestParallelGuesses: sixteen connections guessing at once, from one
// address or from sixteen, get five guesses checked between them.
func TestParallelGuesses(t *testing.T) {
	for _, tc := range []struct {
		name string
		from func(i int) string
	}{
		{"one address", func(int) string { return "127.0.0.2" }},
		{"sixteen addresses", func(i int) string { return fmt.Sprint("127.0.1.", i+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
			s.AddUser(t, "victim", "right")
			// Each client sends everything at once: the server may keep
			// some waiting for a handshake slot (c2s_max_unauth_per_ip).
			const n = 16
			answers := make(chan string, n)
			for i := range n {
				r := dialFrom(t, tc.from(i), s.StartTLS)
				r.t = panicker{}
				go func() {
					defer func() {
						if p := recover(); p != nil {
							answers <- fmt.Sprint(p)
						}
					}()
					r.send(rawHeader + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
						base64.StdEncoding.EncodeToString([]byte("\x00victim\x00guess"+fmt.Sprint(i))) + "</auth>")
					r.expect("</stream:features>")
					answers <- r.saslAnswer()
					r.c.Close() // gives its handshake slot to the next
				}()
			}
			checked := 0
			for range n {
				switch got := <-answers; {
				case isFailure(got, "not-authorized"):
					checked++
				case !isFailure(got, "temporary-auth-failure"):
					t.Errorf("answer %s", got)
				}
			}
			if checked != 5 {
				t.Fatalf("%d guesses checked, want 5", checked)
			}
		})
	}
}

// TestKnownAddressNotLockedOut: someone failing at an account from elsewhere
// does not keep its owner from logging in from an address they used
// before; a new address is held back with the account.
func TestKnownAddressNotLockedOut(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	s.AddUser(t, "victim", "right")
	if got := dialFrom(t, "127.0.0.5", s.StartTLS).plain("victim", "right"); !isSuccess(got) {
		t.Fatalf("first login: %s", got)
	}
	lockAccount(t, s, "127.0.0.2", "victim")
	for range 3 { // and keeps at it
		dialFrom(t, "127.0.0.3", s.StartTLS).plain("victim", "guess")
	}
	if got := dialFrom(t, "127.0.0.5", s.StartTLS).plain("victim", "right"); !isSuccess(got) {
		t.Fatalf("the owner, from the address they logged in from before: %s", got)
	}
	if got := dialFrom(t, "127.0.0.6", s.StartTLS).plain("VICTIM", "right"); !isFailure(got, "temporary-auth-failure") {
		t.Fatalf("a new address while the account is throttled: %s", got)
	}
}

// TestTLS12UniqueBinding: over TLS 1.2 the server offers tls-unique, the
// only binding a client on Python's ssl module knows (and one mellium
// uses below TLS 1.3), and the -PLUS mechanisms work with it.
func TestTLS12UniqueBinding(t *testing.T) {
	var log logBuffer
	s := xmpptest.StartLogged(t, "", &log)
	s.AddUser(t, "juliet", "balcony")
	for i, mech := range []msasl.Mechanism{msasl.ScramSha256Plus, msasl.ScramSha1Plus} {
		sess, err := clientTLS(t, s, "juliet", "balcony", &tls.Config{ServerName: "localhost", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}, mech)
		if err != nil {
			t.Fatalf("%s over TLS 1.2: %v", mech.Name, err)
		}
		if sess.LocalAddr().Bare().String() != "juliet@localhost" {
			t.Fatalf("bound to %s", sess.LocalAddr())
		}
		line := log.waitLines(t, "login", i+1)[i]
		if !strings.Contains(line, " mechanism="+mech.Name+" ") || !strings.Contains(line, " channel_binding=tls-unique") {
			t.Fatalf("login line %q: want %s with tls-unique", line, mech.Name)
		}
	}
}

// TestChannelBindingFeature: the stream features list the binding types
// the -PLUS mechanisms may use on this connection (XEP-0440).
func TestChannelBindingFeature(t *testing.T) {
	s := xmpptest.Start(t, "")
	for _, tc := range []struct {
		version uint16
		want    string
	}{
		{tls.VersionTLS13, "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/><channel-binding type='tls-server-end-point'/></sasl-channel-binding>"},
		{tls.VersionTLS12, "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-server-end-point'/><channel-binding type='tls-unique'/></sasl-channel-binding>"},
	} {
		features, _ := dialRaw(t, s.StartTLS).startTLSVersion(tc.version)
		if !strings.Contains(features, tc.want) || !strings.Contains(features, "<mechanism>SCRAM-SHA-256-PLUS</mechanism>") {
			t.Errorf("TLS %x features: %s\nwant %s", tc.version, features, tc.want)
		}
	}
	// No -PLUS, no list.
	r := dialRaw(t, s.StartTLS)
	r.send(rawHeader)
	if features := r.expect("</stream:features>"); strings.Contains(features, "sasl-channel-binding") {
		t.Errorf("features before TLS: %s", features)
	}
}

// TestDowngradeFlagY: the gs2 flag y from a client that saw -PLUS offered.
// On TLS 1.3 it is what a client that knows only tls-unique sends, and is
// accepted unless sasl_channel_binding_downgrade is refuse; on TLS 1.2,
// where tls-unique is offered, it can only be a downgrade. A refusal says
// why, and is not counted as a guess.
func TestDowngradeFlagY(t *testing.T) {
	for _, tc := range []struct {
		name    string
		option  string
		version uint16
		refused bool
	}{
		{"TLS 1.3", "", tls.VersionTLS13, false},
		{"TLS 1.3, refuse", "\toption sasl_channel_binding_downgrade 'refuse'\n", tls.VersionTLS13, true},
		{"TLS 1.2", "", tls.VersionTLS12, true},
		{"TLS 1.2, accept", "\toption sasl_channel_binding_downgrade 'accept'\n", tls.VersionTLS12, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := xmpptest.Start(t, tc.option)
			s.AddUser(t, "juliet", "balcony")
			for _, mech := range []string{sasl.SCRAMSHA1, sasl.SCRAMSHA256} {
				for range 4 {
					r := dialRaw(t, s.StartTLS)
					_, cb := r.startTLSVersion(tc.version)
					// Any binding makes the client send y for plain SCRAM.
					got := r.scram(mech, "juliet", "balcony", cb)
					if !tc.refused {
						if !isSuccess(got) {
							t.Fatalf("%s with y: %s", mech, got)
						}
						continue
					}
					if !isFailure(got, "not-authorized") || !strings.Contains(got, ">server-does-support-channel-binding</text>") {
						t.Fatalf("%s with y: %s; want not-authorized saying server-does-support-channel-binding", mech, got)
					}
					// The client falls back, and is not throttled for it.
					if got := r.scram(mech, "juliet", "balcony", sasl.ChannelBinding{}); !isSuccess(got) {
						t.Fatalf("%s with n after the refusal: %s", mech, got)
					}
				}
			}
		})
	}
}

// clientTLS is client over STARTTLS with tlsCfg.
func clientTLS(t *testing.T, s *xmpptest.Server, user, pass string, tlsCfg *tls.Config, mechs ...msasl.Mechanism) (*xmpp.Session, error) {
	t.Helper()
	ctx := xmpptest.Context(t, 10*time.Second)
	conn, err := net.Dial("tcp", s.StartTLS)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := xmpp.NewClientSession(ctx, jid.MustParse(user+"@localhost"), conn,
		xmpp.StartTLS(tlsCfg), xmpp.SASL("", pass, mechs...), xmpp.BindResource())
	if err != nil {
		conn.Close()
		return nil, err
	}
	t.Cleanup(func() { sess.Close(); conn.Close() })
	return sess, nil
}
