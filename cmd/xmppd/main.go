// Command xmppd is an XMPP server for routers and edge devices.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"xmppd/internal/config"
	"xmppd/internal/version"
)

// systemConfig is where OpenWrt keeps UCI files; a var so tests can point it elsewhere
// and not depend on the machine they run on.
var systemConfig = "/etc/config/xmppd"

const usage = `usage: xmppd <command> [flags]

commands:
  serve [-c FILE]   run the server (configuration: FILE, else /etc/config/xmppd,
                    else the built-in default)
  version           print the version and exit
  help              print this help
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process around it, so tests can call it and read the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(rest, stdout, stderr)
	case "version":
		return printVersion(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "xmppd: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// newFlagSet returns a FlagSet that reports errors instead of exiting, so run stays testable.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("xmppd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and turns the outcome into an exit status; ok is false when
// the command should stop (help was asked for, or the flags were wrong).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (status int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return 2, false
	}
	return 0, true
}

func printVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", stderr)
	if status, ok := parseFlags(fs, args, stderr); !ok {
		return status
	}
	fmt.Fprintln(stdout, version.String())
	return 0
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", stderr)
	file := fs.String("c", "", "configuration `FILE` in UCI syntax")
	if status, ok := parseFlags(fs, args, stderr); !ok {
		return status
	}

	source, text, err := loadConfig(*file)
	if err != nil {
		fmt.Fprintf(stderr, "xmppd: serve: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, version.String())
	fmt.Fprintf(stdout, "configuration: %s\n\n", source)
	stdout.Write(text)
	if !bytes.HasSuffix(text, []byte("\n")) {
		fmt.Fprintln(stdout)
	}

	// Exit non-zero: a zero status would tell scripts and service managers that a
	// server ran when none did.
	fmt.Fprintln(stderr, "xmppd: serve: the XMPP server is not part of this build yet; see README.md")
	return 2
}

// loadConfig picks the configuration the way the server will: an explicit file must exist,
// the system file is used when present, and the embedded default fills in otherwise.
func loadConfig(file string) (source string, text []byte, err error) {
	if file != "" {
		text, err := os.ReadFile(file)
		if err != nil {
			return "", nil, fmt.Errorf("cannot read configuration given with -c: %w", err)
		}
		return file, text, nil
	}
	text, err = os.ReadFile(systemConfig)
	switch {
	case err == nil:
		return systemConfig, text, nil
	case !errors.Is(err, os.ErrNotExist):
		// Present but unreadable is a mistake to report, not a reason to fall back silently.
		return "", nil, fmt.Errorf("cannot read %s: %w", systemConfig, err)
	}
	return "built-in default (no -c given and " + systemConfig + " not found)", config.Default(), nil
}
