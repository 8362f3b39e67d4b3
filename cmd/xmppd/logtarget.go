package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
)

// syslogPath is the local syslog socket: logd's on OpenWrt, journald's or
// rsyslog's elsewhere. A variable so that tests can point it at their own.
var syslogPath = "/dev/log"

// syslogIdent is the program name that syslog lines carry.
const syslogIdent = "xmppd"

// facilityDaemon is syslog's facility for system daemons (RFC 3164 §4.1.1).
const facilityDaemon = 3

// supervised tells whether a supervisor that stamps every line of stderr
// itself started xmppd: procd (its init script sets XMPPD_SUPERVISOR) or
// systemd (which sets INVOCATION_ID for every service, and JOURNAL_STREAM
// when stderr goes to the journal).
func supervised() bool {
	return os.Getenv("XMPPD_SUPERVISOR") == "procd" ||
		os.Getenv("INVOCATION_ID") != "" || os.Getenv("JOURNAL_STREAM") != ""
}

// stderrHandler writes slog's text lines to w, without the time when a
// supervisor stamps the lines itself.
func stderrHandler(w io.Writer, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if supervised() {
		opts.ReplaceAttr = dropTop(slog.TimeKey)
	}
	return slog.NewTextHandler(w, opts)
}

// dropTop returns a ReplaceAttr function that leaves out the named
// top-level attributes.
func dropTop(keys ...string) func([]string, slog.Attr) slog.Attr {
	return func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 {
			for _, k := range keys {
				if a.Key == k {
					return slog.Attr{}
				}
			}
		}
		return a
	}
}

// newLogger makes the logger of option log_target: "syslog" sends lines to
// the local syslog socket, anything else writes them to stderr. When the
// socket cannot be opened the lines go to stderr, after one line saying why.
// The closer releases the socket.
func newLogger(target string, level slog.Leveler, stderr io.Writer) (*slog.Logger, io.Closer) {
	fallback := stderrHandler(stderr, level)
	if target != "syslog" {
		return slog.New(fallback), io.NopCloser(nil)
	}
	h, err := newSyslogHandler(syslogPath, level, fallback)
	if err != nil {
		log := slog.New(fallback)
		log.Warn("log_target syslog: cannot open the syslog socket; logging to stderr", "socket", syslogPath, "err", err)
		return log, io.NopCloser(nil)
	}
	return slog.New(h), h.sink
}

// syslogSink is the socket all handlers derived from one syslogHandler share.
type syslogSink struct {
	mu   sync.Mutex
	path string
	conn net.Conn
	buf  bytes.Buffer // the attributes of the record being sent
}

func (s *syslogSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// send writes one datagram; when the socket broke (the syslog daemon was
// restarted), it dials again once.
func (s *syslogSink) send(line []byte) error {
	if s.conn != nil {
		if _, err := s.conn.Write(line); err == nil {
			return nil
		}
		s.conn.Close()
		s.conn = nil
	}
	c, err := net.Dial("unixgram", s.path)
	if err != nil {
		return err
	}
	s.conn = c
	_, err = c.Write(line)
	return err
}

// syslogHandler sends each record as one RFC 3164 style datagram,
// "<PRI>xmppd[pid]: message key=value ...", with facility daemon and a
// severity per level; the syslog daemon adds the time and host.
type syslogHandler struct {
	sink     *syslogSink
	attrs    slog.Handler // formats the attributes into sink.buf
	fallback slog.Handler // stderr, for a record the socket would not take
	prefix   string       // "xmppd[pid]: "
}

func newSyslogHandler(path string, level slog.Leveler, fallback slog.Handler) (*syslogHandler, error) {
	c, err := net.Dial("unixgram", path)
	if err != nil {
		return nil, err
	}
	s := &syslogSink{path: path, conn: c}
	return &syslogHandler{
		sink: s,
		attrs: slog.NewTextHandler(&s.buf, &slog.HandlerOptions{
			Level:       level,
			ReplaceAttr: dropTop(slog.TimeKey, slog.LevelKey, slog.MessageKey),
		}),
		fallback: fallback,
		prefix:   syslogIdent + "[" + strconv.Itoa(os.Getpid()) + "]: ",
	}, nil
}

// severity maps a slog level to a syslog severity: debug 7, info 6,
// warn 4 (warning), error 3 (err).
func severity(l slog.Level) int {
	switch {
	case l < slog.LevelInfo:
		return 7
	case l < slog.LevelWarn:
		return 6
	case l < slog.LevelError:
		return 4
	}
	return 3
}

func (h *syslogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.attrs.Enabled(ctx, l)
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	s := h.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	if err := h.attrs.Handle(ctx, r); err != nil {
		return err
	}
	attrs := bytes.TrimSuffix(s.buf.Bytes(), []byte("\n"))
	line := fmt.Appendf(nil, "<%d>%s%s", facilityDaemon*8+severity(r.Level), h.prefix, r.Message)
	if len(attrs) > 0 {
		line = append(append(line, ' '), attrs...)
	}
	if s.send(line) != nil {
		return h.fallback.Handle(ctx, r)
	}
	return nil
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = h.attrs.WithAttrs(as)
	c.fallback = h.fallback.WithAttrs(as)
	return &c
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.attrs = h.attrs.WithGroup(name)
	c.fallback = h.fallback.WithGroup(name)
	return &c
}
