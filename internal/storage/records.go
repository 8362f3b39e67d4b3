package storage

//go:generate msgp -file=records.go -o=records_gen.go -tests=false -io=false -unexported

// archiveItem is the value of an archive key. The time and sequence number
// live in the key, so the value holds only what a query cannot get from it.
// Field names are one letter because every byte is paid for on flash, once
// per archived stanza.
type archiveItem struct {
	With    string `msg:"w"`
	Payload []byte `msg:"p"`
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
