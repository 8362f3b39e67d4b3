// Command xmppd is an XMPP server for routers and edge devices.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"xmppd/internal/config"
	"xmppd/internal/version"
)

// systemConfig is where OpenWrt keeps UCI files, and runConfig libuci's
// override (UCI_CONF2DIR, since 2025): when /var/run/uci/xmppd exists, uci
// and LuCI read and write it instead of /etc/config/xmppd, so xmppd does too.
// Vars so tests can point them elsewhere and not depend on the machine.
var (
	systemConfig = "/etc/config/xmppd"
	runConfig    = "/var/run/uci/xmppd"
)

const usage = `usage: xmppd [-c FILE] <command> [arguments]

commands:
  serve                               run the server
  user add JID [--password-stdin]     create an account (password asked twice on a terminal)
  user passwd JID [--password-stdin]  change an account's password
  user del JID                        delete an account and all its data
  user list [DOMAIN]                  list accounts
  check                               check the configuration as serve would, changing nothing
  status                              PID, sessions, memory and uptime of the running server
  reload                              make the running server read its configuration again
  stop                                stop the running server and wait until it has exited
  cert                                make the self-signed certificate serve would make
  publish --node NODE key=value ...   publish an item to a PEP node (also --xml FILE)
  items --node NODE                   the items of a PEP node
  version                             print the version (also: xmppd --version)
  help [COMMAND]                      describe a command (also: xmppd COMMAND --help)

-c FILE, before or after the command, names the configuration; without it
xmppd reads /var/run/uci/xmppd or else /etc/config/xmppd, as uci does,
when one exists, else its built-in default
(domain localhost, data under ./var). The commands find a running server
through the admin socket the configuration names.
`

// cmdHelp describes one command for `xmppd help COMMAND` and `--help`.
type cmdHelp struct {
	synopsis string // the usage line after "usage: "
	text     string
}

