package main

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeriveMatchesProsody checks the keys against an account that
// `prosodyctl register bench0 localhost bench` wrote with Prosody 0.12.3.
func TestDeriveMatchesProsody(t *testing.T) {
	c, err := derive(sha1.New, "bench0", "bench", []byte("a1748c3b-69b4-4811-81e6-3e598f1a169f"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(c.storedKey), "cee3cc019f338f465341c850167ed7635166f3ff"; got != want {
		t.Errorf("stored_key %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(c.serverKey), "05da686c636d9a993e5db62c95a8cd2ca0e69c1f"; got != want {
		t.Errorf("server_key %s, want %s", got, want)
	}
}

func TestWriteProsody(t *testing.T) {
	dir := t.TempDir()
	creds, err := deriveAll(sha1.New, names("u", 3, false), "pw", 4096, prosodySalt)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeProsody(dir, "localhost", creds); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "localhost", "accounts", "u2.dat"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`["iteration_count"] = 4096;`, `["stored_key"] = "`, `["server_key"] = "`, `["salt"] = "`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("u2.dat lacks %s:\n%s", want, b)
		}
	}
}

func TestWriteEjabberd(t *testing.T) {
	creds, err := deriveAll(sha1.New, names("u", 1, true), "pw", 4096, randomSalt)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeEjabberd(&b, creds); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{<<"u0">>,<<"`) || !strings.HasPrefix(lines[1], `{<<"u">>,<<"`) || !strings.HasSuffix(lines[1], `>>,4096}.`) {
		t.Errorf("terms:\n%s", b.String())
	}
}
