package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"

	"golang.org/x/sys/unix"
)

// TestUserAddUnknownDomain: an account on a domain the server does not
// serve is refused with the domains it does serve, with and without a
// running daemon.
func TestUserAddUnknownDomain(t *testing.T) {
	file, _ := writeConfig(t)
	ctx := xmpptest.Context(t, time.Minute)
	try := func(how string) {
		out, err := xmppd(ctx, "pw\n", "user", "add", "romeo@example.org", "--password-stdin", "-c", file).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "example.org is not a host of this server; it serves localhost") {
			t.Errorf("%s: %v %s", how, err, out)
		}
		out, err = xmppd(ctx, "", "user", "list", "example.org", "-c", file).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "it serves localhost") {
			t.Errorf("%s, list: %v %s", how, err, out)
		}
	}
	try("without a daemon")
	startDaemon(t, file)
	try("through the daemon")
}

// openPTY returns both ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skip("no pseudo-terminals here:", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	// Echo is off from the start, so that nothing fills the master's
	// output while the test does not read it.
	term, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	term.Lflag &^= unix.ECHO
	unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, term)
	return master, slave
}

// TestPasswordAskedTwice: on a terminal the password is asked twice, and
// two different answers change nothing.
func TestPasswordAskedTwice(t *testing.T) {
	file, _ := writeConfig(t)
	ctx := xmpptest.Context(t, time.Minute)
	onTerminal := func(typed string, args ...string) (string, error) {
		master, slave := openPTY(t)
		cmd := xmppd(ctx, "", append(args, "-c", file)...)
		cmd.Stdin = slave
		master.WriteString(typed)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := onTerminal("s3cret\nother\n", "user", "add", "juliet@localhost")
	if err == nil || !strings.Contains(out, "Password again:") || !strings.Contains(out, "the two passwords differ") {
		t.Fatalf("different passwords: %v %s", err, out)
	}
	if out, _ := xmppd(ctx, "", "user", "list", "-c", file).CombinedOutput(); strings.TrimSpace(string(out)) != "" {
		t.Fatalf("an account was made from different passwords: %s", out)
	}
	if out, err := onTerminal("s3cret\ns3cret\n", "user", "add", "juliet@localhost"); err != nil {
		t.Fatalf("same password twice: %v %s", err, out)
	}
	if out, _ := xmppd(ctx, "", "user", "list", "-c", file).CombinedOutput(); strings.TrimSpace(string(out)) != "juliet@localhost" {
		t.Fatalf("after user add: %q", out)
	}
	if out, err := onTerminal("new\nneu\n", "user", "passwd", "juliet@localhost"); err == nil || !strings.Contains(out, "differ") {
		t.Fatalf("passwd with different passwords: %v %s", err, out)
	}
	// Off a terminal, one line is the password, as before.
	if out, err := xmppd(ctx, "n3w\n", "user", "passwd", "juliet@localhost", "--password-stdin", "-c", file).CombinedOutput(); err != nil {
		t.Fatalf("passwd from stdin: %v %s", err, out)
	}
}
