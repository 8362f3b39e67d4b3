package netio

import (
	"bufio"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// watchers returns the epoll descriptors of this process that watch the
// socket of fd under any descriptor number, from /proc/self/fdinfo, which
// names each watched file by inode.
func watchers(t *testing.T, fd int) []int {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	ino := "ino:" + strconv.FormatUint(st.Ino, 16)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	var eps []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if target, _ := os.Readlink("/proc/self/fd/" + e.Name()); target != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == "tfd:" && slices.Contains(f, ino) {
				eps = append(eps, n)
			}
		}
	}
	return eps
}

// TestAcceptOutsideGoPoller: a connection from Accept is watched by the
// Poller's epoll instance and by no other, so Go's network poller keeps
// no record for it that would outlive a burst; while its peer does not
// read, the Poller's write instance watches it too, and everything queued
// arrives once the peer reads.
func TestAcceptOutsideGoPoller(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	go p.Run()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); p.Close() })
	h := &lineEcho{closed: make(chan error, 1)}
	conns := make(chan *Conn, 1)
	go func() {
		s, err := Accept(ln)
		if err != nil {
			t.Error(err)
			close(conns)
			return
		}
		c, err := p.AttachSocket(s, h, Config{MaxWindow: 64 << 10, MaxQueue: 64 << 20}, nil)
		if err != nil {
			t.Error(err)
		}
		conns <- c
	}()
	peer, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	c := <-conns
	if c == nil {
		t.FailNow()
	}
	if got := c.RemoteAddr().String(); got != peer.LocalAddr().String() {
		t.Errorf("remote address %s, want %s", got, peer.LocalAddr())
	}
	if got := c.LocalAddr().String(); got != ln.Addr().String() {
		t.Errorf("local address %s, want %s", got, ln.Addr())
	}
	if got := watchers(t, c.fd); len(got) != 1 || got[0] != p.epfd {
		t.Fatalf("descriptor %d watched by epoll %v, want only the Poller's %d", c.fd, got, p.epfd)
	}

	// More than the socket buffers hold, to a peer that does not read yet.
	const total = 8 << 20
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for sent := 0; sent < total; sent += len(line) {
		if err := c.Queue(line); err != nil {
			t.Fatal(err)
		}
	}
	c.Flush()
	c.wmu.Lock()
	slow := c.flushing
	c.wmu.Unlock()
	if !slow {
		t.Fatal("8 MB went out to a peer that does not read")
	}
	found := false
	for _, ep := range watchers(t, c.fd) {
		found = found || ep == p.wepfd
	}
	if !found {
		t.Error("a flush waiting for room is not on the write instance")
	}
	peer.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReaderSize(peer, 64<<10)
	for got := 0; got < total; {
		l, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		got += len(l)
	}
}
