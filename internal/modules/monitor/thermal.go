package monitor

import (
	"bytes"
	"path/filepath"
	"sort"
)

// thermalZone is one /sys/class/thermal/thermal_zone*: its type (read
// once: it never changes) and its temperature file.
type thermalZone struct {
	name  string // thermal_zone0
	typ   string // cpu-thermal, soc-thermal, ...
	temp  *source
	milli int64 // millidegrees Celsius, from the latest sample
	ok    bool
}

// openThermal finds the zones under root (/sys/class/thermal); none on
// machines without sensors, which then publish no thermal node.
func openThermal(root string) []*thermalZone {
	dirs, _ := filepath.Glob(filepath.Join(root, "thermal_zone*"))
	sort.Strings(dirs)
	var zones []*thermalZone
	for _, d := range dirs {
		src := newSource(filepath.Join(d, "temp"), 64)
		if src == nil {
			continue
		}
		z := &thermalZone{name: filepath.Base(d), temp: src}
		if t := newSource(filepath.Join(d, "type"), 64); t != nil {
			if b, err := t.read(); err == nil {
				z.typ = string(bytes.TrimSpace(b))
			}
			t.close()
		}
		zones = append(zones, z)
	}
	return zones
}

// parseTemp reads a zone's temp file: millidegrees Celsius, "48312\n".
func parseTemp(b []byte) (int64, bool) {
	f, _ := field(b)
	return parseInt(f)
}
