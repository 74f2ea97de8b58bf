package profile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// resolve resolves the profile of the profile flags args, with no
// environment and no default config file.
func resolve(t *testing.T, args ...string) (*Profile, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags := AddFlags(fs, AllFlags)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	env := Env{
		Getenv:    func(string) string { return "" },
		ConfigDir: func() (string, error) { return "", errors.New("no config dir") },
	}
	return flags.Resolve(env, []AuthType{{Name: AuthNone}})
}

// TestSomeNames: a hint lists at most maxListed names, the near miss first.
// Before, "no profile" listed every profile of the file.
func TestSomeNames(t *testing.T) {
	many := []string{"default", "home"}
	for i := range 4998 {
		many = append(many, fmt.Sprintf("team-%04d", i))
	}
	for _, tc := range []struct {
		names []string
		want  string
		out   string
	}{
		{[]string{"default", "home"}, "hom", "home, default"},
		{[]string{"default", "home"}, "x", "default, home"},
		{[]string{"a", "b", "c", "d", "e"}, "x", "a, b, c, d, e"},
		{many, "x", "default, home, team-0000, team-0001, team-0002, and 4995 more"},
		{many, "team-4321x", "team-4321, default, home, team-0000, team-0001, and 4995 more"},
	} {
		if got := someNames(tc.names, tc.want); got != tc.out {
			t.Errorf("someNames(%d names, %q) = %q, want %q", len(tc.names), tc.want, got, tc.out)
		}
	}
}

// TestNoProfileHintIsShort: the "no profile" error of a file of 5,000
// profiles names a few of them, not all.
func TestNoProfileHintIsShort(t *testing.T) {
	var b strings.Builder
	b.WriteString("profiles:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "  team-%04d: {gateway_url: https://gw.example.com/mcp}\n", i)
	}
	path := writeConfig(t, b.String())
	_, err := resolve(t, "--config", path, "--profile", "team-123")
	wantError(t, err, `no profile "team-123" in `+path,
		"hint: profiles in the file: team-0123, team-0000, team-0001, team-0002, team-0003, and 4995 more; choose one with --profile NAME")
}

// TestRuleNumbers: an error about an inject rule numbers it from 1, as
// doctor and the unknown-key errors do, and never shows the 0-based YAML
// index; the keys Profile.At, Origin and FieldKey take are unchanged.
// Before: "inject[0].tools: inject rule 1 needs tools".
func TestRuleNumbers(t *testing.T) {
	path := writeConfig(t, `profiles:
  default:
    gateway_url: https://gw.example.com/mcp
    inject:
      - {argument: A, secret: s, tools: ["T___*"]}
      - {argument: B, secret: Bad}
`)
	_, err := resolve(t, "--config", path)
	wantError(t, err,
		path+":6:31: secret of inject rule 2: secret name must use only lowercase letters",
		path+":6:10: inject rule 2: needs tools: globs over Gateway tool names")
	if strings.Contains(err.Error(), "inject[") {
		t.Errorf("the error shows a YAML index:\n%v", err)
	}
	_, err = resolve(t, "--gateway-url", "https://gw.example.com/mcp", "--inject", "A=s", "--inject", "B=t")
	wantError(t, err, "--inject: inject rule 1: needs tools", "--inject: inject rule 2: needs tools")

	path = writeConfig(t, `profiles:
  default:
    gateway_url: https://gw.example.com/mcp
    inject:
      - {argument: A, secret: s, tools: ["T___*"]}
      - {argument: B, secret: t, tools: ["U___*"]}
`)
	p, err := resolve(t, "--config", path)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.FieldKey("inject[1]", "tools"); got != "inject[1].tools" {
		t.Errorf("FieldKey = %q", got)
	}
	if got := p.Origin("inject[1].tools"); got != path+":6:41" {
		t.Errorf("Origin(inject[1].tools) = %q", got)
	}
	for key, want := range map[string]string{
		"inject[0]": "inject rule 1", "inject[11].tools": "tools of inject rule 12", "auth.token_url": "auth.token_url",
		"inject[x]": "inject[x]", "inject": "inject", "": "",
	} {
		if got := displayKey(key, false); got != want {
			t.Errorf("displayKey(%q) = %q, want %q", key, got, want)
		}
	}
}
