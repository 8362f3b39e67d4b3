package netio

import "sync"

// Window sizes. A read borrows a ReadSize window; a window that must keep an
// unfinished stanza grows by doubling up to the handler's limit.
const (
	ReadSize  = 4096
	chunkSize = 4096 // out-queue chunk
)

// The pools hold array pointers, which go into an interface without an
// allocation, where a pointer to a slice header would cost one per Put.
var windowPool = sync.Pool{New: func() any { return new([ReadSize]byte) }}

func getWindow() []byte { return windowPool.Get().(*[ReadSize]byte)[:0] }

func putWindow(b []byte) {
	if cap(b) != ReadSize {
		return // a grown window goes back to the garbage collector
	}
	windowPool.Put((*[ReadSize]byte)(b[:ReadSize]))
}

var chunkPool = sync.Pool{New: func() any { return new([chunkSize]byte) }}

func getChunk() []byte { return chunkPool.Get().(*[chunkSize]byte)[:0] }

func putChunk(b []byte) {
	// A chunk whose head was written and cut off no longer starts its array.
	if cap(b) != chunkSize {
		return
	}
	chunkPool.Put((*[chunkSize]byte)(b[:chunkSize]))
}
