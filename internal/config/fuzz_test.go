package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever parses without
// error survives Bytes and Parse unchanged, and that the mapping to Config
// never panics either.
func FuzzParse(f *testing.F) {
	f.Add(Default())
	paths, _ := filepath.Glob("testdata/*.uci")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"config t 'x'; option a 'it'\\''s'\n",
		"config t\noption a \"b\\\"c\\\\\n d\"#e\nlist l ''\nlist l 'x\ny'\n",
		"c t\no a b\\\nc\r\nl a 'q'\n",
		"config t 'x'\nconfig u 'x'\n",
		"config t\noption a 'unterminated\n",
		"option a b\nconfig\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz", data)
		if file == nil {
			t.Fatal("Parse returned no File")
		}
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("Parse error %T is not an ErrorList", err)
			}
			return
		}
		roundTrip(t, file)
		FromFile(file)
	})
}
