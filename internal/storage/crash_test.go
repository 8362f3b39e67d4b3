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
// durable write, then a batch across stores of which only one is durable,
// says so, and waits to be killed.
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
	b := db.NewBatch()
	s := openBatchStores(db, false)
	s.m = db.Map("roster", true)
	if err := b.SetKeyVal(s.kv, "example.org", "romeo", &account{Password: "batched"}); err != nil {
		fmt.Println("batch:", err)
		os.Exit(1)
	}
	if err := b.SetMap(s.m, "example.org", "romeo", "juliet@example.org", &contact{Name: "Juliet"}); err != nil {
		fmt.Println("batch:", err)
		os.Exit(1)
	}
	id, err := b.Append(s.a, "example.org", "romeo", at(1), "juliet@example.org", []byte("<message/>"))
	if err != nil {
		fmt.Println("batch:", err)
		os.Exit(1)
	}
	if err := b.Publish(s.pep, "example.org", "romeo", "urn:xmpp:mood:0", NodeItem{ID: "current", Payload: []byte("<mood/>")}, 1); err != nil {
		fmt.Println("batch:", err)
		os.Exit(1)
	}
	if err := b.Commit(); err != nil {
		fmt.Println("commit:", err)
		os.Exit(1)
	}
	fmt.Println("ok", id)
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestCrashDurability kills a process right after a durable write returns
// and expects the record to be there: it must not have been waiting in a
// buffer. The same goes for every write of a batch with a durable store in
// it, in whichever store. While the child runs, it also checks that a
// second process gets ErrLocked.
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
	id, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "ok ")
	if !ok {
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
	s := openBatchStores(db, false)
	s.m = db.Map("roster", true)
	var romeo account
	if found, err := s.kv.Get("example.org", "romeo", &romeo); err != nil || !found || romeo.Password != "batched" {
		t.Errorf("after SIGKILL, the batch's keyval record = %+v, %v, %v", romeo, found, err)
	}
	var c contact
	if found, err := s.m.Get("example.org", "romeo", "juliet@example.org", &c); err != nil || !found {
		t.Errorf("after SIGKILL, the batch's map record = %v, %v", found, err)
	}
	if _, found, err := s.a.Get("example.org", "romeo", id); err != nil || !found {
		t.Errorf("after SIGKILL, the batch's archive item %s = %v, %v", id, found, err)
	}
	if it, found, err := s.pep.Last("example.org", "romeo", "urn:xmpp:mood:0"); err != nil || !found || it.ID != "current" {
		t.Errorf("after SIGKILL, the batch's node item = %+v, %v, %v", it, found, err)
	}
}

// underEmulator reports whether this test binary runs under qemu-user,
// which gives the process its own name rather than the binary's.
func underEmulator() bool {
	comm, err := os.ReadFile("/proc/self/comm")
	return err == nil && strings.HasPrefix(string(comm), "qemu-")
}
