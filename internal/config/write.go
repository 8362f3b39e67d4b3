package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Bytes writes f in the form `uci commit` writes: a blank line between
// sections, options indented by a tab, every value in single quotes, and a
// single quote in a value written the one way single quotes allow:
//
//	option motd 'it'\''s'
//
// Comments are not kept; LuCI and the uci command drop them too whenever
// they save.
//
// An option whose only value is empty and a list without items are left out,
// since UCI cannot express either: libuci ignores an option set to the empty
// string. With that exception Parse(Bytes()) gives back f for any f whose
// types and names are valid, which is every File that Parse returns.
func (f *File) Bytes() []byte {
	var b strings.Builder
	for i, s := range f.Sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("config ")
		b.WriteString(s.Type)
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
				b.WriteString(o.Name)
				b.WriteByte(' ')
				writeQuoted(&b, v)
				b.WriteByte('\n')
			}
		}
	}
	return []byte(b.String())
}

// writeQuoted writes v in single quotes. Single quotes keep everything,
// newlines and backslashes included, so only ' itself needs care: close the
// quote, write an escaped ', reopen.
func writeQuoted(b *strings.Builder, v string) {
	b.WriteByte('\'')
	b.WriteString(strings.ReplaceAll(v, `'`, `'\''`))
	b.WriteByte('\'')
}

// WriteFileAtomic replaces the file at path with data, so that a reader (or a
// power cut, common on routers) sees either the old or the new file, never a
// part. It writes a temporary file in the same directory, syncs it, renames it
// over path and syncs the directory so the rename itself is durable. When path
// is a symbolic link, the file it points to is replaced and the link kept.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// A leading dot keeps the temporary file out of `ls` and out of the list
	// of UCI packages, which skips names with a dot.
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
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
	// CreateTemp makes the file 0600; set the mode asked for before it
	// becomes visible under its real name.
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
