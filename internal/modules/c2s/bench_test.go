package c2s_test

import (
	"bytes"
	"fmt"
	"testing"

	"xmppd/internal/xmpptest"
)

// BenchmarkChat measures one chat message from a client socket through
// parsing, routing and delivery to another client's socket, over loopback
// TCP without TLS: the server's whole path for the commonest stanza.
// Allocations are the process's, clients included; the clients reuse
// their buffers, so they are the server's.
func BenchmarkChat(b *testing.B) {
	s := xmpptest.Start(b, "\toption c2s_plain_on_loopback '1'\n\toption c2s_queue_size '16M'\n")
	s.AddUser(b, "romeo", "pw")
	s.AddUser(b, "juliet", "pw")
	from := dialRaw(b, s.StartTLS)
	from.login("romeo", "pw", "a")
	to := dialRaw(b, s.StartTLS)
	to.login("juliet", "pw", "b")

	const batch = 64
	var msgs []byte
	for i := range batch {
		msgs = fmt.Appendf(msgs, "<message to='juliet@localhost/b' type='chat' id='m%d'><body>Hello, how are you today?</body></message>", i)
	}
	end := []byte("</message>")
	done := make(chan int)
	go func() {
		buf := make([]byte, 64<<10)
		got, carry := 0, 0
		for got < b.N {
			n, err := to.c.Read(buf[carry:])
			if err != nil {
				break
			}
			window := buf[:carry+n]
			got += bytes.Count(window, end)
			// Keep a possible partial end tag for the next read.
			carry = min(len(end)-1, len(window))
			copy(buf, window[len(window)-carry:])
		}
		done <- got
	}()
	b.SetBytes(int64(len(msgs) / batch))
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += batch {
		n := min(batch, b.N-sent)
		if n == batch {
			from.c.Write(msgs)
		} else {
			var part []byte
			for i := range n {
				part = fmt.Appendf(part, "<message to='juliet@localhost/b' type='chat' id='x%d'><body>Hello, how are you today?</body></message>", i)
			}
			from.c.Write(part)
		}
	}
	if got := <-done; got < b.N {
		b.Fatalf("%d of %d messages arrived", got, b.N)
	}
}
