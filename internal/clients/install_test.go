package clients

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var testServer = Server{Command: "/bin/agw-proxy", Args: []string{"serve", "--profile", "work"}, CallTimeout: time.Minute}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func install(t *testing.T, c *Client, path string, s Server, force bool, want Action) {
	t.Helper()
	res, err := c.Install(path, "agw-proxy", s, force)
	if err != nil || res.Action != want || res.Path != path {
		t.Fatalf("Install: %+v, %v; want %s of %s", res, err, want, path)
	}
}

// vscodeFile is a JSONC file as people write them.
const vscodeFile = `// Workspace MCP servers.
{
	"inputs": [
		{"type": "promptString", "id": "token", "password": true}, // asked once
	],
	"servers": {
		/* GitHub's server */
		"github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/",},
	},
}
`

// TestInstallKeepsCommentsAndBytes: a file with comments and trailing
// commas is accepted; after the install, everything that was in it is still
// there, byte for byte (the new entry is inserted, nothing else changes),
// and the previous file is kept as .bak. Installing again is byte-equal and
// writes nothing.
func TestInstallKeepsCommentsAndBytes(t *testing.T) {
	for _, c := range []*Client{Lookup("vscode"), Lookup("amazonq")} {
		t.Run(c.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mcp.json")
			in := strings.ReplaceAll(vscodeFile, `"servers"`, `"`+c.Servers+`"`)
			writeFile(t, path, in)
			install(t, c, path, testServer, false, Added)
			out := readFile(t, path)
			if !isSubsequence(in, out) {
				t.Fatalf("bytes of the file were changed or dropped:\n%s", out)
			}
			for _, line := range strings.Split(in, "\n") {
				if !strings.Contains(out, line+"\n") {
					t.Errorf("line %q is not kept whole", line)
				}
			}
			if !strings.Contains(out, "\n\t\t\"agw-proxy\": {\n") || !strings.Contains(out, "\n\t\t\t\"command\": \"/bin/agw-proxy\",\n") {
				t.Errorf("the entry is not in the file, indented like it:\n%s", out)
			}
			if bak := readFile(t, path+".bak"); bak != in {
				t.Errorf(".bak is not the previous file:\n%s", bak)
			}

			os.Remove(path + ".bak")
			install(t, c, path, testServer, false, Unchanged)
			if again := readFile(t, path); again != out {
				t.Errorf("the second install changed the file:\n%s", again)
			}
			if _, err := os.Stat(path + ".bak"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the second install wrote a backup (%v)", err)
			}
		})
	}
}

// TestInstallCreates: a missing file is created with its folders, holding
// the snippet; a second install leaves it as it is.
func TestInstallCreates(t *testing.T) {
	c := Lookup("amazonq")
	path := filepath.Join(t.TempDir(), "a", "b", "mcp.json")
	install(t, c, path, testServer, false, Created)
	want, _ := c.Snippet("agw-proxy", testServer)
	if got := readFile(t, path); got != string(want) || !strings.Contains(got, `"timeout": 70000`) {
		t.Errorf("new file:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat(path + ".bak"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a new file has a backup (%v)", err)
	}
	install(t, c, path, testServer, false, Unchanged)
	if got := readFile(t, path); got != string(want) {
		t.Errorf("after the second install:\n%s", got)
	}
}

