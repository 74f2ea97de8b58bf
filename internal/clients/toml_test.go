package clients

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// codexWithOurs is a config.toml that already has an older agw-proxy
// table, with a subtable and keys of its own, between other tables.
const codexWithOurs = `model = "gpt-5-codex"

[mcp_servers.context7]
command = "npx"

[mcp_servers.agw-proxy]
command = "/opt/old/agw-proxy"   # the old build
args = ["serve"]
startup_timeout_sec = 5

[mcp_servers.agw-proxy.env]
FOO = "bar"

# Web search stays on.
[tools]
web_search = true
`

// TestCodexReplacesOurTable: an agw-proxy table that runs something else is
// refused without --force (file untouched, no backup); forced, it and its
// subtable are replaced where they stand, and the comment of the next table
// and every other byte stay.
func TestCodexReplacesOurTable(t *testing.T) {
	c := Lookup("codex")
	path := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, path, codexWithOurs)
	_, err := c.Install(path, "agw-proxy", testServer, false)
	if ee, ok := errors.AsType[*ExistsError](err); !ok || ee.Runs != `runs "/opt/old/agw-proxy"` {
		t.Fatalf("Install over another entry: %v, want an ExistsError", err)
	}
	if got := readFile(t, path); got != codexWithOurs {
		t.Errorf("a refused install changed the file:\n%s", got)
	}
	if _, err := os.Stat(path + ".bak"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused install wrote a backup (%v)", err)
	}
	install(t, c, path, testServer, true, Updated)
	want := `model = "gpt-5-codex"

[mcp_servers.context7]
command = "npx"

[mcp_servers.agw-proxy]
command = "/bin/agw-proxy"
args = [
  "serve",
  "--profile",
  "work",
]
startup_timeout_sec = 70
tool_timeout_sec = 70

# Web search stays on.
[tools]
web_search = true
`
	if got := readFile(t, path); got != want {
		t.Errorf("forced:\n%s\nwant:\n%s", got, want)
	}
	if bak := readFile(t, path+".bak"); bak != codexWithOurs {
		t.Errorf(".bak:\n%s", bak)
	}
	install(t, c, path, testServer, false, Unchanged)
}

// TestCodexFileErrors: a file that is not TOML is a FileError at its line
// and column; servers written in a layout a table cannot be added to, or our
// entry written as dotted keys, are errors, and the file is left as it was.
func TestCodexFileErrors(t *testing.T) {
	c := Lookup("codex")
	for in, want := range map[string]string{
		"model = \"o3\"\n[mcp_servers.a]\ncommand = \n":               "config.toml:3:11: invalid TOML: expected value",
		"model = \"o3\"\n[mcp_servers\n":                              "config.toml:2:",
		"mcp_servers = [1, 2]\n":                                      `config.toml: "mcp_servers" is not a TOML table`,
		"mcp_servers = { other = { command = \"x\" } }\n":             "cannot add [mcp_servers.agw-proxy] to this file's layout",
		"[mcp_servers]\nagw-proxy.command = \"/opt/old/agw-proxy\"\n": "mcp_servers.agw-proxy is not written as a [mcp_servers.agw-proxy] table",
	} {
		path := filepath.Join(t.TempDir(), "config.toml")
		writeFile(t, path, in)
		_, err := c.Install(path, "agw-proxy", testServer, true)
		if _, ok := errors.AsType[*FileError](err); !ok || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), path) {
			t.Errorf("%q: %v; want a FileError naming the file with %q", in, err, want)
		}
		if got := readFile(t, path); got != in {
			t.Errorf("%q: the file was changed:\n%s", in, got)
		}
	}
}

// TestCodexQuotedNameAndCRLF: a name TOML cannot take bare is quoted, and
// found again (quoted either way) on the next install; a file with CRLF
// line ends gets CRLF.
func TestCodexQuotedNameAndCRLF(t *testing.T) {
	c := Lookup("codex")
	path := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, path, "model = \"o3\"\r\n")
	if res, err := c.Install(path, "Asana (work)", testServer, false); err != nil || res.Action != Added {
		t.Fatalf("Install: %+v, %v", res, err)
	}
	out := readFile(t, path)
	if !strings.HasPrefix(out, "model = \"o3\"\r\n\r\n[mcp_servers.\"Asana (work)\"]\r\ncommand = ") || strings.Count(out, "\n") != strings.Count(out, "\r\n") {
		t.Errorf("file:\n%q", out)
	}
	if res, err := c.Install(path, "Asana (work)", testServer, false); err != nil || res.Action != Unchanged {
		t.Errorf("second Install: %+v, %v", res, err)
	}
	writeFile(t, path, strings.Replace(out, `"Asana (work)"`, `'Asana (work)'`, 1))
	if res, err := c.Install(path, "Asana (work)", Server{Command: "/other", Args: []string{"serve"}}, true); err != nil || res.Action != Updated {
		t.Fatalf("forced Install over the literal-quoted table: %+v, %v", res, err)
	}
	if got := readFile(t, path); strings.Count(got, "[mcp_servers.") != 1 || !strings.Contains(got, `command = "/other"`) {
		t.Errorf("the table was not replaced in place:\n%s", got)
	}
}

// TestTOMLHeaders: only real table headers count: not a '[' inside a
// multi-line string or a multi-line array, nor after a key.
func TestTOMLHeaders(t *testing.T) {
	doc := `a = """
[not.a.header]
"""
b = [
  [1, 2],
]
c = '''
[nor.this]'''
[ x . "y.z" ] # comment
[[arr]]
d = "[no]"
['lit'.k]
`
	var got [][]string
	for _, h := range tomlHeaders([]byte(doc)) {
		got = append(got, h.path)
	}
	want := [][]string{{"x", "y.z"}, {"arr"}, {"lit", "k"}}
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("headers %q, want %q", got, want)
	}
}
