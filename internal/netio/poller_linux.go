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
// A second instance, with a goroutine of its own, waits for writability of
// the connections whose peer reads slower than they write: apart, reading
// and writing re-arm without knowing of each other.
type Poller struct {
	epfd  int
	wepfd int
	mu    sync.RWMutex
	byFD  []*Conn // indexed by file descriptor: small integers, dense
	wake  int     // eventfd that ends Run
	done  chan struct{}
	wdone chan struct{}

	// The ready list and its workers.
	qmu        sync.Mutex
	head, tail *Conn
	running    int
	maxWorkers int

	hs   *gate    // TLS handshakes in flight
	trim *trimmer // the process's, but tests bring their own
}

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// NewPoller creates the epoll instances and starts waiting for
// writability; call Run in a goroutine to serve reads.
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
	wepfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	// The eventfd stays readable once written, so it ends both loops.
	for _, e := range []int{epfd, wepfd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
		if err := unix.EpollCtl(e, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
			unix.Close(epfd)
			unix.Close(wepfd)
			unix.Close(wake)
			return nil, err
		}
	}
	p := &Poller{epfd: epfd, wepfd: wepfd, wake: wake, done: make(chan struct{}), wdone: make(chan struct{}),
		maxWorkers: workerBound(), hs: newGate(handshakeBound()), trim: trim}
	go p.wait(p.wepfd, p.wdone, (*Conn).writable)
	return p, nil
}

// Run dispatches readiness until Close. A ready connection goes on the
// ready list; a worker serves it until the socket is drained, and the
// workers end when the list is empty: the cost of a connection between
// bursts is its state, not a stack, and a burst costs a few stacks.
func (p *Poller) Run() {
	p.wait(p.epfd, p.done, p.ready)
}

// wait passes the connection of each event on epfd to do, until Close.
func (p *Poller) wait(epfd int, done chan struct{}, do func(*Conn)) {
	defer close(done)
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(epfd, events, -1)
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
				do(c)
			}
		}
	}
}

// Close stops Run; registered connections are not closed.
func (p *Poller) Close() {
	var one = [8]byte{1}
	unix.Write(p.wake, one[:])
	<-p.done
	<-p.wdone
	unix.Close(p.epfd)
	unix.Close(p.wepfd)
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

// armWrite asks the write instance for one event when c's socket has room;
// c.wmu is held.
func (p *Poller) armWrite(c *Conn) error {
	if !c.acquire() {
		return ErrClosed
	}
	defer c.release()
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLONESHOT, Fd: int32(c.fd)}
	if c.wreg {
		return unix.EpollCtl(p.wepfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
	}
	c.wreg = true
	return unix.EpollCtl(p.wepfd, unix.EPOLL_CTL_ADD, c.fd, &ev)
}

func (p *Poller) rearm(c *Conn) error {
	if !c.acquire() {
		return nil // closed meanwhile; the number may be another's now
	}
	defer c.release()
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
