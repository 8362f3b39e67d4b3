// Package ipk tests scripts/ipk/build.sh, which packs xmppd for opkg.
package ipk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// untar reads a gzipped tar into name → header and content.
func untar(t *testing.T, b []byte) (map[string]*tar.Header, map[string][]byte, []string) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	hdrs, data := map[string]*tar.Header{}, map[string][]byte{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		hdrs[h.Name], data[h.Name] = h, body
		order = append(order, h.Name)
	}
	return hdrs, data, order
}

// TestBuildIPK builds the x86_64 package and checks what opkg will read
// from it: the outer members, the control fields and scripts, and every
// installed file with its mode and owner.
func TestBuildIPK(t *testing.T) {
	if testing.Short() {
		t.Skip("builds xmppd; skipped in -short")
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "build.sh", "x86_64", out)
	cmd.Stderr = os.Stderr
	if b, err := cmd.Output(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	mk, err := os.ReadFile("../../openwrt/net/xmppd/Makefile")
	if err != nil {
		t.Fatal(err)
	}
	version := regexp.MustCompile(`(?m)^PKG_VERSION:=(.*)$`).FindSubmatch(mk)[1]
	path := filepath.Join(out, "xmppd_"+string(version)+"-r1_x86_64.ipk")
	ipk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	_, outer, order := untar(t, ipk)
	if got := strings.Join(order, " "); got != "./debian-binary ./data.tar.gz ./control.tar.gz" {
		t.Errorf("outer members %q, want ipkg-build's order", got)
	}
	if string(outer["./debian-binary"]) != "2.0\n" {
		t.Errorf("debian-binary %q", outer["./debian-binary"])
	}

	chdr, ctl, _ := untar(t, outer["./control.tar.gz"])
	fields := map[string]string{}
	for _, line := range strings.Split(string(ctl["./control"]), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	for k, want := range map[string]string{
		"Package": "xmppd", "Version": string(version) + "-r1", "Depends": "ca-bundle",
		"Architecture": "x86_64", "Require-User": "xmppd=5222:xmppd=5222", "Section": "net",
	} {
		if fields[k] != want {
			t.Errorf("control %s: %q, want %q", k, fields[k], want)
		}
	}
	if got := string(ctl["./conffiles"]); got != "/etc/config/xmppd\n/etc/xmppd/certs/selfsigned.crt\n/etc/xmppd/certs/selfsigned.key\n" {
		t.Errorf("conffiles:\n%s", got)
	}
	for name, helper := range map[string]string{"./postinst": "default_postinst", "./prerm": "default_prerm"} {
		if !strings.Contains(string(ctl[name]), helper+` "$0" "$@"`) {
			t.Errorf("%s does not call %s:\n%s", name, helper, ctl[name])
		}
		if chdr[name].Mode != 0o755 {
			t.Errorf("%s mode %o", name, chdr[name].Mode)
		}
	}

	dhdr, data, _ := untar(t, outer["./data.tar.gz"])
	want := map[string]int64{
		"./usr/bin/xmppd":             0o755,
		"./etc/config/xmppd":          0o600,
		"./etc/init.d/xmppd":          0o755,
		"./etc/uci-defaults/90-xmppd": 0o755,
	}
	var size int64
	for name, h := range dhdr {
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root", name, h.Uid, h.Gid)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		size += h.Size
		mode, ok := want[name]
		if !ok {
			t.Errorf("unexpected file %s", name)
			continue
		}
		if h.Mode != mode {
			t.Errorf("%s mode %o, want %o", name, h.Mode, mode)
		}
		delete(want, name)
	}
	for name := range want {
		t.Errorf("missing %s", name)
	}
	if fields["Installed-Size"] != strconv.FormatInt(size, 10) {
		t.Errorf("Installed-Size %s, files add up to %d", fields["Installed-Size"], size)
	}
	if !bytes.HasPrefix(data["./usr/bin/xmppd"], []byte("\x7fELF\x02")) {
		t.Error("usr/bin/xmppd is not a 64-bit ELF binary")
	}

	// The scripts the package runs on the router.
	dir := t.TempDir()
	for _, name := range []string{"./postinst", "./prerm"} {
		p := filepath.Join(dir, filepath.Base(name))
		os.WriteFile(p, ctl[name], 0o755)
		if b, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", name, err, b)
		}
		if sc, err := exec.LookPath("shellcheck"); err == nil {
			if b, err := exec.Command(sc, p).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", name, err, b)
			}
		}
	}
}
