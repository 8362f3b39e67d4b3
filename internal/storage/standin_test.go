package storage

// Tests of the stand-ins go.mod puts in place of cockroachdb/errors,
// prometheus/client_golang, klauspost/compress and minio/minlz
// (internal/standin/*/README.md): what pebble relies on from them, directly
// and through a real store.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	crerrors "github.com/cockroachdb/errors"
	"github.com/cockroachdb/errors/oserror"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/klauspost/compress/zstd"
	"github.com/minio/minlz"
	"github.com/prometheus/client_golang/prometheus"
)

// TestStandinErrorMessages pins the Error() text of every constructor
// pebble uses to what cockroachdb/errors gives.
func TestStandinErrorMessages(t *testing.T) {
	base := crerrors.New("pebble: not found")
	pathErr := &fs.PathError{Op: "open", Path: "/x/MANIFEST", Err: syscall.ENOENT}
	for _, c := range []struct {
		err  error
		want string
	}{
		{base, "pebble: not found"},
		{crerrors.Newf("pebble: table %d: %s", 7, crerrors.Safe("x")), "pebble: table 7: x"},
		{crerrors.Errorf("pebble: %v", base), "pebble: pebble: not found"},
		{crerrors.AssertionFailedf("bad level %d", 3), "bad level 3"},
		{crerrors.Wrap(pathErr, "pebble: opening"), "pebble: opening: open /x/MANIFEST: no such file or directory"},
		{crerrors.Wrap(base, ""), "pebble: not found"},
		{crerrors.Wrapf(base, "reading %s", "000005.sst"), "reading 000005.sst: pebble: not found"},
		{crerrors.Wrapf(base, ""), "pebble: not found"},
		{crerrors.WithStack(base), "pebble: not found"},
		{crerrors.WithDetailf(base, "list err: %v", pathErr), "pebble: not found"},
		{crerrors.WithHintf(base, "path: %s", "/x"), "pebble: not found"},
		{crerrors.WithSafeDetails(base, ". bit flip at %d", 3), "pebble: not found"},
		{crerrors.CombineErrors(base, pathErr), "pebble: not found"},
		{crerrors.CombineErrors(nil, pathErr), pathErr.Error()},
		{crerrors.WithSecondaryError(base, pathErr), "pebble: not found"},
		{crerrors.Mark(pathErr, base), pathErr.Error()},
		{crerrors.Join(base, pathErr), "pebble: not found\n" + pathErr.Error()},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
		if got := fmt.Sprintf("%v|%s", c.err, c.err); got != c.want+"|"+c.want {
			t.Errorf("%%v|%%s = %q, want %q", got, c.want+"|"+c.want)
		}
	}

	for _, err := range []error{
		crerrors.Wrap(nil, "x"), crerrors.Wrapf(nil, "x"), crerrors.WithStack(nil),
		crerrors.WithDetailf(nil, "x"), crerrors.WithHintf(nil, "x"), crerrors.WithSafeDetails(nil, "x"),
		crerrors.CombineErrors(nil, nil), crerrors.WithSecondaryError(nil, base),
		crerrors.Mark(nil, base), crerrors.Join(nil, nil),
	} {
		if err != nil {
			t.Errorf("a constructor given a nil error returned %v", err)
		}
	}
}

// TestStandinErrorDetails checks that %+v still shows what Error() leaves
// out: hints, details and secondary errors.
func TestStandinErrorDetails(t *testing.T) {
	base := errors.New("pebble: corruption")
	err := crerrors.Wrapf(crerrors.WithHintf(crerrors.WithSecondaryError(
		crerrors.WithSafeDetails(base, ". bit flip found: byte index %d", 12),
		errors.New("close failed")), "path: %s", "/data/000012.sst"), "reading")
	got := fmt.Sprintf("%+v", err)
	for _, want := range []string{"reading: pebble: corruption", "bit flip found: byte index 12", "close failed", "path: /data/000012.sst"} {
		if !strings.Contains(got, want) {
			t.Errorf("%%+v = %q, which lacks %q", got, want)
		}
	}
	if got := fmt.Sprintf("%q", err); got != `"reading: pebble: corruption"` {
		t.Errorf("%%q = %s", got)
	}
	if got := fmt.Sprintf("%+v", crerrors.AssertionFailedf("level %d", 2)); !strings.Contains(got, "level 2") || !strings.Contains(got, "assertion") {
		t.Errorf("%%+v of an assertion failure = %q", got)
	}
}

