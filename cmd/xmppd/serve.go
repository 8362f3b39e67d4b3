package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/logring"
	"xmppd/internal/modules/admin"
	"xmppd/internal/sdlisten"
	"xmppd/internal/version"

	_ "xmppd/internal/modules/all" // every compiled-in module
)

func logLevel(name string) slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(name)) != nil {
		return slog.LevelInfo
	}
	return l
}

// logRingSize is how many recent log records the daemon keeps in memory.
const logRingSize = 500

func serve(args []string, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("serve", stderr)
	if _, status, ok := parseArgs(fs, "serve", args, nil, stdout, stderr); !ok {
		return status
	}
	// Signals are caught from the start, so a stop that comes while the
	// server is still starting is a clean stop, not a kill.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	// Fatal start-up errors are log lines like all others; before the
	// configuration names its log target they go to stderr.
	level := new(slog.LevelVar)
	cfg, source, err := loadConfig(*file)
	if err != nil {
		log, _ := newLogger("stderr", level, stderr)
		var list config.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				log.Error("not started", "err", e.Error())
			}
		} else {
			log.Error("not started", "err", err)
		}
		log.Error("not started: fix the configuration, or run `xmppd check` for every error")
		return 1
	}
	level.Set(logLevel(cfg.LogLevel))
	log, logClose := newLogger(cfg.LogTarget, level, stderr)
	defer logClose.Close()
	// The admin UI's log page shows the recent records kept here.
	log = slog.New(logring.NewHandler(log.Handler(), logring.New(logRingSize)))
	// The checks of `xmppd check`, so that what it passes starts. What a
	// running xmppd holds counts here: two cannot run on one configuration.
	errs, busy := core.Check(withoutInherited(cfg))
	if errs = append(errs, busy...); len(errs) > 0 {
		for _, e := range errs {
			log.Error("not started", "err", e.Error())
		}
		log.Error("not started: "+count(len(errs), "problem"), "config", source)
		return 1
	}
	drop, err := planPrivileges(cfg, os.Geteuid())
	if err != nil {
		log.Error("not started", "err", err)
		return 1
	}
	if drop == nil && os.Geteuid() == 0 && cfg.File == "" {
		log.Warn("running as root on the built-in default, which is for trying xmppd out: an installed daemon needs a configuration file with option user", "example", "internal/config/default.uci")
	}
	applyRuntime(cfg)
	nofile, err := raiseNofile()
	if err != nil {
		log.Warn("the open files limit stays as it was", "err", err)
	}
	log.Info("starting", "version", version.String(), "config", source, "data", cfg.DataDir, "open_files", nofile)

	srv, err := core.New(cfg, log)
	if err != nil {
		log.Error("not started", "err", err)
		return 1
	}
	if err := srv.Start(); err != nil {
		log.Error("not started", "err", err)
		return 1
	}
	// Root was needed up to here: ports below 1024, and the store and
	// admin socket created where only root may write.
	if drop != nil {
		if err := dropPrivileges(drop, cfg, log); err != nil {
			log.Error("not started: could not drop root", "err", err)
			srv.Stop()
			return 1
		}
	}
	for _, w := range sdlisten.Unused() {
		log.Warn(w)
	}
	var hosts []string
	for _, h := range srv.Hosts() {
		hosts = append(hosts, h.Name)
	}
	// xmppd reload and xmppd stop arrive through the admin socket and are
	// run here, in the one loop that also takes the signals; they are
	// taken before the server says it is ready, so that a command sent on
	// that word finds them.
	ctl := make(chan control)
	admin.SetControl(func(cmd string) error {
		c := control{cmd: cmd, done: make(chan error, 1)}
		ctl <- c
		return <-c.done
	})
	defer admin.SetControl(nil)
	log.Info("ready", "hosts", hosts, "admin_socket", cfg.AdminSocket)
	notify := startNotify(srv, log)

	alias := &adminAlias{srv: srv, log: log}
	defer alias.close()
	stop := func(why string) int {
		log.Info("stopping", "by", why)
		notify.stopping()
		alias.close()
		srv.Stop()
		log.Info("stopped")
		return 0
	}
	for {
		select {
		case s := <-sig:
			if s != syscall.SIGHUP {
				return stop(s.String())
			}
			done := notify.reloading()
			reload(srv, *file, cfg.LogTarget, level, log, alias)
			done()
		case c := <-ctl:
			if c.cmd == "stop" {
				c.done <- nil
				return stop("xmppd stop")
			}
			done := notify.reloading()
			c.done <- reload(srv, *file, cfg.LogTarget, level, log, alias)
			done()
		}
	}
}

// withoutInherited returns cfg for the start-up checks, without the c2s
// listeners systemd passes a socket for: systemd holds their ports, which a
// test bind would find in use.
func withoutInherited(cfg *config.Config) *config.Config {
	c := *cfg
	c.Listeners = nil
	for _, l := range cfg.Listeners {
		if l.Type == "c2s" && sdlisten.Has(l.Name, net.JoinHostPort(l.Address, strconv.Itoa(l.Port))) {
			continue
		}
		c.Listeners = append(c.Listeners, l)
	}
	return &c
}

