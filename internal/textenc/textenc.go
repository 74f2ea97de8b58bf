// Package textenc reads the text files editors on Windows save: UTF-8 with
// a byte order mark, and UTF-16 (little or big endian) with one, as plain
// UTF-8; and writes changed text back in the encoding it was read in, so
// the program that owns the file still reads it. Check finds bytes that are
// not UTF-8, and says where without echoing them.
//
//	text, enc, err := textenc.Decode(data) // text is UTF-8, without a BOM
//	if err != nil { ... }                  // a *textenc.Error, with Line and Col
//	out := enc.Encode(changed)             // the same BOM and encoding as data
//
// golang.org/x/text would do the decoding too; this is the little of it the
// config files need, without the dependency.
package textenc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// An Encoding is how a text file was stored.
type Encoding int

const (
	UTF8    Encoding = iota // UTF-8 without a byte order mark
	UTF8BOM                 // UTF-8 after the byte order mark EF BB BF
	UTF16LE                 // UTF-16 little endian after the byte order mark FF FE
	UTF16BE                 // UTF-16 big endian after the byte order mark FE FF
)

func (e Encoding) String() string {
	switch e {
	case UTF8BOM:
		return "UTF-8 with BOM"
	case UTF16LE:
		return "UTF-16 LE"
	case UTF16BE:
		return "UTF-16 BE"
	}
	return "UTF-8"
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// An Error is text that cannot be decoded, and where: Line and Col count
// from 1 (Col in characters) in the decoded text; Line is 0 when the
// problem is the file as a whole.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg)
}

// Decode returns data as UTF-8 without a byte order mark, and the encoding
// it was in: the BOM decides (none is UTF-8). An unpaired UTF-16 surrogate
// or a UTF-16 file of an odd length is an *Error. UTF-8 is not checked (see
// Check), so that it encodes back byte for byte; without a BOM, text is
// data itself.
func Decode(data []byte) (text []byte, enc Encoding, err error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0, 0}), bytes.HasPrefix(data, []byte{0, 0, 0xFE, 0xFF}):
		return nil, UTF8, &Error{Msg: "the file is UTF-32, which is not read: save it as UTF-8"}
	case bytes.HasPrefix(data, bomUTF8):
		text, enc = data[len(bomUTF8):], UTF8BOM
	case bytes.HasPrefix(data, bomUTF16LE):
		text, err = decodeUTF16(data[2:], binary.LittleEndian)
		enc = UTF16LE
	case bytes.HasPrefix(data, bomUTF16BE):
		text, err = decodeUTF16(data[2:], binary.BigEndian)
		enc = UTF16BE
	default:
		text, enc = data, UTF8
	}
	if err != nil {
		return nil, enc, err
	}
	return text, enc, nil
}

// Check returns an *Error at text's first byte that is not UTF-8, naming
// the byte in hex, or nil when text is valid UTF-8.
func Check(text []byte) error {
	if utf8.Valid(text) {
		return nil
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRune(text[i:])
		if r == utf8.RuneError && size == 1 {
			line, col := Position(text, i)
			return &Error{Line: line, Col: col, Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02x): save the file as UTF-8", text[i])}
		}
		i += size
	}
	return nil
}

// decodeUTF16 decodes the UTF-16 code units of data (after the BOM).
func decodeUTF16(data []byte, order binary.ByteOrder) ([]byte, error) {
	if len(data)%2 != 0 {
		return nil, &Error{Msg: "the file is UTF-16 (it starts with a byte order mark) but has an odd number of bytes"}
	}
	out := make([]byte, 0, len(data)/2)
	for i := 0; i < len(data); i += 2 {
		u := rune(order.Uint16(data[i:]))
		switch {
		case utf16.IsSurrogate(u) && u < 0xDC00 && i+3 < len(data):
			lo := rune(order.Uint16(data[i+2:]))
			if r := utf16.DecodeRune(u, lo); r != utf8.RuneError {
				out = utf8.AppendRune(out, r)
				i += 2
				continue
			}
			fallthrough
		case utf16.IsSurrogate(u):
			line, col := Position(out, len(out))
			return nil, &Error{Line: line, Col: col, Msg: fmt.Sprintf("invalid UTF-16 (unpaired surrogate 0x%04x)", u)}
		}
		out = utf8.AppendRune(out, u)
	}
	return out, nil
}

// Encode returns UTF-8 text in the encoding e, with its byte order mark.
// Invalid UTF-8 in text becomes U+FFFD in UTF-16.
func (e Encoding) Encode(text []byte) []byte {
	switch e {
	case UTF8BOM:
		return append(bytes.Clone(bomUTF8), text...)
	case UTF16LE, UTF16BE:
		var order binary.AppendByteOrder = binary.LittleEndian
		bom := bomUTF16LE
		if e == UTF16BE {
			order, bom = binary.BigEndian, bomUTF16BE
		}
		out := make([]byte, 0, 2+2*len(text))
		out = append(out, bom...)
		for _, r := range string(text) {
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				out = order.AppendUint16(out, uint16(r1))
				out = order.AppendUint16(out, uint16(r2))
				continue
			}
			out = order.AppendUint16(out, uint16(r))
		}
		return out
	}
	return text
}

// Position is the 1-based line and column (in characters) of byte offset
// off in UTF-8 text.
func Position(text []byte, off int) (line, col int) {
	before := text[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}
