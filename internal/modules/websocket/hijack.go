package websocket

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// connBuffer is the size of a WebSocket connection's read and write
// buffers. The HTTP server's are 4 KiB each, which every idle connection
// would keep; most XMPP messages are a few hundred bytes, and bigger
// ones are read and written past the buffer.
const connBuffer = 512

// smallBuffers hands the WebSocket library the hijacked connection with
// buffers of connBuffer instead of the HTTP server's.
type smallBuffers struct{ http.ResponseWriter }

// Hijack implements http.Hijacker.
func (s smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		nc.Close()
		return nil, nil, err
	}
	// Bytes the client sent right after its handshake are in the old
	// buffer: they move to the new one, where the library looks for them.
	n := brw.Reader.Buffered()
	var r io.Reader = nc
	if n > 0 {
		b, _ := brw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(b)), nc)
	}
	br := bufio.NewReaderSize(r, max(n, connBuffer))
	if n > 0 {
		br.Peek(n)
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, connBuffer)), nil
}

// Unwrap returns the writer underneath, for http.ResponseController.
func (s smallBuffers) Unwrap() http.ResponseWriter { return s.ResponseWriter }

var _ http.Hijacker = smallBuffers{}