type pebbleTestError struct{ code int }

func (e *pebbleTestError) Error() string { return fmt.Sprint("test error ", e.code) }

// TestStandinErrorsIsAs checks errors.Is and errors.As, the standard ones
// and pebble's, through every wrapper pebble puts around an error.
func TestStandinErrorsIsAs(t *testing.T) {
	sentinel := crerrors.New("pebble: sentinel")
	other := crerrors.New("pebble: sentinel") // same text, another error
	typed := &pebbleTestError{code: 3}
	wraps := map[string]func(error) error{
		"Wrap":             func(e error) error { return crerrors.Wrap(e, "a") },
		"Wrapf":            func(e error) error { return crerrors.Wrapf(e, "a %d", 1) },
		"WithStack":        func(e error) error { return crerrors.WithStack(e) },
		"WithDetailf":      func(e error) error { return crerrors.WithDetailf(e, "d") },
		"WithHintf":        func(e error) error { return crerrors.WithHintf(e, "h") },
		"WithSafeDetails":  func(e error) error { return crerrors.WithSafeDetails(e, "s") },
		"CombineErrors":    func(e error) error { return crerrors.CombineErrors(e, other) },
		"Mark":             func(e error) error { return crerrors.Mark(e, other) },
		"Join":             func(e error) error { return crerrors.Join(other, e) },
		"Newf %w":          func(e error) error { return crerrors.Newf("x: %w", e) },
		"fmt.Errorf %w":    func(e error) error { return fmt.Errorf("x: %w", e) },
		"AssertionFailedf": func(e error) error { return crerrors.AssertionFailedf("x: %w", e) },
	}
	for name, wrap := range wraps {
		for _, err := range []error{wrap(sentinel), wrap(wrap(sentinel))} {
			if !errors.Is(err, sentinel) || !crerrors.Is(err, sentinel) {
				t.Errorf("%s: Is(%q, sentinel) = false", name, err)
			}
		}
		var got *pebbleTestError
		if err := wrap(typed); !errors.As(err, &got) || got != typed || !crerrors.As(wrap(typed), &got) {
			t.Errorf("%s: As did not find the typed error in %q", name, err)
		}
	}

	// Secondary errors are attached, not causes.
	if crerrors.Is(crerrors.CombineErrors(sentinel, typed), typed) {
		t.Error("Is sees a secondary error")
	}
	// An error given to Newf without %w is text only.
	if crerrors.Is(crerrors.Newf("x: %v", sentinel), sentinel) {
		t.Error("Is sees an error printed with the v verb")
	}
	// cockroachdb/errors would call these the same error (same type and
	// text); nothing in pebble relies on that, and here they are not.
	if crerrors.Is(other, sentinel) {
		t.Error("two errors.New with one message are the same error")
	}
	if !crerrors.Is(crerrors.Mark(typed, pebble.ErrCorruption), pebble.ErrCorruption) ||
		!pebble.IsCorruptionError(crerrors.Wrap(crerrors.Mark(typed, pebble.ErrCorruption), "w")) {
		t.Error("a marked error is not the mark")
	}

	// vfs's ENOSPC check unwraps to the innermost error.
	full := &fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}
	if got := crerrors.UnwrapAll(crerrors.Wrap(crerrors.WithStack(full), "w")); got != syscall.ENOSPC {
		t.Errorf("UnwrapAll = %v, want ENOSPC", got)
	}
	if crerrors.UnwrapAll(sentinel) != sentinel {
		t.Error("UnwrapAll of an error without a cause is not the error")
	}
}

