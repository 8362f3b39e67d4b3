package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

// TestSocketActivation starts the daemon as systemd starts a service with
// xmppd.socket: a listening socket at descriptor 3, LISTEN_FDS=1, its
// FileDescriptorName= in LISTEN_FDNAMES and LISTEN_PID set to the daemon's
// pid. The daemon serves clients on that socket; binding the port itself
// would fail, as the socket holds it.
func TestSocketActivation(t *testing.T) {
	dir := t.TempDir()
	ln, sock := passedSocket(t)
	web, webSock := passedSocket(t)
	addr := ln.Addr().String()
	file := filepath.Join(dir, "xmppd.uci")
	cfg := fmt.Sprintf(`config xmppd 'main'
	option data_dir '%s/var'
	option allow_root '1'
config host 'localhost'
	option domain 'localhost'
config listener 'c2s'
	option address '127.0.0.1'
	option port '%d'
	option tls 'starttls'
config listener 'web'
	option type 'http'
	option address '127.0.0.1'
	option port '%d'
`, dir, ln.Addr().(*net.TCPAddr).Port, web.Addr().(*net.TCPAddr).Port)
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	d := xmppd(context.Background(), "", "serve", "-c", file)
	d.ExtraFiles = []*os.File{sock, webSock}
	d.Env = append(d.Env, "XMPPD_SET_LISTEN_PID=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=c2s:web")
	log := &syncBuffer{}
	d.Stderr = log
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })
	waitLog(t, log, "msg=ready", 1)
	if strings.Count(log.String(), "from_systemd=true") != 2 {
		t.Fatalf("the socket from systemd was not used:\n%s", log.String())
	}
	if strings.Contains(log.String(), "level=WARN") {
		t.Errorf("warnings at start:\n%s", log.String())
	}

	ctx := xmpptest.Context(t, time.Minute)
	if out, err := xmppd(ctx, "pw\n", "user", "add", "juliet@localhost", "--password-stdin", "-c", file).CombinedOutput(); err != nil {
		t.Fatalf("user add: %v %s", err, out)
	}
	c := killLogin(t, addr, "juliet")
	c.send(t, "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	if got := c.wait(t, "id=p1"); !strings.Contains(got, "type=result") {
		t.Fatalf("ping answered with %s", got)
	}
	hostMeta := "http://" + web.Addr().String() + "/.well-known/host-meta"
	getOK(t, hostMeta)
	// A reload keeps the listeners; the sockets stay the ones systemd holds.
	d.Process.Signal(syscall.SIGHUP)
	waitLog(t, log, "msg=reloaded", 1)
	killLogin(t, addr, "juliet")
	getOK(t, hostMeta)
	d.Process.Signal(syscall.SIGTERM)
	if err := d.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, log.String())
	}
}

// passedSocket opens a listening socket as systemd would pass it: the
// port stays bound by the returned file alone.
func passedSocket(t *testing.T) (net.Listener, *os.File) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return ln, f
}

// getOK fetches url and fails unless it answers 200.
func getOK(t *testing.T, url string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
}

// TestSystemdSocketUnit checks that every port xmppd.socket passes belongs
// to a listener of the shipped xmppd.conf on all addresses, which is how
// the daemon matches the unnamed sockets, and has systemd-analyze verify
// the unit beside the service when this machine has one.
func TestSystemdSocketUnit(t *testing.T) {
	unit, err := os.ReadFile(repoFile("scripts/systemd/xmppd.socket"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(repoFile("scripts/systemd/xmppd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ports := 0
	for _, line := range strings.Split(string(unit), "\n") {
		port, ok := strings.CutPrefix(line, "ListenStream=")
		if !ok {
			continue
		}
		ports++
		if !strings.Contains(string(conf), "\toption port '"+port+"'\n") {
			t.Errorf("xmppd.socket passes port %s, which no listener of xmppd.conf has", port)
		}
	}
	if ports == 0 || strings.Contains(string(conf), "option address") {
		t.Errorf("xmppd.socket passes %d ports; xmppd.conf's listeners must be on all addresses to match them", ports)
	}
	if !strings.Contains(string(unit), "BindIPv6Only=both") {
		t.Error("xmppd.socket must take IPv4 and IPv6 on one socket, as a listener on all addresses does")
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; the unit was not verified")
	}
	dir := t.TempDir()
	service, err := os.ReadFile(repoFile("scripts/systemd/xmppd.service"))
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := filepath.Abs(os.Args[0])
	os.WriteFile(filepath.Join(dir, "xmppd.service"), bytes.ReplaceAll(service, []byte("/usr/bin/xmppd"), []byte(exe)), 0o644)
	os.WriteFile(filepath.Join(dir, "xmppd.socket"), unit, 0o644)
	if out, err := exec.Command(sa, "verify", filepath.Join(dir, "xmppd.socket")).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
