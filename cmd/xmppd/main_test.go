package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"xmppd/internal/version"
)

// runArgs calls run and returns its exit status and both outputs.
func runArgs(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = run(args, &out, &errOut)
	return status, out.String(), errOut.String()
}

// noSystemConfig points the system path at a file that does not exist, so the
// tests behave the same on an OpenWrt box that has /etc/config/xmppd.
func noSystemConfig(t *testing.T) {
	t.Helper()
	old := systemConfig
	t.Cleanup(func() { systemConfig = old })
	systemConfig = filepath.Join(t.TempDir(), "absent")
}

func TestVersion(t *testing.T) {
	status, out, errOut := runArgs(t, "version")
	if status != 0 || errOut != "" {
		t.Fatalf("version: status %d, stderr %q; want 0 and empty", status, errOut)
	}
	if want := version.String() + "\n"; out != want {
		t.Fatalf("version printed %q, want %q", out, want)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"serve", "-x"}, {"version", "now"}, {"user"}, {"user", "frob"}, {"user", "add"}, {"user", "del", "a@b", "c@d"}} {
		status, out, errOut := runArgs(t, args...)
		if status != 2 || out != "" || !strings.Contains(strings.ToLower(errOut), "usage") {
			t.Errorf("%q: status %d, stdout %q, stderr %q", args, status, out, errOut)
		}
	}
}

func TestHelp(t *testing.T) {
	status, out, _ := runArgs(t, "help")
	if status != 0 || !strings.Contains(out, "serve") || !strings.Contains(out, "user add") {
		t.Fatalf("help: status %d, stdout %q", status, out)
	}
}

func TestCheck(t *testing.T) {
	noSystemConfig(t)
	if status, out, errOut := runArgs(t, "check"); status != 0 || !strings.Contains(out, "built-in default: ok") {
		t.Fatalf("default: %d %q %q", status, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "xmppd")
	os.WriteFile(bad, []byte("config xmppd 'main'\n\toption stanza_size_limit 'lots'\nconfig host 'h'\n\toption domain 'example.org'\n\toption bogus '1'\n"), 0o644)
	status, _, errOut := runArgs(t, "check", "-c", bad)
	if status != 1 || !strings.Contains(errOut, bad+":2:") || !strings.Contains(errOut, bad+":5:") {
		t.Fatalf("bad config: status %d, stderr %q", status, errOut)
	}
	if status, _, errOut := runArgs(t, "check", "-c", filepath.Join(t.TempDir(), "missing")); status != 1 || !strings.Contains(errOut, "cannot read") {
		t.Fatalf("missing file: %d %q", status, errOut)
	}
}
