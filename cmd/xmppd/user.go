package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/modules/admin"
	"xmppd/internal/storage"
)

var jidArg = arg{name: "JID", example: "juliet@localhost"}

func user(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	// The user command (add, passwd, ...) is the first word that is not a
	// flag; flags may come before it, as in xmppd -c FILE user add JID.
	sub, rest := "", args
	for i := 0; i < len(args) && sub == ""; i++ {
		switch a := args[i]; {
		case a == "-h" || a == "-help" || a == "--help":
			return help([]string{"user"}, stdout, stderr)
		case a == "-c" || a == "--c":
			i++ // its FILE
		case !strings.HasPrefix(a, "-"):
			sub, rest = a, append(args[:i:i], args[i+1:]...)
		}
	}
	var want []arg
	var req admin.Request
	switch sub {
	case "add", "passwd", "del":
		req.Cmd, want = "user-"+sub, []arg{jidArg}
	case "list":
		req.Cmd, want = "user-list", []arg{{name: "DOMAIN", optional: true}}
	case "":
		fmt.Fprintln(stderr, "xmppd user: missing the user command: add, passwd, del or list")
		return commandUsage("user", stderr)
	default:
		fmt.Fprintf(stderr, "xmppd user: unknown user command %q: use add, passwd, del or list\n", sub)
		return commandUsage("user", stderr)
	}
	name := "user " + sub
	fs, file := newFlagSet(name, stderr)
	var fromStdin *bool
	if sub == "add" || sub == "passwd" {
		fromStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	}
	pos, status, ok := parseArgs(fs, name, rest, want, stdout, stderr)
	if !ok {
		return status
	}
	if req.Cmd == "user-list" {
		if len(pos) == 1 {
			req.Domain = pos[0]
		}
	} else {
		req.JID = pos[0]
	}
	cfg, _, err := loadConfig(*file)
	if err != nil {
		fmt.Fprintf(stderr, "xmppd %s: %v\n", name, err)
		return 1
	}
	if req.Cmd != "user-list" {
		if err := sameStore(cfg); err != nil {
			fmt.Fprintf(stderr, "xmppd %s: %v\n", name, err)
			return 1
		}
	}
	if fromStdin != nil {
		pw, err := readPassword(stdin, stderr, *fromStdin)
		if err != nil {
			fmt.Fprintf(stderr, "xmppd %s: %v\n", name, err)
			return 1
		}
		req.Password = pw
	}
	resp, hosts, err := call(cfg, req)
	if err == nil && resp.Error != "" {
		err = errors.New(resp.Error)
		if resp.Error == core.ErrUnknownHost.Error() {
			domain := req.Domain
			if i := strings.LastIndexByte(req.JID, '@'); i >= 0 {
				domain = req.JID[i+1:]
			}
			err = fmt.Errorf("%s is %s; it serves %s", domain, resp.Error, strings.Join(hosts(), ", "))
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "xmppd %s: %v\n", name, err)
		return 1
	}
	for _, u := range resp.Users {
		fmt.Fprintln(stdout, u)
	}
	return 0
}

// sameStore refuses when the server answering on cfg's admin socket does
// not hold cfg's store: after a SIGHUP that changed data_dir, which waits
// for a restart, an account written through it would land in the store
// the server is about to leave.
func sameStore(cfg *config.Config) error {
	pid, answers := cfg.AdminPID()
	if !answers || pid == 0 {
		return nil
	}
	switch holder := cfg.StorePID(); holder {
	case pid:
		return nil
	case 0:
		return fmt.Errorf("the xmppd answering on %s (pid %d) does not use the data directory %s that the configuration names: "+
			"a changed data_dir takes effect when it restarts, so restart it first", cfg.AdminSocket, pid, cfg.DataDir)
	default:
		return fmt.Errorf("the xmppd answering on %s (pid %d) does not use the data directory %s, which pid %d holds: "+
			"a changed data_dir or admin_socket takes effect when xmppd restarts, so restart them first", cfg.AdminSocket, pid, cfg.DataDir, holder)
	}
}

