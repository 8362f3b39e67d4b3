package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"xmppd/internal/modules/admin"
	"xmppd/internal/xml"
)

// NSValues is the namespace of the payload `xmppd publish` makes of
// key=value pairs (docs/monitoring.md).
const NSValues = "urn:xmppd:values:0"

// Exit statuses of publish and items beyond 0, 1 and 2, so that a script
// can tell why it failed without reading the message.
const (
	exitNoDaemon   = 3
	exitNoAccount  = 4
	exitForbidden  = 5
	exitBadPayload = 6
	exitNoNode     = 7
)

const pubsubStatuses = `
Exit status: 0 done, 1 any other failure, 2 a usage error, 3 no xmppd is
running (nothing answers on the admin socket), 4 no such account, 5 not
allowed (the account is not in the admin module's list publish_accounts),
6 the payload is not well-formed XML, 7 no such node (items) or none given.
`

// parseFlags parses the flags of command name, which may come before,
// after or between its arguments, and returns the arguments.
func parseFlags(fs *flag.FlagSet, name string, args []string, stdout, stderr io.Writer) (pos []string, status int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help([]string{name}, stdout, stderr)
				return nil, 0, false
			}
			return nil, commandUsage(name, stderr), false
		}
		if fs.NArg() == 0 {
			return pos, 0, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// valuesPayload makes <values xmlns='urn:xmppd:values:0'><value
// name='KEY'>VALUE</value>...</values> of key=value pairs.
func valuesPayload(pairs []string) (string, error) {
	b := []byte("<values xmlns='" + NSValues + "'>")
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return "", fmt.Errorf("%q is not key=value", p)
		}
		b = append(b, "<value name='"...)
		b = xml.AppendEscapedAttr(b, k)
		b = append(b, "'>"...)
		b = xml.AppendEscapedText(b, v)
		b = append(b, "</value>"...)
	}
	return string(append(b, "</values>"...)), nil
}

func publish(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("publish", stderr)
	node := fs.String("node", "", "the PEP `NODE`")
	account := fs.String("jid", "", "the `ACCOUNT` whose node it is (default: the monitor's)")
	id := fs.String("id", "", "the item's `ID` (default: a random one)")
	xmlFile := fs.String("xml", "", "publish the XML element in `FILE` (- for standard input) instead of key=value pairs")
	pairs, status, ok := parseFlags(fs, "publish", args, stdout, stderr)
	if !ok {
		return status
	}
	if *node == "" {
		fmt.Fprintln(stderr, "xmppd publish: missing --node NODE")
		return commandUsage("publish", stderr)
	}
	var payload string
	switch {
	case *xmlFile != "" && len(pairs) > 0:
		fmt.Fprintln(stderr, "xmppd publish: give key=value pairs or --xml, not both")
		return commandUsage("publish", stderr)
	case *xmlFile != "":
		var b []byte
		var err error
		if *xmlFile == "-" {
			b, err = io.ReadAll(stdin)
		} else {
			b, err = os.ReadFile(*xmlFile)
		}
		if err != nil {
			fmt.Fprintf(stderr, "xmppd publish: %v\n", err)
			return 1
		}
		payload = strings.TrimSpace(string(b))
	case len(pairs) == 0:
		fmt.Fprintln(stderr, "xmppd publish: nothing to publish: give key=value pairs or --xml FILE")
		return commandUsage("publish", stderr)
	default:
		var err error
		if payload, err = valuesPayload(pairs); err != nil {
			fmt.Fprintf(stderr, "xmppd publish: %v\n", err)
			return commandUsage("publish", stderr)
		}
	}
	resp, status := pubsubCall("publish", *file, admin.Request{Cmd: "publish", JID: *account, Node: *node, ID: *id, Payload: payload}, stderr)
	if status != 0 {
		return status
	}
	fmt.Fprintln(stdout, resp.ItemID)
	return 0
}

func items(args []string, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("items", stderr)
	node := fs.String("node", "", "the PEP `NODE`")
	account := fs.String("jid", "", "the `ACCOUNT` whose node it is (default: the monitor's)")
	max := fs.Int("max", 0, "only the newest `N` items")
	pos, status, ok := parseFlags(fs, "items", args, stdout, stderr)
	if !ok {
		return status
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "xmppd items: unexpected argument %q: it takes none\n", pos[0])
		return commandUsage("items", stderr)
	}
	if *node == "" {
		fmt.Fprintln(stderr, "xmppd items: missing --node NODE")
		return commandUsage("items", stderr)
	}
	if *max < 0 {
		fmt.Fprintln(stderr, "xmppd items: --max must be 0 (all) or more")
		return commandUsage("items", stderr)
	}
	resp, status := pubsubCall("items", *file, admin.Request{Cmd: "items", JID: *account, Node: *node, Max: *max}, stderr)
	if status != 0 {
		return status
	}
	for _, it := range resp.Items {
		fmt.Fprintf(stdout, "%s %s\n", it.ID, it.Payload)
	}
	return 0
}

// pubsubCall sends req to the running daemon, which alone has the pubsub
// engine, and turns a failure into its message and exit status.
func pubsubCall(name, file string, req admin.Request, stderr io.Writer) (admin.Response, int) {
	cfg, _, err := loadConfig(file)
	if err != nil {
		fmt.Fprintf(stderr, "xmppd %s: %v\n", name, err)
		return admin.Response{}, 1
	}
	resp, err := admin.Call(cfg.AdminSocket, req)
	if errors.Is(err, admin.ErrNoDaemon) {
		fmt.Fprintf(stderr, "xmppd %s: no xmppd is running: nothing answers on the admin socket %s\n", name, cfg.AdminSocket)
		return resp, exitNoDaemon
	}
	if err != nil {
		fmt.Fprintf(stderr, "xmppd %s: %v\n", name, err)
		return resp, 1
	}
	if resp.Error == "" {
		return resp, 0
	}
	fmt.Fprintf(stderr, "xmppd %s: %s\n", name, resp.Error)
	switch resp.Code {
	case admin.CodeNoAccount:
		return resp, exitNoAccount
	case admin.CodeForbidden:
		return resp, exitForbidden
	case admin.CodeBadPayload:
		return resp, exitBadPayload
	case admin.CodeNoNode:
		return resp, exitNoNode
	}
	return resp, 1
}
