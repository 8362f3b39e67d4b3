package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reader reads the options of one section as typed values. A missing option
// gives the default; a bad one gives the default too and records an error at
// the option's line, so one pass over a section reports all of its mistakes.
// Reader also remembers which options were asked for, so Unknown can report
// the rest, which are usually typos.
//
// A nil section is allowed and reads as empty, so a caller need not check
// whether an optional section exists.
type Reader struct {
	file string
	sec  *Section
	seen map[string]bool
	errs ErrorList
	// asked, when set, collects what each option is read as (Asked).
	asked *[]OptionDoc
}

// NewReader returns a Reader over s; file names the file in errors.
func NewReader(file string, s *Section) *Reader {
	return &Reader{file: file, sec: s, seen: map[string]bool{}}
}

// Err returns the errors found so far as an ErrorList, or nil.
func (r *Reader) Err() error { return r.errs.err() }

// Section returns the section r reads, nil for none. The core keeps it as
// the options a module runs with, so that a reload compares the new file
// with those and not with whatever file was read last.
func (r *Reader) Section() *Section { return r.sec }

// File returns the file name r puts in its errors.
func (r *Reader) File() string { return r.file }

// Errorf records a problem with option name at its line, or at the section's
// line when the option is absent; for checks that span options or that only
// the caller knows, such as "cert without key".
func (r *Reader) Errorf(name, format string, args ...any) {
	line := 0
	if r.sec != nil {
		line = r.sec.Line
	}
	if o := r.sec.Option(name); o != nil {
		line = o.Line
	}
	r.errorAt(line, fmt.Sprintf(format, args...))
}

func (r *Reader) errorAt(line int, msg string) {
	r.errs = append(r.errs, &Error{File: r.file, Line: line, Msg: msg})
}

func (r *Reader) bad(o *Option, format string, args ...any) {
	r.errorAt(o.Line, "option "+o.Name+": "+fmt.Sprintf(format, args...))
}

// scalar returns the one value of option name; ok is false when the option
// is absent, empty, or a list (which is reported).
func (r *Reader) scalar(name string) (o *Option, v string, ok bool) {
	r.seen[name] = true
	o = r.sec.Option(name)
	if o == nil || len(o.Values) == 0 {
		return nil, "", false
	}
	if o.List || len(o.Values) > 1 {
		r.bad(o, "takes one value, not a list: write it once, as option %s '...'", name)
		return nil, "", false
	}
	if o.Values[0] == "" {
		return nil, "", false
	}
	return o, o.Values[0], true
}

// String returns the value of option name, or def.
func (r *Reader) String(name, def string) string {
	r.note(name, kindString, def, "", "", nil)
	if _, v, ok := r.scalar(name); ok {
		return v
	}
	return def
}

// Path returns option name as a file system path, or def. It is returned as
// written: a relative path is relative to the daemon's working directory.
func (r *Reader) Path(name, def string) string {
	r.note(name, kindPath, def, "", "", nil)
	o, v, ok := r.scalar(name)
	if !ok {
		return def
	}
	if i := strings.IndexFunc(v, func(c rune) bool { return c < ' ' || c == 0x7f }); i >= 0 {
		r.bad(o, "%s contains a control character (byte %d): a path is plain text on one line", quote(v), i+1)
		return def
	}
	return v
}

// Int returns option name as a whole number from min to max, or def.
func (r *Reader) Int(name string, def, min, max int) int {
	r.note(name, kindInt, strconv.Itoa(def), strconv.Itoa(min), strconv.Itoa(max), nil)
	o, v, ok := r.scalar(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case errors.Is(err, strconv.ErrRange) || err == nil && (n < min || n > max):
		r.bad(o, "%s is out of range: use %s", quote(v), span(strconv.Itoa(min), strconv.Itoa(max), max == math.MaxInt))
	case err != nil:
		r.bad(o, "%s is not a whole number: use %s", quote(v), span(strconv.Itoa(min), strconv.Itoa(max), max == math.MaxInt))
	default:
		return n
	}
	return def
}

