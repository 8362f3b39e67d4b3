package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/xmpptest"
)

func TestPlanPrivileges(t *testing.T) {
	if c, err := planPrivileges(&config.Config{}, 1000); c != nil || err != nil {
		t.Fatalf("not root: %v %v", c, err)
	}
	if c, err := planPrivileges(&config.Config{AllowRoot: true}, 0); c != nil || err != nil {
		t.Fatalf("root allowed: %v %v", c, err)
	}
	if _, err := planPrivileges(&config.Config{File: "xmppd.uci"}, 0); err == nil || !strings.Contains(err.Error(), "option user 'xmppd'") || !strings.Contains(err.Error(), "allow_root '1'") {
		t.Fatalf("root without user: %v", err)
	}
	if _, err := planPrivileges(&config.Config{User: "root"}, 0); err == nil || !strings.Contains(err.Error(), "is root") {
		t.Fatalf("user root: %v", err)
	}
	if _, err := planPrivileges(&config.Config{User: "no-such-account-here"}, 0); err == nil || !strings.Contains(err.Error(), "no such account") {
		t.Fatalf("unknown user: %v", err)
	}
	c, err := planPrivileges(&config.Config{User: "4242", Group: "4343"}, 0)
	if err != nil || c.uid != 4242 || c.gid != 4343 || len(c.groups) != 1 || c.groups[0] != 4343 {
		t.Fatalf("numbers: %+v %v", c, err)
	}
	if _, err := planPrivileges(&config.Config{User: "4242", Group: "no-such-group-here"}, 0); err == nil || !strings.Contains(err.Error(), "no such group") {
		t.Fatalf("unknown group: %v", err)
	}
}

// TestCheckUser: xmppd check reports an account that does not exist.
func TestCheckUser(t *testing.T) {
	file, _ := writeConfig(t)
	text, _ := os.ReadFile(file)
	os.WriteFile(file, []byte(strings.Replace(string(text), "\toption allow_root '1'\n", "\toption user 'no-such-account-here'\n", 1)), 0o644)
	status, _, errOut := runArgs(t, "check", "-c", file)
	if status != 1 || !strings.Contains(errOut, "option user \"no-such-account-here\": no such account") {
		t.Fatalf("status %d: %s", status, errOut)
	}
}

func TestChownTreeRefusesSystemFolders(t *testing.T) {
	for _, dir := range []string{"/", "/etc", "/var/"} {
		if _, err := chownTree(dir, 65534, 65534); err == nil || !strings.Contains(err.Error(), "system folder") {
			t.Errorf("%s: %v", dir, err)
		}
	}
}

// TestRootRefused: started as root with neither user nor allow_root, the
// daemon does not start, and says what to set.
func TestRootRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the refusal is for a daemon started as root (CI runs as root)")
	}
	file, _ := writeConfig(t)
	text, _ := os.ReadFile(file)
	os.WriteFile(file, []byte(strings.Replace(string(text), "\toption allow_root '1'\n", "", 1)), 0o644)
	out, err := xmppd(context.Background(), "", "serve", "-c", file).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "set option user 'xmppd'") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestDropRoot starts the daemon as root with option user 'nobody': it binds