// TestInstallRefusesAnother: an entry of the same name whose command or args
// differ is left alone (file untouched, no backup) unless forced; forced,
// agw-proxy's fields are written and the user's others (autoApprove) kept.
// A change in a default field (disabled) does not count as different.
func TestInstallRefusesAnother(t *testing.T) {
	c := Lookup("kiro")
	path := filepath.Join(t.TempDir(), "mcp.json")
	old := `{"mcpServers": {"agw-proxy": {"command": "/opt/old/agw-proxy", "args": ["serve", "--profile", "work"], "disabled": true, "autoApprove": ["t"]}}}`
	writeFile(t, path, old)
	for _, s := range []Server{testServer, {Command: "/opt/old/agw-proxy", Args: []string{"serve"}}} {
		_, err := c.Install(path, "agw-proxy", s, false)
		var ee *ExistsError
		if !errors.As(err, &ee) || ee.Path != path {
			t.Fatalf("Install over another entry: %v, want an ExistsError", err)
		}
		want := `runs "/opt/old/agw-proxy"`
		if s.Command == "/opt/old/agw-proxy" {
			want = "runs a different command or args"
		}
		if !strings.HasSuffix(err.Error(), `: MCP server "agw-proxy" already exists and `+want) {
			t.Errorf("error %q does not end %q", err, want)
		}
		if got := readFile(t, path); got != old {
			t.Errorf("the file was changed:\n%s", got)
		}
		if _, err := os.Stat(path + ".bak"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused install wrote a backup (%v)", err)
		}
	}
	install(t, c, path, testServer, true, Updated)
	want := `{"mcpServers": {"agw-proxy": {"command": "/bin/agw-proxy", "args": ["serve", "--profile", "work"], "disabled": false, "autoApprove": ["t"], "env": {}}}}`
	if got := readFile(t, path); got != want {
		t.Errorf("forced:\n%s\nwant:\n%s", got, want)
	}
	if bak := readFile(t, path+".bak"); bak != old {
		t.Errorf(".bak:\n%s", bak)
	}
	// The user disables the server again: still up to date.
	writeFile(t, path, strings.Replace(want, `"disabled": false`, `"disabled": true`, 1))
	install(t, c, path, testServer, false, Unchanged)
}

// TestInstallMalformed: a file that does not parse, or of the wrong shape,
// is a FileError naming it (with line and column for a syntax error); it is
// left untouched and no backup is made.
func TestInstallMalformed(t *testing.T) {
	for in, want := range map[string]string{
		"{\n  \"mcpServers\": {\n    \"a\": {}\n    \"b\": {}\n  }\n}": `mcp.json:4:5: invalid JSON: invalid character '"' after object value (expecting ',' or '}')`,
		"{\n  \"mcpServers\": {\n":                                     "mcp.json:2:18: invalid JSON: unexpected end of JSON input",
		`["mcpServers"]`:                                               "mcp.json: the file holds a JSON array, not an object",
		`{"mcpServers": []}`:                                           `mcp.json: "mcpServers" is not a JSON object`,
	} {
		path := filepath.Join(t.TempDir(), "mcp.json")
		writeFile(t, path, in)
		_, err := Lookup("cursor").Install(path, "agw-proxy", testServer, true)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != path || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%q: %v; want a FileError ending %q", in, err, want)
		}
		if !strings.HasPrefix(err.Error(), path) {
			t.Errorf("%v does not start with the file's name", err)
		}
		if got := readFile(t, path); got != in {
			t.Errorf("the file was changed:\n%s", got)
		}
		if _, err := os.Stat(path + ".bak"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q: a backup was made (%v)", in, err)
		}
	}
}

// TestInstallKeepsMode: a rewrite keeps the file's permissions, leaves no
// temporary file behind, and a new file has the client's mode.
func TestInstallKeepsMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	path := filepath.Join(t.TempDir(), "sub", "mcp.json")
	c := Lookup("cursor")
	install(t, c, path, Server{Command: "/bin/agw-proxy", Args: []string{"serve"}}, false, Created)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	install(t, c, path, testServer, true, Updated)
	for _, f := range []string{path, path + ".bak"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640 kept", filepath.Base(f), fi.Mode().Perm())
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left in the folder: %v, want mcp.json and mcp.json.bak", names)
	}
	vscode := filepath.Join(filepath.Dir(path), "vscode.json")
	install(t, Lookup("vscode"), vscode, testServer, false, Created)
	if fi, err := os.Stat(vscode); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("new VS Code file: %v, %v; want 0644 (a project file)", fi, err)
	}
}

// TestInstallThroughSymlink: a config file that is a symlink (dotfiles) is
// written through, and the link stays.
func TestInstallThroughSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "dotfiles", "claude.json")
	writeFile(t, target, `{"globalShortcut": "Ctrl+Space"}`)
	link := filepath.Join(dir, "Claude", "claude_desktop_config.json")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	res, err := Lookup("claude").Install(link, "agw-proxy", testServer, false)
	if err != nil || res.Path != target || res.Action != Added {
		t.Fatalf("Install: %+v, %v; want added to %s", res, err, target)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v)", err)
	}
	if got := readFile(t, target); !strings.Contains(got, `"globalShortcut": "Ctrl+Space"`) || !strings.Contains(got, `"agw-proxy": {`) {
		t.Errorf("target:\n%s", got)
	}
}
