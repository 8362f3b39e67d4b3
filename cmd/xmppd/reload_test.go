package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/xmpptest"
)

// flaky is a module for the reload tests. Its options always pass the
// checks, but with option fail '1' its Load fails, as a load can for
// reasons no check of the file sees (a resource that went away).
type flaky struct{}

func init() {
	core.Register(core.ModuleInfo{Name: "test_flaky", New: func() core.Module { return flaky{} },
		Options: func(r *config.Reader) { r.Bool("fail", false); r.Unknown() }})
}

// test_needs_flaky requires test_flaky, for the checks of requirements.
func init() {
	core.Register(core.ModuleInfo{Name: "test_needs_flaky", Requires: []string{"test_flaky"}, New: func() core.Module { return flaky{} }})
}

func (flaky) Load(api *core.API) error {
	if api.Options().Bool("fail", false) {
		return errors.New("told to fail")
	}
	api.Options().Unknown()
	return nil
}

// hup writes text to file and sends SIGHUP to the daemon.
func hup(t *testing.T, d interface{ Signal(os.Signal) error }, file, text string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// TestReloadTellsTruth: a reload that fails changes nothing, says so and
// does not claim to have reloaded, and the same broken file sent again
// reports the same error again.
func TestReloadTellsTruth(t *testing.T) {
	file, _ := writeConfig(t)
	orig, _ := os.ReadFile(file)
	base := strings.Replace(string(orig), "config xmppd 'main'\n", "config xmppd 'main'\n\tlist modules_enabled 'test_flaky'\n", 1)
	good := base + "config module 'test_flaky'\n\toption fail '0'\n"
	os.WriteFile(file, []byte(good), 0o644)
	d, log := startDaemonLog(t, file)

	// A file with a mistake changes nothing, on every SIGHUP.
	hup(t, d.Process, file, good+"config module 'ping'\n\toption interval '5m'\n")
	waitLog(t, log, "reload refused: the configuration has errors", 1)
	hup(t, d.Process, file, good+"config module 'ping'\n\toption interval '5m'\n")
	waitLog(t, log, "reload refused: the configuration has errors", 2)
	if n := strings.Count(log.String(), "unknown option 'interval'"); n != 2 {
		t.Errorf("the mistake was logged %d times for two SIGHUPs:\n%s", n, log)
	}

	// A module that fails to load with its new options changes nothing:
	// the old instance runs on, and the log says that, not "reloaded".
	bad := base + "config module 'test_flaky'\n\toption fail '1'\n"
	hup(t, d.Process, file, bad)
	waitLog(t, log, "a module could not load with the new configuration", 1)
	text := log.String()
	for _, want := range []string{"told to fail", "everything runs on as it was"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the log:\n%s", want, text)
		}
	}
	for _, wrong := range []string{"loaded again with new options", "msg=reloaded", "reload applied in part"} {
		if strings.Contains(text, wrong) {
			t.Errorf("%q in the log of a reload that changed nothing:\n%s", wrong, text)
		}
	}
	// The same file again: tried and reported again.
	d.Process.Signal(syscall.SIGHUP)
	waitLog(t, log, "a module could not load with the new configuration", 2)
	if n := strings.Count(log.String(), "told to fail"); n != 2 {
		t.Errorf("the failure was logged %d times for two SIGHUPs:\n%s", n, log)
	}

	hup(t, d.Process, file, good)
	waitLog(t, log, "msg=reloaded", 1)
}

// TestRestartPendingComparedWithRunning: a change that needs a restart is
// reported on every SIGHUP until the restart, since it is compared with
// what runs; a file that goes back to what runs reports nothing.
func TestRestartPendingComparedWithRunning(t *testing.T) {
	file, dir := writeConfig(t)
	orig, _ := os.ReadFile(file)
	d, log := startDaemonLog(t, file)
	moved := strings.Replace(string(orig), dir+"/var", dir+"/elsewhere", 1)
	hup(t, d.Process, file, moved)
	waitLog(t, log, "msg=reloaded", 1)
	hup(t, d.Process, file, moved)
	waitLog(t, log, "msg=reloaded", 2)
	if n := strings.Count(log.String(), "what=data_dir"); n != 2 {
		t.Errorf("data_dir reported as waiting %d times for two SIGHUPs:\n%s", n, log)
	}
	hup(t, d.Process, file, string(orig))
	waitLog(t, log, "msg=reloaded", 3)
	if n := strings.Count(log.String(), "what=data_dir"); n != 2 {
		t.Errorf("data_dir reported as waiting after the file went back:\n%s", log)
	}
}

// TestUserAfterPendingStoreChange: after a SIGHUP whose data_dir change
// waits for a restart, `xmppd user` does not write to a store the running
// daemon does not use: writes are refused with the reason, and reads and
// status reach the running daemon, whether the admin socket moved with
// data_dir or stayed.
func TestUserAfterPendingStoreChange(t *testing.T) {
	for _, socket := range []string{"derived from data_dir", "explicit"} {
		t.Run(socket, func(t *testing.T) {
			file, dir := writeConfig(t)
			orig, _ := os.ReadFile(file)
			text := string(orig)
			if socket == "explicit" {
				text = strings.Replace(text, "config xmppd 'main'\n", "config xmppd 'main'\n\toption admin_socket '"+dir+"/admin.sock'\n", 1)
				os.WriteFile(file, []byte(text), 0o644)
			}
			ctx := xmpptest.Context(t, time.Minute)
			d, log := startDaemonLog(t, file)
			if out, err := xmppd(ctx, "pw\n", "user", "add", "juliet@localhost", "--password-stdin", "-c", file).CombinedOutput(); err != nil {
				t.Fatalf("user add: %v %s", err, out)
			}
			hup(t, d.Process, file, strings.Replace(text, dir+"/var", dir+"/elsewhere", 1))
			waitLog(t, log, "msg=reloaded", 1)

			out, err := xmppd(ctx, "pw\n", "user", "add", "romeo@localhost", "--password-stdin", "-c", file).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "does not use the data directory "+dir+"/elsewhere") || !strings.Contains(string(out), "restart") {
				t.Errorf("user add after the pending data_dir change: %v %s", err, out)
			}
			for _, args := range [][]string{{"user", "del", "juliet@localhost"}, {"user", "passwd", "juliet@localhost", "--password-stdin"}} {
				if out, err := xmppd(ctx, "pw\n", append(args, "-c", file)...).CombinedOutput(); err == nil {
					t.Errorf("%s went through: %s", args, out)
				}
			}
			out, err = xmppd(ctx, "", "user", "list", "-c", file).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "juliet@localhost" {
				t.Errorf("user list reaches the running daemon: %v %q", err, out)
			}
			if out, err := xmppd(ctx, "", "status", "-c", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "hosts:      localhost") {
				t.Errorf("status: %v %s", err, out)
			}
			if _, err := os.Stat(filepath.Join(dir, "elsewhere", "data")); !os.IsNotExist(err) {
				t.Errorf("a store was made in the new data_dir before the restart (%v)", err)
			}
		})
	}
}
