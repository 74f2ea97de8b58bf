package profile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// loadWithin is Load, failing the test if it has not returned in seconds:
// a config file must never make it wait.
func loadWithin(t *testing.T, path string) (f *File, err error) {
	t.Helper()
	testwait.Within(t, testwait.Limit, "Load("+path+")", func() { f, err = Load(path) })
	return f, err
}

func wantError(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	msg := err.Error()
	var e *Error
	if errors.As(err, &e) {
		msg += "\nhint: " + strings.Join(e.Hints(), "\nhint: ")
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not say %q:\n%s", w, msg)
		}
	}
}

const oneProfile = "profiles:\n  default:\n    gateway_url: https://gw.example.com/mcp\n"

// TestLoadOnlyRegularFiles: a device given as --config is refused at once
// (/dev/zero was read for ever; a named pipe: TestLoadNamedPipe); a
// directory names the file it holds; a symlink to a file and the null
// device (no config file) still work.
func TestLoadOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte(oneProfile), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("endless device", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		_, err := loadWithin(t, "/dev/zero")
		wantError(t, err, "config file /dev/zero is a device, not a regular file")
	})
	t.Run("directory holding a config file", func(t *testing.T) {
		_, err := loadWithin(t, dir)
		wantError(t, err, "config file "+dir+" is a directory", "did you mean "+file+"?")
	})
	t.Run("directory holding agw-proxy/config.yaml", func(t *testing.T) {
		parent := t.TempDir()
		inner := filepath.Join(parent, "agw-proxy", "config.yaml")
		if err := os.MkdirAll(filepath.Dir(inner), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(inner, []byte(oneProfile), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadWithin(t, parent)
		wantError(t, err, "did you mean "+inner+"?")
	})
	t.Run("empty directory", func(t *testing.T) {
		empty := t.TempDir()
		_, err := loadWithin(t, empty)
		wantError(t, err, "is a directory", "a config file is a YAML file, such as "+filepath.Join(empty, "config.yaml"))
	})
	t.Run("missing", func(t *testing.T) {
		_, err := loadWithin(t, filepath.Join(dir, "nope.yaml"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Load = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("symlink to a file", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "link.yaml")
		if err := os.Symlink(file, link); err != nil {
			t.Skip(err)
		}
		f, err := loadWithin(t, link)
		if err != nil || len(f.Names()) != 1 {
			t.Fatalf("Load(symlink) = %v, %v", f, err)
		}
	})
	t.Run("null device", func(t *testing.T) {
		f, err := loadWithin(t, os.DevNull)
		if err != nil || len(f.Names()) != 0 {
			t.Fatalf("Load(%s) = %v, %v; want an empty file", os.DevNull, f, err)
		}
	})
}

// TestLoadSizeCap: a file of MaxFileSize is read; one byte more is refused,
// with its size, before it is read (a 50 MB file took 15 s and 1.6 GB).
func TestLoadSizeCap(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		data := []byte(oneProfile + "# ")
		data = append(data, bytes.Repeat([]byte("x"), size-len(data)-1)...)
		data = append(data, '\n')
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if _, err := loadWithin(t, write("max.yaml", MaxFileSize)); err != nil {
		t.Fatalf("a file of MaxFileSize: %v", err)
	}
	_, err := loadWithin(t, write("over.yaml", MaxFileSize+1))
	wantError(t, err, "over.yaml is 1048577 bytes: a config file can be at most 1 MiB")

	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = loadWithin(t, big)
	wantError(t, err, "big.yaml is 50.0 MiB: a config file can be at most 1 MiB")
}

func encodeUTF16(s string, order binary.AppendByteOrder, bom ...byte) []byte {
	out := bom
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

// TestParseEncodings: a config file saved as UTF-8 with a BOM or as UTF-16
// with one (Windows editors) reads like UTF-8, and its errors are at the
// same line:col as an editor shows. Before, the BOM was part of the first
// key ("unknown key \ufeffprofiles") and UTF-16 was "must be a mapping".
func TestParseEncodings(t *testing.T) {
	const text = "# é ✓ 😀\r\nprofiles:\r\n  default: {a: é😀, gatway_url: x}\r\n  other:\r\n    gateway_url: https://gw.example.com/mcp\r\n"
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"UTF-8", []byte(text)},
		{"UTF-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, text...)},
		{"UTF-16 LE", encodeUTF16(text, binary.LittleEndian, 0xFF, 0xFE)},
		{"UTF-16 BE", encodeUTF16(text, binary.BigEndian, 0xFE, 0xFF)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", tc.data)
			want := "c.yaml:3:13: unknown key \"a\" in profile \"default\"\n" +
				"c.yaml:3:20: unknown key \"gatway_url\" in profile \"default\""
			if err == nil || err.Error() != want {
				t.Fatalf("Parse = %v, want\n%s", err, want)
			}
			good := strings.Replace(strings.Replace(text, "a: é😀, ", "", 1), "gatway_url: x", "gateway_url: https://gw.example.com/mcp", 1)
			data := []byte(good)
			switch tc.name {
			case "UTF-8 with BOM":
				data = append([]byte{0xEF, 0xBB, 0xBF}, good...)
			case "UTF-16 LE":
				data = encodeUTF16(good, binary.LittleEndian, 0xFF, 0xFE)
			case "UTF-16 BE":
				data = encodeUTF16(good, binary.BigEndian, 0xFE, 0xFF)
			}
			f, err := Parse("c.yaml", data)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(f.Names(), ","); got != "default,other" {
				t.Errorf("profiles %s, want default,other", got)
			}
			if p := f.profiles["default"]; p.GatewayURL != "https://gw.example.com/mcp" || p.At("gateway_url") != "c.yaml:3:26" {
				t.Errorf("gateway_url %q at %s", p.GatewayURL, p.At("gateway_url"))
			}
		})
	}
}

// TestParseInvalidText: bytes that are not UTF-8, anywhere, and control
// characters are errors at their file:line:col, shown escaped, never raw.
// Before, a gateway_url with a stray byte was accepted and printed.
func TestParseInvalidText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  string
		want  []string
		bytes string // what the message must not hold
	}{
		{"byte 0xff in gateway_url", "profiles:\n  default:\n    gateway_url: https://gw.example.com/mc\xffp\n",
			[]string{"c.yaml:3:43: invalid UTF-8 (byte 0xff): save the file as UTF-8"}, "\xff"},
		{"Latin-1 in a comment", "# caf\xe9\nprofiles: {}\n",
			[]string{"c.yaml:1:6: invalid UTF-8 (byte 0xe9)"}, "\xe9"},
		{"after a BOM", "\xef\xbb\xbfprofiles:\n  \xc3x: {}\n",
			[]string{"c.yaml:2:3: invalid UTF-8 (byte 0xc3)"}, "\xc3"},
		{"escape sequence in a value", "profiles:\n  default:\n    gateway_url: \"https://gw.example.com/\x1b]0;pwned\x07\"\n",
			[]string{"c.yaml:3:42: control character U+001B is not allowed in YAML"}, "\x1b"},
		{"NUL", "profiles:\x00\n",
			[]string{"c.yaml:1:10: control character U+0000 is not allowed in YAML", "UTF-16 without a byte order mark"}, "\x00"},
		{"unpaired UTF-16 surrogate", string(append(encodeUTF16("profiles:\n  ", binary.LittleEndian, 0xFF, 0xFE), 0x00, 0xD8, 'a', 0)),
			[]string{"c.yaml:2:3: invalid UTF-16 (unpaired surrogate 0xd800)"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.data))
			wantError(t, err, tc.want...)
			if err != nil && tc.bytes != "" && strings.Contains(err.Error(), tc.bytes) {
				t.Errorf("the error echoes the raw bytes: %q", err)
			}
		})
	}
	// A character written as an escape in a quoted string is not raw text.
	if _, err := Parse("c.yaml", []byte("profiles:\n  default:\n    auth: {client_id: \"a\\tb\"}\n")); err != nil {
		t.Errorf("an escaped tab: %v", err)
	}
}

