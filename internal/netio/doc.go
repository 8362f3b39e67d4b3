// Package netio runs connections the way a router's memory budget needs:
// an idle connection holds no read buffer and no goroutine. One epoll loop
// waits for readiness on every connection; when data arrives a goroutine
// borrows a window from a pool, reads until the socket is drained, hands the
// window to the connection's Handler, and gives the window back once the
// handler no longer needs any of it. Outgoing data goes to a bounded queue
// of pooled chunks written with writev; a peer that reads slower than its
// bound is cut off, after the handler's last words (Farewell), instead of
// growing memory.
package netio
