// Package version answers XEP-0092 software version queries to the server:
// name xmppd, the release it was built as and, only when configured, the
// operating system.
package version

import (
	"os"
	"runtime"
	"strings"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
	buildversion "xmppd/internal/version"
)

// NS is the namespace of XEP-0092.
const NS = "jabber:iq:version"

// Name is the software name the server reports.
const Name = "xmppd"

func init() {
	core.Register(core.ModuleInfo{Name: "version", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readShowOS(r) }})
}

// readShowOS reads the module's options, for Load and for the
// configuration checks alike. XEP-0092 §5: the operating system may help
// an attacker, so an administrator must be able to withhold it; here it is
// withheld unless asked for.
func readShowOS(opts *config.Reader) bool {
	show := opts.Bool("show_os", false)
	opts.Unknown()
	return show
}

// Module answers software version queries.
type Module struct {
	// payload is the <query/> of every answer, built once: nothing in it
	// changes while the server runs.
	payload []byte
}

// Load builds the answer and hooks version queries to the server.
func (m *Module) Load(api *core.API) error {
	osName := ""
	if readShowOS(api.Options()) {
		osName = operatingSystem()
	}
	m.payload = query(buildversion.Version, osName)
	api.AddFeature(NS)
	api.Hook(core.IQEvent(core.TargetHost, NS, "query"), core.PriorityModule, m.answer)
	return nil
}

// query writes the <query/> of a result (XEP-0092 §2: name and version are
// required, os is optional).
func query(version, osName string) []byte {
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", NS)
	b.Start("name").Text(Name).End()
	b.Start("version").Text(version).End()
	if osName != "" {
		b.Start("os").Text(osName).End()
	}
	return b.Bytes()
}

// answer answers a get; a set, which XEP-0092 does not define, is left to
// the fallback's service-unavailable.
func (m *Module) answer(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "get" || ev.Origin == nil {
		return false
	}
	core.Result(ev, m.payload)
	return true
}

// operatingSystem names the kernel, its release and the architecture, as in
// "Linux 5.15.167 mipsle": what an administrator reading a client's
// version display wants to know of a router.
func operatingSystem() string {
	name, release := kernel()
	if name == "" {
		name = runtime.GOOS
	}
	s := name
	if release != "" {
		s += " " + release
	}
	return s + " " + runtime.GOARCH
}

// kernel reads the kernel's name and release where Linux publishes them;
// elsewhere both are "".
func kernel() (name, release string) {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return read("/proc/sys/kernel/ostype"), read("/proc/sys/kernel/osrelease")
}

var _ core.Module = (*Module)(nil)