func TestStandinOSError(t *testing.T) {
	notExist := &fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}
	exist := &os.LinkError{Op: "link", Old: "/a", New: "/b", Err: syscall.EEXIST}
	perm := &os.SyscallError{Syscall: "open", Err: syscall.EACCES}
	for _, c := range []struct {
		err                      error
		notExist, exist, permErr bool
	}{
		{notExist, true, false, false},
		{crerrors.Wrap(notExist, "w"), true, false, false},
		{crerrors.Mark(crerrors.New("remote object gone"), os.ErrNotExist), true, false, false},
		{crerrors.Wrapf(exist, "w"), false, true, false},
		{crerrors.Wrap(perm, "w"), false, false, true},
		{oserror.ErrPermission, false, false, true},
		{crerrors.New("other"), false, false, false},
		{nil, false, false, false},
	} {
		if oserror.IsNotExist(c.err) != c.notExist || oserror.IsExist(c.err) != c.exist ||
			oserror.IsPermission(c.err) != c.permErr {
			t.Errorf("%v: IsNotExist, IsExist, IsPermission = %v, %v, %v; want %v, %v, %v", c.err,
				oserror.IsNotExist(c.err), oserror.IsExist(c.err), oserror.IsPermission(c.err),
				c.notExist, c.exist, c.permErr)
		}
	}
	if oserror.ErrNotExist != fs.ErrNotExist || oserror.ErrClosed != fs.ErrClosed {
		t.Error("oserror's errors are not the os package's")
	}
}

func TestStandinHistogram(t *testing.T) {
	lin := prometheus.LinearBuckets(0, 10, 3)
	if fmt.Sprint(lin) != "[0 10 20]" {
		t.Errorf("LinearBuckets(0, 10, 3) = %v", lin)
	}
	exp := prometheus.ExponentialBucketsRange(1, 1000, 4)
	for i, want := range []float64{1, 10, 100, 1000} {
		if d := exp[i] - want; d > want*1e-12 || d < -want*1e-12 {
			t.Errorf("ExponentialBucketsRange(1, 1000, 4) = %v", exp)
			break
		}
	}
	// pebble's fsync buckets must be strictly increasing, or Open panics.
	b := pebble.FsyncLatencyBuckets
	for i := 1; i < len(b); i++ {
		if !(b[i] > b[i-1]) {
			t.Fatalf("FsyncLatencyBuckets[%d] = %v after %v", i, b[i], b[i-1])
		}
	}

	h := prometheus.NewHistogram(prometheus.HistogramOpts{Buckets: []float64{1, 2, 4}})
	for _, v := range []float64{0.5, 1, 1.5, 3, 4, 100} {
		h.Observe(v)
	}
	s, ok := prometheus.ReadHistogram(h)
	if !ok || fmt.Sprint(s.Counts) != "[2 1 2 1]" || s.Count != 6 || s.Sum != 110 {
		t.Errorf("after six observations: %+v, %v", s, ok)
	}

	for _, bad := range [][]float64{{1, 1}, {2, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHistogram with buckets %v did not panic", bad)
				}
			}()
			prometheus.NewHistogram(prometheus.HistogramOpts{Buckets: bad})
		}()
	}
	for _, f := range []func(){
		func() { prometheus.LinearBuckets(0, 1, 0) },
		func() { prometheus.ExponentialBucketsRange(0, 1, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a bucket helper took a bad argument")
				}
			}()
			f()
		}()
	}
}

