package clients

import (
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
		"amazonq": "/home/u/.aws/amazonq/mcp.json",
		"kiro":    "/home/u/.kiro/settings/mcp.json",
		"claude":  "/home/u/.config/Claude/claude_desktop_config.json",
		"cursor":  "/home/u/.cursor/mcp.json",
		"vscode":  "/src/project/.vscode/mcp.json",
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

func TestAmazonQTimeout(t *testing.T) {
	// Longer than the proxy's own call timeout (300 s by default), in milliseconds.
	if got := amazonQTimeout(300 * time.Second); got != 310000 {
		t.Errorf("amazonQTimeout(300s) = %d", got)
	}
	if got := amazonQTimeout(time.Minute); got <= time.Minute.Milliseconds() {
		t.Errorf("amazonQTimeout(1m) = %d, not above the call timeout", got)
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
	if !slices.Equal(Names(), []string{"amazonq", "kiro", "claude", "cursor", "vscode"}) {
		t.Errorf("Names() = %v", Names())
	}
	if Lookup("curosr") != nil {
		t.Error("Lookup of an unknown name is not nil")
	}
}

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
		if err != nil {
			t.Error(err)
			continue
		}
		snippet, err := c.Snippet("agw-proxy", exampleServer)
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
