package clients

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
)

// TOML is the format of Codex's config.toml. The file is read with a TOML
// decoder ([decodeTOML]), but never written by one (an encoder would drop the comments and
// reorder the tables): a change is a text edit that replaces our table
// [SERVERS.NAME], with its subtables, where it stands, or appends it at the
// end. Every other byte stays, and the result is decoded again before it is
// written, so an edit the file's layout does not allow (servers written as
// an inline table) is an error, not a broken file.
var TOML Format = tomlFormat{}

type tomlFormat struct{}

func (tomlFormat) Name() string { return "TOML" }

func (tomlFormat) Parse(data []byte) (Document, error) {
	d := &tomlDocument{data: data, newline: "\n"}
	if bytes.Contains(data, []byte("\r\n")) {
		d.newline = "\r\n"
	}
	return d, d.decode()
}

type tomlDocument struct {
	data    []byte
	root    map[string]any
	newline string
}

func (d *tomlDocument) Bytes() []byte { return d.data }

// decode reads d.data into d.root.
func (d *tomlDocument) decode() error {
	root, err := decodeTOML(d.data)
	if err != nil {
		return err
	}
	d.root = root
	return nil
}

func (d *tomlDocument) servers(key string) (map[string]any, error) {
	v, ok := d.root[key]
	if !ok {
		return nil, nil
	}
	table, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%q is not a TOML table", key)
	}
	return table, nil
}

func (d *tomlDocument) Server(servers, name string) (Entry, bool, error) {
	table, err := d.servers(servers)
	if err != nil || table == nil {
		return Entry{}, false, err
	}
	v, ok := table[name]
	if !ok {
		return Entry{}, false, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Entry{}, true, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e := Entry{Table: true}
	for _, k := range keys {
		e.Fields = append(e.Fields, Field{Key: k, Value: m[k]})
	}
	return e, true, nil
}

func (d *tomlDocument) PutServer(servers, name string, fields []Field) error {
	if _, err := d.servers(servers); err != nil {
		return err
	}
	path := []string{servers, name}
	if _, ok := d.root[servers]; ok && !slices.ContainsFunc(tomlHeaders(d.data), func(h tomlHeader) bool { return h.path[0] == servers }) {
		// An inline table or dotted keys: TOML forbids adding a table to
		// it by a header (a lenient decoder may not say so).
		return fmt.Errorf("cannot add [%s] to this file's layout (%q is not written with [%s...] headers): add it by hand", dottedKey(path), servers, tomlKey(servers))
	}
	table := d.render(path, fields)
	var out []byte
	if start, end, ok := tableRange(d.data, path); ok {
		out = slices.Concat(d.data[:start], table, d.data[end:])
	} else {
		if _, found, _ := d.Server(servers, name); found {
			return fmt.Errorf("%s.%s is not written as a [%s] table: change it by hand", servers, name, dottedKey(path))
		}
		out = slices.Clone(d.data)
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, d.newline...)
		}
		if len(bytes.TrimSpace(out)) > 0 {
			out = append(out, d.newline...)
		}
		out = append(out, table...)
	}
	old := d.data
	d.data = out
	err := d.decode()
	if e, _, _ := d.Server(servers, name); err == nil && len(e.Fields) != len(fields) {
		// A subtable written away from the table, under another's header.
		err = fmt.Errorf("more of it is elsewhere in the file")
	}
	if err != nil {
		d.data = old
		_ = d.decode()
		return fmt.Errorf("cannot add [%s] to this file's layout (%v): add it by hand", dottedKey(path), err)
	}
	return nil
}

func (d *tomlDocument) RemoveServer(servers, name string) error {
	if _, found, err := d.Server(servers, name); err != nil || !found {
		return err
	}
	path := []string{servers, name}
	start, end, ok := tableRange(d.data, path)
	if !ok {
		return fmt.Errorf("%s.%s is not written as a [%s] table: remove it by hand", servers, name, dottedKey(path))
	}
	out := slices.Concat(withoutBlankLine(d.data[:start]), d.data[end:])
	old := d.data
	d.data = out
	err := d.decode()
	if _, found, _ := d.Server(servers, name); err == nil && found {
		err = fmt.Errorf("more of it is elsewhere in the file")
	}
	if err != nil {
		d.data = old
		_ = d.decode()
		return fmt.Errorf("cannot take [%s] out of this file's layout (%v): remove it by hand", dottedKey(path), err)
	}
	return nil
}

// render is the table path holding fields, as Codex's documentation shows
// it: one key a line, a list one element a line.
func (d *tomlDocument) render(path []string, fields []Field) []byte {
	var b strings.Builder
	b.WriteString("[" + dottedKey(path) + "]" + d.newline)
	for _, f := range fields {
		b.WriteString(tomlKey(f.Key) + " = " + tomlValue(f.Value, d.newline) + d.newline)
	}
	return []byte(b.String())
}

func dottedKey(path []string) string {
	keys := make([]string, len(path))
	for i, k := range path {
		keys[i] = tomlKey(k)
	}
	return strings.Join(keys, ".")
}

// tomlKey is k bare when TOML allows it, else quoted.
func tomlKey(k string) string {
	if k != "" && strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == "" {
		return k
	}
	return tomlString(k)
}

// tomlString is s as a TOML basic string: control characters as \u
// escapes.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func tomlValue(v any, newline string) string {
	switch v := v.(type) {
	case string:
		return tomlString(v)
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case []string:
		if len(v) == 0 {
			return "[]"
		}
		var b strings.Builder
		b.WriteString("[" + newline)
		for _, s := range v {
			b.WriteString("  " + tomlString(s) + "," + newline)
		}
		b.WriteString("]")
		return b.String()
	case map[string]string:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = tomlKey(k) + " = " + tomlString(v[k])
		}
		if len(parts) == 0 {
			return "{}"
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	panic(fmt.Sprintf("clients: no TOML for %T", v)) // only the value types of Field
}

