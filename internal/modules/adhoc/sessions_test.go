package adhoc

import (
	"testing"
	"time"
)

func TestSessionsExpire(t *testing.T) {
	s := newSessions(2, time.Minute)
	now := time.Now()
	a := s.start("n", "admin@h/r", now)
	b := s.start("n", "admin@h/r", now)
	if a == "" || b == "" || s.start("n", "admin@h/r", now) != "" {
		t.Fatal("bound not kept")
	}
	// Once expired, a session can no longer be continued, and its place
	// goes to a new one.
	later := now.Add(2 * time.Minute)
	if s.take(a, "n", "admin@h/r", later) {
		t.Fatal("an expired session was continued")
	}
	if s.start("n", "admin@h/r", later) == "" {
		t.Fatal("expired sessions kept their places")
	}
	if s.take(b, "other", "admin@h/r", now) || s.take(b, "n", "admin@h/x", now) {
		t.Fatal("a session was continued by another node or resource")
	}
	s.prune(later)
	if s.count() != 1 {
		t.Fatalf("%d sessions after prune", s.count())
	}
}
