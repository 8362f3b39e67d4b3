package all_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"xmppd/internal/config"
)

// TestModuleReadmes: every module folder documents itself with the same
// sections, and every UCI example in those documents parses.
func TestModuleReadmes(t *testing.T) {
	dirs, err := filepath.Glob("../*/module.go")
	if err != nil || len(dirs) == 0 {
		t.Fatal("no modules found", err)
	}
	fence := regexp.MustCompile("(?s)```uci\n(.*?)```")
	for _, m := range dirs {
		dir := filepath.Dir(m)
		b, err := os.ReadFile(filepath.Join(dir, "README.md"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		text := string(b)
		for _, s := range []string{"Name", "Description", "Configuration (UCI)", "Events", "Storage", "Metrics", "Examples"} {
			if !strings.Contains(text, "\n## "+s+"\n") {
				t.Errorf("%s/README.md lacks the section %q", dir, s)
			}
		}
		for _, ex := range fence.FindAllStringSubmatch(text, -1) {
			if _, err := config.Parse(dir+"/README.md", []byte(ex[1])); err != nil {
				t.Errorf("%s/README.md: example does not parse: %v", dir, err)
			}
		}
	}
}
