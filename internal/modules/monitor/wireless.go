package monitor

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// wifiIface counts the stations associated with one wireless interface.
// The kernel lists them only in debugfs, one directory per station under
// /sys/kernel/debug/ieee80211/phyN/netdev:IFACE/stations (mac80211
// drivers; OpenWrt mounts debugfs by default). Without debugfs there is
// no count and no wireless node.
type wifiIface struct {
	name    string
	dir     *os.File
	buf     []byte
	clients int
}

// openWireless finds the stations directories under root
// (/sys/kernel/debug/ieee80211).
func openWireless(root string) []*wifiIface {
	dirs, _ := filepath.Glob(filepath.Join(root, "phy*", "netdev:*", "stations"))
	sort.Strings(dirs)
	var out []*wifiIface
	for _, d := range dirs {
		f, err := os.Open(d)
		if err != nil {
			continue
		}
		name := strings.TrimPrefix(filepath.Base(filepath.Dir(d)), "netdev:")
		out = append(out, &wifiIface{name: name, dir: f, buf: make([]byte, 4096)})
	}
	return out
}

// count reads the directory again from its start and counts its entries.
func (w *wifiIface) count() bool {
	fd := int(w.dir.Fd())
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return false
	}
	n := 0
	for {
		k, err := unix.Getdents(fd, w.buf)
		if err != nil {
			return false
		}
		if k == 0 {
			break
		}
		n += countDirents(w.buf[:k])
	}
	w.clients = n
	return true
}

// countDirents counts the entries of a getdents64 buffer other than "."
// and "..": each record is ino (8), off (8), reclen (2), type (1), name.
func countDirents(b []byte) int {
	n := 0
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		name := b[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if len(name) > 0 && string(name) != "." && string(name) != ".." {
			n++
		}
		b = b[reclen:]
	}
	return n
}
