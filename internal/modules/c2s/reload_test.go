package c2s_test

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"

	"xmppd/internal/xmpptest"
)

// TestReload applies a changed configuration to a running server, as
// SIGHUP does: a module disabled before starts answering, the STARTTLS
// listener moves to another port (but not onto one in use), and a session
// that was open all along keeps working.
func TestReload(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n"+
		"config host 'localhost'\n\tlist modules_disabled 'version'\n")
	s.AddUser(t, "alice", "pw")
	const version = "<iq type='get' id='v%d' to='localhost'><query xmlns='jabber:iq:version'/></iq>"

	old := dialRaw(t, s.StartTLS)
	old.login("alice", "pw", "kept")
	old.send(fmt.Sprintf(version, 1))
	if got := old.expect("</iq>"); !strings.Contains(got, "service-unavailable") {
		t.Fatalf("disabled module answered: %s", got)
	}
	old.got.Reset()

	oldPort := s.StartTLS[strings.LastIndex(s.StartTLS, ":")+1:]
	var newPort, uci string
	for attempt := 1; ; attempt++ {
		// Another test package may take the free port first: try another.
		newPort = fmt.Sprint(xmpptest.FreePort(t))
		uci = strings.Replace(s.UCI, "\tlist modules_disabled 'version'\n", "", 1)
		uci = strings.Replace(uci, "option port '"+oldPort+"'", "option port '"+newPort+"'", 1)
		restart, err := s.Reload(t, uci)
		if errors.Is(err, syscall.EADDRINUSE) && attempt < 5 {
			continue
		}
		if err != nil || len(restart) != 0 {
			t.Fatalf("reload: restart %v, err %v", restart, err)
		}
		break
	}

	old.send(fmt.Sprintf(version, 2))
	if got := old.expect("</iq>"); !strings.Contains(got, "type='result'") || !strings.Contains(got, "xmppd") {
		t.Fatalf("session from before the reload: %s", got)
	}
	if c, err := net.Dial("tcp", s.StartTLS); err == nil {
		c.Close()
		t.Fatal("the old listener still accepts")
	}
	moved := dialRaw(t, "127.0.0.1:"+newPort)
	moved.login("alice", "pw", "new")

	// A port that cannot be had fails the reload and leaves every listener
	// as it was.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := fmt.Sprint(busy.Addr().(*net.TCPAddr).Port)
	_, err = s.Reload(t, strings.Replace(uci, "option port '"+newPort+"'", "option port '"+busyPort+"'", 1))
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("reload onto a port in use: %v", err)
	}
	dialRaw(t, "127.0.0.1:"+newPort).login("alice", "pw", "after-failed-reload")

	// A listener that keeps its port but changes address takes the port
	// over from the one it replaces. (The IPv4-mapped form of 127.0.0.1
	// makes another listener that binds the same socket address.)
	mapped := strings.Replace(uci, "option address '127.0.0.1'", "option address '::ffff:127.0.0.1'", 1)
	if restart, err := s.Reload(t, mapped); err != nil || len(restart) != 0 {
		t.Fatalf("reload to the same port on another address: restart %v, err %v", restart, err)
	}
	dialRaw(t, "127.0.0.1:"+newPort).login("alice", "pw", "same-port")
	if _, err := s.Reload(t, uci); err != nil {
		t.Fatal(err)
	}

	// A module whose new options are wrong keeps running with its old ones.
	bad := uci + "config module 'ping'\n\toption keepalive 'often'\n"
	if _, err := s.Reload(t, bad); err == nil || !strings.Contains(err.Error(), "keepalive") {
		t.Fatalf("bad module option: %v", err)
	}
	old.got.Reset()
	old.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	if got := old.expect("id='p1'"); !strings.Contains(got, "type='result'") {
		t.Fatalf("ping after a failed reload: %s", got)
	}

	// What a reload cannot apply is named and left alone.
	restart, err := s.Reload(t, strings.Replace(uci, "option data_dir '", "option data_dir '/elsewhere", 1))
	if err != nil || !slices.Contains(restart, "data_dir") {
		t.Fatalf("data_dir change: restart %v, err %v", restart, err)
	}
	old.send(fmt.Sprintf(version, 3))
	old.expect("id='v3'")
}
