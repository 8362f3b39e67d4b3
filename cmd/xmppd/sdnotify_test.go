package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNotify runs the daemon as systemd would start a Type=notify
// service with WatchdogSec, and reads what it sends on NOTIFY_SOCKET:
// READY=1 with a STATUS line once listening, watchdog pings, RELOADING=1
// then READY=1 around a SIGHUP, and STOPPING=1 on SIGTERM.
func TestSystemdNotify(t *testing.T) {
	file, _ := writeConfig(t)
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()

	d := xmppd(context.Background(), "", "serve", "-c", file)
	// No WATCHDOG_PID, so the pings are for whichever process reads the
	// variables; 400 ms means a ping every 200 ms.
	d.Env = append(d.Env, "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=400000")
	log := &syncBuffer{}
	d.Stderr = log
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })

	next := func(want string) string {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("notify socket closed waiting for %q", want)
				}
				if strings.Contains(m, want) {
					return m
				}
			case <-timeout:
				t.Fatalf("no %q on NOTIFY_SOCKET; log:\n%s", want, log.String())
			}
		}
	}
	ready := next("READY=1")
	if !strings.Contains(ready, "STATUS=0 sessions, heap ") || !strings.Contains(ready, "MiB, rss ") {
		t.Errorf("READY without the STATUS line: %q", ready)
	}
	if !strings.Contains(log.String(), "msg=ready") {
		t.Errorf("READY=1 before the daemon was listening; log:\n%s", log.String())
	}
	ping := next("WATCHDOG=1")
	if !strings.Contains(ping, "STATUS=") {
		t.Errorf("watchdog ping without STATUS: %q", ping)
	}
	next("WATCHDOG=1")

	d.Process.Signal(syscall.SIGHUP)
	if m := next("RELOADING=1"); !strings.Contains(m, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m)
	}
	next("READY=1")
	waitLog(t, log, "msg=reloaded", 1)

	d.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	if err := d.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}
