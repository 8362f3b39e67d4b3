package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"xmppd/internal/modules/admin"
)

// reloadCmd asks the running server to read its configuration again, as
// SIGHUP does, and reports whether all of it applied.
func reloadCmd(args []string, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("reload", stderr)
	if _, status, ok := parseArgs(fs, "reload", args, nil, stdout, stderr); !ok {
		return status
	}
	cfg, _, err := loadConfig(*file)
	if err != nil {
		// The server would refuse the same file; saying so here spares
		// the round trip and names the mistake with its line.
		fmt.Fprintln(stderr, "xmppd: reload refused: the configuration has errors; the running server keeps its own:", err)
		return 1
	}
	resp, err := admin.Call(cfg.AdminSocket, admin.Request{Cmd: "reload"})
	if err == nil && resp.Error != "" {
		err = errors.New(resp.Error)
	}
	if err != nil {
		fmt.Fprintf(stderr, "xmppd: reload: %v (%s)\n", err, cfg.AdminSocket)
		return 1
	}
	fmt.Fprintln(stdout, "reloaded")
	return 0
}

// stopCmd asks the running server to stop, as SIGTERM does, and waits
// until its process is gone, so that a start right after it finds the
// ports and the store free.
func stopCmd(args []string, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("stop", stderr)
	wait := fs.Duration("wait", time.Minute, "how long to wait for the server to exit")
	if _, status, ok := parseArgs(fs, "stop", args, nil, stdout, stderr); !ok {
		return status
	}
	cfg, _, err := loadConfig(*file)
	if err != nil {
		fmt.Fprintln(stderr, "xmppd: stop:", err)
		return 1
	}
	st, err := admin.Call(cfg.AdminSocket, admin.Request{Cmd: "status"})
	if err == nil && (st.Error != "" || st.Status == nil) {
		err = fmt.Errorf("the server did not say its PID: %s", st.Error)
	}
	if err != nil {
		fmt.Fprintf(stderr, "xmppd: stop: %v (%s)\n", err, cfg.AdminSocket)
		return 1
	}
	pid := st.Status.PID
	resp, err := admin.Call(cfg.AdminSocket, admin.Request{Cmd: "stop"})
	switch {
	case err == nil && resp.Error != "":
		fmt.Fprintf(stderr, "xmppd: stop: %s (%s)\n", resp.Error, cfg.AdminSocket)
		return 1
	case errors.Is(err, admin.ErrNoDaemon):
		fmt.Fprintf(stderr, "xmppd: stop: %v (%s)\n", err, cfg.AdminSocket)
		return 1
	}
	// Any other error is the connection closing as the server stops,
	// before or while it answers; the process tells the truth.
	for deadline := time.Now().Add(*wait); ; time.Sleep(50 * time.Millisecond) {
		if !alive(pid) {
			fmt.Fprintf(stdout, "stopped (pid %d)\n", pid)
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "xmppd: stop: pid %d still runs after %s\n", pid, *wait)
			return 1
		}
	}
}

// alive reports whether process pid exists and is not a zombie waiting
// for its parent, which for a stop counts as gone.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return !zombie(pid)
}

// zombie reports whether /proc says pid has exited and waits to be reaped
// (state Z); on a system without /proc it reports false.
func zombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself hold spaces and parentheses.
	if i := bytes.LastIndexByte(data, ')'); i >= 0 && i+2 < len(data) {
		return data[i+2] == 'Z'
	}
	return false
}
