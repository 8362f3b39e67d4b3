package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"xmppd/internal/config"
	"xmppd/internal/core"
)

func check(args []string, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("check", stderr)
	if _, status, ok := parseArgs(fs, "check", args, nil, stdout, stderr); !ok {
		return status
	}
	path, err := configPath(*file)
	if err != nil {
		fmt.Fprintln(stderr, "xmppd: check:", err)
		return 1
	}
	// Syntax and option values first: the checks after them need a
	// configuration that maps.
	errs := config.CheckFile(path)
	var busy []error
	if len(errs) == 0 {
		cfg, err := config.Load(path)
		if err != nil {
			errs = []error{err}
		} else {
			errs, busy = core.Check(cfg)
			// Checked whoever runs check: serve needs the account only
			// when started as root, and a typo must not wait for that.
			if cfg.User != "" {
				if _, err := lookupCreds(cfg.User, cfg.Group); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", path, err))
				}
			}
		}
	}
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	for _, e := range busy {
		fmt.Fprintln(stderr, warning(e))
	}
	if path == "" {
		path = "built-in default"
	}
	if len(errs) > 0 {
		fmt.Fprintf(stderr, "xmppd: check: %s: %s\n", path, count(len(errs), "error"))
		return 1
	}
	if len(busy) > 0 {
		fmt.Fprintf(stdout, "%s: ok (%s: in use by the xmppd running with it, which serve would need free)\n", path, count(len(busy), "warning"))
		return 0
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return 0
}

// warning formats e as FILE:LINE: warning: message, the form compilers use.
func warning(e error) string {
	var ce *config.Error
	if !errors.As(e, &ce) {
		return "warning: " + e.Error()
	}
	loc := ce.File
	if ce.Line > 0 {
		loc += ":" + strconv.Itoa(ce.Line)
	}
	return loc + ": warning: " + ce.Msg
}

// count writes n things, as in "1 error" and "2 errors".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
