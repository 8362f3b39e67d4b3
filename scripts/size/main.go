// Command size reports how big xmppd's binaries are, where the bytes come
// from, and whether they fit the budget in scripts/size/budget.
// `make size` runs it through scripts/cross/cross.sh.
//
//	size table [-budget FILE] BINARY...
//
// prints, for every binary, its size raw, compressed with xz -9, and as it
// would take space in a squashfs image (xz -9 in independent 256 KiB
// blocks, as OpenWrt's squashfs stores a file). With -budget, a binary
// whose target has a budget and is larger makes the command exit with
// status 1. The target is the file name after "xmppd-" (linux-mipsle).
//
//	size modules [-top N] BINARY
//
// prints the bytes of an unstripped binary per Go module, from the symbol
// sizes `go tool nm` reports and the module list in the binary's build
// information. Stripped binaries have no symbols; cross.sh builds one
// unstripped copy for this.
package main

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const usage = `usage:
  size table [-budget FILE] BINARY...
  size modules [-top N] BINARY`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "table":
		err = runTable(os.Args[2:], os.Stdout)
	case "modules":
		err = runModules(os.Args[2:], os.Stdout)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if errors.Is(err, errOverBudget) {
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "size:", err)
		os.Exit(1)
	}
}

// squashfsBlock is the block size OpenWrt builds its squashfs images with
// (CONFIG_TARGET_SQUASHFS_BLOCK_SIZE=256). squashfs compresses every block
// of a file on its own, which costs more than compressing the whole file.
const squashfsBlock = 256 << 10

var errOverBudget = errors.New("over budget")

func runTable(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	budgetFile := fs.String("budget", "", "file of size budgets per target")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var budgets map[string]budget
	if *budgetFile != "" {
		b, err := os.ReadFile(*budgetFile)
		if err != nil {
			return err
		}
		if budgets, err = parseBudgets(string(b)); err != nil {
			return fmt.Errorf("%s: %w", *budgetFile, err)
		}
	}

	fmt.Fprintf(out, "%-14s %12s %12s %12s  %s\n", "target", "bytes", "xz -9", "squashfs", "budget")
	var over []string
	for _, path := range fs.Args() {
		s, err := measure(path)
		if err != nil {
			return err
		}
		target := targetName(path)
		verdict := ""
		if b, ok := budgets[target]; ok {
			var msgs []string
			verdict, msgs = b.check(s)
			for _, m := range msgs {
				over = append(over, target+": "+m)
			}
		}
		fmt.Fprintf(out, "%-14s %12s %12s %12s  %s\n", target, commas(s.raw), commas(s.xz), commas(s.squashfs), verdict)
	}
	for t := range budgets {
		if !slices.ContainsFunc(fs.Args(), func(p string) bool { return targetName(p) == t }) {
			over = append(over, t+": has a budget but was not measured")
		}
	}
	if len(over) > 0 {
		fmt.Fprintf(out, "\nover budget (%s):\n", *budgetFile)
		for _, m := range over {
			fmt.Fprintln(out, "  "+m)
		}
		return errOverBudget
	}
	return nil
}

// sizes of one binary, in bytes.
type sizes struct {
	raw, xz, squashfs int64
}

func measure(path string) (sizes, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return sizes{}, err
	}
	s := sizes{raw: fi.Size()}
	if s.xz, err = xzSize(path, "-9"); err != nil {
		return s, err
	}
	if s.squashfs, err = xzSize(path, "-9", "--block-size="+strconv.Itoa(squashfsBlock)); err != nil {
		return s, err
	}
	return s, nil
}

// xzSize runs xz with flags on path and counts the bytes it writes.
func xzSize(path string, flags ...string) (int64, error) {
	cmd := exec.Command("xz", append(flags, "-c", "--", path)...)
	var n countWriter
	var stderr bytes.Buffer
	cmd.Stdout = &n
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("xz %s %s: %v %s (Debian: apt-get install xz-utils)", strings.Join(flags, " "), path, err, stderr.Bytes())
	}
	return int64(n), nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// targetName is "linux-mipsle" for dist/xmppd-linux-mipsle.
func targetName(path string) string {
	name := filepath.Base(path)
	if t, ok := strings.CutPrefix(name, "xmppd-"); ok {
		return t
	}
	return name
}

// budget is the most a target's stripped binary may weigh; zero means no
// limit on that figure.
type budget struct {
	raw, xz int64
}

// check returns what the table shows for s, and a message for every
// figure over its limit.
func (b budget) check(s sizes) (string, []string) {
	var shown, over []string
	for _, f := range []struct {
		name       string
		got, limit int64
	}{{"bytes", s.raw, b.raw}, {"xz -9", s.xz, b.xz}} {
		if f.limit == 0 {
			continue
		}
		if f.got > f.limit {
			over = append(over, fmt.Sprintf("%s %s > %s", f.name, commas(f.got), commas(f.limit)))
			shown = append(shown, fmt.Sprintf("%s OVER %s", f.name, commas(f.limit)))
		} else {
			shown = append(shown, fmt.Sprintf("%s ≤ %s", f.name, commas(f.limit)))
		}
	}
	return strings.Join(shown, ", "), over
}

