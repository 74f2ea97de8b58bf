package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/clients"
	"github.com/agw-proxy/agw-proxy/internal/profile"
)

// TestResolveExecutable: the entry runs the path agw-proxy was run by
// (argv[0], or the PATH entry it names), never where a link leads; a path
// that is not this binary is not used.
func TestResolveExecutable(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	dir := t.TempDir()
	for _, d := range []string{"Cellar/agw-proxy/1.2.3/bin", "bin", "other"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self := filepath.Join(dir, "Cellar/agw-proxy/1.2.3/bin/agw-proxy")
	other := filepath.Join(dir, "other/agw-proxy")
	for _, f := range []string{self, other} {
		if err := os.WriteFile(f, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "bin/agw-proxy")
	if err := os.Symlink("../Cellar/agw-proxy/1.2.3/bin/agw-proxy", link); err != nil {
		t.Fatal(err)
	}
	onPath := func(p string) func(string) (string, error) {
		return func(name string) (string, error) {
			if p == "" || name != "agw-proxy" {
				return "", exec.ErrNotFound
			}
			return p, nil
		}
	}
	t.Chdir(dir)
	for _, tc := range []struct {
		name, argv0, path string
		want, why         string
	}{
		{"run by the link", link, "", link, "the path it was run by"},
		{"run by a relative path", "bin/agw-proxy", "", link, "the path it was run by"},
		{"run from PATH", "agw-proxy", link, link, "found on PATH as agw-proxy"},
		{"run by its own path", self, "", self, ""},
		{"argv[0] names another file", other, "", self, ""},
		{"PATH has another agw-proxy", "agw-proxy", other, self, ""},
		{"not on PATH", "agw-proxy", "", self, ""},
		{"no argv[0]", "", "", self, ""},
	} {
		got, why := resolveExecutable(tc.argv0, self, onPath(tc.path))
		if got != tc.want || why != tc.why {
			t.Errorf("%s: %q (%q), want %q (%q)", tc.name, got, why, tc.want, tc.why)
		}
	}
	for exe, want := range map[string]bool{
		"/tmp/go-build1234/b001/exe/agw-proxy": true,
		"/usr/local/bin/agw-proxy":             false,
		"/home/me/go-builder/agw-proxy":        false,
		"/home/me/src/go-build.txt":            false,
	} {
		if got := temporaryBuild(exe); got != want {
			t.Errorf("temporaryBuild(%q) = %v", exe, got)
		}
	}
}

// TestMCPConfigUsageListsEveryClient: the help's list of clients and the
// --client option come from the table, so a new client shows in both.
func TestMCPConfigUsageListsEveryClient(t *testing.T) {
	option, in := "", false
	for line := range strings.SplitSeq(mcpConfigUsage(), "\n") {
		in = strings.HasPrefix(line, "    --client CLIENT ") || in && strings.HasPrefix(line, strings.Repeat(" ", 27))
		if in {
			option += line
		}
	}
	for _, c := range clients.All {
		if !strings.Contains(mcpConfigUsage(), "\n    "+c.Name+strings.Repeat(" ", clientNameWidth()+1-len(c.Name))+c.Label) {
			t.Errorf("usage lists no line for %s (%s)", c.Name, c.Label)
		}
		if !strings.Contains(option, " "+c.Name) {
			t.Errorf("--client line %q does not name %s", option, c.Name)
		}
		if !strings.Contains(mcpConfigUsage(), strings.Split(c.Where, "\n")[0]) {
			t.Errorf("usage does not say where %s keeps its file (%q)", c.Name, c.Where)
		}
	}
}

func TestWrapOption(t *testing.T) {
	got := wrapOption("--client CLIENT", strings.Repeat("abcdefgh, ", 12)+"(required)")
	want := "" +
		"    --client CLIENT        abcdefgh, abcdefgh, abcdefgh, abcdefgh, abcdefgh,\n" +
		"                           abcdefgh, abcdefgh, abcdefgh, abcdefgh, abcdefgh,\n" +
		"                           abcdefgh, abcdefgh, (required)\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestMCPConfigPrintEscapes: the printed entry is safe on a terminal: a
// character a terminal acts on (here a bidi override in the name) is a JSON
// escape, so the output is the same JSON and shows what it holds.
func TestMCPConfigPrintEscapes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	home := t.TempDir()
	e := &env{testKeychain: testStore, stdout: &stdout, stderr: &stderr,
		getenv:        func(k string) string { return map[string]string{"HOME": home}[k] },
		userConfigDir: func() (string, error) { return home, nil }}
	args := []string{"--client", "cursor", "--gateway-url", "https://gw.example.com/mcp", "--name", "a\u202eb"}
	if code := run(t.Context(), append([]string{"mcp-config"}, args...), e); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if out := stdout.String(); strings.Contains(out, "\u202e") || !strings.Contains(out, "\n    \"a\\u202eb\": {\n") {
		t.Errorf("stdout:\n%s", out)
	}
	var v map[string]map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil || v["mcpServers"]["a\u202eb"] == nil {
		t.Errorf("the printed JSON does not hold the name: %v, %v", v, err)
	}
}

// exampleArgs are the profile options of the examples in configs/clients.
var exampleArgs = []string{
	"--gateway-url", "https://GATEWAY_ID.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp",
	"--token-url", "https://DOMAIN.auth.us-east-1.amazoncognito.com/oauth2/token",
	"--client-id", "CLIENT_ID", "--scope", "RESOURCE_SERVER/read",
	"--inject", "X-Asana-Token=asana", "--inject-tools", "AgentCoreGwyAPIGatewayTarget___*",
}

// TestClientExamples keeps configs/clients/ in step with mcp-config: for
// every client of the table, its example is byte for byte what mcp-config
// prints for exampleArgs (with /usr/local/bin/agw-proxy as the binary), and
// its args make a valid serve profile. internal/clients checks that there is
// no other example.
func TestClientExamples(t *testing.T) {
	exe, _, err := executablePath()
	if err != nil {
		t.Fatal(err)
	}
	quotedExe, _ := json.Marshal(exe)
	for _, c := range clients.All {
		t.Run(c.Name, func(t *testing.T) {
			path := filepath.Join("..", "..", "configs", "clients", c.Name, c.File)
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			home := t.TempDir()
			e := &env{testKeychain: testStore, stdout: &stdout, stderr: &stderr,
				getenv:        func(k string) string { return map[string]string{"HOME": home}[k] },
				userConfigDir: func() (string, error) { return home, nil }}
			if code := run(t.Context(), append([]string{"mcp-config", "--client", c.Name}, exampleArgs...), e); code != exitOK {
				t.Fatalf("mcp-config --client %s: exit %d: %s", c.Name, code, stderr.String())
			}
			got := bytes.Replace(stdout.Bytes(), quotedExe, []byte(`"/usr/local/bin/agw-proxy"`), 1)
			if !bytes.Equal(got, want) {
				t.Errorf("%s:\n%s\nmcp-config prints:\n%s", path, want, got)
			}
			checkServeArgs(t, c, want)
		})
	}
}

// checkServeArgs: the args of the example's entry are a complete, valid
// serve profile.
func checkServeArgs(t *testing.T, c *clients.Client, example []byte) {
	t.Helper()
	doc, err := c.Format.Parse(example)
	if err != nil {
		t.Fatal(err)
	}
	entry, found, err := doc.Server(c.Servers, "agw-proxy")
	if err != nil || !found {
		t.Fatalf("no server named agw-proxy (%v)", err)
	}
	raw, _ := entry.Get("args")
	var args []string
	for _, a := range raw.([]any) {
		args = append(args, a.(string))
	}
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("args %v do not start with serve", args)
	}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
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
}

// TestReadmeClientSection: the README's client section has one line per
// client of the table (its --client value first in the second column), and
// the --detect session.
func TestReadmeClientSection(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(data), "\n## Configure your MCP client\n")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, c := range clients.All {
		if n := strings.Count(section, " | `"+c.Name+"`"); n != 1 {
			t.Errorf("README's client section has %d lines for --client %s, want 1", n, c.Name)
		}
	}
	for _, want := range []string{"$ agw-proxy mcp-config --detect", "$ agw-proxy mcp-config --client all", "--remove"} {
		if !strings.Contains(section, want) {
			t.Errorf("README's client section lacks %q", want)
		}
	}
}
