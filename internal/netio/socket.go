package netio

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// Socket is an accepted TCP connection that Go's network poller no longer
// watches: its descriptor and its peer's address. The runtime keeps a
// record of about 600 bytes for every descriptor it polls at once and
// never gives that memory back, so a burst of 9,000 connections served
// through it would cost 5 MB for the rest of the process's life. A Conn
// made from a Socket is served by the Poller's own epoll instances alone.
type Socket struct {
	FD     int
	Remote *net.TCPAddr
}

// Close closes a Socket that was never attached.
func (s Socket) Close() error { return unix.Close(s.FD) }

// ErrNoResources wraps an accept that failed for want of descriptors or
// memory: the listener works, and accepting again later may succeed.
var ErrNoResources = errors.New("netio: out of descriptors or memory")

// Accept waits for the next connection on ln and takes it out of Go's
// network poller (SocketOf): the runtime's record is lent for the moment
// between the two and goes to the next connection, so a burst of them
// costs one. It fails with an error wrapping net.ErrClosed once ln is
// closed, and with one wrapping ErrNoResources when it may succeed later.
func Accept(ln *net.TCPListener) (Socket, error) {
	nc, err := ln.AcceptTCP()
	if err == nil {
		var s Socket
		if s, err = SocketOf(nc); err == nil {
			return s, nil
		}
	}
	for _, e := range []error{unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM} {
		if errors.Is(err, e) {
			return Socket{}, fmt.Errorf("%w: %w", ErrNoResources, err)
		}
	}
	return Socket{}, err
}

// SocketOf takes the descriptor of nc out of Go's network poller: it keeps
// a duplicate and closes nc, whose poller record goes back to the runtime's
// free list for the next connection. The socket keeps the options Go set
// on nc (no Nagle delay, keepalives).
func SocketOf(nc *net.TCPConn) (Socket, error) {
	rc, err := nc.SyscallConn()
	if err != nil {
		nc.Close()
		return Socket{}, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(f uintptr) {
		fd, derr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		nc.Close()
		return Socket{}, err
	}
	remote, _ := nc.RemoteAddr().(*net.TCPAddr)
	nc.Close()
	if derr != nil {
		return Socket{}, derr
	}
	// The duplicate shares the file status flags: it is non-blocking, as
	// Go made nc.
	return Socket{FD: fd, Remote: remote}, nil
}

// tcpAddr converts what getsockname returns.
func tcpAddr(sa unix.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IPv4(a.Addr[0], a.Addr[1], a.Addr[2], a.Addr[3]), Port: a.Port}
	case *unix.SockaddrInet6:
		ip := make(net.IP, net.IPv6len)
		copy(ip, a.Addr[:])
		zone := "" // by number: net parses "%3" as it does "%eth0"
		if a.ZoneId != 0 {
			zone = strconv.Itoa(int(a.ZoneId))
		}
		return &net.TCPAddr{IP: ip, Port: a.Port, Zone: zone}
	}
	return &net.TCPAddr{}
}
