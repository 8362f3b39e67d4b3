package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Bytes writes f byte for byte as `uci commit` and `uci export` write it
// (libuci's uci_export_package): every section is preceded by a blank line,
// the file ends with one more newline, options are indented by a tab, every
// value and section name is in single quotes, and a single quote inside is
// written the one way single quotes allow:
//
//	option motd 'it'\''s'
//
// Types and option names are written bare, with the same escape for a
// single quote. Comments are not kept; LuCI and the uci command drop them
// too whenever they save.
//
// An option whose only value is empty and a list without items are left out,
// since UCI cannot express either: libuci ignores an option set to the empty
// string. With that exception Parse(Bytes()) gives back f for any f whose
// names are valid and whose types hold none of ' " \ # ; (libuci writes
// those bare too, and then reads another type back).
func (f *File) Bytes() []byte {
	var b strings.Builder
	for _, s := range f.Sections {
		b.WriteString("\nconfig ")
		b.WriteString(escapeQuote(s.Type))
		if s.Name != "" {
			b.WriteByte(' ')
			writeQuoted(&b, s.Name)
		}
		b.WriteByte('\n')
		for _, o := range s.Options {
			keyword := "\toption "
			if o.List || len(o.Values) > 1 {
				keyword = "\tlist "
			} else if len(o.Values) == 0 || o.Values[0] == "" {
				continue
			}
			for _, v := range o.Values {
				b.WriteString(keyword)
				b.WriteString(escapeQuote(o.Name))
				b.WriteByte(' ')
				writeQuoted(&b, v)
				b.WriteByte('\n')
			}
		}
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

// escapeQuote writes a single quote the way that works inside single quotes.
func escapeQuote(v string) string {
	return strings.ReplaceAll(v, `'`, `'\''`)
}

// writeQuoted writes v in single quotes. Single quotes keep everything,
// newlines and backslashes included, so only ' itself needs care: close the
// quote, write an escaped ', reopen.
func writeQuoted(b *strings.Builder, v string) {
	b.WriteByte('\'')
	b.WriteString(escapeQuote(v))
	b.WriteByte('\'')
}

// WriteFileAtomic replaces the file at path with data, so that a reader (or a
// power cut, common on routers) sees either the old or the new file, never a
// part. It writes a temporary file in the same directory, syncs it, renames it
// over path and syncs the directory so the rename itself is durable. When path
// is a symbolic link, the file it points to is replaced and the link kept.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeAtomic(path, data, func(os.FileMode, bool) os.FileMode { return perm }, ".tmp-")
}

// Commit writes f to path the way `uci commit` does: the text of f.Bytes in
// a temporary file .NAME.uci-XXXXXX next to the file, synced, given the mode
// of the file it replaces (0600 for a new one, the mode libuci creates config
// files with) and renamed over it, while the old file is locked with flock
// so that a uci command committing at the same time waits its turn. A
// symbolic link is followed and kept, as libuci's realpath does.
func Commit(path string, f *File) error {
	return writeAtomic(path, f.Bytes(), func(old os.FileMode, exists bool) os.FileMode {
		if exists {
			return old
		}
		return 0o600
	}, ".uci-")
}

// writeAtomic is WriteFileAtomic and Commit: mode picks the new file's mode
// from the old one's, and infix goes between the file name and the random
// part of the temporary file's name.
func writeAtomic(path string, data []byte, mode func(old os.FileMode, exists bool) os.FileMode, infix string) (err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	perm := mode(0, false)
	if old, err := os.Open(path); err == nil {
		defer old.Close()
		if fi, err := old.Stat(); err == nil {
			perm = mode(fi.Mode().Perm(), true)
		}
		// uci commit holds the same lock while it writes; without flock
		// support (ENOSYS, some FUSE mounts) libuci goes on, and so do we.
		if err := syscall.Flock(int(old.Fd()), syscall.LOCK_EX); err != nil && !errors.Is(err, syscall.ENOSYS) {
			return fmt.Errorf("cannot lock %s: %w", path, err)
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// A leading dot keeps the temporary file out of `ls` and out of the list
	// of UCI packages, which skips names with a dot.
	tmp, err := os.CreateTemp(dir, "."+base+infix+"*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", tmp.Name(), err)
	}
	// CreateTemp makes the file 0600; set the mode before it becomes
	// visible under its real name.
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("cannot set the mode of %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot flush %s to storage: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot replace %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open %s to flush it: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot sync a directory and say so with EINVAL; the
	// file's data is already safe, so that is no reason to fail the write.
	if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("cannot flush directory %s: %w", dir, err)
	}
	return nil
}
