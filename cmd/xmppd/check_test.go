package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/xmpptest"
)

// serveVerdict runs `xmppd serve` on file as its own process and reports
// whether it got ready; a server that did is stopped at once.
func serveVerdict(t *testing.T, file string) (started bool, log string) {
	t.Helper()
	d := xmppd(context.Background(), "", "serve", "-c", file)
	out := &syncBuffer{}
	d.Stderr = out
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.Wait() }()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-exited:
			return false, out.String()
		case <-deadline:
			d.Process.Kill()
			<-exited
			t.Fatalf("serve neither got ready nor stopped:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
			if strings.Contains(out.String(), "msg=ready") {
				d.Process.Signal(syscall.SIGTERM)
				if err := <-exited; err != nil {
					t.Fatalf("serve did not stop cleanly: %v\n%s", err, out.String())
				}
				return true, out.String()
			}
		}
	}
}

// TestCheckAndServeAgree: over one table of configurations, `xmppd check`
// passes exactly those `xmppd serve` starts with.
func TestCheckAndServeAgree(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "garbage.pem")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600)
	aFile := filepath.Join(dir, "a_file")
	os.WriteFile(aFile, nil, 0o600)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		name string
		ok   bool
		// edit changes the base configuration: main adds to the global
		// section, rest is appended after the listener.
		main, host, rest string
		port             int // 0: a free one
	}{
		{name: "valid", ok: true},
		{name: "module option valid", ok: true, rest: "config module 'ping'\n\toption keepalive '1m'\n"},
		{name: "module option unknown", rest: "config module 'ping'\n\toption interval '5m'\n"},
		{name: "module option out of range", rest: "config module 'roster'\n\toption max_items '0'\n"},
		{name: "module option for one host", rest: "config module 'ping_h'\n\toption module 'ping'\n\toption host 'localhost'\n\toption keepalive 'often'\n"},
		{name: "module without options", rest: "config module 'message'\n\toption anything '1'\n"},
		{name: "module section of no module", rest: "config module 'pnig'\n\toption keepalive '1m'\n"},
		{name: "modules_enabled unknown", main: "\tlist modules_enabled 'pnig'\n"},
		{name: "modules_enabled known", ok: true, main: "\tlist modules_enabled 'ping'\n"},
		{name: "modules_disabled unknown", host: "\tlist modules_disabled 'verison'\n"},
		{name: "modules_disabled known", ok: true, host: "\tlist modules_disabled 'version'\n"},
		{name: "host lists a server-wide module", host: "\tlist modules_disabled 'c2s'\n"},
		{name: "requirement loads with its user", ok: true, main: "\tlist modules_enabled 'test_needs_flaky'\n"},
		{name: "requirement disabled", main: "\tlist modules_enabled 'test_needs_flaky'\n", host: "\tlist modules_disabled 'test_flaky'\n"},
		{name: "cert missing", host: fmt.Sprintf("\toption cert '%s/none.crt'\n\toption key '%s/none.key'\n", dir, dir)},
		{name: "cert not PEM", host: fmt.Sprintf("\toption cert '%s'\n\toption key '%s'\n", notPEM, notPEM)},
		{name: "data_dir is a file", main: fmt.Sprintf("\toption data_dir '%s'\n", aFile)},
		{name: "data_dir under a file", main: fmt.Sprintf("\toption data_dir '%s/var'\n", aFile)},
		{name: "admin socket under a file", main: fmt.Sprintf("\toption admin_socket '%s/xmppd.sock'\n", aFile)},
		{name: "port in use", port: busyPort},
		{name: "address not here", rest: fmt.Sprintf("config listener 'other'\n\toption address '192.0.2.1'\n\toption port '%d'\n", xmpptest.FreePort(t))},
		{name: "domain IDNA refuses", rest: "config host 'h2'\n\toption domain 'my_host.lan'\n"},
		{name: "domain not in normal form", rest: "config host 'h2'\n\toption domain 'ⅷ.example'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noSystemConfig(t)
			d := t.TempDir()
			port := tc.port
			if port == 0 {
				port = xmpptest.FreePort(t)
			}
			text := fmt.Sprintf("config xmppd 'main'\n\toption data_dir '%s/var'\n\toption allow_root '1'\n%sconfig host 'localhost'\n\toption domain 'localhost'\n%sconfig listener 'c2s'\n\toption address '127.0.0.1'\n\toption port '%d'\n%s",
				d, tc.main, tc.host, port, tc.rest)
			file := filepath.Join(d, "xmppd.uci")
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			status, out, errOut := runArgs(t, "check", "-c", file)
			if (status == 0) != tc.ok {
				t.Errorf("check: status %d, want ok=%v\n%s%s", status, tc.ok, out, errOut)
			}
			if !tc.ok && !regexp.MustCompile(regexp.QuoteMeta(file)+`:\d+: `).MatchString(errOut) {
				t.Errorf("check's errors name no file:line:\n%s", errOut)
			}
			if _, err := os.Stat(filepath.Join(d, "var")); !os.IsNotExist(err) {
				t.Errorf("check left %s/var behind (%v)", d, err)
			}
			started, log := serveVerdict(t, file)
			if started != tc.ok {
				t.Errorf("serve: started %v, want %v\n%s", started, tc.ok, log)
			}
		})
	}
}

