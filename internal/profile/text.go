package profile

// The config file's text, before it is parsed: editors on Windows save
// UTF-8 with a byte order mark, or UTF-16; both are read. Bytes that are not
// UTF-8, and characters YAML does not allow (control characters), are an
// error at their file:line:col, shown escaped: they would otherwise reach a
// value such as gateway_url, and from there a terminal.

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/agw-proxy/agw-proxy/internal/textenc"
)

// decodeText returns the file's text as UTF-8 without a byte order mark,
// with LF line ends. Line and column numbers in the text are those of the
// file as an editor shows it, whatever its encoding: goccy/go-yaml counts
// a comment's CRLF as two lines, and YAML reads CRLF as LF anyway.
func decodeText(path string, data []byte) ([]byte, error) {
	text, _, err := textenc.Decode(data)
	if err == nil {
		err = textenc.Check(text)
	}
	if te, ok := errors.AsType[*textenc.Error](err); ok {
		at := path
		if te.Line > 0 {
			at = fmt.Sprintf("%s:%d:%d", path, te.Line, te.Col)
		}
		return nil, &Error{at: at, msg: te.Msg}
	}
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	for i, r := range string(text) {
		if yamlPrintable(r) {
			continue
		}
		line, col := textenc.Position(text, i)
		var hints []string
		if r == 0 {
			hints = []string{"a file with NUL bytes is often UTF-16 without a byte order mark: save it as UTF-8"}
		}
		return nil, &Error{at: fmt.Sprintf("%s:%d:%d", path, line, col),
			msg: fmt.Sprintf("control character %U is not allowed in YAML", r), hints: hints}
	}
	return bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n")), nil
}

// yamlPrintable reports whether YAML 1.2 allows r in a file (its
// c-printable set): tab, line breaks and the printable characters.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return true
	case r < 0x20 || r == 0x7F:
		return false
	case r < 0x7F:
		return true
	}
	return r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
