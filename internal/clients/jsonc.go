package clients

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tailscale/hujson"
)

// JSON is the format of a plain JSON file; JSONC is JSON with comments and
// trailing commas (VS Code's files). They are read and written alike: a
// JSON file is JSONC without comments, and a file someone gave comments
// gets them back. hujson keeps every byte of what is not changed.
var (
	JSON  Format = jsonFormat{"JSON"}
	JSONC Format = jsonFormat{"JSONC"}
)

type jsonFormat struct{ name string }

func (f jsonFormat) Name() string { return f.name }

func (f jsonFormat) Parse(data []byte) (Document, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}\n")
	}
	root, err := hujson.Parse(data)
	if err != nil {
		return nil, f.syntaxError(data, err)
	}
	if _, ok := root.Value.(*hujson.Object); !ok {
		return nil, fmt.Errorf("the file holds a JSON %s, not an object", kindName(root.Value.Kind()))
	}
	d := &jsonDocument{data: data, root: root, unit: detectIndent(data), newline: "\n"}
	if bytes.Contains(data, []byte("\r\n")) {
		d.newline = "\r\n"
	}
	return d, nil
}

// syntaxError turns hujson's "hujson: line L, column C: ..." (C in bytes)
// into a SyntaxError whose column counts characters, pointing at the last
// byte when the input ends too soon.
func (f jsonFormat) syntaxError(data []byte, err error) error {
	var line, col int
	msg := err.Error()
	if _, serr := fmt.Sscanf(msg, "hujson: line %d, column %d:", &line, &col); serr != nil {
		return &SyntaxError{Format: f.name, Msg: msg}
	}
	_, msg, _ = strings.Cut(msg, fmt.Sprintf("hujson: line %d, column %d: ", line, col))
	switch {
	case strings.HasPrefix(msg, "parsing comment"):
		msg = "a comment is not closed"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "unexpected end of JSON input"
	}
	pos := offset(data, line, col)
	if pos == len(data) && pos > 0 {
		pos-- // at the end of input: point at the last byte
	}
	line, col = lineCol(data, pos)
	return &SyntaxError{Format: f.name, Line: line, Col: col, Msg: msg}
}

// offset is the position of 1-based line and byte column in data.
func offset(data []byte, line, col int) int {
	pos := 0
	for ; line > 1; line-- {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			return len(data)
		}
		pos += i + 1
	}
	return min(pos+max(col-1, 0), len(data))
}

// lineCol is the 1-based line and column (in characters) of position pos.
func lineCol(data []byte, pos int) (line, col int) {
	before := data[:pos]
	line = 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(data[start:pos]) + 1
}

func kindName(k hujson.Kind) string {
	switch k {
	case 'n':
		return "null"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case '0':
		return "number"
	}
	return "object"
}

// detectIndent returns the indentation the file uses (its first indented
// line), so what is added looks like the rest; two spaces by default.
func detectIndent(data []byte) string {
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		trimmed := bytes.TrimLeft(line, " \t")
		if len(trimmed) == 0 || len(trimmed) == len(line) {
			continue
		}
		ws := line[:len(line)-len(trimmed)]
		if ws[0] == '\t' {
			return "\t"
		}
		if n := len(ws); n <= 8 && bytes.Count(ws, []byte(" ")) == n {
			return string(ws)
		}
		break
	}
	return "  "
}
