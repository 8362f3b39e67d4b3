package sdlisten

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// placeFD duplicates f's descriptor onto fd, as systemd places sockets at
// 3, 4, ... before exec.
func placeFD(t *testing.T, f *os.File, fd int) {
	t.Helper()
	if err := syscall.Dup3(int(f.Fd()), fd, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { syscall.Close(fd) })
}

func tcpListener(t *testing.T, addr string) (*os.File, int) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	return f, ln.Addr().(*net.TCPAddr).Port
}

func TestParse(t *testing.T) {
	if list, problems := parse("", "", "", 1, 500); list != nil || problems != nil {
		t.Fatalf("no environment: %v %v", list, problems)
	}
	// For another process, as sd_listen_fds: ignored without a word.
	if list, problems := parse("2", "1", "", 1, 500); list != nil || problems != nil {
		t.Fatalf("other pid: %v %v", list, problems)
	}
	if list, problems := parse("", "1", "", 1, 500); list != nil || problems != nil {
		t.Fatalf("no pid: %v %v", list, problems)
	}
	for _, bad := range []string{"x", "-1", "1000000000"} {
		if list, problems := parse("1", bad, "", 1, 500); list != nil || len(problems) != 1 || !strings.Contains(problems[0], "LISTEN_FDS") {
			t.Fatalf("LISTEN_FDS=%s: %v %v", bad, list, problems)
		}
	}
}

// TestTake passes three descriptors as systemd would: a named TCP socket, an
// unnamed one matched by its address, and a UDP socket, which is refused.
func TestTake(t *testing.T) {
	const first = 500
	named, namedPort := tcpListener(t, "127.0.0.1:0")
	placeFD(t, named, first)
	anyAddr, anyPort := tcpListener(t, ":0")
	placeFD(t, anyAddr, first+1)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uf, _ := udp.(*net.UDPConn).File()
	udp.Close()
	placeFD(t, uf, first+2)

	once.Do(func() {
		sockets, problems = parse(strconv.Itoa(os.Getpid()), "3", "c2s::web", os.Getpid(), first)
	})
	if len(sockets) != 2 || len(problems) != 1 || !strings.Contains(problems[0], "not a stream socket") {
		t.Fatalf("sockets %v, problems %q", sockets, problems)
	}
	if got := Unused(); len(got) != 3 || !strings.Contains(got[2], "LISTEN_FD_501") {
		t.Fatalf("unused before any take: %q", got)
	}

	// By name, whatever the configured address says.
	ln, ok := Take("c2s", "127.0.0.1:1")
	if !ok {
		t.Fatal("c2s not taken")
	}
	if ln.Addr().(*net.TCPAddr).Port != namedPort {
		t.Fatalf("c2s took %v", ln.Addr())
	}
	accepts(t, ln, "127.0.0.1:"+strconv.Itoa(namedPort))
	// Closing it leaves the inherited socket for a later Take.
	ln.Close()
	ln, ok = Take("c2s", "")
	if !ok {
		t.Fatal("c2s not taken the second time")
	}
	accepts(t, ln, "127.0.0.1:"+strconv.Itoa(namedPort))
	ln.Close()

	// By address: all addresses, written as "" or as an unspecified IP.
	for _, addr := range []string{":" + strconv.Itoa(anyPort), "[::]:" + strconv.Itoa(anyPort), "0.0.0.0:" + strconv.Itoa(anyPort)} {
		if !Has("other", addr) {
			t.Fatalf("no socket for %s", addr)
		}
	}
	if Has("other", "127.0.0.1:"+strconv.Itoa(anyPort)) || Has("", "garbage") || Has("web", ":1") {
		t.Fatal("a socket for an address it is not bound to")
	}
	ln, err = Listen("other", "tcp", ":"+strconv.Itoa(anyPort))
	if err != nil {
		t.Fatal(err)
	}
	accepts(t, ln, "127.0.0.1:"+strconv.Itoa(anyPort))
	ln.Close()
	if got := Unused(); len(got) != 1 {
		t.Fatalf("unused after taking both: %q", got)
	}

	// No socket: Listen binds.
	ln, err = Listen("none", "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func accepts(t *testing.T, ln net.Listener, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