// call asks the running daemon; with none, it opens the store itself, which
// only works while no daemon holds it. hosts lists the domains served by
// whichever answered, for messages.
func call(cfg *config.Config, req admin.Request) (admin.Response, func() []string, error) {
	resp, err := admin.Call(cfg.AdminSocket, req)
	if !errors.Is(err, admin.ErrNoDaemon) {
		return resp, func() []string {
			st, err := admin.Call(cfg.AdminSocket, admin.Request{Cmd: "status"})
			if err != nil || st.Status == nil {
				return []string{"(the server did not say)"}
			}
			return st.Status.Hosts
		}, err
	}
	if pid := cfg.StorePID(); pid != 0 {
		return resp, nil, fmt.Errorf("the data directory %s is in use by xmppd (pid %d), which does not answer on the admin socket %s: "+
			"it runs with another admin_socket (a change of admin_socket takes effect when it restarts); use the configuration it started with, or restart it",
			cfg.DataDir, pid, cfg.AdminSocket)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := core.New(cfg, quiet)
	if errors.Is(err, storage.ErrLocked) {
		return resp, nil, fmt.Errorf("%w; and its admin socket %s does not answer", err, cfg.AdminSocket)
	}
	if err != nil {
		return resp, nil, err
	}
	defer srv.Stop()
	var hosts []string
	for _, h := range srv.Hosts() {
		hosts = append(hosts, h.Name)
	}
	return admin.Handle(srv, req), func() []string { return hosts }, nil
}

// readPassword reads the password: the first line of stdin with
// --password-stdin, else from the terminal stdin must be, asked twice with
// echo off so that a typing mistake is not what gets saved.
func readPassword(stdin *os.File, stderr io.Writer, fromStdin bool) (string, error) {
	in := bufio.NewReader(stdin)
	if fromStdin {
		return readLine(in)
	}
	fd := int(stdin.Fd())
	term, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", errors.New("standard input is not a terminal: pass the password with --password-stdin")
	}
	noEcho := *term
	noEcho.Lflag &^= unix.ECHO
	unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho)
	defer unix.IoctlSetTermios(fd, unix.TCSETS, term)
	fmt.Fprint(stderr, "Password: ")
	pw, err := readLine(in)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(stderr, "Password again: ")
	again, err := readLine(in)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords differ; nothing was changed")
	}
	return pw, nil
}

// readLine reads one password line.
func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", errors.New("no password given")
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

func status(args []string, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("status", stderr)
	if _, status, ok := parseArgs(fs, "status", args, nil, stdout, stderr); !ok {
		return status
	}
	cfg, _, err := loadConfig(*file)
	if err != nil {
		fmt.Fprintln(stderr, "xmppd: status:", err)
		return 1
	}
	resp, err := admin.Call(cfg.AdminSocket, admin.Request{Cmd: "status"})
	if err != nil {
		fmt.Fprintf(stderr, "xmppd: status: %v (%s)\n", err, cfg.AdminSocket)
		return 1
	}
	st := resp.Status
	fmt.Fprintf(stdout, "version:    %s\npid:        %d\nuptime:     %s\nhosts:      %s\nsessions:   %d (%d users)\nmemory:     %.1f MiB RSS, %.1f MiB heap in use, %.1f MiB from the OS\ngoroutines: %d\n",
		st.Version, st.PID, st.Uptime, strings.Join(st.Hosts, ", "), st.Sessions, st.Users,
		float64(st.RSSBytes)/(1<<20), float64(st.HeapBytes)/(1<<20), float64(st.SysBytes)/(1<<20), st.Goroutines)
	if len(st.Modules) > 0 {
		b, _ := json.MarshalIndent(st.Modules, "", "  ")
		fmt.Fprintf(stdout, "modules:    %s\n", b)
	}
	return 0
}
