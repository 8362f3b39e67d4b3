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
	"sync/atomic"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
)

func init() {
	core.Register(core.ModuleInfo{Name: "admin", Global: true, Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readOptions(r) }})
}

// Request is one command on the socket, one JSON object per line.
type Request struct {
	Cmd      string `json:"cmd"` // user-add, user-del, user-passwd, user-list, status, reload, stop, publish, items
	JID      string `json:"jid,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Password string `json:"password,omitempty"`
	Node     string `json:"node,omitempty"`    // publish, items
	ID       string `json:"id,omitempty"`      // publish: the item's id
	Payload  string `json:"payload,omitempty"` // publish: one XML element
	Max      int    `json:"max,omitempty"`     // items: the newest Max
}

// Response answers a Request.
type Response struct {
	Error  string   `json:"error,omitempty"`
	Code   string   `json:"code,omitempty"` // why Error, for publish and items: Code…
	Users  []string `json:"users,omitempty"`
	Status *Status  `json:"status,omitempty"`
	ItemID string   `json:"item_id,omitempty"` // publish
	Items  []Item   `json:"items,omitempty"`   // items, oldest first
}

// Module serves the admin socket.
type Module struct {
	api  *core.API
	srv  *core.Server
	opts atomic.Pointer[options]
}

// Load opens the socket at the configured admin_socket path.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	o := readOptions(api.Options())
	m.opts.Store(&o)
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
		} else if req.Cmd == "publish" || req.Cmd == "items" {
			resp = m.handlePubsub(req)
		} else {
			resp = Handle(m.srv, req)
		}
		if enc.Encode(resp) != nil {
			return
		}
	}
}

// Reload applies new options in place: a second instance could not take
// the socket the first one holds.
func (m *Module) Reload(api *core.API, cfg *config.Config) error {
	file := cfg.File
	if cfg.Raw != nil {
		file = cfg.Raw.Name
	}
	o := readOptions(config.NewReader(file, cfg.ModuleSection("admin", "")))
	m.opts.Store(&o)
	return nil
}

var (
	_ core.Module   = (*Module)(nil)
	_ core.Reloader = (*Module)(nil)
)
