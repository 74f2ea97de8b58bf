package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/configs"
)

// init writes the embedded example, 0600, into folders it creates; never
// over an existing file unless --force, which replaces it whole.
func TestInitWritesTheExample(t *testing.T) {
	dir := t.TempDir()
	e := &env{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer), getenv: func(string) string { return "" },
		userConfigDir: func() (string, error) { return filepath.Join(dir, "deep", "cfg"), nil }}
	path := filepath.Join(dir, "deep", "cfg", "agw-proxy", "config.yaml")
	if code := run(t.Context(), []string{"init"}, e); code != exitOK {
		t.Fatalf("init: exit %d: %s", code, e.stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(data, configs.ExampleConfig) {
		t.Fatalf("wrote %d bytes (err %v), want the example", len(data), err)
	}
	wantMode(t, path, 0o600)
	wantMode(t, filepath.Dir(path), 0o700|os.ModeDir)
	if !strings.Contains(e.stdout.(*bytes.Buffer).String(), "Wrote the example config to "+path+".\n") {
		t.Errorf("stdout: %s", e.stdout)
	}

	if err := os.WriteFile(path, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run(t.Context(), []string{"init"}, e); code != exitError {
		t.Errorf("init over a file: exit %d", code)
	}
	if data, _ := os.ReadFile(path); string(data) != "mine" {
		t.Errorf("file changed to %q", data)
	}
	if code := run(t.Context(), []string{"init", "--force"}, e); code != exitOK {
		t.Fatalf("init --force: exit %d: %s", code, e.stderr)
	}
	if data, _ := os.ReadFile(path); !bytes.Equal(data, configs.ExampleConfig) {
		t.Errorf("--force left %q", data)
	}
	wantMode(t, path, 0o600)
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}

	// --example prints it, byte for byte.
	var out bytes.Buffer
	e.stdout = &out
	if code := run(t.Context(), []string{"init", "--example"}, e); code != exitOK || !bytes.Equal(out.Bytes(), configs.ExampleConfig) {
		t.Errorf("init --example: exit %d, %d bytes", code, out.Len())
	}
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode(); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}
