package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
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
	old, oldRun := systemConfig, runConfig
	t.Cleanup(func() { systemConfig, runConfig = old, oldRun })
	systemConfig = filepath.Join(t.TempDir(), "absent")
	runConfig = filepath.Join(t.TempDir(), "absent")
}

// TestConfigPathOverride checks libuci's order: /var/run/uci/xmppd when it
// exists, else /etc/config/xmppd, else the built-in default; -c wins.
func TestConfigPathOverride(t *testing.T) {
	noSystemConfig(t)
	dir := t.TempDir()
	systemConfig, runConfig = filepath.Join(dir, "etc-config-xmppd"), filepath.Join(dir, "var-run-uci-xmppd")
	check := func(file, want string) {
		t.Helper()
		if got, err := configPath(file); err != nil || got != want {
			t.Errorf("configPath(%q) = %q, %v; want %q", file, got, err, want)
		}
	}
	check("", "")
	os.WriteFile(systemConfig, []byte("config host\n"), 0o600)
	check("", systemConfig)
	os.WriteFile(runConfig, []byte("config host\n"), 0o600)
	check("", runConfig)
	check(systemConfig, systemConfig)
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

// TestCommandHelp: every command describes itself with help COMMAND,
// COMMAND --help and COMMAND -h, on stdout with status 0.
func TestCommandHelp(t *testing.T) {
	for name, h := range helps {
		words := strings.Fields(name)
		for _, args := range [][]string{
			append([]string{"help"}, words...),
			append(slices.Clone(words), "--help"),
			append(slices.Clone(words), "-h"),
		} {
			if words[0] == "help" && args[0] != "help" {
				continue // help --help is help's own help
			}
			status, out, errOut := runArgs(t, args...)
			if status != 0 || errOut != "" || !strings.HasPrefix(out, "usage: "+h.synopsis+"\n") || len(out) < len(h.synopsis)+60 {
				t.Errorf("%q: status %d, stdout %q, stderr %q", args, status, out, errOut)
			}
		}
	}
	if status, _, errOut := runArgs(t, "help", "frob"); status != 2 || !strings.Contains(errOut, `no command "frob"`) {
		t.Errorf("help frob: %d %q", status, errOut)
	}
}

func TestVersionFlag(t *testing.T) {
	for _, flag := range []string{"--version", "-version"} {
		status, out, _ := runArgs(t, flag)
		if status != 0 || out != version.String()+"\n" {
			t.Errorf("%s: status %d, stdout %q", flag, status, out)
		}
	}
}

// TestConfigFlagPlacement: -c FILE works before and after the command.
func TestConfigFlagPlacement(t *testing.T) {
	noSystemConfig(t)
	bad := filepath.Join(t.TempDir(), "xmppd")
	os.WriteFile(bad, []byte("config bogus 'x'\n"), 0o644)
	for _, args := range [][]string{
		{"-c", bad, "check"}, {"check", "-c", bad}, {"-c=" + bad, "check"}, {"check", "-c=" + bad},
		{"-c", "/nonexistent", "check", "-c", bad}, // the later one wins
	} {
		if status, _, errOut := runArgs(t, args...); status != 1 || !strings.Contains(errOut, bad+":1:") {
			t.Errorf("%q: status %d, stderr %q", args, status, errOut)
		}
	}
	if status, _, errOut := runArgs(t, "-c"); status != 2 || !strings.Contains(errOut, "-c needs a FILE") {
		t.Errorf("-c alone: %d %q", status, errOut)
	}
}

// TestArgumentMessages: a missing or extra argument is named.
func TestArgumentMessages(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add"}, "xmppd user add: missing JID, as in juliet@localhost"},
		{[]string{"user", "passwd", "--password-stdin"}, "xmppd user passwd: missing JID"},
		{[]string{"user", "del", "a@b", "c@d"}, `xmppd user del: unexpected argument "c@d": it takes one JID`},
		{[]string{"user", "list", "a", "b"}, `xmppd user list: unexpected argument "b": it takes at most one DOMAIN`},
		{[]string{"version", "now"}, `xmppd version: unexpected argument "now": it takes none`},
		{[]string{"check", "extra"}, `xmppd check: unexpected argument "extra": it takes none`},
		{[]string{"user"}, "xmppd user: missing the user command: add, passwd, del or list"},
		{[]string{"user", "frob"}, `xmppd user: unknown user command "frob"`},
		{[]string{"user", "del", "--password-stdin", "a@b"}, "flag provided but not defined: -password-stdin"},
	} {
		status, out, errOut := runArgs(t, tc.args...)
		if status != 2 || out != "" || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "usage: ") {
			t.Errorf("%q: status %d, stdout %q, stderr %q; want %q", tc.args, status, out, errOut, tc.want)
		}
	}
}