// TestStandinCodecs: the codec stand-ins fail with their own error, never
// with a wrong result, and in the shapes pebble's callers expect (a
// decoder to close even though it cannot decode, dst returned on failure).
func TestStandinCodecs(t *testing.T) {
	if _, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(3))); !errors.Is(err, zstd.ErrNotBuiltIn) {
		t.Errorf("zstd.NewWriter: %v", err)
	}
	for level, want := range map[int]zstd.EncoderLevel{1: zstd.SpeedFastest, 3: zstd.SpeedDefault, 7: zstd.SpeedBetterCompression, 19: zstd.SpeedBestCompression} {
		if got := zstd.EncoderLevelFromZstd(level); got != want {
			t.Errorf("EncoderLevelFromZstd(%d) = %d, want %d", level, got, want)
		}
	}
	d, err := zstd.NewReader(nil)
	if err != nil || d == nil {
		t.Fatalf("zstd.NewReader: %v, %v", d, err)
	}
	defer d.Close()
	dst := make([]byte, 0, 16)
	if out, err := d.DecodeAll([]byte{0x28, 0xb5, 0x2f, 0xfd}, dst); !errors.Is(err, zstd.ErrNotBuiltIn) || len(out) != 0 {
		t.Errorf("DecodeAll: %q, %v", out, err)
	}

	if _, err := minlz.Encode(nil, []byte("abc"), minlz.LevelFastest); !errors.Is(err, minlz.ErrNotBuiltIn) {
		t.Errorf("minlz.Encode: %v", err)
	}
	if _, err := minlz.DecodedLen([]byte{1, 2, 3}); !errors.Is(err, minlz.ErrNotBuiltIn) {
		t.Errorf("minlz.DecodedLen: %v", err)
	}
	buf := make([]byte, 8)
	if out, err := minlz.Decode(buf, []byte{1, 2, 3}); !errors.Is(err, minlz.ErrNotBuiltIn) || len(out) != len(buf) || &out[0] != &buf[0] {
		t.Errorf("minlz.Decode: %d bytes, %v", len(out), err)
	}
}

