// Command xmppd is an XMPP server for routers and edge devices.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"xmppd/internal/config"
	"xmppd/internal/version"
)

// systemConfig is where OpenWrt keeps UCI files; a var so tests can point it
// elsewhere and not depend on the machine they run on.
var systemConfig = "/etc/config/xmppd"

const usage = `usage: xmppd <command> [flags]

commands:
  serve [-c FILE]                     run the server
  user add JID [--password-stdin]     create an account (password prompted on a terminal)
  user passwd JID [--password-stdin]  change an account's password
  user del JID                        delete an account and all its data
  user list [DOMAIN]                  list accounts
  check [-c FILE]                     validate the configuration
  status [-c FILE]                    sessions, memory and uptime of the running server
  version                             print the version

Every command takes -c FILE; without it xmppd reads /etc/config/xmppd when it
exists, else its built-in default (domain localhost, data under ./var). The
commands find a running server through the admin socket the configuration names.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process around it, so tests can call it and read
// the exit status: 0 success, 1 failure, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(rest, stdout, stderr)
	case "user":
		return user(rest, os.Stdin, stdout, stderr)
	case "check":
		return check(rest, stdout, stderr)
	case "status":
		return status(rest, stdout, stderr)
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

// newFlagSet returns a FlagSet that reports errors instead of exiting, with
// the -c flag every command takes.
func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("xmppd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "configuration `FILE` in UCI syntax")
	return fs, file
}

// parseFlags parses args; ok is false when the command should stop with status.
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int, stderr io.Writer) (status int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > maxArgs {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(maxArgs))
		fmt.Fprint(stderr, usage)
		return 2, false
	}
	return 0, true
}

func printVersion(args []string, stdout, stderr io.Writer) int {
	fs, _ := newFlagSet("version", stderr)
	if status, ok := parseFlags(fs, args, 0, stderr); !ok {
		return status
	}
	fmt.Fprintln(stdout, version.String())
	return 0
}

// configPath picks the configuration file the way every command does: an
// explicit file, else the system file when present, else "" (the built-in
// default).
func configPath(file string) (string, error) {
	if file != "" {
		if _, err := os.Stat(file); err != nil {
			return "", fmt.Errorf("cannot read the configuration given with -c: %w", err)
		}
		return file, nil
	}
	switch _, err := os.Stat(systemConfig); {
	case err == nil:
		return systemConfig, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("cannot read %s: %w", systemConfig, err)
	}
	return "", nil
}

// loadConfig reads and maps the configuration, describing where it came from.
func loadConfig(file string) (*config.Config, string, error) {
	path, err := configPath(file)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(path)
	if path == "" {
		path = "built-in default"
	}
	return cfg, path, err
}

func check(args []string, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("check", stderr)
	if status, ok := parseFlags(fs, args, 0, stderr); !ok {
		return status
	}
	path, err := configPath(*file)
	if err != nil {
		fmt.Fprintln(stderr, "xmppd: check:", err)
		return 1
	}
	errs := config.CheckFile(path)
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	if len(errs) > 0 {
		fmt.Fprintf(stderr, "xmppd: check: %d error(s)\n", len(errs))
		return 1
	}
	if path == "" {
		path = "built-in default"
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return 0
}
