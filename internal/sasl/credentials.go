package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"

	"golang.org/x/text/secure/precis"
)

// DefaultIterations is the PBKDF2 count NewCredentials uses when given 0;
// RFC 7677 §4 asks for at least 4096.
const DefaultIterations = 4096

// minIterations is the least count NewCredentials stores. Tests derive
// weaker credentials through deriveCredentials to stay fast under
// emulation.
const minIterations = 4096

// maxIterations bounds the count a server accepts from storage and a client
// accepts from a server. A PLAIN login costs the server this many HMACs,
// and a server-first message with a huge count would pin a client's CPU.
const maxIterations = 10_000_000

// saltLen is the salt NewCredentials draws, and the fake salt of an unknown
// account (RFC 5802 §5.1 leaves the size open; 16 bytes is customary).
const saltLen = 16

// Credentials are what an account stores for one hash instead of its
// password (RFC 5802 §3).
type Credentials struct {
	Hash       string // SHA1 or SHA256
	Salt       []byte
	Iterations int
	StoredKey  []byte // H(ClientKey)
	ServerKey  []byte // HMAC(SaltedPassword, "Server Key")
}

// ErrUnknownUser is what a Lookup returns for an account that does not
// exist or has no credentials for the asked hash.
var ErrUnknownUser = errors.New("sasl: unknown user")

// Lookup finds an account's credentials for a hash (SHA1 or SHA256). The
// username is as the client sent it, unescaped but not prepared. A missing
// account is ErrUnknownUser; any other error fails the exchange with
// temporary-auth-failure. Checks that would reveal that an account exists,
// such as a disabled account, belong after a successful exchange.
type Lookup func(username, hash string) (Credentials, error)

// scramHash is one of the hashes SCRAM is defined for.
type scramHash struct {
	name string
	new  func() hash.Hash
	size int
	// fakeIterations follows the count of the real accounts last looked
	// up, so that the server-first message of an unknown account carries
	// the same count as a real one.
	fakeIterations atomic.Int32
}

var (
	hashSHA1   = &scramHash{name: SHA1, new: sha1.New, size: sha1.Size}
	hashSHA256 = &scramHash{name: SHA256, new: sha256.New, size: sha256.Size}
)

func hashByName(name string) *scramHash {
	switch name {
	case SHA1:
		return hashSHA1
	case SHA256:
		return hashSHA256
	}
	return nil
}

// preparePassword applies the OpaqueString profile, which takes the place
// of SASLprep for passwords (RFC 8265 §4.2). It is idempotent, so a client
// and a server may both apply it.
func preparePassword(password string) (string, error) {
	p, err := precis.OpaqueString.String(password)
	if err != nil {
		return "", fmt.Errorf("sasl: password is not a valid opaque string (RFC 8265 §4.2): %w", err)
	}
	return p, nil
}

// NewCredentials derives the credentials for a password under a fresh
// random 16-byte salt. An iteration count of 0 means DefaultIterations;
// counts below 4096 are refused (RFC 7677 §4).
func NewCredentials(hash, password string, iterations int) (Credentials, error) {
	if iterations == 0 {
		iterations = DefaultIterations
	}
	if iterations < minIterations {
		return Credentials{}, fmt.Errorf("sasl: iteration count %d is below %d (RFC 7677 §4)", iterations, minIterations)
	}
	if iterations > maxIterations {
		return Credentials{}, fmt.Errorf("sasl: iteration count %d is above %d", iterations, maxIterations)
	}
	salt := make([]byte, saltLen)
	rand.Read(salt)
	return deriveCredentials(hash, password, salt, iterations)
}

// deriveCredentials is NewCredentials with the salt given and any positive
// count.
func deriveCredentials(hashName, password string, salt []byte, iterations int) (Credentials, error) {
	h := hashByName(hashName)
	if h == nil {
		return Credentials{}, fmt.Errorf("sasl: unknown hash %q, want %q or %q", hashName, SHA1, SHA256)
	}
	p, err := preparePassword(password)
	if err != nil {
		return Credentials{}, err
	}
	clientKey, serverKey, err := h.keys(p, salt, iterations)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{
		Hash:       h.name,
		Salt:       salt,
		Iterations: iterations,
		StoredKey:  h.sum(clientKey),
		ServerKey:  serverKey,
	}, nil
}

// keys returns ClientKey and ServerKey for a prepared password
// (RFC 5802 §3).
func (h *scramHash) keys(prepared string, salt []byte, iterations int) (clientKey, serverKey []byte, err error) {
	salted, err := pbkdf2.Key(h.new, prepared, salt, iterations, h.size)
	if err != nil {
		return nil, nil, fmt.Errorf("sasl: deriving the salted password: %w", err)
	}
	return h.hmac(salted, "Client Key"), h.hmac(salted, "Server Key"), nil
}

func (h *scramHash) hmac(key []byte, msg string) []byte {
	m := hmac.New(h.new, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func (h *scramHash) sum(b []byte) []byte {
	d := h.new()
	d.Write(b)
	return d.Sum(nil)
}

// check reports whether credentials from storage are usable with h; the
// server must not index or derive with keys of the wrong size.
func (h *scramHash) check(c Credentials) error {
	switch {
	case c.Hash != h.name:
		return fmt.Errorf("credentials are for %q, not %q", c.Hash, h.name)
	case len(c.Salt) == 0:
		return errors.New("credentials have an empty salt")
	case c.Iterations < 1 || c.Iterations > maxIterations:
		return fmt.Errorf("credentials have iteration count %d, outside 1 to %d", c.Iterations, maxIterations)
	case len(c.StoredKey) != h.size || len(c.ServerKey) != h.size:
		return fmt.Errorf("credentials have keys of %d and %d bytes, want %d", len(c.StoredKey), len(c.ServerKey), h.size)
	}
	return nil
}

// VerifyPlain reports whether password matches the credentials, by deriving
// the StoredKey from it. It costs Iterations HMACs.
func VerifyPlain(c Credentials, password string) bool {
	h := hashByName(c.Hash)
	if h == nil || h.check(c) != nil {
		return false
	}
	p, err := preparePassword(password)
	if err != nil {
		return false
	}
	return verifyPrepared(h, c, p)
}

func verifyPrepared(h *scramHash, c Credentials, prepared string) bool {
	clientKey, _, err := h.keys(prepared, c.Salt, c.Iterations)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(h.sum(clientKey), c.StoredKey) == 1
}

// fakeSecret keys the credentials of unknown accounts. It lives as long as
// the process, so an account that does not exist shows the same salt on
// every attempt, as a real one does; a changing salt would give it away.
var fakeSecret = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
})

// fakeCredentials stands in for an account that does not exist, so that
// its exchange takes the same steps, and its server-first message has the
// same shape, as one with a wrong password: neither may reveal which
// accounts exist.
func fakeCredentials(h *scramHash, username string) Credentials {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, fakeSecret())
		m.Write([]byte(label))
		m.Write([]byte{0})
		m.Write([]byte(h.name))
		m.Write([]byte{0})
		m.Write([]byte(username))
		return m.Sum(nil)
	}
	iterations := int(h.fakeIterations.Load())
	if iterations == 0 {
		iterations = DefaultIterations
	}
	return Credentials{
		Hash:       h.name,
		Salt:       derive("salt")[:saltLen],
		Iterations: iterations,
		StoredKey:  derive("stored")[:h.size],
		ServerKey:  derive("server")[:h.size],
	}
}