// TestPebbleThroughStandins opens, writes, reopens and compacts a real
// store, and checks pebble's own errors, with the stand-ins in the build.
func TestPebbleThroughStandins(t *testing.T) {
	dir := t.TempDir()
	db := openAt(t, dir)
	kv := db.KeyVal("accounts", true)
	const n = 2000
	for i := range n {
		if err := kv.Set("example.org", fmt.Sprintf("user%04d", i), &account{Password: strings.Repeat("x", 200), Created: int64(i)}); err != nil {
			t.Fatal(err)
		}
		if i%500 == 499 {
			if err := db.pdb.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Durable writes went through the WAL's fsync, which pebble times into
	// a histogram of the stand-in's.
	fsyncs, ok := prometheus.ReadHistogram(db.pdb.Metrics().LogWriter.FsyncLatency)
	if !ok || fsyncs.Count == 0 {
		t.Errorf("pebble recorded no fsync latency (%+v, %v)", fsyncs, ok)
	}

	_, _, err := db.pdb.Get([]byte("no such key"))
	if !errors.Is(err, pebble.ErrNotFound) || err.Error() != "pebble: not found" {
		t.Errorf("Get of a missing key: %v", err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir)
	kv = db.KeyVal("accounts", true)
	if err := db.pdb.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	m := db.pdb.Metrics()
	if m.Compact.Count == 0 || m.Levels[0].TablesCount != 0 {
		t.Errorf("after Compact: %d compactions, %d tables in L0", m.Compact.Count, m.Levels[0].TablesCount)
	}
	// The codec stand-ins hold only while every table is written with
	// snappy: a table in zstd or MinLZ would be unreadable here.
	if tb := m.Table; tb.CompressedCountSnappy == 0 || tb.CompressedCountZstd != 0 || tb.CompressedCountMinLZ != 0 || tb.CompressedCountUnknown != 0 {
		t.Errorf("tables by compression: snappy %d, zstd %d, minlz %d, unknown %d; want snappy only",
			tb.CompressedCountSnappy, tb.CompressedCountZstd, tb.CompressedCountMinLZ, tb.CompressedCountUnknown)
	}
	for _, i := range []int{0, 777, n - 1} {
		var got account
		if found, err := kv.Get("example.org", fmt.Sprintf("user%04d", i), &got); err != nil || !found || got.Created != int64(i) {
			t.Errorf("user%04d after reopen and compaction: %+v, %v, %v", i, got, found, err)
		}
	}

	// pebble's own errors, from pebble's code paths.
	_, err = pebble.Open(filepath.Join(dir, "missing"), &pebble.Options{ErrorIfNotExists: true, FS: vfs.Default, Logger: slogLogger{slog.New(slog.DiscardHandler)}})
	if !errors.Is(err, pebble.ErrDBDoesNotExist) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("opening a missing store with ErrorIfNotExists: %v", err)
	}
	if _, err := pebble.LockDirectory(dir, vfs.Default); err == nil || !strings.Contains(err.Error(), "lock held by current process") {
		t.Errorf("a second lock on an open store: %v", err)
	}
}

// testLogger is a pebble logger for tests: Fatalf fails the test rather
// than ending the process.
type testLogger struct{ t *testing.T }

func (l testLogger) Infof(string, ...any)              {}
func (l testLogger) Errorf(format string, args ...any) { l.t.Logf(format, args...) }
func (l testLogger) Fatalf(format string, args ...any) { l.t.Errorf("pebble fatal: "+format, args...) }

// TestPebbleCorruptionThroughStandins damages an sstable and checks that
// pebble reports the read as corruption (errors.Mark in pebble), with its
// details reachable by errors.As through errors.Join. pebble is opened
// directly: storage's logger ends the process on corruption, as pebble's
// default DataCorruption handler asks it to.
func TestPebbleCorruptionThroughStandins(t *testing.T) {
	dir := t.TempDir()
	var corrupt []pebble.DataCorruptionInfo
	opts := func() *pebble.Options {
		return &pebble.Options{
			FS:                 vfs.Default,
			FormatMajorVersion: formatVersion,
			Logger:             testLogger{t},
			EventListener: &pebble.EventListener{
				DataCorruption: func(info pebble.DataCorruptionInfo) { corrupt = append(corrupt, info) },
			},
		}
	}
	pdb, err := pebble.Open(dir, opts())
	if err != nil {
		t.Fatal(err)
	}
	// Snappy leaves bytes without repeats as they are, so the marker can be
	// found in the sstable and damaged there.
	var marker []byte
	for i := range 64 {
		marker = append(marker, byte('A'+i%26), byte('a'+i*7%26), byte('0'+i%10))
	}
	for i := range 200 {
		if err := pdb.Set(fmt.Appendf(nil, "key%04d", i), marker, pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	if err := pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := pdb.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	damaged := 0
	for _, p := range tables {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(b, marker); i >= 0 {
			b[i+len(marker)/2] ^= 0xff
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			damaged++
		}
	}
	if damaged == 0 {
		t.Fatalf("no sstable among %v holds the marker", tables)
	}

	pdb, err = pebble.Open(dir, opts())
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	_, _, err = pdb.Get([]byte("key0000"))
	if err == nil {
		t.Fatal("a read of a damaged block succeeded")
	}
	if !pebble.IsCorruptionError(err) || !errors.Is(err, pebble.ErrCorruption) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("read of a damaged block: %v (corruption: %v)", err, pebble.IsCorruptionError(err))
	}
	if info := pebble.ExtractDataCorruptionInfo(err); info == nil || !strings.HasSuffix(info.Path, ".sst") {
		t.Errorf("no corruption details in %v: %+v", err, info)
	}
	if len(corrupt) == 0 {
		t.Error("pebble did not report the corruption to its event listener")
	}
	if got := fmt.Sprintf("%+v", err); !strings.Contains(got, "path: "+dir) {
		t.Errorf("%%+v of the corruption error lacks the path hint: %s", got)
	}
}
