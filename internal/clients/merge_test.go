package clients

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMergeIntoExistingFiles: for every client of the table, its entry is
// merged into a realistic file of that client (testdata/merge/NAME.in: other
// servers and settings, comments for the JSONC clients, other tables and
// comments for Codex, Claude Code's state file with a project-scope entry of
// the same name). The result is the golden NAME.want; every byte of the
// input is still there and every one of its lines whole (only the entry and
// the comma before it are added); the result parses and holds the entry; a second install changes
// nothing. Run with -update to rewrite the goldens.
func TestMergeIntoExistingFiles(t *testing.T) {
	for _, c := range All {
		t.Run(c.Name, func(t *testing.T) {
			in := readFile(t, filepath.Join("testdata", "merge", c.Name+".in"))
			path := filepath.Join(t.TempDir(), filepath.Base(c.File))
			writeFile(t, path, in)
			install(t, c, path, testServer, false, Added)
			out := readFile(t, path)
			golden := filepath.Join("testdata", "merge", c.Name+".want")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, golden); out != want {
				t.Errorf("merged:\n%s\nwant (%s):\n%s", out, golden, want)
			}
			if !isSubsequence(in, out) {
				t.Errorf("bytes of the file were changed or dropped:\n%s", out)
			}
			// A line may gain the comma that separates it from the entry.
			for _, line := range strings.Split(strings.TrimSuffix(in, "\n"), "\n") {
				if !strings.Contains(out, line+"\n") && !strings.Contains(out, line+",\n") {
					t.Errorf("line %q is not kept whole", line)
				}
			}
			doc, err := c.Format.Parse([]byte(out))
			if err != nil {
				t.Fatalf("the result does not parse: %v", err)
			}
			entry, found, err := doc.Server(c.Servers, "agw-proxy")
			if err != nil || !found || !c.ownedEqual(entry, c.Entry(testServer)) {
				t.Errorf("the result holds %+v (%v, %v), not the entry", entry, found, err)
			}
			install(t, c, path, testServer, false, Unchanged)
			if again := readFile(t, path); again != out {
				t.Errorf("the second install changed the file:\n%s", again)
			}
		})
	}
}
