package main

import (
	"fmt"
	"io"
	"path/filepath"

	"xmppd/internal/certs"
)

// The help text lives here rather than in main.go's table so the packaging
// command stays in one file.
func init() {
	helps["cert"] = cmdHelp{"xmppd cert [-c FILE]", `
Makes the self-signed certificate that serve would make at its first start
for the enabled hosts without cert and key, and prints its file names. A
certificate that exists and covers those hosts is kept. Packaging scripts
run it at install time so the certificate exists before the first client
connects and can be listed among the files kept on upgrade.
`}
}

// cert creates data_dir/certs/selfsigned.{crt,key} through the same code
// the c2s module uses, so the files are the ones serve then loads.
func cert(args []string, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("cert", stderr)
	if _, status, ok := parseArgs(fs, "cert", args, nil, stdout, stderr); !ok {
		return status
	}
	cfg, _, err := loadConfig(*file)
	if err != nil {
		fmt.Fprintln(stderr, "xmppd: cert:", err)
		return 1
	}
	var hosts []string
	for _, h := range cfg.Hosts {
		if h.Enabled && h.Cert == "" {
			hosts = append(hosts, h.Domain)
		}
	}
	if len(hosts) == 0 {
		fmt.Fprintln(stdout, "every enabled host has its own cert and key; nothing to make")
		return 0
	}
	p, err := certs.SelfSigned(filepath.Join(cfg.DataDir, "certs"), hosts)
	if err != nil {
		fmt.Fprintln(stderr, "xmppd: cert:", err)
		return 1
	}
	fmt.Fprintln(stdout, p.Cert)
	fmt.Fprintln(stdout, p.Key)
	return 0
}
