package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
)

func TestLineCol(t *testing.T) {
	data := []byte("{\n  \"a\": 1,\n  \"é\": x\n}")
	for _, tt := range []struct {
		offset    int64
		line, col int
	}{
		{1, 1, 1}, // the first byte
		{int64(strings.Index(string(data), "x")) + 1, 3, 8}, // columns count characters, not bytes
		{int64(len(data)), 4, 1},                            // end of input: the last byte
		{0, 1, 1},
	} {
		line, col := lineCol(data, tt.offset)
		if line != tt.line || col != tt.col {
			t.Errorf("lineCol(offset %d) = %d:%d, want %d:%d", tt.offset, line, col, tt.line, tt.col)
		}
	}
}

func TestDetectIndent(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "  ",
		"{}":                      "  ",
		"{\n    \"a\": 1\n}":      "    ",
		"{\n\t\"a\": 1\n}":        "\t",
		"{\n  \"a\": {\n    }\n}": "  ",
		"{\n \t\"a\": 1\n}":       "  ", // mixed: fall back
	} {
		if got := detectIndent([]byte(in)); got != want {
			t.Errorf("detectIndent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClaudeConfigPath(t *testing.T) {
	vars := map[string]string{"HOME": "/home/u", "APPDATA": `C:\Users\u\AppData\Roaming`, "XDG_CONFIG_HOME": "/xdg"}
	e := &env{testKeychain: testStore, getenv: func(k string) string { return vars[k] }}
	for goos, want := range map[string]string{
		"darwin":  filepath.Join("/home/u", "Library", "Application Support", "Claude", "claude_desktop_config.json"),
		"windows": filepath.Join(`C:\Users\u\AppData\Roaming`, "Claude", "claude_desktop_config.json"),
		"linux":   filepath.Join("/xdg", "Claude", "claude_desktop_config.json"),
	} {
		got, err := claudeConfigPath(e, goos)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", goos, got, err, want)
		}
	}
	delete(vars, "XDG_CONFIG_HOME")
	if got, _ := claudeConfigPath(e, "linux"); got != filepath.Join("/home/u", ".config", "Claude", "claude_desktop_config.json") {
		t.Errorf("linux without XDG_CONFIG_HOME: %q", got)
	}
}

func TestAmazonQTimeout(t *testing.T) {
	// Longer than the proxy's own call timeout, in milliseconds.
	if got := amazonQTimeout(profile.DefaultCallTimeout); got != 310000 {
		t.Errorf("amazonQTimeout(%v) = %d", profile.DefaultCallTimeout, got)
	}
	if got := amazonQTimeout(time.Minute); got <= time.Minute.Milliseconds() {
		t.Errorf("amazonQTimeout(1m) = %d, not above the call timeout", got)
	}
}

func TestResolveExecutable(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	dir := t.TempDir()
	for _, d := range []string{"Cellar/agw-proxy/1.0/bin", "bin", "opt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cellar := filepath.Join(dir, "Cellar/agw-proxy/1.0/bin/agw-proxy")
	real := filepath.Join(dir, "opt/agw-proxy")
	for _, f := range []string{cellar, real} {
		if err := os.WriteFile(f, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	brew := filepath.Join(dir, "bin/brew-agw-proxy")
	link := filepath.Join(dir, "bin/agw-proxy")
	if err := os.Symlink(cellar, brew); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	realDir, _ := filepath.EvalSymlinks(dir)
	if got, want := resolveExecutable(link), filepath.Join(realDir, "opt/agw-proxy"); got != want {
		t.Errorf("symlink: %q, want the target %q", got, want)
	}
	// A Homebrew Cellar path changes on upgrade; the link in bin/ does not.
	if got := resolveExecutable(brew); got != brew {
		t.Errorf("Homebrew link resolved to %q, want it kept as %q", got, brew)
	}
}

// TestInstallEntryKeepsMode: a rewrite keeps the file's permissions, leaves
// no temporary file behind, and a new file is private to the user.
func TestInstallEntryKeepsMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "mcp.json")
	c := lookupClient("cursor")
	spec := serverSpec{command: "/bin/agw-proxy", args: []string{"serve"}, callTimeout: time.Minute}
	res, err := installEntry(path, c, "agw-proxy", spec, false)
	if err != nil || res.action != "created" {
		t.Fatalf("first install: %+v, %v", res, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	spec.args = []string{"serve", "--profile", "x"}
	res, err = installEntry(path, c, "agw-proxy", spec, true)
	if err != nil || res.action != "updated" {
		t.Fatalf("forced install: %+v, %v", res, err)
	}
	for _, f := range []string{path, path + ".bak"} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v (%v), want 0640 kept", filepath.Base(f), fi.Mode().Perm(), err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left in the folder: %v, want mcp.json and mcp.json.bak", names)
	}
}

func TestServerName(t *testing.T) {
	for name, ok := range map[string]bool{
		"agw-proxy": true, "Asana (work)": true, "": false, "a\nb": false, strings.Repeat("x", 251): false,
	} {
		if validServerName(name) != ok {
			t.Errorf("validServerName(%q) = %v", name, !ok)
		}
	}
}

// TestClientExamples keeps configs/clients/ in step with mcp-config: each
// example has the fields mcp-config writes for its client, in order, and its
// args make a valid serve profile.
func TestClientExamples(t *testing.T) {
	files := map[string]string{
		"amazonq": "amazonq/mcp.json",
		"kiro":    "kiro/mcp.json",
		"claude":  "claude/claude_desktop_config.json",
		"cursor":  "cursor/mcp.json",
		"vscode":  "vscode/.vscode/mcp.json",
	}
	for _, c := range mcpClients {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("..", "..", "configs", "clients", filepath.FromSlash(files[c.name]))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			top, err := parseObject(data)
			if err != nil {
				t.Fatalf("%s: %v", path, jsonFileError(path, data, err))
			}
			si := index(top, c.servers)
			if si < 0 || len(top) != 1 {
				t.Fatalf("%s: want only %q at the top", path, c.servers)
			}
			servers, err := parseObject(top[si].value)
			if err != nil || len(servers) != 1 || servers[0].key != "agw-proxy" {
				t.Fatalf("%s: want one server named agw-proxy (%v)", path, err)
			}
			entry, err := parseObject(servers[0].value)
			if err != nil {
				t.Fatal(err)
			}
			var args []string
			if err := json.Unmarshal(entry[index(entry, "args")].value, &args); err != nil {
				t.Fatalf("args: %v", err)
			}
			want := c.entry(serverSpec{command: "/usr/local/bin/agw-proxy", args: args, callTimeout: profile.DefaultCallTimeout})
			if !sameJSON(renderObject(entry), renderObject(want)) {
				t.Errorf("%s entry:\n%s\nmcp-config writes:\n%s", path, renderObject(entry), renderObject(want))
			}
			var gotKeys, wantKeys []string
			for _, m := range entry {
				gotKeys = append(gotKeys, m.key)
			}
			for _, m := range want {
				wantKeys = append(wantKeys, m.key)
			}
			if !slices.Equal(gotKeys, wantKeys) {
				t.Errorf("%s: keys %v, mcp-config writes %v", path, gotKeys, wantKeys)
			}

			// The args are a complete, valid serve profile.
			if len(args) == 0 || args[0] != "serve" {
				t.Fatalf("args %v do not start with serve", args)
			}
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			pf := profile.AddFlags(fs)
			if err := fs.Parse(args[1:]); err != nil {
				t.Fatalf("serve %v: %v", args[1:], err)
			}
			e := &env{testKeychain: testStore, getenv: func(string) string { return "" }, userConfigDir: func() (string, error) { return t.TempDir(), nil }}
			p, err := e.resolve(pf)
			if err == nil {
				err = p.RequireGateway()
			}
			if err != nil {
				t.Fatalf("serve %v: %v", args[1:], err)
			}
			if len(p.Inject) != 1 || p.Inject[0].Argument != "X-Asana-Token" || p.Auth.Type != profile.AuthClientCredentials {
				t.Errorf("serve %v: profile %+v", args[1:], p)
			}
		})
	}
}
