package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/oauth"
)

// The oauth package names no command; fail says what to run after its
// LoginError, and exits with the login-needed code. After a command resolved
// its profile, the hint is that profile's exact command, --config included.
func TestFailHintsLoginAfterLoginError(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "sim work.yaml")
	if err := os.WriteFile(cfg, []byte("profiles:\n  work:\n    gateway_url: http://127.0.0.1:1/mcp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{testKeychain: testStore, getenv: func(string) string { return "" }}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
	if err := fs.Parse([]string{"--config", cfg, "--profile", "work"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.resolve(pf); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	e.stderr = &stderr
	if code := fail(e, &oauth.LoginError{Profile: "work", Reason: "no refresh token stored"}); code != exitLoginNeeded {
		t.Errorf("exit %d, want %d", code, exitLoginNeeded)
	}
	if want := fmt.Sprintf("agw-proxy: hint: run \"agw-proxy login --config '%s' --profile work\"\n", cfg); !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("stderr:\n%s\nwant it to end with:\n%s", stderr.String(), want)
	}

	for _, tc := range []struct{ profile, want string }{
		{"default", "agw-proxy: hint: run \"agw-proxy login\"\n"},
		{"work", "agw-proxy: hint: run \"agw-proxy login --profile work\"\n"},
	} {
		var stderr bytes.Buffer
		err := fmt.Errorf("connecting: %w", &oauth.LoginError{Profile: tc.profile, Reason: "no refresh token stored"})
		code := fail(&env{stderr: &stderr}, err)
		want := fmt.Sprintf("agw-proxy: error: connecting: oauth: gateway login needed for profile %q: no refresh token stored\n", tc.profile) + tc.want
		if code != exitLoginNeeded || stderr.String() != want {
			t.Errorf("profile %q: exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", tc.profile, code, stderr.String(), exitLoginNeeded, want)
		}
	}
}
