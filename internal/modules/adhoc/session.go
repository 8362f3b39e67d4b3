package adhoc

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// session is a command under way: the form was sent, the submission is
// awaited (XEP-0050 §3.4). Only the full JID that started it continues it.
type session struct {
	node    string
	owner   string // full JID
	expires time.Time
}

// sessions holds the sessions of one host, bounded in number and age, so
// that requesters who never finish cost nothing lasting.
type sessions struct {
	max int
	ttl time.Duration

	mu   sync.Mutex
	byID map[string]session
}

func newSessions(max int, ttl time.Duration) *sessions {
	return &sessions{max: max, ttl: ttl, byID: map[string]session{}}
}

// start opens a session and returns its id; "" when the table is full of
// live sessions.
func (s *sessions) start(node, owner string, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	if len(s.byID) >= s.max {
		return ""
	}
	var b [8]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	s.byID[id] = session{node: node, owner: owner, expires: now.Add(s.ttl)}
	return id
}

// take ends a session and reports whether it was live and belonged to
// owner and node.
func (s *sessions) take(id, node, owner string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.byID[id]
	if !ok || se.owner != owner || se.node != node {
		return false
	}
	delete(s.byID, id)
	return now.Before(se.expires)
}

// prune drops the expired sessions.
func (s *sessions) prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
}

func (s *sessions) pruneLocked(now time.Time) {
	for id, se := range s.byID {
		if !now.Before(se.expires) {
			delete(s.byID, id)
		}
	}
}

// count returns the number of live sessions.
func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(time.Now())
	return len(s.byID)
}
