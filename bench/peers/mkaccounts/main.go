// Command mkaccounts writes SCRAM-SHA-1 (or, with -hash sha256,
// SCRAM-SHA-256) credentials for the benchmark
// accounts <user>0 … <user>N-1 straight into a peer server's storage format,
// because registering thousands of accounts one command at a time takes
// minutes (prosodyctl register costs about 64 ms an account).
//
// Every account gets its own random salt and the iteration count given, as
// the servers' own registration would; nothing stores the password itself.
//
//	mkaccounts -n 10000 [-bare] -prosody DATA_PATH   one .dat file per account
//	mkaccounts -n 10000 [-bare] -ejabberd FILE       Erlang terms for ejabberd_auth
package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
)

// cred is one account's SCRAM credentials (RFC 5802 §3).
type cred struct {
	user       string
	salt       []byte
	iterations int
	storedKey  []byte // H(HMAC(SaltedPassword, "Client Key"))
	serverKey  []byte // HMAC(SaltedPassword, "Server Key")
}

// derive computes the stored and server keys for a password, salt and
// iteration count. The password is ASCII here, so SASLprep leaves it as is.
func derive(h func() hash.Hash, user, password string, salt []byte, iterations int) (cred, error) {
	salted, err := pbkdf2.Key(h, password, salt, iterations, h().Size())
	if err != nil {
		return cred{}, err
	}
	mac := func(msg string) []byte {
		m := hmac.New(h, salted)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	d := h()
	d.Write(mac("Client Key"))
	return cred{user: user, salt: salt, iterations: iterations, storedKey: d.Sum(nil), serverKey: mac("Server Key")}, nil
}

// prosodySalt is a random UUID string, the kind of salt Prosody itself
// stores; Prosody uses the string's bytes as the salt.
func prosodySalt() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return []byte(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
}

// randomSalt is 16 random bytes, as ejabberd draws for a new account.
func randomSalt() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return b
}

// names are the accounts: <user>0 … <user>N-1, and <user> itself when bare
// is set (the load generator's account when it is told of only one).
func names(user string, n int, bare bool) []string {
	out := make([]string, 0, n+1)
	for i := range n {
		out = append(out, user+strconv.Itoa(i))
	}
	if bare {
		out = append(out, user)
	}
	return out
}

// deriveAll computes the accounts' credentials on every core: PBKDF2 with
// 4096 rounds is about a millisecond an account, the whole cost here.
func deriveAll(h func() hash.Hash, users []string, password string, iterations int, salt func() []byte) ([]cred, error) {
	n := len(users)
	creds := make([]cred, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				creds[i], errs[i] = derive(h, users[i], password, salt(), iterations)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return creds, nil
}

// luaString quotes s as a Lua string literal; %q's escapes are valid Lua
// for the printable ASCII that the salts and hex keys consist of.
func luaString(s string) string { return strconv.Quote(s) }

// writeProsody writes DATA_PATH/<host>/accounts/<user>.dat in the layout of
// Prosody 0.12's internal storage with internal_hashed authentication.
func writeProsody(dataPath, domain string, creds []cred) error {
	// Prosody escapes host and user names in paths the way URLs escape them.
	dir := filepath.Join(dataPath, url.QueryEscape(domain), "accounts")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	for _, c := range creds {
		body := fmt.Sprintf("return {\n\t[\"server_key\"] = %s;\n\t[\"iteration_count\"] = %d;\n\t[\"stored_key\"] = %s;\n\t[\"salt\"] = %s;\n};\n",
			luaString(hex.EncodeToString(c.serverKey)), c.iterations,
			luaString(hex.EncodeToString(c.storedKey)), luaString(string(c.salt)))
		if err := os.WriteFile(filepath.Join(dir, url.QueryEscape(c.user)+".dat"), []byte(body), 0o640); err != nil {
			return err
		}
	}
	return nil
}

// writeEjabberd writes one Erlang term per account,
// {User, StoredKey, ServerKey, Salt, Iterations} with the binaries base64
// encoded as ejabberd keeps them in its scram record; the caller turns each
// into a #scram{} and hands it to ejabberd_auth:try_register/3.
func writeEjabberd(w io.Writer, creds []cred) error {
	bw := bufio.NewWriter(w)
	b64 := base64.StdEncoding.EncodeToString
	for _, c := range creds {
		fmt.Fprintf(bw, "{<<%q>>,<<%q>>,<<%q>>,<<%q>>,%d}.\n",
			c.user, b64(c.storedKey), b64(c.serverKey), b64(c.salt), c.iterations)
	}
	return bw.Flush()
}

func main() {
	n := flag.Int("n", 10000, "accounts")
	user := flag.String("user", "bench", "localpart prefix: <user>0 … <user>N-1")
	pass := flag.String("pass", "bench", "password (ASCII)")
	domain := flag.String("domain", "localhost", "XMPP domain")
	iterations := flag.Int("iterations", 4096, "PBKDF2 iteration count")
	prosody := flag.String("prosody", "", "Prosody data_path to write the account files into")
	ejabberd := flag.String("ejabberd", "", "file to write ejabberd's account terms to")
	bare := flag.Bool("bare", false, "also write the account <user> itself")
	hashName := flag.String("hash", "sha1", "SCRAM hash: sha1 or sha256 (the server must be configured for the same)")
	flag.Parse()
	var h func() hash.Hash
	switch *hashName {
	case "sha1":
		h = sha1.New
	case "sha256":
		h = sha256.New
	default:
		fmt.Fprintln(os.Stderr, "mkaccounts: -hash must be sha1 or sha256")
		os.Exit(2)
	}
	if (*prosody == "") == (*ejabberd == "") || *n < 1 || *iterations < 1 {
		fmt.Fprintln(os.Stderr, "mkaccounts: give -n ≥ 1 and exactly one of -prosody DIR or -ejabberd FILE")
		os.Exit(2)
	}
	for _, r := range *pass {
		if r < 0x21 || r > 0x7e {
			fmt.Fprintln(os.Stderr, "mkaccounts: the password must be printable ASCII (no SASLprep here)")
			os.Exit(2)
		}
	}
	salt := randomSalt
	if *prosody != "" {
		salt = prosodySalt
	}
	creds, err := deriveAll(h, names(*user, *n, *bare), *pass, *iterations, salt)
	if err == nil {
		if *prosody != "" {
			err = writeProsody(*prosody, *domain, creds)
		} else {
			var f *os.File
			if f, err = os.Create(*ejabberd); err == nil {
				err = writeEjabberd(f, creds)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkaccounts:", err)
		os.Exit(1)
	}
}
