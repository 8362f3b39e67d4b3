package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSyslog listens on a unixgram socket in a temporary folder, points
// syslogPath at it, and returns the socket.
func fakeSyslog(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	old := syslogPath
	syslogPath = path
	t.Cleanup(func() { syslogPath = old })
	return c
}

func readDatagram(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:n])
}

// TestLogTargetSyslog: each level arrives as one datagram with facility
// daemon, its severity, the ident with the pid, the message and the
// attributes; nothing goes to stderr.
func TestLogTargetSyslog(t *testing.T) {
	sock := fakeSyslog(t)
	level := new(slog.LevelVar)
	level.Set(slog.LevelDebug)
	var stderr bytes.Buffer
	log, closer := newLogger("syslog", level, &stderr)
	defer closer.Close()
	log = log.With("host", "example.org")
	prefix := fmt.Sprintf("xmppd[%d]: ", os.Getpid())
	for _, tc := range []struct {
		level slog.Level
		pri   int
	}{
		{slog.LevelDebug, 31}, {slog.LevelInfo, 30}, {slog.LevelWarn, 28}, {slog.LevelError, 27},
	} {
		log.Log(t.Context(), tc.level, "hello there", "n", 1, "err", "a b")
		want := fmt.Sprintf("<%d>%shello there host=example.org n=1 err=\"a b\"", tc.pri, prefix)
		if got := readDatagram(t, sock); got != want {
			t.Errorf("%v: got %q, want %q", tc.level, got, want)
		}
	}
	// The level still filters.
	level.Set(slog.LevelWarn)
	log.Info("not sent")
	log.Warn("sent")
	if got, want := readDatagram(t, sock), "<28>"+prefix+"sent host=example.org"; got != want {
		t.Errorf("after the level rose: got %q, want %q", got, want)
	}
	if stderr.Len() != 0 {
		t.Errorf("syslog lines on stderr too:\n%s", stderr.String())
	}
}

// TestLogTargetSyslogFallback: without a syslog socket the lines go to
// stderr, after one line that says why.
func TestLogTargetSyslogFallback(t *testing.T) {
	old := syslogPath
	syslogPath = filepath.Join(t.TempDir(), "none")
	defer func() { syslogPath = old }()
	var stderr bytes.Buffer
	log, closer := newLogger("syslog", slog.LevelInfo, &stderr)
	defer closer.Close()
	log.Info("starting")
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "cannot open the syslog socket") ||
		!strings.Contains(lines[0], syslogPath) || !strings.Contains(lines[1], "msg=starting") {
		t.Errorf("fallback to stderr:\n%s", stderr.String())
	}
}

// TestLogTargetStderrTime: stderr lines carry the time unless procd or
// systemd started xmppd.
func TestLogTargetStderrTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		time bool
	}{
		{"terminal", nil, true},
		{"systemd", map[string]string{"INVOCATION_ID": "0123456789abcdef"}, false},
		{"journal", map[string]string{"JOURNAL_STREAM": "8:12345"}, false},
		{"procd", map[string]string{"XMPPD_SUPERVISOR": "procd"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"INVOCATION_ID", "JOURNAL_STREAM", "XMPPD_SUPERVISOR"} {
				t.Setenv(k, tc.env[k])
			}
			var stderr bytes.Buffer
			log, closer := newLogger("stderr", slog.LevelInfo, &stderr)
			defer closer.Close()
			log.Info("ready", "hosts", "a")
			line := stderr.String()
			if strings.HasPrefix(line, "time=") != tc.time || !strings.Contains(line, "level=INFO msg=ready hosts=a") {
				t.Errorf("time wanted %v, got %q", tc.time, line)
			}
		})
	}
}

// TestServeFatalErrorsAreLogLines: a configuration serve refuses is
// reported in log lines like any other, not in lines of another format.
func TestServeFatalErrorsAreLogLines(t *testing.T) {
	noSystemConfig(t)
	file := filepath.Join(t.TempDir(), "xmppd.uci")
	os.WriteFile(file, []byte("config xmppd 'main'\n\toption log_target 'journal'\n"), 0o644)
	var stdout, stderr bytes.Buffer
	if status := serve([]string{"-c", file}, &stdout, &stderr); status != 1 {
		t.Fatalf("serve: status %d\n%s", status, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	for _, l := range lines {
		if !strings.Contains(l, "level=ERROR msg=\"not started") {
			t.Errorf("not a log line: %q", l)
		}
	}
	if !strings.Contains(stderr.String(), "log_target") {
		t.Errorf("the error is not named:\n%s", stderr.String())
	}
}
