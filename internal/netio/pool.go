package netio

import "sync"

// Window sizes. A read borrows a ReadSize window; a window that must keep an
// unfinished stanza grows by doubling up to the handler's limit.
const (
	ReadSize  = 4096
	chunkSize = 4096 // out-queue chunk
)

var windowPool = sync.Pool{New: func() any { b := make([]byte, 0, ReadSize); return &b }}

func getWindow() []byte { return (*windowPool.Get().(*[]byte))[:0] }

func putWindow(b []byte) {
	if cap(b) != ReadSize {
		return // a grown window goes back to the garbage collector
	}
	b = b[:0]
	windowPool.Put(&b)
}

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize); return &b }}

func getChunk() []byte { return (*chunkPool.Get().(*[]byte))[:0] }

func putChunk(b []byte) {
	if cap(b) != chunkSize {
		return
	}
	b = b[:0]
	chunkPool.Put(&b)
}
