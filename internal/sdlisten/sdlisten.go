// Package sdlisten hands out the listening sockets systemd passes to xmppd
// through socket activation (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS,
// LISTEN_FDNAMES), so that a port the service's xmppd.socket holds is used
// instead of bound: systemd can bind ports below 1024 for an unprivileged
// daemon, and clients that connect during a restart wait in the backlog
// instead of being refused.
//
// A socket is matched to the `config listener` section whose name is its
// FileDescriptorName=, or failing that, to the listener of the same address
// and port. The inherited descriptors stay open for the life of the process
// and each Take hands out a duplicate, so a listener closed by a reload can
// take its socket again when a later reload brings it back, as systemd's own
// copy of the socket stays open too.
package sdlisten

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// firstFD is SD_LISTEN_FDS_START: the passed sockets are 3, 4, ...
const firstFD = 3

// maxFDs bounds LISTEN_FDS, so a garbled environment cannot make the daemon
// walk millions of descriptor numbers.
const maxFDs = 1024

// socket is one inherited listening socket.
type socket struct {
	name  string
	file  *os.File
	addr  *net.TCPAddr
	taken bool
}

var (
	once     sync.Once
	mu       sync.Mutex
	sockets  []*socket
	problems []string
)

// load reads the environment once, as sd_listen_fds(1) does: the variables
// count only when LISTEN_PID names this process, and are removed so that
// no child process takes them for its own.
func load() {
	once.Do(func() {
		pid, fds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
		sockets, problems = parse(pid, fds, names, os.Getpid(), firstFD)
	})
}

// parse turns the environment into sockets, the first at descriptor first;
// what it cannot use is described in problems instead.
func parse(pidEnv, fdsEnv, namesEnv string, self, first int) (list []*socket, problems []string) {
	if pidEnv == "" && fdsEnv == "" {
		return nil, nil
	}
	pid, err := strconv.Atoi(pidEnv)
	if err != nil || pid != self {
		// The variables were meant for another process (a parent that
		// did not clear them); systemd's sd_listen_fds ignores them too.
		return nil, nil
	}
	n, err := strconv.Atoi(fdsEnv)
	if err != nil || n < 0 || n > maxFDs {
		return nil, []string{fmt.Sprintf("LISTEN_FDS=%q is not a count of sockets; no socket from systemd is used", fdsEnv)}
	}
	var names []string
	if namesEnv != "" {
		names = strings.Split(namesEnv, ":")
	}
	for i := range n {
		fd := first + i
		name := "LISTEN_FD_" + strconv.Itoa(fd)
		if i < len(names) && names[i] != "" {
			name = names[i]
		}
		syscall.CloseOnExec(fd)
		addr, err := listeningTCP(fd)
		if err != nil {
			problems = append(problems, fmt.Sprintf("socket %s (descriptor %d) from systemd is not used: %v", name, fd, err))
			continue
		}
		list = append(list, &socket{name: name, file: os.NewFile(uintptr(fd), name), addr: addr})
	}
	return list, problems
}

// listeningTCP returns the address of fd when it is a listening TCP socket.
func listeningTCP(fd int) (*net.TCPAddr, error) {
	typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE)
	if err != nil {
		return nil, err
	}
	if typ != syscall.SOCK_STREAM {
		return nil, errors.New("not a stream socket: use ListenStream= in the .socket unit")
	}
	if on, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN); err != nil || on == 0 {
		return nil, errors.New("not listening (Accept=yes is not supported: xmppd accepts its connections itself)")
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}, nil
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	}
	return nil, errors.New("not a TCP socket (IPv4 or IPv6)")
}

// find returns the socket for listener section name at addr ("host:port",
// host empty for all addresses), or nil.
func find(name, addr string) *socket {
	load()
	if name != "" {
		for _, s := range sockets {
			if s.name == name {
				return s
			}
		}
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	for _, s := range sockets {
		if s.addr.Port != port {
			continue
		}
		if (host == "" || ip.IsUnspecified()) && s.addr.IP.IsUnspecified() || ip != nil && ip.Equal(s.addr.IP) {
			return s
		}
	}
	return nil
}

// Has reports whether systemd passed a socket for the listener section name
// at addr, without taking it: a port held by systemd is not in use by
// another program.
func Has(name, addr string) bool {
	return find(name, addr) != nil
}

// Take returns a listener on the socket systemd passed for the listener
// section name, or failing one of that name, on the socket bound to addr
// ("host:port"; host empty for all addresses). ok is false when there is
// none, or when it could not be duplicated (out of descriptors); Listen
// says why.
func Take(name, addr string) (ln net.Listener, ok bool) {
	ln, ok, err := take(name, addr)
	return ln, ok && err == nil
}

func take(name, addr string) (net.Listener, bool, error) {
	s := find(name, addr)
	if s == nil {
		return nil, false, nil
	}
	mu.Lock()
	s.taken = true
	mu.Unlock()
	// FileListener works on a duplicate: closing the listener leaves the
	// inherited descriptor open for a later Take.
	ln, err := net.FileListener(s.file)
	if err != nil {
		return nil, true, fmt.Errorf("socket %s from systemd: %w", s.name, err)
	}
	return ln, true, nil
}

// Listen returns a listener on the socket systemd passed for the listener
// section name or for addr, as Take does, and otherwise binds addr itself.
func Listen(name, network, addr string) (net.Listener, error) {
	if ln, ok, err := take(name, addr); ok {
		return ln, err
	}
	return net.Listen(network, addr)
}

// Unused describes the sockets systemd passed that no listener took, and
// the descriptors that were not usable sockets, for a warning at start:
// connections to them would wait in the backlog for ever.
func Unused() []string {
	load()
	mu.Lock()
	defer mu.Unlock()
	out := append([]string(nil), problems...)
	for _, s := range sockets {
		if !s.taken {
			out = append(out, fmt.Sprintf("socket %s (%s) from systemd matches no `config listener` by name or address; name the listener section after its FileDescriptorName=", s.name, s.addr))
		}
	}
	return out
}
