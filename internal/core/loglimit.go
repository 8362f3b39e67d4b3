package core

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// LogLimiter keeps a repeated warning from flooding the log (on a router,
// its flash): the first line of a cause is written at once, the repeats
// within the interval are counted, and one line with that count follows
// when the interval ends. Causes are few and fixed (a limit's name), so the
// map stays small. It is safe for concurrent use.
type LogLimiter struct {
	interval time.Duration

	mu     sync.Mutex
	causes map[string]*logCause
}

// logCause is one cause's interval: the repeats counted, and the latest of
// them, which is what an operator reading the summary wants to see.
type logCause struct {
	suppressed int
	log        *slog.Logger
	level      slog.Level
	msg        string
	args       []any
}

// NewLogLimiter returns a LogLimiter writing at most one line per cause
// per interval.
func NewLogLimiter(interval time.Duration) *LogLimiter {
	return &LogLimiter{interval: interval, causes: map[string]*logCause{}}
}

// Log writes msg with args at level to log, unless a line for cause was
// written within the interval; then it is counted, and written once with
// the count when the interval ends.
func (l *LogLimiter) Log(log *slog.Logger, level slog.Level, cause, msg string, args ...any) {
	l.mu.Lock()
	if c := l.causes[cause]; c != nil {
		c.suppressed++
		c.log, c.level, c.msg, c.args = log, level, msg, args
		l.mu.Unlock()
		return
	}
	l.causes[cause] = &logCause{}
	time.AfterFunc(l.interval, func() { l.summarize(cause) })
	l.mu.Unlock()
	log.Log(context.Background(), level, msg, args...)
}

// Warn is Log at warning level.
func (l *LogLimiter) Warn(log *slog.Logger, cause, msg string, args ...any) {
	l.Log(log, slog.LevelWarn, cause, msg, args...)
}

// summarize ends cause's interval: the repeats it counted, if any, are
// written as one line, which opens a new interval.
func (l *LogLimiter) summarize(cause string) {
	l.mu.Lock()
	c := l.causes[cause]
	if c.suppressed == 0 {
		delete(l.causes, cause)
		l.mu.Unlock()
		return
	}
	l.causes[cause] = &logCause{}
	time.AfterFunc(l.interval, func() { l.summarize(cause) })
	l.mu.Unlock()
	args := append(append([]any(nil), c.args...), "repeated", c.suppressed, "within", l.interval.String())
	c.log.Log(context.Background(), c.level, c.msg, args...)
}
