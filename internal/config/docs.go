package config

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
