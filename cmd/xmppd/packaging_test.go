package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"xmppd/internal/xmpptest"
)

// repoFile is a path from the repository root, where the packaging lives.
func repoFile(path string) string {
	return filepath.Join("..", "..", filepath.FromSlash(path))
}

// shellScripts are every shell script the packages install or run.
var shellScripts = []string{
	"openwrt/net/xmppd/files/xmppd.init",
	"openwrt/net/xmppd/files/xmppd.uci-defaults",
	"openwrt/net/xmppd/test.sh",
	"buildroot/package/xmppd/S50xmppd",
}

// TestOpenWrtConfigChecks runs `xmppd check` on the UCI file the OpenWrt
// package installs, with the data dir, socket and ports moved to places
// this machine has free: the rest is checked as shipped.
func TestOpenWrtConfigChecks(t *testing.T) {
	src, err := os.ReadFile(repoFile("openwrt/net/xmppd/files/xmppd.config"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	for _, want := range []string{"option data_dir '/etc/xmppd'", "option domain 'localhost'", "option c2s_plain_on_loopback '0'"} {
		if !strings.Contains(text, want) {
			t.Errorf("shipped config lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^\s*list modules_enabled 'register'`).MatchString(text) {
		t.Error("shipped config enables in-band registration")
	}
	if strings.Contains(text, "option tls 'none'") {
		t.Error("shipped config has a listener without TLS")
	}
	dir := t.TempDir()
	r := strings.NewReplacer(
		"'/etc/xmppd'", "'"+dir+"/data'",
		"'/var/run/xmppd/xmppd.sock'", "'"+dir+"/run/xmppd.sock'",
		"'5222'", fmt.Sprintf("'%d'", xmpptest.FreePort(t)),
		"'5223'", fmt.Sprintf("'%d'", xmpptest.FreePort(t)),
	)
	file := filepath.Join(dir, "xmppd")
	if err := os.WriteFile(file, []byte(r.Replace(text)), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "-c", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("xmppd check: status %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

// TestShellScriptsLint runs sh -n and shellcheck over every packaged
// script, as the OpenWrt and Buildroot reviews do.
func TestShellScriptsLint(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	for _, s := range shellScripts {
		path := repoFile(s)
		if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
		if sc == "" {
			continue
		}
		if out, err := exec.Command(sc, path).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", s, err, out)
		}
	}
	if err != nil {
		t.Skip("shellcheck is not installed (Debian: apt-get install shellcheck); only sh -n ran")
	}
}

// TestOpenWrtInitMemLimit checks the init script's translation of UCI
// sizes into GOMEMLIMIT, which refuses UCI's plain k/M/G suffixes.
func TestOpenWrtInitMemLimit(t *testing.T) {
	for in, want := range map[string]string{"32M": "32MiB", "64k": "64KiB", "1GiB": "1GiB", "2GB": "2GiB", "65536": "65536"} {
		out, err := exec.Command("sh", "-c", `. "$0"; gomemlimit "$1"`, repoFile("openwrt/net/xmppd/files/xmppd.init"), in).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("gomemlimit %s = %q, want %q", in, got, want)
		}
	}
}

// TestCertCommand checks that `xmppd cert` makes the pair serve would load
// and keeps it on a second run, as the OpenWrt first-boot script relies on.
func TestCertCommand(t *testing.T) {
	file, dir := writeConfig(t)
	var out, errb bytes.Buffer
	if code := run([]string{"cert", "-c", file}, &out, &errb); code != 0 {
		t.Fatalf("status %d: %s", code, errb.String())
	}
	crt := filepath.Join(dir, "var", "certs", "selfsigned.crt")
	first, err := os.ReadFile(crt)
	if err != nil {
		t.Fatal(err)
	}
	run([]string{"cert", "-c", file}, &out, &errb)
	if second, _ := os.ReadFile(crt); !bytes.Equal(first, second) {
		t.Error("a second xmppd cert replaced the certificate")
	}
}

// TestSystemdUnit checks the unit for the settings the daemon's notify and
// reload code rely on and the sandboxing promised in the README, has
// systemd-analyze verify it when this machine has one, and checks the
// configuration file it names.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(repoFile("scripts/systemd/xmppd.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Type=notify", "WatchdogSec=", "Restart=on-failure", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "StateDirectory=xmppd", "RuntimeDirectory=xmppd", "PrivateTmp=yes",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"ExecReload=/bin/kill -HUP $MAINPID", "ExecStart=/usr/bin/xmppd serve -c /etc/xmppd/xmppd.conf",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want)).Match(unit) {
			t.Errorf("xmppd.service lacks %s", want)
		}
	}
	conf, err := os.ReadFile(repoFile("scripts/systemd/xmppd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"option data_dir '/var/lib/xmppd'", "option admin_socket '/run/xmppd/xmppd.sock'"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("xmppd.conf lacks %s, where the unit's directories are", want)
		}
	}
	dir := t.TempDir()
	r := strings.NewReplacer("'/var/lib/xmppd'", "'"+dir+"/data'", "'/run/xmppd/xmppd.sock'", "'"+dir+"/xmppd.sock'",
		"'5222'", fmt.Sprintf("'%d'", xmpptest.FreePort(t)), "'5223'", fmt.Sprintf("'%d'", xmpptest.FreePort(t)))
	file := filepath.Join(dir, "xmppd.conf")
	os.WriteFile(file, []byte(r.Replace(string(conf))), 0o600)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "-c", file}, &stdout, &stderr); code != 0 {
		t.Errorf("xmppd check of xmppd.conf: status %d\n%s", code, stderr.String())
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; the unit was not verified")
	}
	exe, _ := filepath.Abs(os.Args[0])
	copyUnit := filepath.Join(dir, "xmppd.service")
	os.WriteFile(copyUnit, bytes.ReplaceAll(unit, []byte("/usr/bin/xmppd"), []byte(exe)), 0o644)
	if out, err := exec.Command(sa, "verify", copyUnit).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestBuildrootTree checks the BR2_EXTERNAL tree against Buildroot's
// conventions: the three root files, and in Config.in the attribute order
// (prompt, default, depends on, select, help), tab indentation, help text
// indented by a tab and two spaces within 72 columns, ending in the URL.
func TestBuildrootTree(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(repoFile("buildroot/" + p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("external.desc"); !strings.HasPrefix(got, "name: XMPPD\ndesc: ") {
		t.Errorf("external.desc:\n%s", got)
	}
	if got := read("Config.in"); got != `source "$BR2_EXTERNAL_XMPPD_PATH/package/xmppd/Config.in"`+"\n" {
		t.Errorf("Config.in:\n%s", got)
	}
	if got := read("external.mk"); !strings.Contains(got, "$(BR2_EXTERNAL_XMPPD_PATH)/package/*/*.mk") {
		t.Errorf("external.mk:\n%s", got)
	}
	mk := read("package/xmppd/xmppd.mk")
	for _, want := range []string{"XMPPD_VERSION = ", "XMPPD_GOMOD = xmppd", "$(eval $(golang-package))", "$(eval $(generic-package))", "GOMIPS=", "define XMPPD_USERS", "XMPPD_INSTALL_INIT_SYSV", "XMPPD_INSTALL_INIT_SYSTEMD"} {
		if !strings.Contains(mk, want) {
			t.Errorf("xmppd.mk lacks %s", want)
		}
	}

	lines := strings.Split(strings.TrimRight(read("package/xmppd/Config.in"), "\n"), "\n")
	if lines[0] != "config BR2_PACKAGE_XMPPD" {
		t.Fatalf("first line %q", lines[0])
	}
	rank := map[string]int{"bool": 0, "default": 1, "depends": 2, "select": 3, "help": 4}
	last, inHelp := -1, false
	for i, l := range lines[1:] {
		n := i + 2
		if inHelp {
			if l != "" && !strings.HasPrefix(l, "\t  ") {
				t.Errorf("Config.in:%d: help text not indented by a tab and two spaces: %q", n, l)
			}
			if w := len(strings.Replace(l, "\t", "        ", 1)); w > 72 {
				t.Errorf("Config.in:%d: %d columns, over 72", n, w)
			}
			continue
		}
		if !strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "\t ") {
			t.Errorf("Config.in:%d: attribute not indented by one tab: %q", n, l)
		}
		word, _, _ := strings.Cut(strings.TrimSpace(l), " ")
		r, ok := rank[word]
		if !ok {
			t.Errorf("Config.in:%d: unexpected attribute %q", n, word)
			continue
		}
		if r < last {
			t.Errorf("Config.in:%d: %s after a later attribute", n, word)
		}
		last, inHelp = r, word == "help"
	}
	if !inHelp {
		t.Error("Config.in has no help")
	}
	if end := lines[len(lines)-1]; !strings.HasPrefix(end, "\t  https://") || lines[len(lines)-2] != "" {
		t.Errorf("help does not end with a blank line and the upstream URL: %q", end)
	}
}
