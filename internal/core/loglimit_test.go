package core_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"xmppd/internal/core"
)

// lockedBuffer is a log destination that goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestLogLimiter: a thousand repeats of one cause make one line at once and
// one summary with their count; another cause is not held back.
func TestLogLimiter(t *testing.T) {
	var out lockedBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	l := core.NewLogLimiter(300 * time.Millisecond)
	for i := range 1000 {
		l.Warn(log, "per-ip", "connection refused", "ip", "192.0.2.1", "n", i)
	}
	l.Warn(log, "other", "something else")
	if got := strings.Count(out.String(), "\n"); got != 2 {
		t.Fatalf("%d lines before the interval ended, want 2:\n%s", got, out.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "repeated=999") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary line:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "n=999 repeated=999") {
		t.Fatalf("the summary does not carry the latest details:\n%s", out.String())
	}
	// After a quiet interval the cause is forgotten: the next line is
	// written at once again.
	time.Sleep(1500 * time.Millisecond)
	before := strings.Count(out.String(), "\n")
	l.Warn(log, "per-ip", "connection refused", "ip", "192.0.2.2")
	if strings.Count(out.String(), "\n") != before+1 {
		t.Fatalf("a warning after a quiet interval was held back:\n%s", out.String())
	}
}
