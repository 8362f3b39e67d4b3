package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs the command as a child process and returns its status and
// output.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := xmppd(context.Background(), stdin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		code = cmd.ProcessState.ExitCode()
		if code < 0 {
			t.Fatal(err)
		}
	}
	return code, out.String(), errb.String()
}

// TestPublishItems runs the daemon and checks publish and items, and the
// message and exit status of each failure.
func TestPublishItems(t *testing.T) {
	file, dir := writeConfig(t)
	// No daemon yet.
	code, _, stderr := runCmd(t, "", "publish", "-c", file, "--node", "temp", "t=1")
	if code != exitNoDaemon || !strings.Contains(stderr, "no xmppd is running") {
		t.Fatalf("no daemon: %d %s", code, stderr)
	}
	cfg, _ := os.ReadFile(file)
	extra := "\tlist modules_enabled 'monitor'\nconfig module 'monitor'\n\toption interval '1h'\n\toption min_interval '1m'\n" +
		"config module 'admin'\n\tlist publish_accounts 'monitor@localhost'\n\tlist publish_accounts 'sensor@localhost'\n"
	cfgText := strings.Replace(string(cfg), "\nconfig host", "\n"+extra+"config host", 1)
	if err := os.WriteFile(file, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, file)
	for _, u := range []string{"sensor", "other"} {
		if code, _, stderr := runCmd(t, "pw\n", "user", "add", "-c", file, u+"@localhost", "--password-stdin"); code != 0 {
			t.Fatalf("user add: %s", stderr)
		}
	}

	// key=value to the monitor's account (the default) and to sensor's.
	code, out, stderr := runCmd(t, "", "publish", "-c", file, "--node", "urn:example:temp", "--id", "now", "temp=21.5", "room=kitchen & hall")
	if code != 0 || strings.TrimSpace(out) != "now" {
		t.Fatalf("publish: %d %q %s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "", "items", "-c", file, "--node", "urn:example:temp")
	want := `now <values xmlns='urn:xmppd:values:0'><value name='temp'>21.5</value><value name='room'>kitchen &amp; hall</value></values>`
	if code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("items: %d %q %s\nwant %q", code, out, stderr, want)
	}
	xmlFile := filepath.Join(dir, "payload.xml")
	os.WriteFile(xmlFile, []byte("<reading xmlns='urn:example'><v>1</v></reading>\n"), 0o644)
	if code, _, stderr := runCmd(t, "", "publish", "-c", file, "--jid", "sensor@localhost", "--node", "r", "--xml", xmlFile); code != 0 {
		t.Fatalf("publish --xml: %s", stderr)
	}
	if code, _, stderr := runCmd(t, "<reading xmlns='urn:example'><v>2</v></reading>", "publish", "-c", file, "--jid", "sensor@localhost", "--node", "r", "--xml", "-"); code != 0 {
		t.Fatalf("publish --xml -: %s", stderr)
	}
	code, out, _ = runCmd(t, "", "items", "-c", file, "--jid", "sensor@localhost", "--node", "r", "--max", "1")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "<v>2</v>") {
		t.Fatalf("items --max 1: %d %q", code, out)
	}

	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"no such account", "", []string{"publish", "--jid", "nobody@localhost", "--node", "n", "a=1"}, exitNoAccount, "no such account nobody@localhost"},
		{"host not served", "", []string{"publish", "--jid", "x@elsewhere.org", "--node", "n", "a=1"}, exitNoAccount, "does not serve elsewhere.org"},
		{"not allowed", "", []string{"publish", "--jid", "other@localhost", "--node", "n", "a=1"}, exitForbidden, "not allowed to publish as other@localhost"},
		{"not well-formed", "<a><b></a>", []string{"publish", "--node", "n", "--xml", "-"}, exitBadPayload, "payload not well-formed"},
		{"two elements", "<a/><b/>", []string{"publish", "--node", "n", "--xml", "-"}, exitBadPayload, "payload not well-formed"},
		{"no such node", "", []string{"items", "--jid", "sensor@localhost", "--node", "missing"}, exitNoNode, "no such node"},
		{"items of no account", "", []string{"items", "--jid", "nobody@localhost", "--node", "r"}, exitNoAccount, "no such account"},
		{"no node", "", []string{"publish", "a=1"}, 2, "missing --node"},
		{"not a pair", "", []string{"publish", "--node", "n", "novalue"}, 2, `"novalue" is not key=value`},
		{"nothing", "", []string{"publish", "--node", "n"}, 2, "nothing to publish"},
	} {
		code, _, stderr := runCmd(t, c.stdin, append(c.args, "-c", file)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%s: status %d, %q; want %d, %q", c.name, code, stderr, c.code, c.msg)
		}
	}
}