// TestParseIsBounded: whatever the file holds within MaxFileSize, parsing
// ends in well under a second (before: 200k profiles never finished, and an
// alias of an alias of ... ran for ever or overflowed the stack).
func TestParseIsBounded(t *testing.T) {
	profiles := func(n int, body string) string {
		var b strings.Builder
		b.WriteString("profiles:\n")
		for i := range n {
			fmt.Fprintf(&b, "  p%d: %s\n", i, body)
		}
		return b.String()
	}
	laughs := func(levels, width int, ref string) string {
		var b strings.Builder
		b.WriteString("x-l0: &l0 {gateway_url: https://gw.example.com/mcp}\n")
		for i := 1; i <= levels; i++ {
			fmt.Fprintf(&b, "x-l%d: &l%d\n  <<: [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), width), ", "))
		}
		fmt.Fprintf(&b, "profiles:\n  default: %s\n", fmt.Sprintf(ref, levels))
		return b.String()
	}
	rules := func(n, uses int) string {
		var b strings.Builder
		b.WriteString("x-rules: &rules\n")
		for i := range n {
			fmt.Fprintf(&b, "  - {argument: A%d, secret: s, tools: [T___*]}\n", i)
		}
		b.WriteString("profiles:\n")
		for i := range uses {
			fmt.Fprintf(&b, "  p%d: {inject: *rules}\n", i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name string
		data string
		want string // "" when it loads
	}{
		{"5,000 profiles", profiles(5000, "{gateway_url: https://gw.example.com/mcp, inject: [{argument: A, secret: s, tools: [T___*]}]}"), ""},
		{"80,000 profiles in 1 MiB", profiles(80_000, "{}"), "c.yaml:10002:3: more than 10000 keys in one mapping"},
		{"several large mappings", strings.Repeat(strings.Replace(profiles(9000, "1"), "profiles:", "x-m: &m", 1), 3), "too many keys in large mappings"},
		{"merge chain, 2 wide", laughs(30, 2, "{<<: *l%d}"), "merge keys (<<) nested more than 16 deep"},
		{"merge tree, 10 wide", laughs(10, 10, "{<<: *l%d}"), "the file's aliases expand to more than"},
		{"anchor that merges itself", "x-a: &a {<<: *a}\nprofiles: {default: {<<: *a}}\n", "an anchor that merges itself"},
		{"merge list that holds itself", "x-a: &a [*a]\nprofiles: {default: {<<: *a}}\n", "c.yaml:1:10: profiles.default: must be a mapping of keys to values"},
		{"a long rule list used by many profiles", rules(2000, 2000), "the file's aliases expand to more than"},
		{"deep flow nesting", "profiles: " + strings.Repeat("[", 300_000) + strings.Repeat("]", 300_000) + "\n", "c.yaml:1:74: collections nested more than 64 deep"},
		{"deep block nesting", "profiles:\n" + strings.Repeat("- ", 100_000) + "x\n", "collections nested more than 64 deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.data) > MaxFileSize {
				t.Fatalf("%d bytes: over MaxFileSize", len(tc.data))
			}
			var err error
			start := time.Now()
			testwait.Within(t, testwait.Limit, "Parse", func() { _, err = Parse("c.yaml", []byte(tc.data)) })
			t.Logf("%d bytes in %v", len(tc.data), time.Since(start))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Parse: %.300v", err)
				}
				return
			}
			wantError(t, err, tc.want)
			if n := strings.Count(err.Error(), "\n"); n > 0 {
				t.Errorf("one error expected, got %d lines", n+1)
			}
		})
	}
}

// BenchmarkParseLarge parses a file of 9,000 profiles sharing anchors,
// near MaxFileSize.
func BenchmarkParseLarge(b *testing.B) {
	var buf strings.Builder
	buf.WriteString("x-auth: &auth {type: client_credentials, token_url: https://a.example.com/t, client_id: c, scopes: [s]}\n")
	buf.WriteString("x-rules: &rules [{argument: X-Asana-Token, secret: asana, tools: [\"T___*\"]}]\n")
	buf.WriteString("profiles:\n")
	for i := range 9000 {
		fmt.Fprintf(&buf, "  p%d:\n    gateway_url: https://gw.example.com/mcp\n    auth: *auth\n    inject: *rules\n", i)
	}
	data := []byte(buf.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("c.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