// its port, gives its data directory (made by root beforehand, as an
// `xmppd user add` before the first start does) to nobody, and switches
// every thread to nobody's uid, gid and groups with no_new_privs; clients
// still log in and the store is still written.
func TestDropRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the daemon drops root only when started as root (CI runs as root)")
	}
	nobody, err := osuser.Lookup("nobody")
	if err != nil {
		t.Skip("no account nobody here:", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	file, dir := writeConfig(t)
	text, _ := os.ReadFile(file)
	os.WriteFile(file, []byte(strings.Replace(string(text), "\toption allow_root '1'\n", "\toption user 'nobody'\n", 1)), 0o644)
	// t.TempDir's folders are root's, 0700: nobody must be able to reach
	// its data directory in them, as it would in /var/lib.
	for d := dir; d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	ctx := xmpptest.Context(t, time.Minute)
	if out, err := xmppd(ctx, "pw\n", "user", "add", "juliet@localhost", "--password-stdin", "-c", file).CombinedOutput(); err != nil {
		t.Fatalf("user add before the start: %v %s", err, out)
	}

	d, log := startDaemonLog(t, file)
	if !strings.Contains(log.String(), "msg=\"dropped root\" user=nobody") {
		t.Fatalf("no switch logged:\n%s", log.String())
	}
	pid := d.Process.Pid
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if len(tasks) < 2 {
		t.Fatalf("threads: %v", tasks)
	}
	ids := func(n int) string { return fmt.Sprintf("%d\t%d\t%d\t%d", n, n, n, n) }
	for _, task := range tasks {
		st := procStatus(t, task)
		if st["Uid"] != ids(uid) || st["Gid"] != ids(gid) {
			t.Errorf("%s: Uid %q, Gid %q; want all %d and %d", task, st["Uid"], st["Gid"], uid, gid)
		}
		// A cgo build (go test's default where gcc is found) cannot set
		// it on every thread and says so; release builds are cgo-free.
		if st["NoNewPrivs"] != "1" && !strings.Contains(log.String(), "built with cgo") {
			t.Errorf("%s: NoNewPrivs %q", task, st["NoNewPrivs"])
		}
		if st["CapEff"] != "0000000000000000" || st["CapPrm"] != "0000000000000000" {
			t.Errorf("%s: capabilities left: CapEff %s CapPrm %s", task, st["CapEff"], st["CapPrm"])
		}
		groups, _ := nobody.GroupIds()
		if got := strings.Fields(st["Groups"]); len(got) != len(groups) || len(got) > 0 && got[0] != groups[0] && !contains(atoiAll(got), gid) {
			t.Errorf("%s: Groups %q, want nobody's %v", task, st["Groups"], groups)
		}
	}
	filepath.WalkDir(filepath.Join(dir, "var"), func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := e.Info()
		if st := info.Sys().(*syscall.Stat_t); int(st.Uid) != uid || int(st.Gid) != gid {
			t.Errorf("%s: owner %d:%d", path, st.Uid, st.Gid)
		}
		return nil
	})

	addr := listenerAddr(string(text))
	killLogin(t, addr, "juliet")
	// Written by the daemon as nobody, through the admin socket.
	if out, err := xmppd(ctx, "pw\n", "user", "add", "romeo@localhost", "--password-stdin", "-c", file).CombinedOutput(); err != nil {
		t.Fatalf("user add through the daemon: %v %s", err, out)
	}
	killLogin(t, addr, "romeo")
	d.Process.Signal(syscall.SIGHUP)
	waitLog(t, log, "msg=reloaded", 1)

	// A reload cannot open a port below 1024 any more, and says why.
	if b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); strings.TrimSpace(string(b)) == "1024" {
		os.WriteFile(file, []byte(string(text)+"config listener 'low'\n\toption address '127.0.0.1'\n\toption port '1023'\n"), 0o644)
		out, err := xmppd(ctx, "", "reload", "-c", file).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "needs root or CAP_NET_BIND_SERVICE") {
			t.Errorf("reload with port 1023: %v\n%s", err, out)
		}
	}
	d.Process.Signal(syscall.SIGTERM)
	if err := d.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, log.String())
	}
}

// procStatus reads a /proc status file's fields.
func procStatus(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func atoiAll(list []string) []int {
	var out []int
	for _, s := range list {
		n, _ := strconv.Atoi(s)
		out = append(out, n)
	}
	return out
}

// TestPlanBuiltInDefault: as root, a configuration file without user or
// allow_root is refused, and the built-in default (make run) runs as is.
func TestPlanBuiltInDefault(t *testing.T) {
	cfg := &config.Config{File: "/etc/config/xmppd"}
	if _, err := planPrivileges(cfg, 0); !errors.Is(err, errRoot) {
		t.Fatalf("a file without user: %v", err)
	}
	cfg.File = ""
	if c, err := planPrivileges(cfg, 0); c != nil || err != nil {
		t.Fatalf("the built-in default: %v %v", c, err)
	}
	if c, err := planPrivileges(&config.Config{File: "x"}, 1000); c != nil || err != nil {
		t.Fatalf("not root: %v %v", c, err)
	}
}
