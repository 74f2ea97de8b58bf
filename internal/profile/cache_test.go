package profile

import (
	"errors"
	"strings"
	"testing"
)

// The cache key (default true) and --no-cache, which overrides it and is
// carried by the commands the hints print.
func TestCacheKeyAndNoCacheFlag(t *testing.T) {
	names := []AuthType{{Name: AuthNone}}
	p, err := resolveForTest(t, "", AllFlags, names)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Cache || p.Origin("cache") != "not set" {
		t.Errorf("default: cache %v from %s, want true, not set", p.Cache, p.Origin("cache"))
	}
	file := "profiles:\n  default:\n    gateway_url: https://gw.example.com/mcp\n    cache: false\n"
	p, err = resolveForTest(t, file, AllFlags, names)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cache || !strings.HasSuffix(p.Origin("cache"), "config.yaml:4:12") {
		t.Errorf("cache: false: cache %v from %s", p.Cache, p.Origin("cache"))
	}
	p, err = resolveForTest(t, "", AllFlags, names, "--gateway-url", "https://gw.example.com/mcp", "--no-cache")
	if err != nil {
		t.Fatal(err)
	}
	if p.Cache || p.Origin("cache") != "--no-cache" {
		t.Errorf("--no-cache: cache %v from %s", p.Cache, p.Origin("cache"))
	}
	if got := p.Command("doctor", ""); got != "agw-proxy doctor --gateway-url https://gw.example.com/mcp --no-cache" {
		t.Errorf("Command = %q", got)
	}
	p, err = resolveForTest(t, "profiles:\n  default:\n    cache: false\n", AllFlags, names, "--no-cache=false")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Cache || !strings.Contains(p.Command("status", ""), "--no-cache=false") {
		t.Errorf("--no-cache=false over cache: false: cache %v, command %q", p.Cache, p.Command("status", ""))
	}
	for file, want := range map[string]string{
		"profiles:\n  default:\n    cache: no\n":   "config.yaml:3:12: cache: must be true or false",
		"profiles:\n  default:\n    cahce: true\n": `did you mean "cache"?`,
	} {
		_, err := resolveForTest(t, file, AllFlags, names)
		if err == nil || !strings.Contains(err.Error()+hintsOf(err), want) {
			t.Errorf("%q: %v, want %q", file, err, want)
		}
	}
}

// hintsOf returns the hints of a profile error, one per line.
func hintsOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return "\n" + strings.Join(e.Hints(), "\n")
	}
	return ""
}
