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
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	if cfg.GCPercent > 0 {
		debug.SetGCPercent(cfg.GCPercent)
	}
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

// reload applies SIGHUP: the configuration is read again and what can change
// in place (log level, certificates) changes without dropping a session; a
// configuration with errors changes nothing.
func reload(srv *core.Server, file string, level *slog.LevelVar, log *slog.Logger) {
	cfg, source, err := loadConfig(file)
	if err != nil {
		log.Error("reload failed; the running configuration stays", "config", source, "err", err)
		return
	}
	level.Set(logLevel(cfg.LogLevel))
	if changed := structuralChange(srv.Config, cfg); changed != "" {
		log.Warn("reload: this change takes effect at the next restart", "what", changed)
	}
	srv.Events.Fire("reload", &core.Event{Data: cfg})
	log.Info("reloaded", "config", source)
}

// structuralChange names what a reload cannot apply in place.
func structuralChange(old, cur *config.Config) string {
	switch {
	case fmt.Sprint(old.Hosts) != fmt.Sprint(cur.Hosts):
		return "hosts"
	case fmt.Sprint(old.Listeners) != fmt.Sprint(cur.Listeners):
		return "listeners"
	case old.DataDir != cur.DataDir:
		return "data_dir"
	case fmt.Sprint(old.ModulesEnabled) != fmt.Sprint(cur.ModulesEnabled):
		return "modules_enabled"
	}
	return ""
}
