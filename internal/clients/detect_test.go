package clients

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatus: an entry is none, up to date, stale (a moved binary, other
// profile options, another timeout: each said in Why) or another program's;
// Install then updates a stale timeout without force, and refuses a moved
// binary without it.
func TestStatus(t *testing.T) {
	for _, name := range []string{"gemini", "codex", "cursor"} {
		c := Lookup(name)
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), filepath.Base(c.File))
			status := func(s *Server, want State, why string) {
				t.Helper()
				st, err := c.Status(path, "agw-proxy", s)
				if err != nil || st.State != want || !strings.Contains(st.Why, why) {
					t.Errorf("Status: %+v, %v; want %s (%q)", st, err, want, why)
				}
			}
			status(&testServer, None, "") // no file
			writeFile(t, path, "")
			status(&testServer, None, "")
			install(t, c, path, testServer, false, Added)
			status(&testServer, UpToDate, "")
			status(nil, Present, "")

			moved := testServer
			moved.Command = "/new/agw-proxy"
			status(&moved, Stale, `runs "/bin/agw-proxy", not "/new/agw-proxy"`)
			other := testServer
			other.Args = []string{"serve", "--profile", "home"}
			status(&other, Stale, `args [serve --profile work], not [serve --profile home]`)

			slower := testServer
			slower.CallTimeout = 5 * time.Minute
			if c.Derived == nil {
				status(&slower, UpToDate, "")
				return
			}
			status(&slower, Stale, c.Derived[0]+" ")
			install(t, c, path, slower, false, Updated)
			status(&slower, UpToDate, "")
			if _, err := c.Install(path, "agw-proxy", moved, false); !isExists(err) {
				t.Errorf("Install of a moved binary without force: %v", err)
			}
		})
	}
	c := Lookup("kiro")
	path := filepath.Join(t.TempDir(), "mcp.json")
	writeFile(t, path, `{"mcpServers": {"agw-proxy": {"command": "npx", "args": ["x"]}, "b": "text"}}`)
	for name, want := range map[string]Status{
		"agw-proxy": {Other, `runs "npx"`},
		"b":         {Other, "is not an object"},
		"c":         {None, ""},
	} {
		if st, err := c.Status(path, name, &testServer); err != nil || st != want {
			t.Errorf("Status of %s: %+v, %v; want %+v", name, st, err, want)
		}
	}
	writeFile(t, path, `{"mcpServers": `)
	if _, err := c.Status(path, "agw-proxy", &testServer); !errors.As(err, new(*FileError)) {
		t.Errorf("Status of a broken file: %v, want a FileError", err)
	}
}

func isExists(err error) bool {
	_, ok := errors.AsType[*ExistsError](err)
	return ok
}

