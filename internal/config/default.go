// Package config holds xmppd's configuration in UCI syntax.
package config

import _ "embed"

// defaultUCI is embedded so the binary can start on a device with no config file at all.
//
//go:embed default.uci
var defaultUCI []byte

// Default returns the configuration used when no file is given.
func Default() []byte {
	// A copy, so a caller that edits the bytes cannot change what the next caller sees.
	return append([]byte(nil), defaultUCI...)
}