// control is a reload or stop command from the admin socket; done carries
// the answer back.
type control struct {
	cmd  string
	done chan error
}

// The runtime's memory settings before the configuration's: Go's defaults,
// or GOMEMLIMIT and GOGC from the environment.
var startLimit, startGC = debug.SetMemoryLimit(-1), readGCPercent()

func readGCPercent() int {
	gc := debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	return gc
}

// applyRuntime sets the runtime's memory options; 0 means the settings
// from before, so a reload that removes an option restores them.
func applyRuntime(cfg *config.Config) {
	limit, gc := cfg.MemoryLimit, cfg.GCPercent
	if limit <= 0 {
		limit = startLimit
	}
	if gc <= 0 {
		gc = startGC
	}
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(gc)
}

// reload applies SIGHUP: the configuration is read again and applied
// without dropping a session (log level, runtime memory options, modules
// and their options, client connection options, listeners, certificates;
// log_target waits for a restart).
// A configuration with errors changes nothing, and says so on every SIGHUP;
// so does one a module fails to load with (core.Server.Reload is all or
// nothing); what needs a restart is logged and waits for it; a part a
// module applying it in place (c2s) could not apply is logged with what
// stayed as it was, and "reloaded" is logged only when all of it applied.
//
// The error, nil when all of it applied, is what xmppd reload prints.
func reload(srv *core.Server, file, logTarget string, level *slog.LevelVar, log *slog.Logger, alias *adminAlias) error {
	cfg, source, err := loadConfig(file)
	if err == nil {
		err = core.CheckModules(cfg)
	}
	if err != nil {
		var list config.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				log.Error("reload refused", "err", e.Error())
			}
		} else {
			log.Error("reload refused", "err", err)
		}
		log.Error("reload refused: the configuration has errors; everything runs on as it was", "config", source)
		return fmt.Errorf("reload refused: the configuration has errors; everything runs on as it was:\n%w", err)
	}
	restart, err := srv.Reload(cfg)
	if cfg.LogTarget != logTarget {
		// The logger is made once, at the start.
		restart = append(restart, "log_target")
	}
	if errors.Is(err, core.ErrNotApplied) {
		// A module failed to load with the new configuration: the reload is
		// all or nothing, so nothing of it applies, log level included.
		for _, e := range unwrap(err) {
			if !errors.Is(e, core.ErrNotApplied) {
				log.Error("reload refused", "err", e.Error())
			}
		}
		log.Error("reload refused: a module could not load with the new configuration; everything runs on as it was", "config", source)
		return fmt.Errorf("reload refused: a module could not load with the new configuration; everything runs on as it was:\n%w", err)
	}
	level.Set(logLevel(cfg.LogLevel))
	applyRuntime(cfg)
	for _, what := range restart {
		log.Warn("reload: this change waits for a restart; the running server keeps what it started with", "what", what)
	}
	alias.set(cfg.AdminSocket)
	if err != nil {
		for _, e := range unwrap(err) {
			log.Error("reload: not applied", "err", e.Error())
		}
		log.Error("reload applied in part: the rest of the new configuration is in use", "config", source)
		return fmt.Errorf("reload applied in part: the rest of the new configuration is in use:\n%w", err)
	}
	log.Info("reloaded", "config", source)
	return nil
}

// unwrap splits a joined error into its parts.
func unwrap(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// adminAlias answers the admin protocol on the admin socket a reloaded
// configuration names, while the server runs on with the socket it started
// with until a restart. The other commands look for the server where the
// file says: finding none there, `xmppd user` would open the file's data
// directory itself and write where the running server does not read.
type adminAlias struct {
	srv  *core.Server
	log  *slog.Logger
	path string
	ln   net.Listener
}

// set makes the alias answer on path, or on nothing when path is the
// socket the server runs with.
func (a *adminAlias) set(path string) {
	if path == a.path {
		return
	}
	a.close()
	if path == a.srv.Config.AdminSocket {
		return
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		a.log.Warn("the new admin socket answers already, so this server cannot answer on it before its restart", "admin_socket", path)
		return
	}
	// The folder is the one the server would make at its restart.
	os.MkdirAll(filepath.Dir(path), 0o750)
	os.Remove(path) // left by a crash: nothing answered on it
	ln, err := net.Listen("unix", path)
	if err != nil {
		a.log.Warn("cannot answer on the new admin socket before the restart; the commands reach this server only through the old one", "admin_socket", path, "err", err)
		return
	}
	os.Chmod(path, 0o600)
	a.path, a.ln = path, ln
	a.log.Info("answering on the new admin socket too, until the restart", "admin_socket", path, "running_with", a.srv.Config.AdminSocket)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveAdmin(a.srv, c)
		}
	}()
}

func (a *adminAlias) close() {
	if a.ln != nil {
		a.ln.Close()
		os.Remove(a.path)
		a.ln, a.path = nil, ""
	}
}

// serveAdmin answers requests on c as the admin module does: one JSON
// object a line each way.
func serveAdmin(srv *core.Server, c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	sc := bufio.NewScanner(c)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req admin.Request
		var resp admin.Response
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = "bad request: " + err.Error()
		} else {
			resp = admin.Handle(srv, req)
		}
		if enc.Encode(resp) != nil {
			return
		}
	}
}
