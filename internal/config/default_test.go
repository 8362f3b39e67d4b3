package config

import (
	"bytes"
	"strings"
	"testing"
)

func TestDefaultHasSections(t *testing.T) {
	text := string(Default())
	for _, want := range []string{
		"config xmppd 'main'",
		"config host 'localhost'",
		"config listener 'c2s'",
		"config listener 'c2s_direct_tls'",
		"option stanza_size_limit '262144'",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("default config lacks %q", want)
		}
	}
}

func TestDefaultReturnsCopy(t *testing.T) {
	a := Default()
	a[0] = 'X'
	if b := Default(); bytes.Equal(a, b) {
		t.Fatal("Default() returned shared bytes; a caller's edit leaked into the next call")
	}
}