// Bool returns option name as a boolean, or def. It accepts what OpenWrt's
// config_get_bool accepts: 1/0, yes/no, on/off, true/false, enabled/disabled.
func (r *Reader) Bool(name string, def bool) bool {
	r.note(name, kindBool, boolText(def), "", "", nil)
	o, v, ok := r.scalar(name)
	if !ok {
		return def
	}
	b, ok := parseBool(v)
	if !ok {
		r.bad(o, "%s is not a boolean: use '1' or '0' (or yes/no, on/off, true/false, enabled/disabled)", quote(v))
		return def
	}
	return b
}

// Duration returns option name as a duration from min to max, or def: a
// number with a unit ("30s", "5m", "1h30m") or a plain number of seconds.
func (r *Reader) Duration(name string, def, min, max time.Duration) time.Duration {
	r.note(name, kindDuration, formatDuration(def), formatDuration(min), formatDuration(max), nil)
	o, v, ok := r.scalar(name)
	if !ok {
		return def
	}
	d, err := parseDuration(v)
	within := span(formatDuration(min), formatDuration(max), max == math.MaxInt64)
	switch {
	case errors.Is(err, errRange) || err == nil && (d < min || d > max):
		r.bad(o, "%s is out of range: use %s", quote(v), within)
	case err != nil:
		r.bad(o, "%s is not a duration: use %s, written as seconds ('30') or with a unit ('30s', '5m', '1h')", quote(v), within)
	default:
		return d
	}
	return def
}

// Size returns option name as a byte count from min to max, or def: plain
// bytes or a number with a binary suffix ("256k", "4M", "1G").
func (r *Reader) Size(name string, def, min, max int64) int64 {
	r.note(name, kindSize, formatSize(def), formatSize(min), formatSize(max), nil)
	o, v, ok := r.scalar(name)
	if !ok {
		return def
	}
	n, err := parseSize(v)
	within := span(formatSize(min), formatSize(max), max == math.MaxInt64)
	switch {
	case errors.Is(err, errRange) || err == nil && (n < min || n > max):
		r.bad(o, "%s is out of range: use %s", quote(v), within)
	case err != nil:
		r.bad(o, "%s is not a size: use %s, written as bytes ('65536') or with k, M or G ('64k'; k is 1024)", quote(v), within)
	default:
		return n
	}
	return def
}

// Enum returns option name, which must be one of allowed, or def.
func (r *Reader) Enum(name, def string, allowed ...string) string {
	r.note(name, kindEnum, def, "", "", allowed)
	o, v, ok := r.scalar(name)
	if !ok {
		return def
	}
	if !slices.Contains(allowed, v) {
		r.bad(o, "%s is not one of %s", quote(v), strings.Join(allowed, ", "))
		return def
	}
	return v
}

// List returns the items of list name. A plain option is split at white
// space, so `option modules_enabled 'ping time'` and two list lines mean the
// same, as they do for many OpenWrt init scripts. It returns nil when the
// option is absent.
func (r *Reader) List(name string) []string {
	r.note(name, kindList, "", "", "", nil)
	r.seen[name] = true
	o := r.sec.Option(name)
	switch {
	case o == nil:
		return nil
	case o.List:
		return slices.Clone(o.Values)
	}
	return strings.Fields(strings.Join(o.Values, " "))
}

// Unknown reports every option of the section that was not read and is not
// in known: a misspelt option would otherwise be ignored without a word.
func (r *Reader) Unknown(known ...string) {
	if r.sec == nil {
		return
	}
	all := slices.Clone(known)
	for name := range r.seen {
		all = append(all, name)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	for _, o := range r.sec.Options {
		if slices.Contains(all, o.Name) {
			continue
		}
		msg := "unknown option " + quote(o.Name) + " in " + r.sec.describe()
		if near := closest(o.Name, all); near != "" {
			msg += " (did you mean " + quote(near) + "?)"
		} else {
			msg += " (known: " + strings.Join(all, ", ") + ")"
		}
		r.errorAt(o.Line, msg)
	}
}

// span describes the range min..max for a message.
func span(min, max string, unbounded bool) string {
	if unbounded {
		return min + " or more"
	}
	return min + " to " + max
}

// closest returns the name in names nearest to s when it is near enough to be
// a likely typo, else "".
func closest(s string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestDist && d <= len(n)/2 {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