// parseBudgets reads lines of "target bytes [xz-bytes]"; # starts a
// comment, and "-" leaves a figure without a limit.
func parseBudgets(text string) (map[string]budget, error) {
	budgets := map[string]budget{}
	for i, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("line %d: want target, bytes and optionally xz bytes", i+1)
		}
		var b budget
		for j, p := range []*int64{&b.raw, &b.xz} {
			if j+1 >= len(f) || f[j+1] == "-" {
				continue
			}
			n, err := strconv.ParseInt(strings.ReplaceAll(f[j+1], "_", ""), 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("line %d: %q is not a size in bytes", i+1, f[j+1])
			}
			*p = n
		}
		if _, dup := budgets[f[0]]; dup {
			return nil, fmt.Errorf("line %d: %s has a budget already", i+1, f[0])
		}
		budgets[f[0]] = b
	}
	return budgets, nil
}

// commas writes n with thousands separators.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func runModules(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("modules", flag.ContinueOnError)
	top := fs.Int("top", 0, "show only the N biggest modules (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("modules takes one binary")
	}
	path := fs.Arg(0)
	bd, err := breakdown(path)
	if err != nil {
		return err
	}
	bd.write(out, *top)
	return nil
}

// moduleSize is what one module (or the standard library) adds.
type moduleSize struct {
	name string
	// code is the size of its functions; data of its read-only and
	// initialised variables.
	code, data int64
	// lines is its share of the function tables (.gopclntab), which the
	// runtime needs for stacks and which grow with the code; it is shared
	// out in proportion to code.
	lines int64
}

func (m moduleSize) total() int64 { return m.code + m.data + m.lines }

// report is a binary's breakdown.
type report struct {
	binary  string
	file    int64 // bytes of the unstripped file
	loaded  int64 // bytes of its sections that are loaded (what strip keeps)
	modules []moduleSize
	// other counts symbols no module owns: type descriptors, function
	// metadata, string data.
	other int64
	// rest is the loaded bytes no symbol covers: headers, alignment, the
	// part of .gopclntab that is not per function.
	rest int64
}

func breakdown(path string) (*report, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var mods []string
	if info.Main.Path != "" {
		mods = append(mods, info.Main.Path)
	}
	replaced := map[string]string{}
	for _, d := range info.Deps {
		mods = append(mods, d.Path)
		if d.Replace != nil && d.Replace.Path != d.Path {
			replaced[d.Path] = d.Replace.Path
		}
	}

	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	r := &report{binary: path, file: fi.Size()}
	var pcln *elf.Section
	var fileBacked []*elf.Section
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		if s.Type != elf.SHT_NOBITS {
			r.loaded += int64(s.Size)
			fileBacked = append(fileBacked, s)
		}
		if s.Name == ".gopclntab" {
			pcln = s
		}
	}

	nm := exec.Command("go", "tool", "nm", "-size", "-type", path)
	var stderr bytes.Buffer
	nm.Stderr = &stderr
	outp, err := nm.Output()
	if err != nil {
		return nil, fmt.Errorf("go tool nm %s: %v %s", path, err, stderr.Bytes())
	}
	syms, err := parseNM(outp)
	if err != nil {
		return nil, err
	}

	byName := map[string]*moduleSize{}
	var covered, codeTotal int64
	for _, s := range syms {
		sec := sectionOf(fileBacked, s.addr)
		if sec == nil || s.size == 0 {
			continue // not in the file: bss, or an absolute symbol
		}
		size := int64(s.size)
		covered += size
		mod := moduleOf(s.name, mods, info.Main.Path)
		if mod == "" {
			r.other += size
			continue
		}
		if to, ok := replaced[mod]; ok {
			mod += " => " + to
		}
		m := byName[mod]
		if m == nil {
			m = &moduleSize{name: mod}
			byName[mod] = m
		}
		if s.kind == 'T' || s.kind == 't' {
			m.code += size
			codeTotal += size
		} else {
			m.data += size
		}
	}
	// .gopclntab has no symbols of its own inside: share it out by code.
	var pclnSize, shared int64
	if pcln != nil {
		pclnSize = int64(pcln.Size)
	}
	for _, m := range byName {
		if codeTotal > 0 {
			m.lines = pclnSize * m.code / codeTotal
			shared += m.lines
		}
		r.modules = append(r.modules, *m)
	}
	r.rest = r.loaded - covered - shared
	slices.SortFunc(r.modules, func(a, b moduleSize) int {
		if c := b.total() - a.total(); c != 0 {
			if c > 0 {
				return 1
			}
			return -1
		}
		return strings.Compare(a.name, b.name)
	})
	return r, nil
}

