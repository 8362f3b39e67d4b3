package netio

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"
)

// Poller waits for readability on many connections with one epoll instance
// and one goroutine. Each registration is one-shot: a ready connection is
// served by exactly one goroutine, and re-armed when that goroutine is done.
type Poller struct {
	epfd int
	mu   sync.RWMutex
	byFD []*Conn // indexed by file descriptor: small integers, dense
	wake int     // eventfd that ends Run
	done chan struct{}
}

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// NewPoller creates the epoll instance; call Run in a goroutine.
func NewPoller() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	return &Poller{epfd: epfd, wake: wake, done: make(chan struct{})}, nil
}

// Run dispatches readiness until Close. Each ready connection is served on
// a goroutine of its own, which ends when the socket is drained: the cost of
// a connection between bursts is its state, not a stack.
func (p *Poller) Run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == p.wake {
				return
			}
			p.mu.RLock()
			var c *Conn
			if fd < len(p.byFD) {
				c = p.byFD[fd]
			}
			p.mu.RUnlock()
			if c != nil {
				go c.serve()
			}
		}
	}
}

// Close stops Run; registered connections are not closed.
func (p *Poller) Close() {
	var one = [8]byte{1}
	unix.Write(p.wake, one[:])
	<-p.done
	unix.Close(p.epfd)
	unix.Close(p.wake)
}

func (p *Poller) add(c *Conn) error {
	p.mu.Lock()
	for len(p.byFD) <= c.fd {
		p.byFD = append(p.byFD, nil)
	}
	p.byFD[c.fd] = c
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: pollEvents, Fd: int32(c.fd)}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev)
}

func (p *Poller) rearm(c *Conn) error {
	ev := unix.EpollEvent{Events: pollEvents, Fd: int32(c.fd)}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
}

func (p *Poller) remove(c *Conn) {
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	p.mu.Lock()
	if c.fd < len(p.byFD) && p.byFD[c.fd] == c {
		p.byFD[c.fd] = nil
	}
	p.mu.Unlock()
}
