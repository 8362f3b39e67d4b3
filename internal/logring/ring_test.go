package logring

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestRingKeepsTheLastRecords(t *testing.T) {
	ring := New(3)
	log := slog.New(NewHandler(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}), ring))
	mod := log.With("mod", "c2s").WithGroup("conn")
	log.Info("one")
	mod.Warn("two", "ip", "127.0.0.1")
	log.Debug("three")
	log.Error("four", "err", "it broke badly")
	all := ring.Records(slog.LevelDebug, "")
	var msgs []string
	for _, r := range all {
		msgs = append(msgs, r.Msg)
	}
	if got := strings.Join(msgs, ","); got != "two,three,four" {
		t.Fatalf("kept %s, want two,three,four", got)
	}
	if all[0].Module != "c2s" || all[0].Attrs != "conn.ip=127.0.0.1" {
		t.Errorf("record two = %+v", all[0])
	}
	if all[2].Attrs != `err="it broke badly"` {
		t.Errorf("record four attrs = %q", all[2].Attrs)
	}
	if got := ring.Records(slog.LevelWarn, ""); len(got) != 2 {
		t.Errorf("warn and up: %d records, want 2", len(got))
	}
	if got := ring.Records(slog.LevelDebug, "c2s"); len(got) != 1 || got[0].Msg != "two" {
		t.Errorf("module c2s: %+v", got)
	}
	if Of(log) != ring || Of(slog.Default()) != nil {
		t.Error("Of does not find the ring")
	}
}
