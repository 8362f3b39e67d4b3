package config

import (
	"math"
	"strconv"
)

// OptionDoc describes one option of the tables, for the admin UI's forms.
type OptionDoc struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"` // string, path, boolean, integer, duration, size, enum, list
	Default string   `json:"default,omitempty"`
	Min     string   `json:"min,omitempty"`
	Max     string   `json:"max,omitempty"`
	Allowed []string `json:"allowed,omitempty"`
	Doc     string   `json:"doc"`
}

// Docs returns the documented options of a section type: xmppd, host,
// listener or module (only module and host, which xmppd reads itself).
func Docs(sectionType string) []OptionDoc {
	var opts []option
	switch sectionType {
	case "xmppd":
		opts = mainOptions(&Config{})
	case "host":
		opts = hostOptions(&Host{})
	case "listener":
		opts = listenerOptions(&Listener{})
	case "module":
		opts = moduleOptions(&moduleMeta{})
	}
	out := make([]OptionDoc, len(opts))
	for i, o := range opts {
		def := o.def
		if def == "" {
			def = o.defDoc
		}
		out[i] = OptionDoc{Name: o.name, Type: kindNames[o.kind], Default: def, Min: o.min, Max: o.max, Allowed: o.allowed, Doc: o.doc}
	}
	return out
}

// Asked returns the options read reads, with the type, default and bounds
// it reads each with, by running it over an empty section: for a module's
// options, which live in its code and README rather than in a table.
func Asked(read func(r *Reader)) []OptionDoc {
	var out []OptionDoc
	r := NewReader("", nil)
	r.asked = &out
	read(r)
	return out
}

// note records an option for Asked; unbounded limits are left out.
func (r *Reader) note(name string, k kind, def, min, max string, allowed []string) {
	if r.asked == nil {
		return
	}
	for _, huge := range []string{strconv.Itoa(math.MaxInt), strconv.Itoa(math.MinInt), formatDuration(math.MaxInt64), formatDuration(math.MinInt64), formatSize(math.MaxInt64)} {
		if min == huge {
			min = ""
		}
		if max == huge {
			max = ""
		}
	}
	for _, d := range *r.asked {
		if d.Name == name {
			return
		}
	}
	*r.asked = append(*r.asked, OptionDoc{Name: name, Type: kindNames[k], Default: def, Min: min, Max: max, Allowed: allowed})
}

func boolText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