var helps = map[string]cmdHelp{
	"serve": {"xmppd serve [-c FILE]", `
Runs the server in the foreground until SIGTERM or SIGINT.

Before it starts, serve checks the configuration exactly as xmppd check does
and refuses to start on any problem, printing each with its file and line.

SIGHUP reads the configuration again. A file with errors changes nothing and
every error is logged, on each SIGHUP. Otherwise the log level, memory
settings, modules and their options, client connection options, listeners
and certificates change without dropping a session; a part that fails is
logged with what stayed as it was. The data directory, admin socket, stanza
size limit, storage sizes and the set of hosts and their certificate files
change only at a restart, and each SIGHUP logs the ones still waiting for it.
Until then the server also answers on the admin socket the file names, so
the other commands still reach it (see xmppd help user).
`},
	"check": {"xmppd check [-c FILE]", `
Checks the configuration as serve does before it starts, and changes
nothing: syntax and option values, module names and every module's options,
the certificate and key files of each host, that the data directory and the
admin socket's folder take new files (a temporary file is made and removed),
and that each listener's address can be bound (it is bound and released).

Every problem is printed as FILE:LINE: message. The exit status is 0 when
serve would start, 1 when it would not.

While an xmppd runs with this configuration, its admin socket, data
directory and ports are in use, which would stop a second serve; check
prints those as warnings (FILE:LINE: warning: ... in use by xmppd (pid N))
and still exits 0, since it is usually run before a reload or a restart of
that very server. A port held by any other program is an error.
`},
	"user": {"xmppd user add|passwd|del|list ... [-c FILE]", `
Manages accounts: see xmppd help user add, user passwd, user del and
user list.

The commands go through the admin socket of the running server, so they act
on the store it uses; with no server running they open the data directory
themselves. After a SIGHUP whose data_dir change waits for a restart, add,
passwd and del refuse to run, since they would change accounts the server
is about to leave behind: restart it first.
`},
	"user add": {"xmppd user add JID [--password-stdin] [-c FILE]", `
Creates the account JID (user@domain, on a domain the server serves).

On a terminal the password is asked twice, without echo, and both must
match. With --password-stdin the first line of standard input is the
password, which is how scripts pass it.
`},
	"user passwd": {"xmppd user passwd JID [--password-stdin] [-c FILE]", `
Sets a new password for the account JID; it is asked as for user add.
`},
	"user del": {"xmppd user del JID [-c FILE]", `
Deletes the account JID with its roster and all other data, and closes its
sessions.
`},
	"user list": {"xmppd user list [DOMAIN] [-c FILE]", `
Lists the accounts of DOMAIN, or of every domain served, one JID a line.
`},
	"status": {"xmppd status [-c FILE]", `
Shows the version, PID, uptime, hosts, sessions, memory and module health
of the running server, asked through its admin socket.
`},
	"reload": {"xmppd reload [-c FILE]", `
Makes the running server read its configuration again, as SIGHUP does (see
xmppd help serve), through its admin socket, and waits for the outcome:
"reloaded" and exit status 0 when all of it applied; the errors and status
1 when the file has mistakes (nothing changed) or a part did not apply.
Changes that wait for a restart are logged by the server.
`},
	"stop": {"xmppd stop [-c FILE] [-wait DURATION]", `
Stops the running server, as SIGTERM does, through its admin socket, and
waits until its process has exited (at most -wait, default 1m), so that a
start right after finds the ports and the store free. Exit status 0 once it
is gone.

Under procd or systemd, stop the service with /etc/init.d/xmppd stop or
systemctl stop xmppd instead: procd restarts a daemon that exits on its own.
`},
	"publish": {"xmppd publish --node NODE [--jid ACCOUNT] [--id ID] key=value ... | --xml FILE|- [-c FILE]", `
Publishes one item to the PEP node NODE of ACCOUNT through the running
server, as the account itself would: the node is made on first publish, and
the account's contacts and subscribers are notified. Without --jid the
account is the monitor's (module monitor, option jid), else monitor@ the
first host.

key=value pairs become
<values xmlns='urn:xmppd:values:0'><value name='key'>value</value>...</values>;
--xml publishes the one XML element in FILE, or on standard input with -.
The item's id is --id, or a random one; it is printed.
` + pubsubStatuses},
	"items": {"xmppd items --node NODE [--jid ACCOUNT] [--max N] [-c FILE]", `
Prints the items of the PEP node NODE of ACCOUNT (without --jid: the
monitor's), oldest first, one a line: the id, a space, the payload. --max N
prints the newest N only.
` + pubsubStatuses},
	"version": {"xmppd version", `
Prints the version of this binary; xmppd --version does the same.
`},
	"help": {"xmppd help [COMMAND]", `
Describes a command, as in xmppd help serve or xmppd help user add; without
one, lists them all.
`},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process around it, so tests can call it and read
// the exit status: 0 success, 1 failure, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	// Options before the command: -c FILE, help and version.
	var global []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		switch a := args[0]; {
		case a == "-h" || a == "-help" || a == "--help":
			fmt.Fprint(stdout, usage)
			return 0
		case a == "-version" || a == "--version":
			fmt.Fprintln(stdout, version.String())
			return 0
		case a == "-c" || a == "--c":
			if len(args) < 2 {
				fmt.Fprintf(stderr, "xmppd: %s needs a FILE\n\n%s", a, usage)
				return 2
			}
			global, args = append(global, "-c", args[1]), args[2:]
		case strings.HasPrefix(a, "-c=") || strings.HasPrefix(a, "--c="):
			global, args = append(global, a), args[1:]
		default:
			fmt.Fprintf(stderr, "xmppd: unknown option %s\n\n%s", a, usage)
			return 2
		}
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "xmppd: missing the command\n\n%s", usage)
		return 2
	}
	// A -c before the command goes first, so one after it wins.
	cmd, rest := args[0], append(global, args[1:]...)
	switch cmd {
	case "serve":
		return serve(rest, stdout, stderr)
	case "user":
		return user(rest, os.Stdin, stdout, stderr)
	case "check":
		return check(rest, stdout, stderr)
	case "status":
		return status(rest, stdout, stderr)
	case "reload":
		return reloadCmd(rest, stdout, stderr)
	case "stop":
		return stopCmd(rest, stdout, stderr)
	case "cert":
		return cert(rest, stdout, stderr)
	case "publish":
		return publish(rest, os.Stdin, stdout, stderr)
	case "items":
		return items(rest, stdout, stderr)
	case "version":
		return printVersion(rest, stdout, stderr)
	case "help":
		return help(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "xmppd: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// help prints the description of the command named by args.
func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 0
	}
	name := strings.Join(args, " ")
	if name == "-h" || name == "-help" || name == "--help" {
		name = "help"
	}
	h, ok := helps[name]
	if !ok {
		fmt.Fprintf(stderr, "xmppd help: no command %q\n\n%s", name, usage)
		return 2
	}
	fmt.Fprintf(stdout, "usage: %s\n%s", h.synopsis, h.text)
	return 0
}

