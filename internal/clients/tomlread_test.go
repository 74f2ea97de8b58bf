package clients

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// libraryTOML decodes data with github.com/BurntSushi/toml, the oracle for
// decodeTOML, into the same shapes: arrays of tables as []any, date-times
// as a marker.
func libraryTOML(data []byte) (map[string]any, error) {
	root := map[string]any{}
	if _, err := toml.Decode(string(data), &root); err != nil {
		return nil, err
	}
	return libraryPlain(root).(map[string]any), nil
}

func libraryPlain(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = libraryPlain(e)
		}
		return m
	case []map[string]any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = libraryPlain(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = libraryPlain(e)
		}
		return out
	case time.Time:
		return tomlDatetime("datetime")
	case float64:
		if math.IsNaN(v) {
			return "NaN"
		}
	}
	return v
}

// ourPlain maps decodeTOML's values onto libraryPlain's.
func ourPlain(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = ourPlain(e)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = ourPlain(e)
		}
		return out
	case tomlDatetime:
		return tomlDatetime("datetime")
	case float64:
		if math.IsNaN(v) {
			return "NaN"
		}
	}
	return v
}

// sameAsLibrary says how decodeTOML and the library differ on data, or "".
// Where the library accepts a document that TOML forbids (it lets dotted
// keys and headers add to tables defined elsewhere, and takes an offset of
// +12:60), decodeTOML may refuse it: the toml-test suite says which.
func sameAsLibrary(data []byte, mayRefuse bool) string {
	want, werr := libraryTOML(data)
	got, gerr := decodeTOML(data)
	switch {
	case werr != nil && gerr != nil:
		return ""
	case werr != nil:
		return fmt.Sprintf("accepted; the library says %v", werr)
	case gerr != nil && mayRefuse:
		return ""
	case gerr != nil:
		return fmt.Sprintf("refused (%v); the library accepts it", gerr)
	}
	if g, w := ourPlain(got), libraryPlain(want); !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("decoded\n%#v\nthe library:\n%#v", g, w)
	}
	return ""
}

// tomlTestSuite is the toml-test suite (valid and invalid documents) that
// the library's module ships.
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

// TestTOMLReaderAgainstSuite: decodeTOML accepts every valid document of
// the toml-test suite and decodes it to the library's values, and refuses
// every invalid one the library refuses. (The suite's invalid documents
// that TOML 1.1 allows, such as a newline in an inline table, both take.)
func TestTOMLReaderAgainstSuite(t *testing.T) {
	dir := tomlTestSuite(t)
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".toml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		rel, _ := filepath.Rel(dir, path)
		valid := strings.HasPrefix(rel, "valid"+string(filepath.Separator))
		if diff := sameAsLibrary(data, !valid); diff != "" {
			t.Errorf("%s: %s\n%s", rel, diff, data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 500 {
		t.Errorf("only %d documents in %s", n, dir)
	}
}

// FuzzTOMLReader: decodeTOML accepts nothing the library refuses, and
// decodes what it accepts to the library's values.
func FuzzTOMLReader(f *testing.F) {
	f.Add([]byte(codexWithOurs))
	f.Add([]byte("a = \"\"\"\n\\\n x\"\"\"\nb = 1979-05-27 07:32:00Z\n[[t]]\nc = {d.e = [1, 2.5e3, 'x']}\n"))
	f.Add([]byte("[a.b]\n[a]\nb.c = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.ContainsAny(data, "\x00") {
			return
		}
		if diff := sameAsLibrary(data, true); diff != "" {
			t.Errorf("%q: %s", data, diff)
		}
	})
}
