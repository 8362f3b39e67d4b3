package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"xmppd/internal/core"
	"xmppd/internal/modules/admin"
)

// notifier tells systemd (Type=notify) where the daemon is in its life:
// ready once listening, reloading around a SIGHUP, stopping, and alive at
// half WatchdogSec with a STATUS line of sessions and memory. Without
// NOTIFY_SOCKET (OpenWrt's procd, a shell) every call does nothing.
type notifier struct {
	srv  *core.Server
	log  *slog.Logger
	stop chan struct{}
}

// startNotify sends READY=1 and starts the watchdog pings when systemd
// asks for them.
func startNotify(srv *core.Server, log *slog.Logger) *notifier {
	n := &notifier{srv: srv, log: log, stop: make(chan struct{})}
	n.send(daemon.SdNotifyReady + "\n" + n.status())
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog: WATCHDOG_USEC is not usable; no pings", "err", err)
	}
	if interval > 0 {
		go n.watchdog(interval / 2)
	}
	return n
}

func (n *notifier) watchdog(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			n.send(daemon.SdNotifyWatchdog + "\n" + n.status())
		}
	}
}

// status is systemd's STATUS= line, which `systemctl status` shows.
func (n *notifier) status() string {
	resp := admin.Handle(n.srv, admin.Request{Cmd: "status"})
	if resp.Status == nil {
		return "STATUS=running"
	}
	s := resp.Status
	return fmt.Sprintf("STATUS=%d sessions, heap %.1f MiB, rss %.1f MiB",
		s.Sessions, float64(s.HeapBytes)/(1<<20), float64(s.RSSBytes)/(1<<20))
}

// reloading brackets a reload; systemd holds `systemctl reload` until the
// READY=1 that done sends.
func (n *notifier) reloading() (done func()) {
	n.send(fmt.Sprintf("%s\nMONOTONIC_USEC=%d", daemon.SdNotifyReloading, monotonicUsec()))
	return func() { n.send(daemon.SdNotifyReady + "\n" + n.status()) }
}

func (n *notifier) stopping() {
	close(n.stop)
	n.send(daemon.SdNotifyStopping)
}

func (n *notifier) send(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.log.Warn("systemd notify failed", "err", err)
	}
}
