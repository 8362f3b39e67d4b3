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

func user(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	sub, rest := args[0], args[1:]
	fs, file := newFlagSet("user "+sub, stderr)
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	var req admin.Request
	switch sub {
	case "add", "passwd", "del":
		req.Cmd = "user-" + sub
	case "list":
		req.Cmd = "user-list"
	default:
		fmt.Fprintf(stderr, "xmppd: unknown user command %q\n\n%s", sub, usage)
		return 2
	}
	// Flags may come before or after the JID.
	var pos []string
	for len(rest) > 0 {
		if status, ok := parseFlags(fs, rest, 1<<20, stderr); !ok {
			return status
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	switch {
	case req.Cmd == "user-list" && len(pos) <= 1:
		if len(pos) == 1 {
			req.Domain = pos[0]
		}
	case req.Cmd != "user-list" && len(pos) == 1:
		req.JID = pos[0]
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if sub == "add" || sub == "passwd" {
		pw, err := readPassword(stdin, stderr, *fromStdin)
		if err != nil {
			fmt.Fprintln(stderr, "xmppd: user:", err)
			return 1
		}
		req.Password = pw
	}
	cfg, _, err := loadConfig(*file)
	if err != nil {
		fmt.Fprintln(stderr, "xmppd: user:", err)
		return 1
	}
	resp, err := call(cfg, req)
	if err == nil && resp.Error != "" {
		err = errors.New(resp.Error)
	}
	if err != nil {
		fmt.Fprintf(stderr, "xmppd: user %s: %v\n", sub, err)
		return 1
	}
	for _, u := range resp.Users {
		fmt.Fprintln(stdout, u)
	}
	return 0
}

// call asks the running daemon; with none, it opens the store itself, which
// only works while no daemon holds it.
func call(cfg *config.Config, req admin.Request) (admin.Response, error) {
	resp, err := admin.Call(cfg.AdminSocket, req)
	if !errors.Is(err, admin.ErrNoDaemon) {
		return resp, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := core.New(cfg, quiet)
	if errors.Is(err, storage.ErrLocked) {
		return resp, fmt.Errorf("%w; and its admin socket %s does not answer", err, cfg.AdminSocket)
	}
	if err != nil {
		return resp, err
	}
	defer srv.Stop()
	return admin.Handle(srv, req), nil
}

// readPassword takes the password from the first line of stdin, or prompts
// for it with echo off when stdin is a terminal.
func readPassword(stdin *os.File, stderr io.Writer, fromStdin bool) (string, error) {
	fd := int(stdin.Fd())
	term, termErr := unix.IoctlGetTermios(fd, unix.TCGETS)
	if !fromStdin {
		if termErr != nil {
			return "", errors.New("standard input is not a terminal: pass the password with --password-stdin")
		}
		fmt.Fprint(stderr, "Password: ")
		noEcho := *term
		noEcho.Lflag &^= unix.ECHO
		unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho)
		defer func() {
			unix.IoctlSetTermios(fd, unix.TCSETS, term)
			fmt.Fprintln(stderr)
		}()
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
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
	if status, ok := parseFlags(fs, args, 0, stderr); !ok {
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
	fmt.Fprintf(stdout, "version:    %s\nuptime:     %s\nhosts:      %s\nsessions:   %d (%d users)\nmemory:     %.1f MiB RSS, %.1f MiB heap in use, %.1f MiB from the OS\ngoroutines: %d\n",
		st.Version, st.Uptime, strings.Join(st.Hosts, ", "), st.Sessions, st.Users,
		float64(st.RSSBytes)/(1<<20), float64(st.HeapBytes)/(1<<20), float64(st.SysBytes)/(1<<20), st.Goroutines)
	if len(st.Modules) > 0 {
		b, _ := json.MarshalIndent(st.Modules, "", "  ")
		fmt.Fprintf(stdout, "modules:    %s\n", b)
	}
	return 0
}