// TestRemove: Remove takes out only agw-proxy's entry: one of the same name
// that runs another program stays unless forced; the other entries and the
// comments around ours (JSONC, TOML) stay; a missing file is not created.
func TestRemove(t *testing.T) {
	c := Lookup("kiro")
	dir := t.TempDir()
	path := filepath.Join(dir, "mcp.json")
	if res, err := c.Remove(path, "agw-proxy", false); err != nil || res.Action != Unchanged {
		t.Errorf("Remove from a missing file: %+v, %v", res, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove created the file (%v)", err)
	}
	npx := `{"mcpServers": {"agw-proxy": {"command": "npx"}}}`
	writeFile(t, path, npx)
	if _, err := c.Remove(path, "agw-proxy", false); !isExists(err) || !strings.Contains(err.Error(), `runs "npx"`) {
		t.Errorf("Remove of another program's entry: %v, want an ExistsError", err)
	}
	if got := readFile(t, path); got != npx {
		t.Errorf("a refused Remove changed the file: %s", got)
	}
	if res, err := c.Remove(path, "agw-proxy", true); err != nil || res.Action != Removed {
		t.Errorf("forced Remove: %+v, %v", res, err)
	}
	if got := readFile(t, path); got != `{"mcpServers": {}}` {
		t.Errorf("after the forced Remove: %s", got)
	}

	vs := Lookup("vscode")
	path = filepath.Join(dir, "vscode.json")
	in := `{
	"servers": {
		"a": {"command": "a"}, // first
		// ours, below
		"agw-proxy": {"type": "stdio", "command": "C:\\bin\\agw-proxy.exe", "args": []},
		"z": {"command": "z"},
	},
}
`
	writeFile(t, path, in)
	if res, err := vs.Remove(path, "agw-proxy", false); err != nil || res.Action != Removed {
		t.Fatalf("Remove: %+v, %v", res, err)
	}
	want := `{
	"servers": {
		"a": {"command": "a"}, // first
		// ours, below
		"z": {"command": "z"},
	},
}
`
	if got := readFile(t, path); got != want {
		t.Errorf("after Remove:\n%s\nwant:\n%s", got, want)
	}

	codex := Lookup("codex")
	path = filepath.Join(dir, "config.toml")
	writeFile(t, path, codexWithOurs)
	if res, err := codex.Remove(path, "agw-proxy", false); err != nil || res.Action != Removed {
		t.Fatalf("Remove from config.toml: %+v, %v", res, err)
	}
	want = `model = "gpt-5-codex"

[mcp_servers.context7]
command = "npx"

# Web search stays on.
[tools]
web_search = true
`
	if got := readFile(t, path); got != want {
		t.Errorf("config.toml after Remove:\n%s\nwant:\n%s", got, want)
	}
	for _, in := range []string{
		"[mcp_servers]\nagw-proxy.command = \"/bin/agw-proxy\"\n",
		"[mcp_servers.agw-proxy]\ncommand = \"/bin/agw-proxy\"\n[other]\n[mcp_servers.agw-proxy.env]\nA = \"b\"\n",
	} {
		writeFile(t, path, in)
		if _, err := codex.Remove(path, "agw-proxy", false); !errors.As(err, new(*FileError)) || !strings.Contains(err.Error(), "remove it by hand") {
			t.Errorf("%q: Remove: %v, want a FileError", in, err)
		}
		if got := readFile(t, path); got != in {
			t.Errorf("%q: a failed Remove changed the file:\n%s", in, got)
		}
	}
}

// TestDetect: a client is found by its config file or by a program of its
// on PATH, and not otherwise.
func TestDetect(t *testing.T) {
	home := t.TempDir()
	work := filepath.Join(home, "src", "app")
	writeFile(t, filepath.Join(home, ".kiro", "settings", "mcp.json"), "{}")
	writeFile(t, filepath.Join(home, ".codex", "config.toml"), "")
	writeFile(t, filepath.Join(work, ".vscode", "mcp.json"), "{}")
	bin := map[string]string{"claude": "/usr/local/bin/claude", "gemini": "/opt/bin/gemini"}
	e := Env{
		Getenv: func(k string) string { return map[string]string{"HOME": home}[k] },
		GOOS:   "linux",
		Getwd:  func() (string, error) { return work, nil },
		LookPath: func(name string) (string, error) {
			if p, ok := bin[name]; ok {
				return p, nil
			}
			return "", exec.ErrNotFound
		},
	}
	var got []string
	for _, f := range Detect(e) {
		got = append(got, f.Client.Name+" "+f.Binary+" "+strings.TrimPrefix(f.Path, home)+" "+map[bool]string{true: "exists", false: "missing"}[f.Exists])
	}
	want := []string{
		"kiro  /.kiro/settings/mcp.json exists",
		"claude-code /usr/local/bin/claude /.claude.json missing",
		"vscode  /src/app/.vscode/mcp.json exists",
		"gemini /opt/bin/gemini /.gemini/settings.json missing",
		"codex  /.codex/config.toml exists",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Detect:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
