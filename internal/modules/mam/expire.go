package mam

import (
	"time"

	"xmppd/internal/storage"
)

// expiryInterval is how often the expiry job runs: hourly, or at half the
// retention when that is shorter, so that nothing outlives archive_expires
// by more than half of it.
func expiryInterval(expires time.Duration) time.Duration {
	return min(max(expires/2, time.Second), time.Hour)
}

// expire deletes every account's items older than archive_expires. Each
// account's is one time-range deletion, which the store turns into a
// single range tombstone however many items it covers.
func (m *Module) expire() {
	users, err := m.api.Server().DB.Archive("mam", m.opts.durable).Users(m.host.Name)
	if err != nil {
		m.api.Log().Error("listing the archives to expire failed", "err", err)
		return
	}
	cutoff := time.Now().Add(-m.opts.expires)
	for _, user := range users {
		n, err := m.store.Delete(user, storage.Query{End: cutoff})
		if err != nil {
			m.api.Log().Error("expiring archived messages failed", "user", user, "err", err)
			continue
		}
		m.expired.Add(uint64(n))
	}
}
