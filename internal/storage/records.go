package storage

//go:generate msgp -file=records.go -o=records_gen.go -tests=false -io=false -unexported

// archiveItem is the value of an archive key. The time and sequence number
// live in the key, so the value holds only what a query cannot get from it.
// Field names are one letter because every byte is paid for on flash, once
// per archived stanza.
type archiveItem struct {
	With    string `msg:"w"`
	Payload []byte `msg:"p"`
	// Skew is how many µs the key's time lies after the time given to
	// Append, which happens only when the clock was behind the user's
	// newest item. It is omitted when zero, so the usual item costs
	// nothing more and reads the same in a release that predates it.
	Skew int64 `msg:"s,omitempty"`
}

// storeEntry is the value of a registry key. DeleteUser walks the registry to
// find every store a user may have data in, so the entry is written in the
// same batch as a store's first record and can never lag behind it.
type storeEntry struct {
	Kind byte   `msg:"k"`
	Name string `msg:"n"`
}

// layoutInfo records the key layout a data directory was written with, so a
// future layout change can tell old data from new instead of misreading it.
type layoutInfo struct {
	Version int `msg:"v"`
}

// nodeItem is the value of a node's order key: the item itself, so that
// the newest item, and a page of them, are read by walking keys alone.
type nodeItem struct {
	ID        string `msg:"i"`
	Publisher string `msg:"u"`
	// When is unix µs, as in the archive.
	When    int64  `msg:"t"`
	Payload []byte `msg:"p"`
}

// nodeMeta is the value of a node's meta key. Last only grows while the
// node exists, so a republished item always lands after every other. First
// is the oldest item's sequence number (Last+1 when there is none), so that
// walks from the oldest end start there instead of stepping over the
// deletions of every item dropped before it, which pebble keeps until a
// compaction reaches them.
type nodeMeta struct {
	Last  uint64 `msg:"l"`
	First uint64 `msg:"f"`
	Count int64  `msg:"c"`
}