// newFlagSet returns a FlagSet for command name (as in helps) that reports
// errors instead of exiting, with the -c flag every command takes.
func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("xmppd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parseArgs prints the command's own usage
	file := fs.String("c", "", "configuration `FILE` in UCI syntax")
	return fs, file
}

// arg names one positional argument of a command.
type arg struct {
	name     string // as in the synopsis: JID, DOMAIN
	optional bool
	example  string // shown when it is missing
}

// parseArgs parses the flags of command name, which may come before, after
// or between its arguments, and checks the arguments against want. ok is
// false when the command should stop with status: 0 after --help, 2 after
// a usage error, which is explained.
func parseArgs(fs *flag.FlagSet, name string, args []string, want []arg, stdout, stderr io.Writer) (pos []string, status int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help(strings.Fields(name), stdout, stderr)
				return nil, 0, false
			}
			return nil, commandUsage(name, stderr), false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) > len(want) {
		takes := "none"
		switch {
		case len(want) == 1 && want[0].optional:
			takes = "at most one " + want[0].name
		case len(want) == 1:
			takes = "one " + want[0].name
		}
		fmt.Fprintf(stderr, "xmppd %s: unexpected argument %q: it takes %s\n", name, pos[len(want)], takes)
		return nil, commandUsage(name, stderr), false
	}
	for _, a := range want[len(pos):] {
		if !a.optional {
			fmt.Fprintf(stderr, "xmppd %s: missing %s, as in %s\n", name, a.name, a.example)
			return nil, commandUsage(name, stderr), false
		}
	}
	return pos, 0, true
}

// commandUsage prints the usage line of command name and returns the
// status of a usage error.
func commandUsage(name string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "usage: %s\n(xmppd help %s tells more)\n", helps[name].synopsis, name)
	return 2
}

func printVersion(args []string, stdout, stderr io.Writer) int {
	fs, _ := newFlagSet("version", stderr)
	if _, status, ok := parseArgs(fs, "version", args, nil, stdout, stderr); !ok {
		return status
	}
	fmt.Fprintln(stdout, version.String())
	return 0
}

// configPath picks the configuration file the way every command does: an
// explicit file, else the override in /var/run/uci, else the system file,
// else "" (the built-in default).
func configPath(file string) (string, error) {
	if file != "" {
		if _, err := os.Stat(file); err != nil {
			return "", fmt.Errorf("cannot read the configuration given with -c: %w", err)
		}
		return file, nil
	}
	for _, path := range []string{runConfig, systemConfig} {
		switch _, err := os.Stat(path); {
		case err == nil:
			return path, nil
		case !errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("cannot read %s: %w", path, err)
		}
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
