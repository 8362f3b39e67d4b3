package storage

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperDirEnv names the directory the helper process writes to; the
// helper does nothing when it is unset, so it is harmless in a normal run.
const helperDirEnv = "XMPPD_STORAGE_HELPER_DIR"

// TestHelperProcess is the child of TestCrashDurability: it makes one
// durable write, says so, and waits to be killed.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		return
	}
	db, err := Open(Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	if err := db.KeyVal("accounts", true).Set("example.org", "juliet", &account{Password: "durable"}); err != nil {
		fmt.Println("set:", err)
		os.Exit(1)
	}
	fmt.Println("ok")
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestCrashDurability kills a process right after a durable write returns
// and expects the record to be there: it must not have been waiting in a
// buffer. While the child runs, it also checks that a second process gets
// ErrLocked.
func TestCrashDurability(t *testing.T) {
	if underEmulator() {
		// qemu-user cannot exec a foreign binary without binfmt_misc, and
		// qemu-i386 crashes the Go runtime on fork.
		t.Skip("the child process cannot run under qemu-user")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "ok\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	if db, err := Open(Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)}); !errors.Is(err, ErrLocked) {
		if db != nil {
			_ = db.Close()
		}
		t.Fatalf("Open while another process holds the directory = %v; want ErrLocked", err)
	} else {
		t.Log(err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true

	db := openAt(t, dir)
	var got account
	found, err := db.KeyVal("accounts", true).Get("example.org", "juliet", &got)
	if err != nil || !found || got.Password != "durable" {
		t.Fatalf("after SIGKILL Get = %+v, %v, %v; want the durable record", got, found, err)
	}
}

// underEmulator reports whether this test binary runs under qemu-user,
// which gives the process its own name rather than the binary's.
func underEmulator() bool {
	comm, err := os.ReadFile("/proc/self/comm")
	return err == nil && strings.HasPrefix(string(comm), "qemu-")
}
