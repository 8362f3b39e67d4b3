// Package version reports which build of xmppd is running.
package version

import "runtime"

// Version is the release name; release builds set it with
// -ldflags "-X xmppd/internal/version.Version=...", so it must stay a var.
var Version = "dev"

// String returns the version line shown by `xmppd version`, e.g. "xmppd dev (go1.26.8 linux/amd64)".
func String() string {
	return "xmppd " + Version + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}
