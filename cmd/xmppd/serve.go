package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"xmppd/internal/config"
	"xmppd/internal/core"
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

func serve(args []string, stdout, stderr io.Writer) int {
	fs, file := newFlagSet("serve", stderr)
	if status, ok := parseFlags(fs, args, 0, stderr); !ok {
		return status
	}
	// Signals are caught from the start, so a stop that comes while the
	// server is still starting is a clean stop, not a kill.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	cfg, source, err := loadConfig(*file)
	if err != nil {
		fmt.Fprintln(stderr, "xmppd: serve:", err)
		fmt.Fprintln(stderr, "xmppd: serve: fix the configuration, or run `xmppd check` for every error")
		return 1
	}
	level := new(slog.LevelVar)
	level.Set(logLevel(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	applyRuntime(cfg)
	log.Info("starting", "version", version.String(), "config", source, "data", cfg.DataDir)

	srv, err := core.New(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "xmppd: serve:", err)
		return 1
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintln(stderr, "xmppd: serve:", err)
		return 1
	}
	var hosts []string
	for _, h := range srv.Hosts() {
		hosts = append(hosts, h.Name)
	}
	log.Info("ready", "hosts", hosts, "admin_socket", cfg.AdminSocket)

	for s := range sig {
		if s != syscall.SIGHUP {
			log.Info("stopping", "signal", s.String())
			srv.Stop()
			log.Info("stopped")
			return 0
		}
		reload(srv, *file, level, log)
	}
	return 0
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
// and their options, client connection options, listeners, certificates).
// A configuration with errors changes nothing; what needs a restart is
// logged and waits for it.
func reload(srv *core.Server, file string, level *slog.LevelVar, log *slog.Logger) {
	cfg, source, err := loadConfig(file)
	if err != nil {
		log.Error("reload failed; the running configuration stays", "config", source, "err", err)
		return
	}
	level.Set(logLevel(cfg.LogLevel))
	applyRuntime(cfg)
	restart, err := srv.Reload(cfg)
	for _, what := range restart {
		log.Warn("reload: this change takes effect at the next restart", "what", what)
	}
	if err != nil {
		log.Error("reload: not all of it applied; what failed keeps its old settings", "err", err)
	}
	log.Info("reloaded", "config", source)
}
