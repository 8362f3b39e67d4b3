// Package netio runs connections the way a router's memory budget needs:
// an idle connection holds no read buffer and no goroutine. One epoll loop
// waits for readiness on every connection and puts the ready ones on a
// list; a few workers, as many as the CPUs allow and never more, take them
// in turn: each borrows a window from a pool, reads until the socket is
// drained, hands the window to the connection's Handler, and gives the
// window back once the handler no longer needs any of it. So a burst of
// thousands of events (a WiFi drop, a mass reconnect) costs what a few
// cost, and once the closing is over the freed memory goes back to the
// system. Outgoing data goes to a bounded queue of pooled chunks written
// with writev; a peer that reads slower than its bound is cut off, after
// the handler's last words (Farewell), instead of growing memory; the rest
// of a write the socket could not take waits on a second epoll instance
// for room. TLS handshakes run on goroutines of their own, a bounded
// number at a time. Connections are served outside Go's network poller
// (Socket), whose per-descriptor records the runtime never frees.
package netio
