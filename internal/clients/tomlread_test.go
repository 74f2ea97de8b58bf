package clients

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bstoml "github.com/BurntSushi/toml"
	"github.com/pelletier/go-toml/v2"
)

// libraryTOML decodes data with github.com/BurntSushi/toml, the oracle for
// decodeTOML (a test-only dependency: its package init reads the local
// time zone), into tomlPlain's shapes.
func libraryTOML(data []byte) (map[string]any, error) {
	root := map[string]any{}
	if _, err := bstoml.Decode(string(data), &root); err != nil {
		return nil, err
	}
	return tomlPlain(root).(map[string]any), nil
}

// tomlPlain maps the values of decodeTOML and of the oracle onto one form:
// arrays of tables as []any, a date or time as its kind and fields in a
// string, NaN as a string (NaN is not equal to itself).
func tomlPlain(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = tomlPlain(e)
		}
		return m
	case []map[string]any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = tomlPlain(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = tomlPlain(e)
		}
		return out
	case float64:
		if math.IsNaN(v) {
			return "NaN"
		}
	case time.Time: // the oracle's local kinds are time zones of these names
		switch v.Location().String() {
		case "date-local":
			return "date " + v.Format("2006-01-02")
		case "time-local":
			return "time " + v.Format("15:04:05.000000000")
		case "datetime-local":
			return "datetime-local " + v.Format("2006-01-02T15:04:05.000000000")
		}
		return "datetime " + v.Format("2006-01-02T15:04:05.000000000Z07:00")
	case toml.LocalDate:
		return fmt.Sprintf("date %04d-%02d-%02d", v.Year, v.Month, v.Day)
	case toml.LocalTime:
		return fmt.Sprintf("time %02d:%02d:%02d.%09d", v.Hour, v.Minute, v.Second, v.Nanosecond)
	case toml.LocalDateTime:
		return fmt.Sprintf("datetime-local %04d-%02d-%02dT%02d:%02d:%02d.%09d", v.Year, v.Month, v.Day, v.Hour, v.Minute, v.Second, v.Nanosecond)
	}
	return v
}

// tomlTestSuite is the toml-test suite (valid and invalid documents) that
// the oracle's module ships.
func tomlTestSuite(t testing.TB) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/BurntSushi/toml").Output()
	if err != nil {
		t.Skipf("cannot locate the github.com/BurntSushi/toml module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "internal", "toml-test", "tests")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no toml-test suite in the module: %v", err)
	}
	return dir
}

// notTOML11 are the suite's documents whose verdict TOML 1.1 changed (the
// oracle's internal/toml-test/version.go excludes them for 1.1.0): the
// TOML 1.0 specification's own examples, and what TOML 1.1 now allows.
var notTOML11 = []string{
	"valid/spec-1.0.0/", "invalid/spec-1.0.0/",
	"invalid/datetime/no-secs.toml", "invalid/local-time/no-secs.toml", "invalid/local-datetime/no-secs.toml",
	"invalid/string/basic-byte-escapes.toml",
	"invalid/inline-table/trailing-comma.toml",
	"invalid/inline-table/linebreak-01.toml", "invalid/inline-table/linebreak-02.toml",
	"invalid/inline-table/linebreak-03.toml", "invalid/inline-table/linebreak-04.toml",
}

// acceptedInvalid are the suite's invalid documents that decodeTOML
// accepts, and why that is acceptable. None defines a key or a table twice,
// breaks a string or a header: reading one, agw-proxy still finds the
// tables where the file has them, and TestTOMLSuite fails when go-toml
// starts refusing one (then it comes off the list).
var acceptedInvalid = map[string]string{}

