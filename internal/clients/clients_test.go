package clients

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestClaudeConfigPath(t *testing.T) {
	vars := map[string]string{"HOME": "/home/u", "APPDATA": `C:\Users\u\AppData\Roaming`, "XDG_CONFIG_HOME": "/xdg"}
	c := Lookup("claude")
	for goos, want := range map[string]string{
		"darwin":  filepath.Join("/home/u", "Library", "Application Support", "Claude", "claude_desktop_config.json"),
		"windows": filepath.Join(`C:\Users\u\AppData\Roaming`, "Claude", "claude_desktop_config.json"),
		"linux":   filepath.Join("/xdg", "Claude", "claude_desktop_config.json"),
	} {
		got, err := c.Path(Env{Getenv: func(k string) string { return vars[k] }, GOOS: goos})
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", goos, got, err, want)
		}
	}
	delete(vars, "XDG_CONFIG_HOME")
	delete(vars, "APPDATA")
	for goos, want := range map[string]string{
		"linux":   filepath.Join("/home/u", ".config", "Claude", "claude_desktop_config.json"),
		"windows": filepath.Join("/home/u", "AppData", "Roaming", "Claude", "claude_desktop_config.json"),
	} {
		if got, _ := c.Path(Env{Getenv: func(k string) string { return vars[k] }, GOOS: goos}); got != want {
			t.Errorf("%s without XDG_CONFIG_HOME or APPDATA: %q, want %q", goos, got, want)
		}
	}
}

