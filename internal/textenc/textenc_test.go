package textenc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unicode/utf16"
)

func utf16Bytes(s string, order binary.AppendByteOrder, bom []byte) []byte {
	out := bytes.Clone(bom)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

// The text every encoding below holds: ASCII, two-byte and three-byte
// characters and one outside the BMP (a surrogate pair in UTF-16), CRLF.
const sample = "{\r\n  \"name\": \"café ✓ 😀\"\n}\n"

func TestDecodeEncodeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		enc  Encoding
	}{
		{"UTF-8", []byte(sample), UTF8},
		{"UTF-8 BOM", append([]byte{0xEF, 0xBB, 0xBF}, sample...), UTF8BOM},
		{"UTF-16 LE", utf16Bytes(sample, binary.LittleEndian, []byte{0xFF, 0xFE}), UTF16LE},
		{"UTF-16 BE", utf16Bytes(sample, binary.BigEndian, []byte{0xFE, 0xFF}), UTF16BE},
		{"empty", nil, UTF8},
		{"BOM only", []byte{0xFF, 0xFE}, UTF16LE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, enc, err := Decode(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if enc != tc.enc {
				t.Errorf("encoding %v, want %v", enc, tc.enc)
			}
			want := sample
			if len(tc.data) <= 2 {
				want = ""
			}
			if string(text) != want {
				t.Errorf("text %q, want %q", text, want)
			}
			if back := enc.Encode(text); !bytes.Equal(back, tc.data) {
				t.Errorf("Encode(Decode(data)) = % x, want % x", back, tc.data)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	le := func(units ...uint16) []byte {
		out := []byte{0xFF, 0xFE}
		for _, u := range units {
			out = binary.LittleEndian.AppendUint16(out, u)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		data      []byte
		line, col int
		msg       string
	}{
		{"invalid UTF-8, shown escaped", []byte("a: 1\nbé: \xff\xfe\n"), 2, 5, "invalid UTF-8 (byte 0xff): save the file as UTF-8"},
		{"invalid UTF-8 after a BOM", []byte("\xef\xbb\xbfa: \xc3\n"), 1, 4, "invalid UTF-8 (byte 0xc3): save the file as UTF-8"},
		{"Latin-1", []byte("name: caf\xe9\n"), 1, 10, "invalid UTF-8 (byte 0xe9): save the file as UTF-8"},
		{"lone high surrogate", le('a', '\n', 'b', 0xD800, 'c'), 2, 2, "invalid UTF-16 (unpaired surrogate 0xd800)"},
		{"lone low surrogate", le('a', 0xDC00), 1, 2, "invalid UTF-16 (unpaired surrogate 0xdc00)"},
		{"high surrogate at the end", le('a', 0xD83D), 1, 2, "invalid UTF-16 (unpaired surrogate 0xd83d)"},
		{"odd length", append(le('a'), 'b'), 0, 0, "the file is UTF-16 (it starts with a byte order mark) but has an odd number of bytes"},
		{"UTF-32", []byte{0xFF, 0xFE, 0, 0, 'a', 0, 0, 0}, 0, 0, "the file is UTF-32, which is not read: save it as UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, _, err := Decode(tc.data)
			if err == nil {
				err = Check(text)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode = %v, want an *Error", err)
			}
			if e.Line != tc.line || e.Col != tc.col || e.Msg != tc.msg {
				t.Errorf("Decode = %d:%d %q, want %d:%d %q", e.Line, e.Col, e.Msg, tc.line, tc.col, tc.msg)
			}
		})
	}
}

func TestPosition(t *testing.T) {
	text := []byte("ab\ncé✓d\n")
	for _, tc := range []struct{ off, line, col int }{
		{0, 1, 1}, {2, 1, 3}, {3, 2, 1}, {4, 2, 2}, {6, 2, 3}, {9, 2, 4}, {11, 3, 1},
	} {
		if line, col := Position(text, tc.off); line != tc.line || col != tc.col {
			t.Errorf("Position(%d) = %d:%d, want %d:%d", tc.off, line, col, tc.line, tc.col)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(sample))
	f.Add(utf16Bytes(sample, binary.LittleEndian, []byte{0xFF, 0xFE}))
	f.Add([]byte{0xFE, 0xFF, 0xD8, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		text, enc, err := Decode(data)
		if err != nil {
			return
		}
		// What decodes encodes back to the same bytes; from UTF-16, it is
		// valid UTF-8.
		if back := enc.Encode(text); !bytes.Equal(back, data) {
			t.Fatalf("round trip of % x gave % x", data, back)
		}
		if (enc == UTF16LE || enc == UTF16BE) && Check(text) != nil {
			t.Fatalf("UTF-16 % x decoded to invalid UTF-8", data)
		}
	})
}
