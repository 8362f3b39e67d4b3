package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"xmppd/internal/config"
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
	tests := []struct {
		name string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"frobnicate"}},
		{"unknown flag", []string{"serve", "-x"}},
		{"extra argument", []string{"version", "now"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out, errOut := runArgs(t, tc.args...)
			if status != 2 {
				t.Errorf("status %d, want 2", status)
			}
			if out != "" {
				t.Errorf("stdout %q, want empty: usage errors go to stderr", out)
			}
			if !strings.Contains(errOut, "usage") && !strings.Contains(errOut, "Usage") {
				t.Errorf("stderr %q does not show usage", errOut)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	status, out, _ := runArgs(t, "help")
	if status != 0 || !strings.Contains(out, "serve") {
		t.Fatalf("help: status %d, stdout %q", status, out)
	}
}

func TestServeDefault(t *testing.T) {
	noSystemConfig(t)
	status, out, errOut := runArgs(t, "serve")
	if status != 2 {
		t.Errorf("status %d, want 2 while the server is not built in", status)
	}
	if !strings.HasPrefix(out, version.String()+"\n") {
		t.Errorf("stdout does not start with the version line:\n%s", out)
	}
	if !strings.Contains(out, "built-in default") {
		t.Errorf("stdout does not say the built-in default is used:\n%s", out)
	}
	if !strings.Contains(out, string(config.Default())) {
		t.Errorf("stdout does not contain the embedded configuration:\n%s", out)
	}
	if !strings.Contains(errOut, "not part of this build yet") {
		t.Errorf("stderr %q does not explain that the server is missing", errOut)
	}
}

func TestServeConfigFile(t *testing.T) {
	noSystemConfig(t)
	file := filepath.Join(t.TempDir(), "xmppd")
	const text = "config host 'example'\n\toption domain 'example.org'\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	status, out, _ := runArgs(t, "serve", "-c", file)
	if status != 2 {
		t.Errorf("status %d, want 2", status)
	}
	if !strings.Contains(out, "configuration: "+file) || !strings.Contains(out, text) {
		t.Errorf("stdout does not name and show %s:\n%s", file, out)
	}
}

func TestServeMissingFile(t *testing.T) {
	status, out, errOut := runArgs(t, "serve", "-c", filepath.Join(t.TempDir(), "nope"))
	if status != 1 {
		t.Errorf("status %d, want 1", status)
	}
	if out != "" || !strings.Contains(errOut, "cannot read configuration") {
		t.Errorf("stdout %q, stderr %q; want only an error on stderr", out, errOut)
	}
}