// A tomlHeader is a table header line: [a.b] or [[a.b]].
type tomlHeader struct {
	start, end int // the line, its newline included
	path       []string
}

// tableRange is the bytes of the table path and its subtables: from its
// header line to the next header of another table, less the blank and
// comment lines before that header (they belong to it). ok is false when
// the file has no [path] header.
func tableRange(data []byte, path []string) (start, end int, ok bool) {
	headers := tomlHeaders(data)
	i := slices.IndexFunc(headers, func(h tomlHeader) bool { return slices.Equal(h.path, path) })
	if i < 0 {
		return 0, 0, false
	}
	start, end = headers[i].start, len(data)
	for _, h := range headers[i+1:] {
		if len(h.path) < len(path) || !slices.Equal(h.path[:len(path)], path) {
			end = h.start
			break
		}
	}
	// Give back the trailing blank and comment lines.
	for end > headers[i].end {
		lineStart := bytes.LastIndexByte(data[:end-1], '\n') + 1
		if lineStart < headers[i].end {
			break
		}
		line := bytes.TrimSpace(data[lineStart:end])
		if len(line) > 0 && line[0] != '#' {
			break
		}
		end = lineStart
	}
	return start, end, true
}

// tomlHeaders finds the table headers of a TOML document: a '[' that starts
// a line outside any string or value. It expects a document that decodes.
func tomlHeaders(data []byte) []tomlHeader {
	var headers []tomlHeader
	depth, lineStart, atStart := 0, 0, true
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\n':
			lineStart, atStart = i+1, true
			continue
		case c == ' ' || c == '\t' || c == '\r':
			continue
		case c == '#':
			i = lineEnd(data, i) - 1
			continue
		case c == '[' && atStart && depth == 0:
			path, next := headerPath(data, i)
			end := lineEnd(data, next)
			if end < len(data) {
				end++
			}
			if len(path) > 0 {
				headers = append(headers, tomlHeader{start: lineStart, end: end, path: path})
			}
			i = end - 1
			if end > 0 && data[end-1] == '\n' {
				lineStart, atStart = end, true
			}
			continue
		case c == '"' || c == '\'':
			i = stringEnd(data, i) - 1
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		}
		atStart = false
	}
	return headers
}

// lineEnd is the position of the newline ending the line holding i, or the
// end of data.
func lineEnd(data []byte, i int) int {
	if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(data)
}

// stringEnd is the position just after the string that starts at i, with
// its quotes: basic, literal, and their multi-line forms.
func stringEnd(data []byte, i int) int {
	q := data[i]
	if bytes.HasPrefix(data[i:], []byte{q, q, q}) {
		j := i + 3
		for j < len(data) {
			if q == '"' && data[j] == '\\' {
				j += 2
				continue
			}
			if bytes.HasPrefix(data[j:], []byte{q, q, q}) {
				j += 3
				for j < len(data) && data[j] == q { // up to two quotes end the content
					j++
				}
				return j
			}
			j++
		}
		return len(data)
	}
	for j := i + 1; j < len(data); j++ {
		switch {
		case q == '"' && data[j] == '\\':
			j++
		case data[j] == q:
			return j + 1
		case data[j] == '\n':
			return j
		}
	}
	return len(data)
}

// headerPath reads the keys of the header at i ('[' or "[["), and returns
// the position after its closing bracket.
func headerPath(data []byte, i int) ([]string, int) {
	i++
	if i < len(data) && data[i] == '[' {
		i++
	}
	var path []string
	for i < len(data) {
		for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
			i++
		}
		if i >= len(data) {
			break
		}
		switch c := data[i]; {
		case c == '"':
			end := stringEnd(data, i)
			path, i = append(path, basicString(data[i:end])), end
		case c == '\'':
			end := stringEnd(data, i)
			path, i = append(path, string(data[i+1:max(end-1, i+1)])), end
		case c == '.':
			i++
		case c == ']':
			for i < len(data) && data[i] == ']' {
				i++
			}
			return path, i
		default:
			j := i
			for j < len(data) && !strings.ContainsRune(" \t.]\r\n", rune(data[j])) {
				_, n := utf8.DecodeRune(data[j:])
				j += n
			}
			if j == i {
				return path, i
			}
			path, i = append(path, string(data[i:j])), j
		}
	}
	return path, i
}

// basicString is the TOML basic string s (quotes included) as the decoder
// reads it: TOML's escapes are not Go's (\e, \xHH as a code point, no octal).
func basicString(s []byte) string {
	var v map[string]any
	if err := toml.Unmarshal(append([]byte("k = "), s...), &v); err == nil {
		if k, ok := v["k"].(string); ok {
			return k
		}
	}
	return string(s)
}

// withoutBlankLine returns before, the file up to our table, without the
// blank line PutServer puts before the table: one line end (the file's,
// "\n" or "\r\n") that follows another, after something other than blank
// lines. The line end before it may be of the other kind: PutServer ends a
// last line that lacked one with the file's.
func withoutBlankLine(before []byte) []byte {
	b := bytes.TrimSuffix(before, []byte("\n"))
	if len(b) == len(before) {
		return before // no line end of its own
	}
	b = bytes.TrimSuffix(b, []byte("\r"))
	if !bytes.HasSuffix(b, []byte("\n")) || len(bytes.TrimSpace(b)) == 0 {
		return before // not a blank line, or nothing but blank lines before it
	}
	return b
}
