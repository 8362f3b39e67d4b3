// Command credsize prints what xmppd stores for one account: the accounts
// store's record (SCRAM-SHA-256 and SCRAM-SHA-1 credentials at the default
// iteration count, as core.Accounts.Create writes it) and its key, in
// bytes, before the storage engine's own overhead and compression. Give
// -data and -accounts to divide a data directory's size by its accounts
// as well.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/sasl"
)

func main() {
	user := flag.String("user", "bench1234", "localpart the key is sized for")
	host := flag.String("host", "localhost", "domain the key is sized for")
	data := flag.String("data", "", "a data directory to divide by -accounts")
	accounts := flag.Int("accounts", 0, "accounts in -data")
	flag.Parse()
	rec := core.AccountRecord{Created: time.Now().Unix()}
	for _, h := range []string{sasl.SHA256, sasl.SHA1} {
		c, err := sasl.NewCredentials(h, "bench", sasl.DefaultIterations)
		if err != nil {
			fmt.Fprintln(os.Stderr, "credsize:", err)
			os.Exit(1)
		}
		rec.Creds = append(rec.Creds, core.CredRecord{Hash: c.Hash, Salt: c.Salt, Iterations: c.Iterations, StoredKey: c.StoredKey, ServerKey: c.ServerKey})
	}
	v, err := rec.MarshalMsg(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "credsize:", err)
		os.Exit(1)
	}
	// The key: kind byte, store name, host and user, each followed by a
	// separator (internal/storage/keys.go, appendPrefix).
	key := 1 + len("accounts") + 1 + len(*host) + 1 + len(*user) + 1
	fmt.Printf("{\"record_bytes\":%d,\"key_bytes\":%d,\"iterations\":%d,\"hashes\":2", len(v), key, sasl.DefaultIterations)
	if *data != "" && *accounts > 0 {
		var n int64
		filepath.WalkDir(*data, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if info, err := d.Info(); err == nil {
					n += info.Size()
				}
			}
			return nil
		})
		fmt.Printf(",\"data_bytes\":%d,\"data_bytes_per_account\":%.1f", n, float64(n)/float64(*accounts))
	}
	fmt.Println("}")
}