// TestCheckBesideDaemon: check run while an xmppd serves the same
// configuration reports what that xmppd holds as warnings naming it, and
// passes; a second serve refuses with the same words.
func TestCheckBesideDaemon(t *testing.T) {
	noSystemConfig(t)
	file, dir := writeConfig(t)
	d := startDaemon(t, file)
	status, out, errOut := runArgs(t, "check", "-c", file)
	if status != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("check beside the daemon: status %d\n%s%s", status, out, errOut)
	}
	pid := fmt.Sprintf("(pid %d)", d.Process.Pid)
	for _, want := range []string{"warning: admin socket", "warning: data directory", "warning: listener: port"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("no %q in:\n%s", want, errOut)
		}
	}
	if strings.Count(errOut, pid) != 3 {
		t.Errorf("the warnings do not all name the daemon %s:\n%s", pid, errOut)
	}
	// A port some other program holds is an error even then.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	text, _ := os.ReadFile(file)
	extra := filepath.Join(dir, "extra.uci")
	os.WriteFile(extra, fmt.Appendf(text, "config listener 'x'\n\toption address '127.0.0.1'\n\toption port '%d'\n", other.Addr().(*net.TCPAddr).Port), 0o644)
	if status, _, errOut := runArgs(t, "check", "-c", extra); status != 1 || !strings.Contains(errOut, "in use by") || !strings.Contains(errOut, ": stop it, or choose another port") {
		t.Errorf("port held by another program: status %d\n%s", status, errOut)
	}

	started, log := serveVerdict(t, file)
	if started || !strings.Contains(log, "in use by") || !strings.Contains(log, pid) {
		t.Fatalf("second serve: started %v\n%s", started, log)
	}
}

// uciFence finds the UCI examples of a Markdown file.
var uciFence = regexp.MustCompile("(?s)```uci\n(.*?)```")

// TestShippedExamples: the examples shipped with xmppd pass the module
// checks of serve and check: default.uci with every commented example
// taken in, and every UCI example of the documentation.
func TestShippedExamples(t *testing.T) {
	examples := map[string]string{}
	uncomment := regexp.MustCompile(`(?m)^(\s*)#\s?((?:config|option|list)\s)`)
	examples["default.uci, uncommented"] = uncomment.ReplaceAllString(string(config.Default()), "$1$2")
	docs, _ := filepath.Glob("../../internal/modules/*/README.md")
	more, _ := filepath.Glob("../../docs/*.md")
	docs = append(append(docs, more...), "../../README.md", "../../internal/config/README.md")
	for _, doc := range docs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range uciFence.FindAllStringSubmatch(string(text), -1) {
			if strings.Contains(m[1], "<") {
				continue // a sketch of the syntax, with <placeholders>
			}
			examples[fmt.Sprintf("%s, example %d", doc, i+1)] = m[1]
		}
	}
	if len(examples) < 10 {
		t.Fatalf("only %d examples found", len(examples))
	}
	hostLine := regexp.MustCompile(`(?m)^\s*option host '([^']+)'`)
	for name, text := range examples {
		// An example may show one section alone: give it the hosts it
		// names, as the file it would go into has them.
		hosts := map[string]bool{}
		if !strings.Contains(text, "option domain 'localhost'") {
			hosts["localhost"] = true
		}
		for _, m := range hostLine.FindAllStringSubmatch(text, -1) {
			if !strings.Contains(text, "option domain '"+m[1]+"'") {
				hosts[m[1]] = true
			}
		}
		for h := range hosts {
			text = fmt.Sprintf("config host\n\toption domain '%s'\n", h) + text
		}
		f, err := config.Parse(name, []byte(text))
		if err != nil {
			t.Errorf("%s does not parse: %v", name, err)
			continue
		}
		cfg, err := config.FromFile(f)
		if err == nil {
			err = core.CheckModules(cfg)
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
