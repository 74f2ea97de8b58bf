package clients

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

// FuzzTOMLEdit: for any document decodeTOML accepts, writing our entry,
// replacing it and removing it again each either is refused with an error
// (the document left as it was) or yields a document that decodes, holds
// exactly our entry (or, removed, none), and keeps every other top-level
// key and every other server as it was.
func FuzzTOMLEdit(f *testing.F) {
	f.Add([]byte(codexWithOurs), "agw-proxy", "work")
	f.Add([]byte("model = \"o3\"\r\n"), "Asana (work)", "a\"b\\c\n")
	f.Add([]byte("[mcp_servers]\n[mcp_servers.'x.y']\ncommand = 'x'\n[[mcp_servers.x.y.z]]\n"), "x.y", "")
	f.Add([]byte("a = \"\"\"\n[mcp_servers.agw-proxy]\n\"\"\"\n[mcp_servers . \"agw-proxy\" ] # here\n# next\n[b]\n"), "agw-proxy", "'")
	f.Add([]byte("mcp_servers = { other = { command = \"x\" } }\n"), "agw-proxy", "p")
	f.Add([]byte("[mcp_servers]\nagw-proxy.command = \"/opt/old/agw-proxy\"\n"), "agw-proxy", "p")
	f.Add([]byte("x = [\n[1],\n]\n[mcp_servers.agw-proxy]\nk = '''\n[t]'''\n[mcp_servers.agw-proxy.env]\nA = \"1\"\n"), "agw-proxy", "p")
	f.Add([]byte("[mcp_servers.agw-proxy]\ncommand = \"x\"\n[other]\n[mcp_servers.agw-proxy.sub]\nA = \"1\"\n"), "agw-proxy", "p")
	f.Add([]byte("[mcp_servers.\"a\\eb\"]\ncommand = \"x\"\n[mcp_servers.'a\\eb']\ncommand = \"y\"\n"), `a\eb`, "p")
	f.Add([]byte("[[mcp_servers.agw-proxy]]\n[mcp_servers.b]\n[[mcp_servers.agw-proxy]]\n"), "agw-proxy", "p")
	f.Add([]byte("[mcp_servers.agw-proxy.env]\nA = '1'\n[mcp_servers.agw-proxy]\nk = \"\"\"\n#x\"\"\"\n\n[b] # c\r\n"), "agw-proxy", "p")
	f.Add([]byte(" \n\n"), "0", "0")
	f.Add([]byte("a = 1\r\nb = 2\n"), "agw-proxy", "p")
	codex := Lookup("codex")
	f.Fuzz(func(t *testing.T, data []byte, name, profile string) {
		if _, err := decodeTOML(data); err != nil {
			return
		}
		if !utf8.ValidString(name) || !utf8.ValidString(profile) {
			return // TOML holds UTF-8 only (JSON's encoder too writes U+FFFD for such bytes)
		}
		doc, err := TOML.Parse(data)
		if err != nil {
			t.Fatalf("Parse of a document decodeTOML accepts: %v", err)
		}
		before, _ := decodeTOML(data)
		write := codex.Entry(Server{Command: "/bin/agw-proxy", Args: []string{"serve", "--profile", profile}, CallTimeout: time.Minute})
		replace := append(codex.Entry(Server{Command: "/opt/agw-proxy", Args: nil, CallTimeout: 2 * time.Minute}),
			Field{"env", map[string]string{profile: name, "A": ""}})
		steps := []struct {
			what   string
			fields []Field // nil: remove
			edit   func() error
		}{
			{"write", write, func() error { return doc.PutServer("mcp_servers", name, write) }},
			{"replace", replace, func() error { return doc.PutServer("mcp_servers", name, replace) }},
			{"remove", nil, func() error { return doc.RemoveServer("mcp_servers", name) }},
		}
		_, hadServers := before["mcp_servers"]
		_, hadOurs, _ := doc.Server("mcp_servers", name)
		for _, step := range steps {
			old := slices.Clone(doc.Bytes())
			if err := step.edit(); err != nil {
				if !bytes.Equal(doc.Bytes(), old) {
					t.Fatalf("%s refused (%v) but changed the document:\n%s", step.what, err, doc.Bytes())
				}
				if !hadServers {
					t.Fatalf("%s of %q into a file without servers refused: %v\n%s", step.what, name, err, old)
				}
				return
			}
			after, err := decodeTOML(doc.Bytes())
			if err != nil {
				t.Fatalf("%s of %q into\n%s\nyields a document that does not decode (%v):\n%s", step.what, name, old, err, doc.Bytes())
			}
			if diff := otherTOML(before, after, name); diff != "" {
				t.Fatalf("%s of %q into\n%s\nchanged %s:\n%s", step.what, name, old, diff, doc.Bytes())
			}
			e, found, err := doc.Server("mcp_servers", name)
			switch {
			case err != nil:
				t.Fatalf("%s: Server: %v", step.what, err)
			case step.fields == nil && found:
				t.Fatalf("remove of %q left an entry:\n%s", name, doc.Bytes())
			case step.fields != nil && (!found || !sameFields(e, step.fields)):
				t.Fatalf("%s of %q: the entry is %+v (found %v), want %+v:\n%s", step.what, name, e, found, step.fields, doc.Bytes())
			}
		}
		// An entry added and removed again leaves every byte as it was
		// (the last line ended, as the entry added it).
		want := data
		if !hadOurs && len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
			want = append(slices.Clone(data), "\n"...)
			if bytes.Contains(data, []byte("\r\n")) {
				want = append(slices.Clone(data), "\r\n"...)
			}
		}
		if !hadOurs && !bytes.Equal(doc.Bytes(), want) {
			t.Fatalf("%q added and removed again changed\n%q\ninto\n%q", name, data, doc.Bytes())
		}
	})
}

// otherTOML says what differs between documents a and b but the server
// name, or "".
func otherTOML(a, b map[string]any, name string) string {
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(a, b))) {
		if k == "mcp_servers" {
			continue
		}
		if !reflect.DeepEqual(tomlPlain(a[k]), tomlPlain(b[k])) {
			return fmt.Sprintf("the top-level key %q", k)
		}
	}
	as, _ := a["mcp_servers"].(map[string]any)
	bs, _ := b["mcp_servers"].(map[string]any)
	if _, ok := a["mcp_servers"]; ok && as == nil {
		return "mcp_servers, which is not a table"
	}
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(as, bs))) {
		if k != name && !reflect.DeepEqual(tomlPlain(as[k]), tomlPlain(bs[k])) {
			return fmt.Sprintf("the server %q", k)
		}
	}
	return ""
}

func mergeKeys(a, b map[string]any) map[string]any {
	m := maps.Clone(a)
	if m == nil {
		m = map[string]any{}
	}
	maps.Copy(m, b)
	return m
}

// sameFields reports whether the entry e holds exactly fields, with the
// same meaning.
func sameFields(e Entry, fields []Field) bool {
	if !e.Table || len(e.Fields) != len(fields) {
		return false
	}
	for _, f := range fields {
		v, ok := e.Get(f.Key)
		if !ok || !SameValue(v, f.Value) {
			return false
		}
	}
	return true
}
