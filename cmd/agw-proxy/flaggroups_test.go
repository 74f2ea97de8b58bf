package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
)

// profileFlagNames are every profile flag, with a value each takes.
var profileFlagNames = map[string]string{
	"config": "c.yaml", "profile": "p", "gateway-url": "https://gw.example.com/mcp", "auth-type": "none",
	"discovery-url": "https://a.example.com/d", "token-url": "https://a.example.com/t",
	"authorize-url": "https://a.example.com/a", "redirect-url": "http://localhost:8501/", "client-id": "c",
	"scope": "s", "inject": "X=asana", "inject-tools": "T___*", "inject-format": "{secret}",
	"call-timeout": "1m", "connect-timeout": "1m", "ca-file": "ca.pem",
}

// A command's help lists exactly the profile flags it takes: a flag it does
// not list is an unknown flag, and each one it lists is accepted.
func TestHelpListsTheProfileFlagsTaken(t *testing.T) {
	for _, cmd := range []string{"serve", "login", "logout", "status", "doctor", "mcp-config"} {
		help, _, code := runCommand(t, cmd, "--help")
		if code != exitOK {
			t.Fatalf("%s --help: exit %d", cmd, code)
		}
		for name, value := range profileFlagNames {
			// --help last: the flag before it is parsed first. Every
			// command takes every profile flag (hints and scripts carry
			// the whole profile); its help lists those it uses.
			_, stderr, code := runCommand(t, cmd, "--"+name, value, "--help")
			if code != exitOK || strings.Contains(stderr, "unknown flag") {
				t.Errorf("%s --%s: exit %d: %s", cmd, name, code, stderr)
			}
		}
		if cmd == "logout" && (strings.Contains(help, "--gateway-url") || strings.Contains(help, "--call-timeout")) {
			t.Errorf("logout --help lists options it does not use:\n%s", help)
		}
	}
}

func runCommand(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut strings.Builder
	e := &env{testKeychain: testStore, stdout: &out, stderr: &errOut, stdin: strings.NewReader(""),
		getenv:        func(string) string { return "" },
		userConfigDir: func() (string, error) { return t.TempDir(), nil },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code = run(ctx, args, e)
	return out.String(), errOut.String(), code
}

// The commands that hints name take every flag of the profile the hint is
// for, so that the hint reaches the same profile: a profile resolved from
// every flag serve takes, and the login, status and doctor commands for it.
func TestHintedCommandsTakeTheProfileFlags(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
	args := []string{"--profile", "ci", "--gateway-url", "https://gw.example.com/mcp",
		"--auth-type", "authorization_code", "--discovery-url", "https://a.example.com/d",
		"--token-url", "https://a.example.com/t", "--authorize-url", "https://a.example.com/a",
		"--redirect-url", "http://localhost:8501/", "--client-id", "c", "--scope", "s",
		"--inject", "X=asana", "--inject-tools", "T___*", "--inject-format", "{secret}",
		"--call-timeout", "1m", "--connect-timeout", "1m"}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	e := &env{getenv: func(string) string { return "" }, userConfigDir: func() (string, error) { return t.TempDir(), nil }}
	p, err := e.resolve(pf)
	if err != nil {
		t.Fatal(errorText(err))
	}
	for sub, groups := range map[string]profile.Groups{"login": loginFlags, "status": profile.AllFlags, "doctor": profile.AllFlags} {
		target := pflag.NewFlagSet(sub, pflag.ContinueOnError)
		profile.AddFlags(target, groups)
		cmd := p.Command(sub, "")
		for _, word := range strings.Fields(cmd) {
			if name, ok := strings.CutPrefix(word, "--"); ok && target.Lookup(name) == nil {
				t.Errorf("%q: %s takes no --%s", cmd, sub, name)
			}
		}
		if !strings.Contains(cmd, "--inject-format") || !strings.Contains(cmd, "--redirect-url") {
			t.Errorf("%q lacks flags of the profile", cmd)
		}
	}
}
