package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

// TestMain lets the test binary act as the xmppd command, so tests can run
// the daemon as a real process (and kill it) without building it first.
func TestMain(m *testing.M) {
	if os.Getenv("XMPPD_SET_LISTEN_PID") == "1" {
		// systemd sets LISTEN_PID between fork and exec; a test cannot know
		// the child's pid before it starts, so the child execs itself with
		// it, keeping its pid and the passed descriptors.
		env := []string{"LISTEN_PID=" + strconv.Itoa(os.Getpid())}
		for _, v := range os.Environ() {
			if !strings.HasPrefix(v, "XMPPD_SET_LISTEN_PID=") {
				env = append(env, v)
			}
		}
		err := syscall.Exec(os.Args[0], os.Args, env)
		fmt.Fprintln(os.Stderr, "exec:", err)
		os.Exit(2)
	}
	if os.Getenv("XMPPD_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func writeConfig(t *testing.T) (file, dir string) {
	dir = t.TempDir()
	file = filepath.Join(dir, "xmppd.uci")
	// allow_root: CI runs the tests as root.
	cfg := fmt.Sprintf(`config xmppd 'main'
	option data_dir '%s/var'
	option allow_root '1'
config host 'localhost'
	option domain 'localhost'
config listener 'c2s'
	option address '127.0.0.1'
	option port '%d'
	option tls 'starttls'
`, dir, xmpptest.FreePort(t))
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, dir
}

// xmppd runs the command as a child process.
func xmppd(ctx context.Context, stdin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "XMPPD_RUN_MAIN=1")
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

func startDaemon(t *testing.T, file string) *exec.Cmd {
	t.Helper()
	d, _ := startDaemonLog(t, file)
	return d
}

// startDaemonLog starts the daemon and waits until it is ready; the buffer
// fills with its log.
func startDaemonLog(t *testing.T, file string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	d := xmppd(context.Background(), "", "serve", "-c", file)
	log := &syncBuffer{}
	d.Stderr = log
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(log.String(), "msg=ready") {
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d, log
}

// waitLog waits until the daemon has logged want n times in all.
func waitLog(t *testing.T, log *syncBuffer, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(log.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", want, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSighup: SIGHUP applies an edited configuration (a new listener) while
// an open connection stays; a broken file changes nothing, and a change
// only a restart can make is logged as such.
func TestSighup(t *testing.T) {
	file, dir := writeConfig(t)
	d, log := startDaemonLog(t, file)
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", listenerAddr(string(orig)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	port := xmpptest.FreePort(t)
	edited := string(orig) + fmt.Sprintf("config listener 'extra'\n\toption address '127.0.0.1'\n\toption port '%d'\n\toption tls 'starttls'\n", port)
	rewrite := func(text string) {
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		d.Process.Signal(syscall.SIGHUP)
	}
	rewrite(edited)
	waitLog(t, log, "msg=reloaded", 1)
	extra, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("new listener: %v", err)
	}
	extra.Close()
	// The connection from before the reload is still served.
	fmt.Fprintf(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	if n, err := c.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "stream:stream") {
		t.Fatalf("old connection after reload: %v %q", err, buf[:n])
	}

	rewrite(edited + "config bogus 'x'\n")
	waitLog(t, log, "reload refused", 1)
	rewrite(strings.Replace(edited, dir+"/var", dir+"/elsewhere", 1))
	waitLog(t, log, "what=data_dir", 1)
	waitLog(t, log, "msg=reloaded", 2)
	if extra, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Fatalf("listener after a failed reload: %v", err)
	}
	extra.Close()
}

// listenerAddr finds the c2s listener's address in a test configuration.
func listenerAddr(cfg string) string {
	i := strings.Index(cfg, "option port '") + len("option port '")
	return "127.0.0.1:" + cfg[i:i+strings.Index(cfg[i:], "'")]
}

// syncBuffer is a buffer the child's output goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestUserAddSurvivesKill: once `xmppd user add` has answered, the account
// is on disk, even if the daemon dies by SIGKILL right after.
func TestUserAddSurvivesKill(t *testing.T) {
	file, _ := writeConfig(t)
	ctx := xmpptest.Context(t, time.Minute)
	d := startDaemon(t, file)
	if out, err := xmppd(ctx, "s3cret\n", "user", "add", "juliet@localhost", "--password-stdin", "-c", file).CombinedOutput(); err != nil {
		t.Fatalf("user add: %v %s", err, out)
	}
	d.Process.Signal(syscall.SIGKILL)
	d.Wait()

	// With no daemon, the command opens the store itself.
	out, err := xmppd(ctx, "", "user", "list", "-c", file).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "juliet@localhost" {
		t.Fatalf("after kill: %v %q", err, out)
	}
	// And a restarted daemon serves it through the admin socket.
	startDaemon(t, file)
	out, err = xmppd(ctx, "", "user", "list", "localhost", "-c", file).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "juliet@localhost" {
		t.Fatalf("after restart: %v %q", err, out)
	}
	out, err = xmppd(ctx, "", "status", "-c", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sessions:   0") {
		t.Fatalf("status: %v %s", err, out)
	}
	if out, err := xmppd(ctx, "x\n", "user", "add", "juliet@localhost", "--password-stdin", "-c", file).CombinedOutput(); err == nil || !strings.Contains(string(out), "already exists") {
		t.Fatalf("duplicate add: %v %s", err, out)
	}
	if out, err := xmppd(ctx, "", "user", "del", "juliet@localhost", "-c", file).CombinedOutput(); err != nil {
		t.Fatalf("del: %v %s", err, out)
	}
	if out, _ := xmppd(ctx, "", "user", "list", "-c", file).CombinedOutput(); strings.TrimSpace(string(out)) != "" {
		t.Fatalf("after del: %q", out)
	}
}

// TestSigterm: SIGTERM stops the daemon cleanly, with status 0.
func TestSigterm(t *testing.T) {
	file, _ := writeConfig(t)
	d := startDaemon(t, file)
	d.Process.Signal(syscall.SIGTERM)
	if err := d.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

func TestUserWithoutTerminal(t *testing.T) {
	file, _ := writeConfig(t)
	out, err := xmppd(context.Background(), "", "user", "add", "a@localhost", "-c", file).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--password-stdin") {
		t.Fatalf("%v %s", err, out)
	}
}