func (r *report) write(out io.Writer, top int) {
	shown := r.modules
	if top > 0 && top < len(shown) {
		shown = shown[:top]
	}
	var more moduleSize
	for _, m := range r.modules[len(shown):] {
		more.code += m.code
		more.data += m.data
		more.lines += m.lines
	}
	type row struct {
		name                     string
		code, data, lines, total string
		n                        int64
	}
	rows := []row{{name: "module", code: "code", data: "data", lines: "pcln", total: "total"}}
	add := func(name string, code, data, lines string, total int64) {
		rows = append(rows, row{name, code, data, lines, commas(total), total})
	}
	for _, m := range shown {
		add(m.name, commas(m.code), commas(m.data), commas(m.lines), m.total())
	}
	if n := len(r.modules) - len(shown); n > 0 {
		label := fmt.Sprintf("(%d more modules)", n)
		if n == 1 {
			label = "(1 more module)"
		}
		add(label, commas(more.code), commas(more.data), commas(more.lines), more.total())
	}
	add("(type and function metadata, strings: no module)", "", commas(r.other), "", r.other)
	add("(headers, alignment, shared part of the pcln tables)", "", "", "", r.rest)
	width := 0
	for _, x := range rows {
		width = max(width, len(x.name))
	}

	fmt.Fprintf(out, "%s: %s bytes loaded (what a stripped build keeps), by module\n", r.binary, commas(r.loaded))
	fmt.Fprintf(out, "(pcln: the module's share of .gopclntab, the runtime's function tables, in proportion to its code)\n")
	for i, x := range rows {
		share := " share"
		if i > 0 {
			share = fmt.Sprintf("%5.1f%%", 100*float64(x.n)/float64(r.loaded))
		}
		fmt.Fprintf(out, "%-*s %10s %10s %10s %10s %s\n", width, x.name, x.code, x.data, x.lines, x.total, share)
	}
}

// symbol is one line of go tool nm -size -type.
type symbol struct {
	addr, size uint64
	kind       byte
	name       string
}

func parseNM(out []byte) ([]symbol, error) {
	var syms []symbol
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 4 {
			if strings.TrimSpace(line) == "" {
				continue
			}
			// Undefined symbols have no address.
			if len(f) == 3 && f[1] == "U" {
				continue
			}
			return nil, fmt.Errorf("go tool nm: unexpected line %q", line)
		}
		addr, err1 := strconv.ParseUint(f[0], 16, 64)
		size, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil || len(f[2]) != 1 {
			return nil, fmt.Errorf("go tool nm: unexpected line %q", line)
		}
		// A name may hold spaces (struct types, interface {}).
		name := strings.Join(f[3:], " ")
		syms = append(syms, symbol{addr: addr, size: size, kind: f[2][0], name: name})
	}
	return syms, sc.Err()
}

func sectionOf(secs []*elf.Section, addr uint64) *elf.Section {
	for _, s := range secs {
		if addr >= s.Addr && addr < s.Addr+s.Size {
			return s
		}
	}
	return nil
}

// moduleOf returns the module a symbol belongs to: the longest path among
// mods that the symbol's name starts with, then a dot or a slash; "std"
// for the standard library; or "" for symbols of no package, which the
// linker makes (type descriptors of unnamed types, function metadata).
// Type equality functions and interface tables count for the module of
// their (first) type; the package main counts for mainMod.
func moduleOf(name string, mods []string, mainMod string) string {
	for {
		trimmed := name
		for _, p := range []string{"type:.eq.", "type:.hash.", "go:itab.", "type:", ".gcmask."} {
			trimmed = strings.TrimPrefix(trimmed, p)
		}
		trimmed = strings.TrimLeft(trimmed, "*")
		// Array and slice types: [10]T, []T.
		if strings.HasPrefix(trimmed, "[") {
			if i := strings.IndexByte(trimmed, ']'); i > 0 && strings.Trim(trimmed[1:i], "0123456789") == "" {
				trimmed = trimmed[i+1:]
			}
		}
		if trimmed == name {
			break
		}
		name = trimmed
	}
	if strings.HasPrefix(name, "main.") {
		return mainMod
	}
	best := ""
	for _, m := range mods {
		if len(m) > len(best) && strings.HasPrefix(name, m) && len(name) > len(m) && (name[len(m)] == '.' || name[len(m)] == '/') {
			best = m
		}
	}
	if best != "" {
		return best
	}
	// The standard library's paths start with an element without dots
	// (runtime, crypto/tls, vendor/golang.org/x/net/idna); what is left
	// here with other characters up front is the linker's.
	end := strings.IndexAny(name, "./")
	if end <= 0 || strings.HasPrefix(name, "go:") || strings.HasPrefix(name, "go.") {
		return ""
	}
	for _, c := range name[:end] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return ""
		}
	}
	return "std"
}