// TestTOMLSuite: decodeTOML accepts every valid document of the toml-test
// suite (TOML 1.1) and decodes it to the oracle's values, and refuses every
// invalid one, as a *SyntaxError with a line, but those acceptedInvalid
// lists.
func TestTOMLSuite(t *testing.T) {
	dir := tomlTestSuite(t)
	n, accepted := 0, map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".toml") {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, "valid/") && !strings.HasPrefix(rel, "invalid/") ||
			slices.ContainsFunc(notTOML11, func(p string) bool { return strings.HasPrefix(rel, p) }) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		got, gerr := decodeTOML(data)
		if strings.HasPrefix(rel, "valid/") {
			want, werr := libraryTOML(data)
			switch {
			case werr != nil:
				t.Errorf("%s: the oracle refuses a valid document: %v", rel, werr)
			case gerr != nil:
				t.Errorf("%s: refused: %v\n%s", rel, gerr, data)
			case !reflect.DeepEqual(tomlPlain(got), want):
				t.Errorf("%s: decoded\n%#v\nthe oracle:\n%#v", rel, tomlPlain(got), want)
			}
			return nil
		}
		if gerr == nil {
			accepted[rel] = true
			if _, ok := acceptedInvalid[rel]; !ok {
				t.Errorf("%s: accepted an invalid document:\n%s", rel, data)
			}
			return nil
		}
		if se, ok := errors.AsType[*SyntaxError](gerr); !ok || se.Line < 1 || se.Col < 1 || se.Format != "TOML" {
			t.Errorf("%s: %#v, want a *SyntaxError with a place", rel, gerr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range acceptedInvalid {
		if !accepted[rel] {
			t.Errorf("%s is listed in acceptedInvalid but is refused (or gone): take it off", rel)
		}
	}
	if n < 500 {
		t.Errorf("only %d documents in %s", n, dir)
	}
}

// TestTOMLSyntaxErrors: a document TOML forbids is a *SyntaxError at the
// line and column (in characters) of the fault, with a message that names
// the character found rather than its first byte's code.
func TestTOMLSyntaxErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		// A key or a table defined twice, in each way TOML has.
		{"a = 1\na = 2\n", "2:1: invalid TOML: key a is already defined"},
		{"[t]\nx = 1\n[t]\ny = 2\n", "3:2: invalid TOML: table t already exists"},
		{"[a.b]\n[a]\nb.c = 1\n", "3:1: invalid TOML: key b is already defined"},
		{"a.b = 1\n[a]\nc = 1\n", "2:2: invalid TOML: table a already exists as defined by a dotted key"},
		{"[a]\nb = 1\n[a.b]\n", "3:2: invalid TOML: key b should be a table, not a value"},
		{"x = {a = 1}\n[x.b]\n", "2:2: invalid TOML: key x already exists as a value"},
		{"[[a]]\n[a]\n", "2:2: invalid TOML: table a already exists as an array of tables"},
		// Broken strings and headers, and the end of the file.
		{"s = \"abc\n", "1:9: invalid TOML: basic strings cannot have new lines"},
		{"s = \"abc", "1:8: invalid TOML: unterminated basic string"},
		{"s = '''abc\n", "1:11: invalid TOML: multiline literal string not terminated by '''"},
		{"k = \"\\q\"\n", "1:6: invalid TOML: invalid escape character 'q'"},
		{"model = \"o3\"\n[mcp_servers\n", "2:13: invalid TOML: expected ']' to close table name"},
		{"model = \"o3\"\n[mcp_servers", "2:12: invalid TOML: expected ']' to close table name"},
		{"[a.]\n", "1:4: invalid TOML: invalid character at start of key: ']'"},
		{"a = [1,", "1:7: invalid TOML: array is incomplete"},
		{"a = ", "1:4: invalid TOML: expected value, not end of input"},
		{"a = \n", "1:5: invalid TOML: expected value but got the end of the line"},
		{"a = \r\n", "1:5: invalid TOML: expected value but got the end of the line"},
		{"x = 1\ry = 2\n", "1:6: invalid TOML: expected newline but got a carriage return"},
		// Columns count characters; a character is named whole.
		{"k = \"é\" é\n", "1:9: invalid TOML: expected newline but got 'é'"},
		{"k = \"\\é\"\n", "1:6: invalid TOML: invalid escape character 'é'"},
		{"é = 1\n", "1:1: invalid TOML: invalid character at start of key: 'é'"},
		{"x = 1\n\xff\n", "2:1: invalid TOML: invalid character at start of key: the byte 0xFF (not UTF-8)"},
		{"x = \"\xff\"\n", "1:6: invalid TOML: invalid UTF-8 character in basic string"},
	} {
		_, err := decodeTOML([]byte(tt.in))
		if se, ok := errors.AsType[*SyntaxError](err); !ok || se.Error() != tt.want {
			t.Errorf("decodeTOML(%q) = %v, want the SyntaxError %s", tt.in, err, tt.want)
		}
	}
}

// TestTOMLDatesInCodexEntry: dates and times, which decodeTOML reads as
// go-toml's types, compare as different from what Install writes and
// show as written in --detect's reason, and a forced install replaces them.
func TestTOMLDatesInCodexEntry(t *testing.T) {
	c := Lookup("codex")
	path := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, path, "[mcp_servers.agw-proxy]\ncommand = \"/bin/agw-proxy\"\nargs = [\"serve\", \"--profile\", \"work\"]\n"+
		"startup_timeout_sec = 1979-05-27\ntool_timeout_sec = 07:32:00\nwhen = 1979-05-27T07:32:00\n")
	st, err := c.Status(path, "agw-proxy", &testServer)
	if want := "startup_timeout_sec 1979-05-27, not 70; tool_timeout_sec 07:32:00, not 70"; err != nil || st.State != Stale || st.Why != want {
		t.Errorf("Status = %+v, %v; want stale: %s", st, err, want)
	}
	install(t, c, path, testServer, false, Updated)
	if st, err := c.Status(path, "agw-proxy", &testServer); err != nil || st.State != UpToDate {
		t.Errorf("Status after install = %+v, %v", st, err)
	}
}
