package clients

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/textenc"
)

// encodings is every encoding a client's file may be saved in on
// Windows, with the file's UTF-8 text in it.
var encodings = []textenc.Encoding{textenc.UTF8, textenc.UTF8BOM, textenc.UTF16LE, textenc.UTF16BE}

// TestInstallKeepsEncoding: a file saved with a UTF-8 byte order mark, or as
// UTF-16 with one (Notepad, PowerShell's Out-File), is read; the entry is
// merged as into the same file in UTF-8, and the file is written back in
// its own encoding, BOM kept, byte for byte what the UTF-8 install gives
// re-encoded; .bak is the previous file's bytes. Before, a BOM was
// "invalid character 'ï'".
func TestInstallKeepsEncoding(t *testing.T) {
	in := strings.ReplaceAll(vscodeFile, "\n", "\r\n") + "// café ✓ 😀\r\n"
	for _, c := range []*Client{Lookup("amazonq"), Lookup("vscode")} {
		text := strings.ReplaceAll(in, `"servers"`, `"`+c.Servers+`"`)
		plain := filepath.Join(t.TempDir(), "mcp.json")
		writeFile(t, plain, text)
		install(t, c, plain, testServer, false, Added)
		want := readFile(t, plain)
		for _, enc := range encodings {
			t.Run(c.Name+"/"+enc.String(), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "mcp.json")
				old := enc.Encode([]byte(text))
				writeFile(t, path, string(old))
				install(t, c, path, testServer, false, Added)
				if got := []byte(readFile(t, path)); !bytes.Equal(got, enc.Encode([]byte(want))) {
					t.Errorf("the file is not the UTF-8 result in %v:\n% x", enc, got)
				}
				if bak := []byte(readFile(t, path+".bak")); !bytes.Equal(bak, old) {
					t.Errorf(".bak is not the previous file")
				}
				install(t, c, path, testServer, false, Unchanged)
			})
		}
	}
}

// TestInstallEncodingErrors: a broken file says where in characters, in
// any encoding, and is left untouched; a UTF-16 file cut in the middle of
// a character is an error too, not a mangled rewrite.
func TestInstallEncodingErrors(t *testing.T) {
	c := Lookup("amazonq")
	broken := "{\n  \"é😀\": 1\n  \"mcpServers\": {}\n}\n"
	for _, enc := range encodings {
		t.Run(enc.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mcp.json")
			data := enc.Encode([]byte(broken))
			writeFile(t, path, string(data))
			_, err := c.Install(path, "agw-proxy", testServer, false)
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != 3 || se.Col != 3 {
				t.Fatalf("Install = %v, want a SyntaxError at 3:3", err)
			}
			if got := readFile(t, path); got != string(data) {
				t.Errorf("the file was changed")
			}
		})
	}
	path := filepath.Join(t.TempDir(), "mcp.json")
	writeFile(t, path, string(append(textenc.UTF16LE.Encode([]byte("{}")), '\n')))
	_, err := c.Install(path, "agw-proxy", testServer, false)
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "odd number of bytes") {
		t.Fatalf("Install of an odd-length UTF-16 file = %v", err)
	}
	if _, err := os.Stat(path + ".bak"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused install wrote a backup (%v)", err)
	}
}
