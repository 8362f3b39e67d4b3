package core_test

import (
	"slices"
	"strings"
	"testing"

	"xmppd/internal/core"
)

// TestLoadOrderFollowsRequires: a module loads after the modules it
// requires, which enabling it loads too, and after those it optionally
// follows when they are enabled; its service is there in its Load, and
// goes when its module unloads.
func TestLoadOrderFollowsRequires(t *testing.T) {
	recorded()
	// test_a_user sorts first but requires test_z_base, which is not listed.
	srv, err := startUCI(t, testUCI(t.TempDir(), "\tlist modules_enabled 'test_a_user'\n\tlist modules_enabled 'test_b_optional'\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Host("localhost")
	base, ok := core.ServiceOf[*core.API](h, "zbase")
	if !ok || base.Name() != "test_z_base" {
		t.Fatalf("service zbase on the host: %v %v", base, ok)
	}
	if got := recorded(); !slices.Equal(got, []string{"b_optional sees zbase: true"}) {
		t.Errorf("test_b_optional loaded before test_z_base: %q", got)
	}
	srv.Stop()
	if v := h.Service("zbase"); v != nil {
		t.Errorf("the service outlived its module: %v", v)
	}

	// Not enabled, an optional module is not loaded for anyone's sake.
	srv, err = startUCI(t, testUCI(t.TempDir(), "\tlist modules_enabled 'test_b_optional'\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := recorded(); !slices.Equal(got, []string{"b_optional sees zbase: false"}) {
		t.Errorf("records %q", got)
	}
	if v := srv.Host("localhost").Service("zbase"); v != nil {
		t.Errorf("test_z_base loaded though only an optional user was enabled")
	}
}

// TestRequirementErrors: a requirement a host disables, one not compiled
// in, and a cycle are configuration errors CheckModules (and so `xmppd
// check`, Start and Reload) reports, the first at its line.
func TestRequirementErrors(t *testing.T) {
	for _, c := range []struct {
		name, extra, host string
		want              []string
	}{
		{"disabled", "\tlist modules_enabled 'test_a_user'\n", "\tlist modules_disabled 'test_z_base'\n",
			[]string{"test.uci:6: option modules_disabled: host localhost disables module test_z_base, which module test_a_user requires"}},
		{"missing", "\tlist modules_enabled 'test_missing'\n", "",
			[]string{"test.uci: module test_missing requires module test_not_compiled_in, which is not compiled in"}},
		{"cycle", "\tlist modules_enabled 'test_cycle_a'\n", "",
			[]string{"test.uci: modules require each other in a cycle", "test_cycle_a → test_cycle_b → test_cycle_a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			uci := testUCI(t.TempDir(), c.extra, c.host)
			err := core.CheckModules(parseUCI(t, uci))
			if err == nil {
				t.Fatal("CheckModules found nothing")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("reported more than once: %q", err)
			}
			if _, err := startUCI(t, uci); err == nil {
				t.Error("Start accepted it")
			}
		})
	}
}

// TestProvideTwice: two modules offering one name on a host is a wiring
// mistake the second one's Load reports.
func TestProvideTwice(t *testing.T) {
	_, err := startUCI(t, testUCI(t.TempDir(), "\tlist modules_enabled 'test_z_base'\n\tlist modules_enabled 'test_dup'\n", ""))
	if err == nil || !strings.Contains(err.Error(), `service "zbase" is already provided by module test_`) {
		t.Fatalf("got %v", err)
	}
}
