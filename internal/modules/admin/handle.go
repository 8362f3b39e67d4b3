package admin

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/version"
)

// Status is what `xmppd status` shows.
type Status struct {
	Version    string            `json:"version"`
	PID        int               `json:"pid"`
	Uptime     string            `json:"uptime"`
	Sessions   int               `json:"sessions"`
	Users      int               `json:"users"`
	HeapBytes  uint64            `json:"heap_bytes"`
	SysBytes   uint64            `json:"sys_bytes"`
	RSSBytes   uint64            `json:"rss_bytes"`
	Goroutines int               `json:"goroutines"`
	Hosts      []string          `json:"hosts"`
	Modules    map[string]string `json:"modules,omitempty"`
}

// Handle runs a request against a server, the daemon's or one opened by
// the command itself when no daemon runs.
func Handle(srv *core.Server, req Request) Response {
	var resp Response
	err := func() error {
		switch req.Cmd {
		case "user-add", "user-del", "user-passwd":
			j, err := jid.Parse(req.JID)
			if err != nil || j.Local() == "" || j.Resource() != "" {
				return errors.New("expected a bare JID like user@" + srv.Hosts()[0].Name)
			}
			switch req.Cmd {
			case "user-add":
				if req.Password == "" {
					return errors.New("empty password")
				}
				return srv.Accounts.Create(j.Domain(), j.Local(), req.Password)
			case "user-passwd":
				if req.Password == "" {
					return errors.New("empty password")
				}
				return srv.Accounts.SetPassword(j.Domain(), j.Local(), req.Password)
			default:
				return srv.Accounts.Delete(j.Domain(), j.Local())
			}
		case "user-list":
			domains := []string{req.Domain}
			if req.Domain == "" {
				domains = nil
				for _, h := range srv.Hosts() {
					domains = append(domains, h.Name)
				}
			}
			for _, d := range domains {
				users, err := srv.Accounts.List(d)
				if err != nil {
					return err
				}
				for _, u := range users {
					resp.Users = append(resp.Users, u+"@"+d)
				}
			}
			return nil
		case "status":
			resp.Status = status(srv)
			return nil
		case "reload", "stop":
			f := control.Load()
			if f == nil {
				return errors.New(req.Cmd + " needs the running daemon; none answers on this socket")
			}
			return (*f)(req.Cmd)
		}
		return errors.New("unknown command " + strconv.Quote(req.Cmd))
	}()
	if err != nil {
		resp.Error = err.Error()
	}
	return resp
}

// control is the daemon's main loop, which owns the server's life: the
// reload and stop commands go to it, as SIGHUP and SIGTERM do.
var control atomic.Pointer[func(cmd string) error]

// SetControl installs f as the handler of the reload and stop commands; nil
// removes it. f returns what the CLI reports: nil when the reload applied in
// full or the stop has begun, else why not.
func SetControl(f func(cmd string) error) {
	if f == nil {
		control.Store(nil)
		return
	}
	control.Store(&f)
}

func status(srv *core.Server) *Status {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := &Status{
		Version:    version.String(),
		PID:        os.Getpid(),
		Uptime:     time.Since(srv.Started).Round(time.Second).String(),
		HeapBytes:  ms.HeapInuse,
		SysBytes:   ms.Sys,
		RSSBytes:   rss(),
		Goroutines: runtime.NumGoroutine(),
		Modules:    map[string]string{},
	}
	for _, h := range srv.Hosts() {
		s, u := h.Count()
		st.Sessions += s
		st.Users += u
		st.Hosts = append(st.Hosts, h.Name)
	}
	for k, v := range srv.Statuses() {
		st.Modules[k] = v.Level.String() + ": " + v.Msg
	}
	return st
}

// rss reads VmRSS from /proc/self/status (Linux), 0 elsewhere.
func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Call sends one request to the daemon at socket path. It returns
// ErrNoDaemon when nothing listens there.
func Call(path string, req Request) (Response, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return Response{}, ErrNoDaemon
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return Response{}, err
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return Response{}, err
	}
	return resp, nil
}

// ErrNoDaemon means no daemon answers on the admin socket.
var ErrNoDaemon = errors.New("no xmppd daemon is running on the admin socket")
