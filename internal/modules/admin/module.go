// Package admin is the daemon's control socket: a Unix socket (mode 0600)
// over which the xmppd command manages a running server, so the store is
// only ever opened by one process.
package admin

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"time"

	"xmppd/internal/core"
)

func init() {
	core.Register(core.ModuleInfo{Name: "admin", Global: true, Auto: true, New: func() core.Module { return &Module{} }})
}

// Request is one command on the socket, one JSON object per line.
type Request struct {
	Cmd      string `json:"cmd"` // user-add, user-del, user-passwd, user-list, status
	JID      string `json:"jid,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Password string `json:"password,omitempty"`
}

// Response answers a Request.
type Response struct {
	Error  string   `json:"error,omitempty"`
	Users  []string `json:"users,omitempty"`
	Status *Status  `json:"status,omitempty"`
}

// Module serves the admin socket.
type Module struct {
	api *core.API
	srv *core.Server
}

// Load opens the socket at the configured admin_socket path.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	path := m.srv.Config.AdminSocket
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	// A socket file left by a crash would block the listen; a live daemon
	// holding it would already have failed the store's lock.
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return errors.New("admin socket " + path + " is in use by another xmppd")
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	os.Chmod(path, 0o600)
	api.OnUnload(func() { ln.Close(); os.Remove(path) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go m.serve(c)
		}
	}()
	return nil
}

func (m *Module) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	sc := bufio.NewScanner(c)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req Request
		var resp Response
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = "bad request: " + err.Error()
		} else {
			resp = Handle(m.srv, req)
		}
		if enc.Encode(resp) != nil {
			return
		}
	}
}

var _ core.Module = (*Module)(nil)
