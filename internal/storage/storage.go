// Package storage keeps xmppd's persistent data in one pebble database: the
// key-value, map and archive stores that modules open by name, after
// Prosody's storage API (module:open_store).
//
// Keys are ordered prefixes (kind, store, host, user, then the key within
// the user), so every listing, per-user deletion and archive query is a
// single range scan. Values are msgp records that the calling module
// defines; storage only moves their bytes.
//
// The defaults are sized for a router with 64 MB of RAM and flash storage:
// a 1 MiB memtable, a 2 MiB block cache and 64 open files. Writes to a store
// opened as durable are synced to disk before they return; see README.md
// for what that costs.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Defaults used when an Options field is zero.
const (
	// DefaultMemTableSize bounds unflushed writes; pebble may hold two
	// memtables while one is being flushed.
	DefaultMemTableSize = 1 << 20
	// DefaultCacheSize is the block cache, shared by all reads.
	DefaultCacheSize = 2 << 20
	// DefaultMaxOpenFiles matches pebble's floor for its sstable cache, so
	// the limit a router's ulimit sees is the one pebble works with.
	DefaultMaxOpenFiles = 64
)

// l0Tables is how many tables gather in L0 before pebble compacts them
// into the level below (see Open).
const l0Tables = 16

// minMemTableSize is where pebble starts every memtable before doubling up
// to MemTableSize; a smaller setting would only cause more flushes.
const minMemTableSize = 256 << 10

// formatVersion is the last one that writes row-based sstables (table
// format Pebblev4). The columnar blocks of later versions are decoded with
// unaligned loads, which fault on MIPS (SIGBUS under qemu, a kernel trap per
// load on real hardware) and are unreliable on ARMv5. Pinning it also keeps
// a pebble upgrade from silently ratcheting the on-disk format past what the
// previous xmppd release can read.
const formatVersion = pebble.FormatFlushableIngestExcises

var (
	// ErrLocked means another process (or another Open in this one) holds
	// the data directory.
	ErrLocked = errors.New("storage: data directory is in use")
	// ErrBadID means an archive id was not one this server handed out, or
	// a node item had no id.
	ErrBadID = errors.New("storage: bad archive id")
	// ErrBadName means a store, host, user or node name cannot be part of
	// a key.
	ErrBadName = errors.New("storage: bad store, host or user name")
	// ErrClosed means the DB was used after Close.
	ErrClosed = errors.New("storage: database is closed")
)

// detailError carries a message specific to one call while still matching
// its sentinel with errors.Is.
type detailError struct {
	msg  string
	kind error
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.kind }

// Options configures Open. Zero fields take the defaults above.
type Options struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// MemTableSize is raised to 256 KiB if set lower.
	MemTableSize int64
	// CacheSize is the block cache in bytes.
	CacheSize int64
	// MaxOpenFiles is a soft limit: pebble keeps up to 64 sstables open
	// however low it is set, plus its logs and manifest.
	MaxOpenFiles int
	// Logger receives pebble's messages; nil means slog.Default().
	Logger *slog.Logger
}

// DB is an open data directory. There is one per process.
type DB struct {
	pdb    *pebble.DB
	lock   *pebble.Lock
	dir    string // as given, for messages
	abs    string // key in openDirs
	logger *slog.Logger

	closeMu sync.Mutex
	closed  atomic.Bool

	// newest remembers each archive user's newest key, per lock stripe
	// and guarded by that stripe's lock, so that an append need not seek
	// the end of the user's items on disk.
	newest [lockStripes]map[string]*[suffixLen]byte
}

