package netio

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"
)

// Poller waits for readability on many connections with one epoll instance
// and one goroutine, and serves the ready ones on a bounded set of workers
// (work.go). Each registration is one-shot: a ready connection is served by
// one worker at a time, and re-armed when that worker is done with it.
type Poller struct {
	epfd int
	mu   sync.RWMutex
	byFD []*Conn // indexed by file descriptor: small integers, dense
	wake int     // eventfd that ends Run
	done chan struct{}

	// The ready list and its workers.
	qmu        sync.Mutex
	head, tail *Conn
	running    int
	maxWorkers int

	hs   *gate    // TLS handshakes in flight
	trim *trimmer // the process's, but tests bring their own
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
	return &Poller{epfd: epfd, wake: wake, done: make(chan struct{}),
		maxWorkers: workerBound(), hs: newGate(handshakeBound()), trim: trim}, nil
}

// Run dispatches readiness until Close. A ready connection goes on the
// ready list; a worker serves it until the socket is drained, and the
// workers end when the list is empty: the cost of a connection between
// bursts is its state, not a stack, and a burst costs a few stacks.
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
				p.ready(c)
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
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		return err
	}
	open.Add(1)
	return nil
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
