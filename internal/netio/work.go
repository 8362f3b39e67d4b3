package netio

import "runtime"

// Workers serve ready connections. Their number is bounded by the CPU
// count, not by the connections: when thousands of peers send or hang up at
// once, the connections wait in the ready list, which costs them nothing
// they do not hold already, instead of each taking a goroutine stack and a
// read window at the same moment.
//
// The ready list is intrusive (Conn.next), so putting a connection on it
// never allocates and never blocks the poller. A connection is on it at
// most once: its one-shot registration fires once per arming, and every
// other way to it (a pause ending, a handshake done, a read budget spent, a
// close or last words due) goes through ready, which ignores a connection
// that is on the list already.

// workersPerCPU is how many workers each CPU gets. More than one, so that a
// handler waiting on the disk (a store's sync) leaves the others serving;
// few enough that a burst costs a handful of stacks and windows.
const workersPerCPU = 4

// workerBound is the default number of workers of a Poller.
func workerBound() int { return workersPerCPU * runtime.GOMAXPROCS(0) }

// ready queues c for a worker, starting one if fewer than the bound run.
// A worker that finds the list empty ends, so an idle server has none.
func (p *Poller) ready(c *Conn) {
	if c.sched.Or(listed)&listed != 0 {
		return
	}
	p.qmu.Lock()
	if p.tail == nil {
		p.head = c
	} else {
		p.tail.next = c
	}
	p.tail = c
	start := p.running < p.maxWorkers
	if start {
		p.running++
	}
	p.qmu.Unlock()
	if start {
		go p.work()
	}
}

// work serves ready connections until the list is empty.
func (p *Poller) work() {
	for {
		p.qmu.Lock()
		c := p.head
		if c == nil {
			p.running--
			p.qmu.Unlock()
			return
		}
		p.head = c.next
		if p.head == nil {
			p.tail = nil
		}
		c.next = nil
		p.qmu.Unlock()
		// Cleared before serving: what comes ready from now on is served
		// again, and what came before is served now.
		c.sched.And(^uint32(listed))
		p.trim.wait()
		c.serve()
	}
}
