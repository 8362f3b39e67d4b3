// Command smoke starts a cross-built xmppd under qemu-user and checks what a
// release must do on that architecture: it starts on a UCI configuration,
// its own CLI adds accounts through the admin socket, two clients log in
// over loopback (STARTTLS, SCRAM-SHA-256) and exchange a message, SIGHUP
// reloads it with the sessions kept, and SIGTERM stops it with status 0.
// It prints the time to ready and the idle RSS of the emulated daemon.
//
//	go run ./scripts/cross/smoke -qemu qemu-mipsel-static -bin dist/xmppd-linux-mipsle
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

func main() {
	qemu := flag.String("qemu", "", "qemu-user emulator to run the binary with (empty: run it directly)")
	bin := flag.String("bin", "", "the cross-built xmppd")
	timeout := flag.Duration("timeout", 4*time.Minute, "limit for the whole run")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "usage: smoke [-qemu EMULATOR] -bin XMPPD [-timeout 4m]")
		os.Exit(2)
	}
	if err := run(*qemu, *bin, *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "smoke %s: FAIL: %v\n", filepath.Base(*bin), err)
		os.Exit(1)
	}
}

// logBuffer collects the daemon's log, which the steps wait on.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func run(qemu, bin string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "xmppd-smoke-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "xmppd.uci")
	cfg := fmt.Sprintf(`config xmppd 'main'
	option data_dir '%s/data'
	# CI runs as root; dropping to another account is tested natively.
	option allow_root '1'

config host 'localhost'
	option domain 'localhost'

config listener 'c2s'
	option address '127.0.0.1'
	option port '%d'
	option tls 'starttls'
`, dir, port)
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		return err
	}
	command := func(ctx context.Context, stdin string, args ...string) *exec.Cmd {
		var c *exec.Cmd
		if qemu == "" {
			c = exec.CommandContext(ctx, bin, args...)
		} else {
			c = exec.CommandContext(ctx, qemu, append([]string{bin}, args...)...)
		}
		c.Stdin = strings.NewReader(stdin)
		return c
	}
	if out, err := command(ctx, "", "check", "-c", file).CombinedOutput(); err != nil {
		return fmt.Errorf("xmppd check: %v\n%s", err, out)
	}

	start := time.Now()
	d := command(context.Background(), "", "serve", "-c", file)
	log := &logBuffer{}
	d.Stdout, d.Stderr = log, log
	if err := d.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- d.Wait() }()
	defer func() {
		d.Process.Kill()
		<-exited
	}()
	fail := func(err error) error { return fmt.Errorf("%w\ndaemon log:\n%s", err, log.String()) }
	wait := func(want string, n int) error {
		for strings.Count(log.String(), want) < n {
			select {
			case err := <-exited:
				exited <- err
				return fmt.Errorf("daemon exited (%v) waiting for %q", err, want)
			case <-ctx.Done():
				return fmt.Errorf("no %q in the log before the time limit", want)
			case <-time.After(50 * time.Millisecond):
			}
		}
		return nil
	}
	if err := wait("msg=ready", 1); err != nil {
		return fail(err)
	}
	ready := time.Since(start)
	// Idle: settled after the start, no client yet.
	time.Sleep(2 * time.Second)
	rss, err := vmRSS(d.Process.Pid)
	if err != nil {
		return fail(err)
	}

	for _, u := range []string{"alice", "bob"} {
		if out, err := command(ctx, "pw\n", "user", "add", u+"@localhost", "--password-stdin", "-c", file).CombinedOutput(); err != nil {
			return fail(fmt.Errorf("xmppd user add %s: %v\n%s", u, err, out))
		}
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	alice, err := login(ctx, addr, "alice")
	if err != nil {
		return fail(err)
	}
	defer alice.close()
	bob, err := login(ctx, addr, "bob")
	if err != nil {
		return fail(err)
	}
	defer bob.close()
	if err := exchange(ctx, alice, bob, "before the reload"); err != nil {
		return fail(err)
	}

	d.Process.Signal(syscall.SIGHUP)
	if err := wait("msg=reloaded", 1); err != nil {
		return fail(err)
	}
	// The sessions outlive the reload.
	if err := exchange(ctx, bob, alice, "after the reload"); err != nil {
		return fail(err)
	}

	d.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			return fail(fmt.Errorf("exit after SIGTERM: %v", err))
		}
	case <-ctx.Done():
		return fail(errors.New("did not stop after SIGTERM"))
	}
	if !strings.Contains(log.String(), "msg=stopped") {
		return fail(errors.New("stopped without logging so"))
	}
	fmt.Printf("smoke %s: ok: ready in %.1fs, idle RSS %d KiB (emulator included), login, message, reload, stop\n",
		filepath.Base(bin), ready.Seconds(), rss)
	return nil
}

// client is a logged-in session; the bodies of messages it receives are
// queued.
type client struct {
	sess   *xmpp.Session
	conn   net.Conn
	bodies chan string
}

func (c *client) close() {
	c.sess.Close()
	c.conn.Close()
}

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

func login(ctx context.Context, addr, user string) (*client, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	sess, err := xmpp.NewClientSession(ctx, jid.MustParse(user+"@localhost"), conn,
		xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}),
		xmpp.SASL("", "pw", sasl.ScramSha256), xmpp.BindResource())
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	c := &client{sess: sess, conn: conn, bodies: make(chan string, 16)}
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var body strings.Builder
		in := false
		for {
			tok, err := r.Token()
			if err != nil {
				break
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				in = tok.Name.Local == "body"
			case xml.EndElement:
				in = false
			case xml.CharData:
				if in {
					body.Write(tok)
				}
			}
		}
		if start.Name.Local == "message" {
			c.bodies <- body.String()
		}
		return nil
	}))
	return c, nil
}

// exchange sends a chat message from one client to the other's full JID and
// waits for it.
func exchange(ctx context.Context, from, to *client, text string) error {
	msg := fmt.Sprintf("<message to='%s' type='chat'><body>%s</body></message>", to.sess.LocalAddr(), text)
	if err := from.sess.Send(ctx, rawTokens{xml.NewDecoder(strings.NewReader(msg))}); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	select {
	case got := <-to.bodies:
		if got != text {
			return fmt.Errorf("received %q, sent %q", got, text)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("message %q not received before the time limit", text)
	}
}

// vmRSS reads a process's resident set size in KiB.
func vmRSS(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
