package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"xmppd/internal/xmpptest"
)

// TestReloadAndStopCommands drives a running daemon with xmppd reload,
// xmppd status and xmppd stop through its admin socket.
func TestReloadAndStopCommands(t *testing.T) {
	file, _ := writeConfig(t)
	d, log := startDaemonLog(t, file)
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	// A new listener applies, and the command says so.
	port := xmpptest.FreePort(t)
	edited := string(orig) + fmt.Sprintf("config listener 'extra'\n\toption address '127.0.0.1'\n\toption port '%d'\n", port)
	os.WriteFile(file, []byte(edited), 0o644)
	status, out, errOut := runArgs(t, "reload", "-c", file)
	if status != 0 || out != "reloaded\n" {
		t.Fatalf("reload: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("the listener the reload added: %v", err)
	}
	c.Close()

	// A file with a mistake: status 1 and the mistake, nothing changed.
	os.WriteFile(file, []byte(edited+"config listener\n\toption port '99999'\n"), 0o644)
	status, out, errOut = runArgs(t, "reload", "-c", file)
	if status != 1 || out != "" || !strings.Contains(errOut, "reload refused") || !strings.Contains(errOut, "99999") {
		t.Fatalf("reload of a broken file: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	os.WriteFile(file, []byte(edited), 0o644)

	status, out, errOut = runArgs(t, "status", "-c", file)
	if status != 0 || !strings.Contains(out, "pid:        "+strconv.Itoa(d.Process.Pid)+"\n") {
		t.Fatalf("status: %d %q %q, want the daemon's pid %d", status, out, errOut, d.Process.Pid)
	}

	// stop returns once the process has exited, and it exited cleanly.
	status, out, errOut = runArgs(t, "stop", "-c", file)
	if status != 0 || out != fmt.Sprintf("stopped (pid %d)\n", d.Process.Pid) {
		t.Fatalf("stop: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	if err := d.Wait(); err != nil {
		t.Fatalf("the daemon exited with %v after xmppd stop:\n%s", err, log)
	}
	if !strings.Contains(log.String(), `msg=stopped`) {
		t.Errorf("no clean stop in the log:\n%s", log)
	}

	// With no daemon: a clear error and status 1.
	for _, cmd := range []string{"reload", "stop"} {
		status, _, errOut = runArgs(t, cmd, "-c", file)
		if status != 1 || !strings.Contains(errOut, "no xmppd daemon is running") {
			t.Errorf("%s without a daemon: status %d, stderr %q", cmd, status, errOut)
		}
	}
}