// openDirs catches a second Open of the same directory in this process:
// pebble's own check reports that case with a bare message, and a test or a
// reload path deserves the same ErrLocked as a second process gets.
var openDirs = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// Open opens or creates the data directory o.Dir.
func Open(o Options) (*DB, error) {
	if o.Dir == "" {
		return nil, errors.New("storage: no data directory given (set the data_dir option)")
	}
	if o.MemTableSize <= 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	o.MemTableSize = max(o.MemTableSize, minMemTableSize)
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}

	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: cannot create the data directory: %w", err)
	}
	abs, err := filepath.Abs(o.Dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: cannot resolve the data directory %s: %w", o.Dir, err)
	}

	openDirs.Lock()
	defer openDirs.Unlock()
	if openDirs.m[abs] {
		return nil, &detailError{
			msg:  fmt.Sprintf("storage: %s is already open in this process", o.Dir),
			kind: ErrLocked,
		}
	}

	lock, err := pebble.LockDirectory(o.Dir, vfs.Default)
	if err != nil {
		return nil, lockError(o.Dir, err)
	}
	logger := o.Logger.With("component", "pebble")
	po := &pebble.Options{
		MemTableSize: uint64(o.MemTableSize),
		// Pebble charges memtables to the block cache's budget, which with
		// router-sized settings would leave the cache no room at all; add
		// room for the two memtables that can exist at once, so the cache
		// gets what was asked for and the total stays bounded.
		CacheSize:          o.CacheSize + 2*o.MemTableSize,
		MaxOpenFiles:       o.MaxOpenFiles,
		Logger:             slogLogger{logger},
		Lock:               lock,
		FormatMajorVersion: formatVersion,
		Merger:             counterMerger,
		// Without the disk health checks pebble wraps around the default
		// file system: they run a ticker every 2 s for the directory and one
		// for every open file, to report operations that take over 5 s to
		// an event listener xmppd does not set.
		FS: vfs.Default,
	}
	// Archives are written all over the key space at once (every user's
	// newest items), so each flushed table overlaps every table below it,
	// and each compaction out of L0 rewrites all of Lbase: with pebble's
	// threshold of 4 tables, an append cost 10.9 us of CPU at 200,000
	// items and 28.5 us at a million (BenchmarkArchiveAppendUsers). With
	// 16 it costs 6.0 and 10.6 us, and the server's CPU per archived chat
	// message fell by a third; reads still find the hot records (accounts,
	// rosters) in the block cache, and logins run as fast as before.
	po.L0CompactionThreshold = l0Tables
	po.L0StopWritesThreshold = 3 * l0Tables
	// Pebble's default scheduler also polls every 100 ms; this one acts only
	// when a flush or compaction gives it something to do.
	po.Experimental.CompactionScheduler = newCompactionScheduler()
	pdb, err := pebble.Open(o.Dir, po)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("storage: cannot open %s: %w", o.Dir, err)
	}
	db := &DB{pdb: pdb, lock: lock, dir: o.Dir, abs: abs, logger: o.Logger}
	if err := db.checkLayout(); err != nil {
		_ = pdb.Close()
		_ = lock.Close()
		return nil, err
	}
	openDirs.m[abs] = true
	return db, nil
}

// lockError tells a held lock apart from other failures to take it (such as
// a read-only directory), which need a different fix.
func lockError(dir string, err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) && (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES)) {
		return &detailError{
			msg:  fmt.Sprintf("storage: %s is in use by another xmppd process (stop it, or use its admin socket)", dir),
			kind: ErrLocked,
		}
	}
	return fmt.Errorf("storage: cannot lock %s: %w", dir, err)
}

// checkLayout stamps a new directory with the layout version and refuses a
// directory written with a layout this code does not know.
func (db *DB) checkLayout() error {
	key := metaKey(metaLayout)
	val, closer, err := db.pdb.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		rec := layoutInfo{Version: layoutVersion}
		b, err := rec.MarshalMsg(nil)
		if err != nil {
			return fmt.Errorf("storage: encoding the layout record: %w", err)
		}
		if err := db.pdb.Set(key, b, pebble.Sync); err != nil {
			return fmt.Errorf("storage: writing the layout record to %s: %w", db.dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: reading the layout record from %s: %w", db.dir, err)
	}
	var rec layoutInfo
	_, err = rec.UnmarshalMsg(val)
	_ = closer.Close()
	if err != nil {
		return fmt.Errorf("storage: the layout record in %s is corrupt: %w", db.dir, err)
	}
	if rec.Version != layoutVersion {
		return fmt.Errorf("storage: %s uses key layout %d but this xmppd reads layout %d (run the xmppd release that wrote it)",
			db.dir, rec.Version, layoutVersion)
	}
	return nil
}

// Close flushes the memtable, so the next start has no log to replay, and
// releases the directory. Calling it again does nothing.
func (db *DB) Close() error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if db.closed.Load() {
		return nil
	}
	db.closed.Store(true)
	errFlush := db.pdb.Flush()
	errClose := db.pdb.Close()
	errLock := db.lock.Close()
	openDirs.Lock()
	delete(openDirs.m, db.abs)
	openDirs.Unlock()
	if err := errors.Join(errFlush, errClose, errLock); err != nil {
		return fmt.Errorf("storage: closing %s: %w", db.dir, err)
	}
	return nil
}

