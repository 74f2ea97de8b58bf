package clients

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
)

// decodeTOML reads a TOML document (TOML 1.1, which takes every TOML 1.0
// file) into tables of map[string]any holding string, int64, float64, bool,
// []any and map[string]any (an array of tables is a []any of tables), and
// for dates and times go-toml's LocalDate, LocalTime and LocalDateTime or,
// with an offset, a time.Time. A file that is not TOML, or that defines a
// key or a table twice, is a *SyntaxError at its line and column.
//
// The reader is github.com/pelletier/go-toml/v2, a maintained library whose
// package init, run at every start of the binary, measured 0.002-0.005 ms
// and no allocations (GODEBUG=inittrace=1 on agw-proxy version), where
// github.com/BurntSushi/toml's reads the local time zone (about 0.05 ms);
// BurntSushi's stays the tests' oracle. Decoding into a map needs no
// strict mode: the library refuses a key or a table defined twice, as TOML
// asks (the tests hold it to the toml-test suite).
func decodeTOML(data []byte) (map[string]any, error) {
	root := map[string]any{}
	if err := toml.Unmarshal(data, &root); err != nil {
		return nil, tomlSyntaxError(data, err)
	}
	return root, nil
}

// tomlSyntaxError is go-toml's error as a SyntaxError: the column in
// characters, not bytes, and a character the message names (go-toml
// writes the first byte of it as U+00XX) described as [found] does.
func tomlSyntaxError(data []byte, err error) error {
	de, ok := errors.AsType[*toml.DecodeError](err)
	if !ok {
		return &SyntaxError{Format: "TOML", Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	row, col := de.Position()
	if row < 1 {
		return &SyntaxError{Format: "TOML", Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	}
	pos := offset(data, row, col)
	line, col := lineCol(data, pos)
	return &SyntaxError{Format: "TOML", Line: line, Col: col, Msg: tomlMessage(strings.TrimPrefix(de.Error(), "toml: "), data, pos)}
}

// tomlMessage rewrites go-toml's message msg about position pos of data so
// it reads as the rest of agw-proxy's: "expected value but got the end of
// the line", not "unexpected character U+000A at start of value".
func tomlMessage(msg string, data []byte, pos int) string {
	i := strings.Index(msg, "U+")
	if i < 0 {
		return msg
	}
	j := i + 2
	for j < len(msg) && strings.IndexByte("0123456789ABCDEF", msg[j]) >= 0 {
		j++
	}
	v, err := strconv.ParseUint(msg[i+2:j], 16, 32)
	if err != nil || v > 0xff {
		return msg
	}
	// %#U adds the character quoted when it is printable: " 'x'".
	if rest := msg[j:]; strings.HasPrefix(rest, " '") {
		if _, n := utf8.DecodeRuneInString(rest[2:]); strings.HasPrefix(rest[2+n:], "'") {
			j += 2 + n + 1
		}
	}
	// The byte is at pos, or just after it (an escape's backslash).
	at := pos
	for k := pos; k < min(pos+2, len(data)); k++ {
		if data[k] == byte(v) {
			at = k
			break
		}
	}
	what := found(data, at)
	if at >= len(data) || data[at] != byte(v) {
		what = found([]byte{byte(v)}, 0)
	}
	before, after := msg[:i], msg[j:]
	if before == "unexpected character " && after == " at start of value" {
		return "expected value but got " + what
	}
	return before + what + after
}

// found names the character at pos of data, for an error.
func found(data []byte, pos int) string {
	if pos >= len(data) {
		return "the end of the file"
	}
	r, n := utf8.DecodeRune(data[pos:])
	switch {
	case r == '\n' || r == '\r' && pos+1 < len(data) && data[pos+1] == '\n':
		return "the end of the line"
	case r == '\r':
		return "a carriage return"
	case r == utf8.RuneError && n <= 1:
		return fmt.Sprintf("the byte 0x%02X (not UTF-8)", data[pos])
	}
	return strconv.QuoteRune(r)
}
