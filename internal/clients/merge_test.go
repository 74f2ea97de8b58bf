package clients

import (
	"os"
	"path/filepath"
	"slices"
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
// nothing. Remove then gives back the input, byte for byte (the merged file
// kept as .bak), and a second Remove changes nothing. Run with -update to
// rewrite the goldens.
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
			if res, err := c.Remove(path, "agw-proxy", false); err != nil || res.Action != Removed {
				t.Fatalf("Remove: %+v, %v", res, err)
			}
			// A servers table that Install added stays, empty.
			if got := withoutEmptyTable(readFile(t, path), c.Servers); got != in {
				t.Errorf("after Remove:\n%s\nwant the input:\n%s", got, in)
			}
			if bak := readFile(t, path+".bak"); bak != out {
				t.Errorf(".bak after Remove:\n%s", bak)
			}
			if res, err := c.Remove(path, "agw-proxy", false); err != nil || res.Action != Unchanged {
				t.Errorf("second Remove: %+v, %v", res, err)
			}
			if got := withoutEmptyTable(readFile(t, path), c.Servers); got != in {
				t.Errorf("the second Remove changed the file:\n%s", got)
			}
		})
	}
}

// withoutEmptyTable is doc less a line that holds nothing but an empty
// JSON object servers.
func withoutEmptyTable(doc, servers string) string {
	lines := strings.SplitAfter(doc, "\n")
	for i, line := range lines {
		if t := strings.TrimSpace(line); t == `"`+servers+`": {},` || t == `"`+servers+`": {}` {
			return strings.Join(slices.Delete(lines, i, i+1), "")
		}
	}
	return doc
}