// TestDefaultPaths: each client's file, from HOME or the current directory.
func TestDefaultPaths(t *testing.T) {
	e := Env{
		Getenv: func(k string) string { return map[string]string{"HOME": "/home/u"}[k] },
		GOOS:   "linux",
		Getwd:  func() (string, error) { return "/src/project", nil },
	}
	for name, want := range map[string]string{
		"amazonq":             "/home/u/.aws/amazonq/mcp.json",
		"amazonq-cli":         "/home/u/.aws/amazonq/mcp.json",
		"amazonq-ide":         "/home/u/.aws/amazonq/agents/default.json",
		"kiro":                "/home/u/.kiro/settings/mcp.json",
		"claude":              "/home/u/.config/Claude/claude_desktop_config.json",
		"claude-desktop":      "/home/u/.config/Claude/claude_desktop_config.json",
		"claude-code":         "/home/u/.claude.json",
		"claude-code-project": "/src/project/.mcp.json",
		"cursor":              "/home/u/.cursor/mcp.json",
		"vscode":              "/src/project/.vscode/mcp.json",
		"vscode-user":         "/home/u/.config/Code/User/mcp.json",
		"windsurf":            "/home/u/.codeium/windsurf/mcp_config.json",
		"zed":                 "/home/u/.config/zed/settings.json",
		"cline":               "/home/u/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
		"gemini":              "/home/u/.gemini/settings.json",
		"codex":               "/home/u/.codex/config.toml",
		"copilot":             "/home/u/.copilot/mcp-config.json",
	} {
		if got, err := Lookup(name).Path(e); err != nil || got != filepath.FromSlash(want) {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestHomeDir: USERPROFILE counts on Windows only; without either variable
// the system's answer is used.
func TestHomeDir(t *testing.T) {
	vars := map[string]string{"USERPROFILE": `C:\Users\u`}
	getenv := func(k string) string { return vars[k] }
	fallback := func() (string, error) { return "/fallback", nil }
	if h, _ := (Env{Getenv: getenv, GOOS: "windows", UserHomeDir: fallback}).HomeDir(); h != `C:\Users\u` {
		t.Errorf("windows: %q", h)
	}
	if h, _ := (Env{Getenv: getenv, GOOS: "linux", UserHomeDir: fallback}).HomeDir(); h != "/fallback" {
		t.Errorf("linux with USERPROFILE only: %q, want the fallback", h)
	}
	vars["HOME"] = "/home/u"
	if h, _ := (Env{Getenv: getenv, GOOS: "windows", UserHomeDir: fallback}).HomeDir(); h != "/home/u" {
		t.Errorf("windows with HOME: %q", h)
	}
}

// TestPathsPerOS: the files that move with the OS or a client's own
// variable.
func TestPathsPerOS(t *testing.T) {
	vars := map[string]string{"HOME": "/home/u", "APPDATA": `C:\Users\u\AppData\Roaming`}
	for _, tt := range []struct{ client, goos, want string }{
		{"vscode-user", "darwin", "/home/u/Library/Application Support/Code/User/mcp.json"},
		{"vscode-user", "windows", `C:\Users\u\AppData\Roaming/Code/User/mcp.json`},
		{"cline", "darwin", "/home/u/Library/Application Support/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"},
		{"zed", "darwin", "/home/u/.config/zed/settings.json"},
		{"zed", "windows", `C:\Users\u\AppData\Roaming/Zed/settings.json`},
		{"windsurf", "windows", "/home/u/.codeium/windsurf/mcp_config.json"},
	} {
		got, err := Lookup(tt.client).Path(Env{Getenv: func(k string) string { return vars[k] }, GOOS: tt.goos})
		if err != nil || got != filepath.FromSlash(tt.want) {
			t.Errorf("%s on %s: %q, %v; want %q", tt.client, tt.goos, got, err, tt.want)
		}
	}
	vars = map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/xdg", "CODEX_HOME": "/ch",
		"COPILOT_HOME": "/cp", "CLAUDE_CONFIG_DIR": "/cc"}
	for name, want := range map[string]string{
		"vscode-user": "/xdg/Code/User/mcp.json", "zed": "/xdg/zed/settings.json",
		"codex": "/ch/config.toml", "copilot": "/cp/mcp-config.json", "claude-code": "/cc/.claude.json",
	} {
		got, err := Lookup(name).Path(Env{Getenv: func(k string) string { return vars[k] }, GOOS: "linux"})
		if err != nil || got != filepath.FromSlash(want) {
			t.Errorf("%s with its variable set: %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestClientTimeouts(t *testing.T) {
	// Longer than the proxy's own call timeout (300 s by default).
	if got := clientTimeout(300 * time.Second); got != 310*time.Second {
		t.Errorf("clientTimeout(300s) = %v", got)
	}
	if got := clientTimeout(time.Minute); got <= time.Minute {
		t.Errorf("clientTimeout(1m) = %v, not above the call timeout", got)
	}
	// Cline takes seconds, 30 to 3600.
	for call, want := range map[time.Duration]int64{300 * time.Second: 310, time.Second: 30, 2 * time.Hour: 3600, 1500 * time.Millisecond: 30} {
		if got := clineTimeout(call); got != want {
			t.Errorf("clineTimeout(%v) = %d, want %d", call, got, want)
		}
	}
}

func TestValidServerName(t *testing.T) {
	for name, ok := range map[string]bool{
		"agw-proxy": true, "Asana (work)": true, strings.Repeat("é", 250): true,
		"": false, "a\nb": false, "a\x7fb": false, strings.Repeat("x", 251): false,
	} {
		if ValidServerName(name) != ok {
			t.Errorf("ValidServerName(%q) = %v", name, !ok)
		}
	}
}

// TestTable: every client is complete, its owned fields are fields of its
// entry, and names are unique.
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range All {
		if c.Name == "" || c.Label == "" || c.Where == "" || c.Doc == "" || c.File == "" ||
			c.Servers == "" || c.Format == nil || c.NewMode == 0 || c.dir == nil || c.fields == nil {
			t.Errorf("%q: incomplete: %+v", c.Name, c)
		}
		if seen[c.Name] {
			t.Errorf("%s: listed twice", c.Name)
		}
		seen[c.Name] = true
		entry := Entry{Table: true, Fields: c.Entry(Server{Command: "/x", Args: []string{"serve"}})}
		for _, key := range c.Owned {
			if _, ok := entry.Get(key); !ok {
				t.Errorf("%s: owned field %q is not in the entry", c.Name, key)
			}
		}
		if Lookup(c.Name) != c {
			t.Errorf("Lookup(%q) is another client", c.Name)
		}
	}
	if !slices.Equal(Names(), []string{"kiro", "amazonq-cli", "amazonq-ide", "claude-desktop", "claude-code",
		"claude-code-project", "cursor", "vscode", "vscode-user", "windsurf", "zed", "cline", "gemini", "codex", "copilot"}) {
		t.Errorf("Names() = %v", Names())
	}
	// The earlier names still work.
	if Lookup("amazonq") != Lookup("amazonq-cli") || Lookup("claude") != Lookup("claude-desktop") {
		t.Error("the aliases amazonq and claude do not name the same clients")
	}
	if Lookup("curosr") != nil {
		t.Error("Lookup of an unknown name is not nil")
	}
}

var update = flag.Bool("update", false, "write the examples in configs/clients and the merge results in testdata")

// exampleServer is what the examples in configs/clients run.
var exampleServer = Server{
	Command: "/usr/local/bin/agw-proxy",
	Args: []string{"serve",
		"--gateway-url", "https://GATEWAY_ID.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp",
		"--token-url", "https://DOMAIN.auth.us-east-1.amazoncognito.com/oauth2/token",
		"--client-id", "CLIENT_ID", "--scope", "RESOURCE_SERVER/read",
		"--inject", "X-Asana-Token=asana", "--inject-tools", "AgentCoreGwyAPIGatewayTarget___*"},
	CallTimeout: 300 * time.Second,
}

// TestExamples: configs/clients holds exactly one example per client of the
// table, at NAME/FILE, and each is byte for byte the snippet for
// exampleServer. (cmd/agw-proxy checks that mcp-config prints the same.)
func TestExamples(t *testing.T) {
	root := filepath.Join("..", "..", "configs", "clients")
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "README.md" {
			rel, _ := filepath.Rel(root, path)
			found = append(found, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range All {
		want = append(want, filepath.Join(c.Name, c.File))
	}
	slices.Sort(found)
	slices.Sort(want)
	if !slices.Equal(found, want) {
		t.Errorf("configs/clients holds %v, want one example per client: %v", found, want)
	}
	for _, c := range All {
		path := filepath.Join(root, c.Name, c.File)
		data, err := os.ReadFile(path)
		if err != nil && !*update {
			t.Error(err)
			continue
		}
		snippet, err := c.Snippet("agw-proxy", exampleServer)
		if *update && err == nil {
			writeFile(t, path, string(snippet))
			data = snippet
		}
		if err != nil || string(snippet) != string(data) {
			t.Errorf("%s:\n%s\nthe snippet for %s (%v):\n%s", path, data, c.Name, err, snippet)
		}
	}
}

// TestReadmeListsEveryClient: configs/clients/README.md has a row for each
// client of the table, linking its example, and the --write line names them
// all: the README is written by hand, the table decides.
func TestReadmeListsEveryClient(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", "clients", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	rows := 0
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "](") {
			rows++
		}
	}
	if rows != len(All) {
		t.Errorf("README.md has %d client rows, the table %d clients", rows, len(All))
	}
	for _, c := range All {
		link := fmt.Sprintf("[%s/%s](%s/%s)", c.Name, c.File, c.Name, c.File)
		if !strings.Contains(readme, "| "+c.Label) || !strings.Contains(readme, link) {
			t.Errorf("README.md has no row for %s linking %s", c.Label, link)
		}
		if !strings.Contains(readme, c.Name) {
			t.Errorf("README.md does not name --client %s", c.Name)
		}
	}
}
