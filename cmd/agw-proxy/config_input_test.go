package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// The config file as hostile or odd input, through the built binary: what
// could hang or run away is run under a deadline, so it fails in seconds.
// The rest is in testdata/config_input_*.txtar.

// runBounded runs the built agw-proxy with args in dir and returns its
// exit code and stderr, failing the test if it has not ended within
// testwait.Limit.
func runBounded(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	bin := e2eBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cfg := t.TempDir()
	cmd.Env = append(os.Environ(), "AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=", "XDG_CONFIG_HOME="+cfg, "APPDATA="+cfg, "HOME="+cfg)
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("agw-proxy %s: not done after %s", strings.Join(args, " "), testwait.Limit)
	}
	t.Logf("agw-proxy %.80s: %v", strings.Join(args, " "), time.Since(start))
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stderr.String()
}

func wantStderr(t *testing.T, stderr string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr does not say %q:\n%s", w, stderr)
		}
	}
}

// TestConfigBoundedWork: config files built to make the parser or the
// decoder work without end (many profiles, an alias bomb, deep nesting) get
// one error in well under the deadline.
func TestConfigBoundedWork(t *testing.T) {
	var many, laughs strings.Builder
	many.WriteString("profiles:\n")
	for i := range 80_000 {
		fmt.Fprintf(&many, "  p%d: {}\n", i)
	}
	laughs.WriteString("x-l0: &l0 {gateway_url: https://gw.example.com/mcp}\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&laughs, "x-l%d: &l%d\n  <<: [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	laughs.WriteString("profiles:\n  default: {<<: *l10}\n")
	for _, tc := range []struct {
		name, text, want string
	}{
		{"80,000 profiles", many.String(), "agw-proxy: error: c.yaml:10002:3: more than 10000 keys in one mapping\n"},
		{"alias bomb", laughs.String(), "agw-proxy: error: c.yaml:"},
		{"anchor that merges itself", "x-a: &a {<<: *a}\nprofiles: {default: {<<: *a}}\n", "an anchor that merges itself\n"},
		{"deep nesting", "profiles: " + strings.Repeat("[", 500_000) + "\n", "agw-proxy: error: c.yaml:1:74: collections nested more than 64 deep\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			code, stderr := runBounded(t, dir, "status", "--offline", "--config", "c.yaml")
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			wantStderr(t, stderr, tc.want)
			if n := strings.Count(stderr, "agw-proxy: error:"); n != 1 {
				t.Errorf("%d errors, want 1:\n%.2000s", n, stderr)
			}
		})
	}
}

// TestConfigManyProfilesHint: with 5,000 profiles, "no profile" lists a
// few, the near miss first, not all 5,000.
func TestConfigManyProfilesHint(t *testing.T) {
	var b strings.Builder
	b.WriteString("profiles:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "  team-%04d:\n    gateway_url: https://gw.example.com/mcp\n", i)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr := runBounded(t, dir, "status", "--offline", "--config", "c.yaml", "--profile", "team-123")
	if code != 2 { // --profile names the missing profile: a usage error
		t.Errorf("exit code %d, want 2", code)
	}
	want := "agw-proxy: error: --profile: no profile \"team-123\" in c.yaml\n" +
		"agw-proxy: hint: profiles in the file: team-0123, team-0000, team-0001, team-0002, team-0003, and 4995 more; choose one with --profile NAME\n" +
		"agw-proxy: hint: run \"agw-proxy status --help\" for usage\n"
	if stderr != want {
		t.Errorf("stderr:\n%.1000s\nwant:\n%s", stderr, want)
	}
}