// check guards against pebble's panic on a closed DB. It cannot catch a
// Close that races with a call already past it; stop callers first.
func (db *DB) check() error {
	if db.closed.Load() {
		return ErrClosed
	}
	return nil
}

// KeyVal returns the key-value store named store. Handles are cheap and may
// be opened more than once; durable decides whether writes wait for disk.
func (db *DB) KeyVal(store string, durable bool) *KeyVal {
	return &KeyVal{s: db.open(kindKeyVal, store, durable)}
}

// Map returns the map store named store.
func (db *DB) Map(store string, durable bool) *Map {
	return &Map{s: db.open(kindMap, store, durable)}
}

// Archive returns the archive store named store.
func (db *DB) Archive(store string, durable bool) *Archive {
	return &Archive{s: db.open(kindArchive, store, durable)}
}

// DeleteUser removes every record of user on host from every store that has
// ever been written, of every kind. It waits for the disk, because an account
// deletion that comes back after a power cut is not a deletion.
func (db *DB) DeleteUser(host, user string) error {
	if err := db.check(); err != nil {
		return err
	}
	if err := checkPart("host", host); err != nil {
		return err
	}
	if err := checkPart("user", user); err != nil {
		return err
	}
	stores, err := db.stores()
	if err != nil {
		return err
	}
	// A node write in flight would otherwise write back the count of
	// items this deletes.
	defer lockAllNodes()()
	b := db.pdb.NewBatch()
	defer b.Close()
	var p []byte
	for _, st := range stores {
		p = appendPrefix(p[:0], st.Kind, st.Name, host, user)
		if st.Kind == kindKeyVal {
			// A point tombstone is cheaper to read past than a range one.
			err = b.Delete(p, nil)
		} else {
			err = b.DeleteRange(p, prefixEnd(p), nil)
		}
		if err != nil {
			return fmt.Errorf("storage: deleting %s@%s: %w", user, host, err)
		}
	}
	if b.Empty() {
		return nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("storage: deleting %s@%s: %w", user, host, err)
	}
	return nil
}

// stores reads the registry of every store that has been written.
func (db *DB) stores() ([]storeEntry, error) {
	p := metaKey(metaStores)
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, fmt.Errorf("storage: reading the store registry: %w", err)
	}
	var out []storeEntry
	for ok := it.First(); ok; ok = it.Next() {
		val, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("storage: reading the store registry: %w", err)
		}
		var e storeEntry
		if _, err := e.UnmarshalMsg(val); err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("storage: the store registry entry %q is corrupt: %w", it.Key(), err)
		}
		out = append(out, e)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("storage: reading the store registry: %w", err)
	}
	return out, nil
}

// Stats is a snapshot of the figures `xmppd status` shows.
type Stats struct {
	// DiskBytes counts sstables, write-ahead logs and manifests, live or
	// not yet deleted.
	DiskBytes uint64
	// MemTableBytes is memory held by memtables, including one being flushed.
	MemTableBytes uint64
	// CacheBytes is memory held by the block cache.
	CacheBytes int64
	// CacheHits and CacheMisses count block cache lookups since Open.
	CacheHits, CacheMisses int64
	// CacheHitRate is CacheHits over all lookups, 0 before the first one.
	CacheHitRate float64
}

// Metrics returns current figures; all zero after Close.
func (db *DB) Metrics() Stats {
	if db.check() != nil {
		return Stats{}
	}
	m := db.pdb.Metrics()
	s := Stats{
		DiskBytes:     m.DiskSpaceUsage(),
		MemTableBytes: m.MemTable.Size,
		CacheBytes:    m.BlockCache.Size,
		CacheHits:     m.BlockCache.Hits,
		CacheMisses:   m.BlockCache.Misses,
	}
	if n := s.CacheHits + s.CacheMisses; n > 0 {
		s.CacheHitRate = float64(s.CacheHits) / float64(n)
	}
	return s
}

// slogLogger sends pebble's messages to slog. Pebble reports every flush
// and compaction as information, which on a router is noise, so that goes
// to debug.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Infof(format string, args ...any) {
	if s.l.Enabled(context.Background(), slog.LevelDebug) {
		s.l.Debug(fmt.Sprintf(format, args...))
	}
}

func (s slogLogger) Errorf(format string, args ...any) {
	s.l.Error(fmt.Sprintf(format, args...))
}

// Fatalf must not return: pebble calls it when continuing would corrupt
// data, and relies on the process ending.
func (s slogLogger) Fatalf(format string, args ...any) {
	s.l.Error(fmt.Sprintf(format, args...))
	os.Exit(1)
}
