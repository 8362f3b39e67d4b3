package sasl

import (
	"strconv"
	"sync"
)

// KeyCache remembers the ClientKey and ServerKey a client derived for a
// password under a salt and an iteration count. RFC 5802 §5.1 lets a client
// keep what it derived, and real clients do, so that logging in again to an
// account whose salt has not changed costs no PBKDF2. A load generator that
// derived on every login would measure its own CPU, not the server's.
//
// It is safe for concurrent use and never forgets: it is meant for one
// process's lifetime and a bounded set of accounts. A server that draws a
// fresh salt on every exchange adds an entry per login.
type KeyCache struct {
	mu sync.Mutex
	m  map[string]cachedKeys
	// derived counts the derivations done for lookups that missed, for tests.
	derived int
}

type cachedKeys struct{ clientKey, serverKey []byte }

// NewKeyCache returns an empty cache.
func NewKeyCache() *KeyCache { return &KeyCache{m: map[string]cachedKeys{}} }

// Len returns the number of entries.
func (k *KeyCache) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

// keys returns what h.keys returns, from the cache when it can. Two clients
// missing at once both derive; the result is the same either way.
func (k *KeyCache) keys(h *scramHash, prepared string, salt []byte, iterations int) (clientKey, serverKey []byte, err error) {
	// NUL cannot occur in a prepared password, so the key is unambiguous.
	id := h.name + "\x00" + strconv.Itoa(iterations) + "\x00" + prepared + "\x00" + string(salt)
	k.mu.Lock()
	e, ok := k.m[id]
	k.mu.Unlock()
	if ok {
		return e.clientKey, e.serverKey, nil
	}
	clientKey, serverKey, err = h.keys(prepared, salt, iterations)
	if err != nil {
		return nil, nil, err
	}
	k.mu.Lock()
	k.m[id] = cachedKeys{clientKey, serverKey}
	k.derived++
	k.mu.Unlock()
	return clientKey, serverKey, nil
}

// UseKeyCache makes the exchange take its keys from k and store them
// there. Call it before the first Step; without it every exchange derives.
func (c *Client) UseKeyCache(k *KeyCache) { c.cache = k }
