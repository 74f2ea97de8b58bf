package clients

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeTOML reads a TOML document (TOML 1.1, which takes every TOML 1.0
// file) into tables of map[string]any holding string, int64, float64, bool,
// tomlDatetime, []any and map[string]any, and checks it as the
// specification asks: a file that is not TOML, or that defines a key or a
// table twice, is a *SyntaxError at its line and column.
//
// It is agw-proxy's own reader rather than a library's because reading
// Codex's file is all it has to do, while a library's package init (a TOML
// library's time zones) would run at every start of serve. The tests hold
// it to github.com/BurntSushi/toml over the toml-test suite and by fuzzing.
func decodeTOML(data []byte) (map[string]any, error) {
	p := &tomlParser{data: data}
	root, err := p.document()
	if err != nil {
		te := err.(*tomlError)
		pos := min(te.pos, len(data))
		line, col := lineCol(data, pos)
		return nil, &SyntaxError{Format: "TOML", Line: line, Col: col, Msg: te.msg}
	}
	return root.value(), nil
}

// A tomlDatetime is a TOML date, time or date-time, as written.
type tomlDatetime string

type tomlError struct {
	pos int
	msg string
}

func (e *tomlError) Error() string { return e.msg }

// tomlKind says how a table came to be, which decides what may add to it.
type tomlKind uint8

const (
	tomlImplicit tomlKind = iota // made by a header's path: [a.b] makes a
	tomlDefined                  // defined by its own [header] (or the root)
	tomlDotted                   // made by dotted keys: a.b = 1 makes a
	tomlInline                   // an inline table: closed
)

type tomlTable struct {
	kind tomlKind
	keys map[string]any // a *tomlTable, a *tomlTableArray or a value
}

// tomlTableArray is an array of tables: [[a]].
type tomlTableArray struct{ tables []*tomlTable }

func newTOMLTable(kind tomlKind) *tomlTable {
	return &tomlTable{kind: kind, keys: map[string]any{}}
}

// value is t as maps, arrays of tables as []any.
func (t *tomlTable) value() map[string]any {
	m := make(map[string]any, len(t.keys))
	for k, v := range t.keys {
		m[k] = tomlPlain(v)
	}
	return m
}

func tomlPlain(v any) any {
	switch v := v.(type) {
	case *tomlTable:
		return v.value()
	case *tomlTableArray:
		out := make([]any, len(v.tables))
		for i, t := range v.tables {
			out[i] = t.value()
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = tomlPlain(e)
		}
		return out
	}
	return v
}

// close makes t and the tables in it inline: an inline table is complete.
func (t *tomlTable) close() {
	t.kind = tomlInline
	for _, v := range t.keys {
		if sub, ok := v.(*tomlTable); ok {
			sub.close()
		}
	}
}

type tomlParser struct {
	data []byte
	pos  int
}

func (p *tomlParser) errorf(pos int, format string, args ...any) error {
	return &tomlError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

func (p *tomlParser) eof() bool { return p.pos >= len(p.data) }

func (p *tomlParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.data[p.pos]
}

func (p *tomlParser) document() (*tomlTable, error) {
	root := newTOMLTable(tomlDefined)
	cur := root
	for {
		if err := p.blankLines(); err != nil {
			return nil, err
		}
		if p.eof() {
			return root, nil
		}
		var err error
		if p.peek() == '[' {
			cur, err = p.header(root)
		} else {
			err = p.keyValue(cur)
		}
		if err == nil {
			err = p.lineEnd()
		}
		if err != nil {
			return nil, err
		}
	}
}

// whitespace skips spaces and tabs.
func (p *tomlParser) whitespace() {
	for !p.eof() && (p.data[p.pos] == ' ' || p.data[p.pos] == '\t') {
		p.pos++
	}
}

// newline reads a newline (LF or CRLF) if there is one.
func (p *tomlParser) newline() (bool, error) {
	switch p.peek() {
	case '\n':
		p.pos++
		return true, nil
	case '\r':
		if p.pos+1 < len(p.data) && p.data[p.pos+1] == '\n' {
			p.pos += 2
			return true, nil
		}
		return false, p.errorf(p.pos, "carriage return not followed by a newline")
	}
	return false, nil
}

// comment reads a comment if there is one, up to its newline.
func (p *tomlParser) comment() error {
	if p.peek() != '#' {
		return nil
	}
	for p.pos++; !p.eof(); {
		c := p.data[p.pos]
		if c == '\n' || c == '\r' && p.pos+1 < len(p.data) && p.data[p.pos+1] == '\n' {
			return nil
		}
		if err := p.textChar("comment"); err != nil {
			return err
		}
	}
	return nil
}

// textChar reads one character of a comment or string: any but a control
// character other than tab, in valid UTF-8.
func (p *tomlParser) textChar(in string) error {
	c := p.data[p.pos]
	if c < 0x80 {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return p.errorf(p.pos, "control character %U in a %s", rune(c), in)
		}
		p.pos++
		return nil
	}
	r, n := utf8.DecodeRune(p.data[p.pos:])
	if r == utf8.RuneError && n <= 1 {
		return p.errorf(p.pos, "invalid UTF-8 in a %s", in)
	}
	p.pos += n
	return nil
}

// blankLines skips whitespace, comments and newlines.
func (p *tomlParser) blankLines() error {
	for {
		p.whitespace()
		if err := p.comment(); err != nil {
			return err
		}
		nl, err := p.newline()
		if err != nil || !nl {
			return err
		}
	}
}

// lineEnd reads the rest of a line after a key/value or a header:
// whitespace, a comment, then a newline or the end.
func (p *tomlParser) lineEnd() error {
	p.whitespace()
	if err := p.comment(); err != nil {
		return err
	}
	if p.eof() {
		return nil
	}
	nl, err := p.newline()
	if err == nil && !nl {
		err = p.errorf(p.pos, "expected a newline or the end of the file after the value, found %s", p.found())
	}
	return err
}

// found names the character at the position, for an error.
func (p *tomlParser) found() string {
	if p.eof() {
		return "the end of the file"
	}
	r, _ := utf8.DecodeRune(p.data[p.pos:])
	if r == '\n' || r == '\r' {
		return "the end of the line"
	}
	return strconv.QuoteRune(r)
}

// header reads [a.b] or [[a.b]] and returns the table it opens.
func (p *tomlParser) header(root *tomlTable) (*tomlTable, error) {
	start := p.pos
	array := bytes.HasPrefix(p.data[p.pos:], []byte("[["))
	p.pos++
	if array {
		p.pos++
	}
	keys, err := p.key()
	if err != nil {
		return nil, err
	}
	p.whitespace()
	closing := "]"
	if array {
		closing = "]]"
	}
	if !bytes.HasPrefix(p.data[p.pos:], []byte(closing)) {
		return nil, p.errorf(p.pos, "expected %q to end the table header, found %s", closing, p.found())
	}
	p.pos += len(closing)
	return p.openTable(root, keys, array, start)
}

func (p *tomlParser) openTable(root *tomlTable, keys []string, array bool, pos int) (*tomlTable, error) {
	t := root
	for i, k := range keys[:len(keys)-1] {
		switch x := t.keys[k].(type) {
		case nil:
			n := newTOMLTable(tomlImplicit)
			t.keys[k], t = n, n
		case *tomlTable:
			if x.kind == tomlInline {
				return nil, p.errorf(pos, "%s is an inline table, which cannot be added to", dottedKey(keys[:i+1]))
			}
			t = x
		case *tomlTableArray:
			t = x.tables[len(x.tables)-1]
		default:
			return nil, p.errorf(pos, "%s is a value, not a table", dottedKey(keys[:i+1]))
		}
	}
	k, name := keys[len(keys)-1], dottedKey(keys)
	if array {
		n := newTOMLTable(tomlDefined)
		switch x := t.keys[k].(type) {
		case nil:
			t.keys[k] = &tomlTableArray{tables: []*tomlTable{n}}
		case *tomlTableArray:
			x.tables = append(x.tables, n)
		default:
			return nil, p.errorf(pos, "[[%s]]: %s is already defined as something other than an array of tables", name, name)
		}
		return n, nil
	}
	switch x := t.keys[k].(type) {
	case nil:
		n := newTOMLTable(tomlDefined)
		t.keys[k] = n
		return n, nil
	case *tomlTable:
		if x.kind == tomlImplicit {
			x.kind = tomlDefined
			return x, nil
		}
	}
	return nil, p.errorf(pos, "[%s]: %s is already defined", name, name)
}

// keyValue reads key = value into t.
func (p *tomlParser) keyValue(t *tomlTable) error {
	start := p.pos
	keys, err := p.key()
	if err != nil {
		return err
	}
	p.whitespace()
	if p.peek() != '=' {
		return p.errorf(p.pos, "expected \"=\" after the key, found %s", p.found())
	}
	p.pos++
	p.whitespace()
	v, err := p.value()
	if err != nil {
		return err
	}
	return p.set(t, keys, v, start)
}

// set puts v at the dotted key keys of t, creating the tables it names.
func (p *tomlParser) set(t *tomlTable, keys []string, v any, pos int) error {
	for i, k := range keys[:len(keys)-1] {
		switch x := t.keys[k].(type) {
		case nil:
			n := newTOMLTable(tomlDotted)
			t.keys[k], t = n, n
		case *tomlTable:
			if x.kind != tomlDotted {
				return p.errorf(pos, "%s is a table defined elsewhere: dotted keys cannot add to it", dottedKey(keys[:i+1]))
			}
			t = x
		default:
			return p.errorf(pos, "%s is already defined as a value", dottedKey(keys[:i+1]))
		}
	}
	k := keys[len(keys)-1]
	if _, ok := t.keys[k]; ok {
		return p.errorf(pos, "%s is already defined", dottedKey(keys))
	}
	t.keys[k] = v
	return nil
}

// key reads a key, dotted or not, with the whitespace around its parts.
func (p *tomlParser) key() ([]string, error) {
	var keys []string
	for {
		p.whitespace()
		k, err := p.simpleKey()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		p.whitespace()
		if p.peek() != '.' {
			return keys, nil
		}
		p.pos++
	}
}

func (p *tomlParser) simpleKey() (string, error) {
	switch p.peek() {
	case '"':
		if bytes.HasPrefix(p.data[p.pos:], []byte(`"""`)) {
			return "", p.errorf(p.pos, "a key cannot be a multi-line string")
		}
		return p.basicString()
	case '\'':
		if bytes.HasPrefix(p.data[p.pos:], []byte(`'''`)) {
			return "", p.errorf(p.pos, "a key cannot be a multi-line string")
		}
		return p.literalString()
	}
	start := p.pos
	for !p.eof() && isBareKeyChar(p.data[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return "", p.errorf(p.pos, "expected a key, found %s", p.found())
	}
	return string(p.data[start:p.pos]), nil
}

func isBareKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

func (p *tomlParser) value() (any, error) {
	switch c := p.peek(); {
	case p.eof() || c == '\n' || c == '\r' || c == '#':
		return nil, p.errorf(p.pos, "expected value")
	case c == '"':
		if bytes.HasPrefix(p.data[p.pos:], []byte(`"""`)) {
			return p.multilineString('"')
		}
		return p.basicString()
	case c == '\'':
		if bytes.HasPrefix(p.data[p.pos:], []byte(`'''`)) {
			return p.multilineString('\'')
		}
		return p.literalString()
	case c == '[':
		return p.array()
	case c == '{':
		return p.inlineTable()
	}
	return p.scalar()
}

// basicString reads "...", with escapes.
func (p *tomlParser) basicString() (string, error) {
	start := p.pos
	var b strings.Builder
	for p.pos++; ; {
		if p.eof() || p.data[p.pos] == '\n' || p.data[p.pos] == '\r' {
			return "", p.errorf(start, "unterminated string")
		}
		switch p.data[p.pos] {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		default:
			from := p.pos
			if err := p.textChar("string"); err != nil {
				return "", err
			}
			b.Write(p.data[from:p.pos])
		}
	}
}

// escape reads the escape at the position (its backslash) into b.
func (p *tomlParser) escape(b *strings.Builder) error {
	start := p.pos
	p.pos++
	if p.eof() {
		return p.errorf(start, "unterminated string")
	}
	c := p.data[p.pos]
	p.pos++
	if s, ok := map[byte]string{'b': "\b", 't': "\t", 'n': "\n", 'f': "\f", 'r': "\r", 'e': "\x1b", '"': `"`, '\\': `\`}[c]; ok {
		b.WriteString(s)
		return nil
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
	if digits == 0 || p.pos+digits > len(p.data) {
		return p.errorf(start, "invalid escape in a string")
	}
	hex := string(p.data[p.pos : p.pos+digits])
	n, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || strings.ContainsAny(hex, "+-_") || !utf8.ValidRune(rune(n)) {
		return p.errorf(start, "invalid escape in a string")
	}
	p.pos += digits
	b.WriteRune(rune(n))
	return nil
}

// literalString reads '...', without escapes.
func (p *tomlParser) literalString() (string, error) {
	start := p.pos
	for p.pos++; ; {
		if p.eof() || p.data[p.pos] == '\n' || p.data[p.pos] == '\r' {
			return "", p.errorf(start, "unterminated string")
		}
		if p.data[p.pos] == '\'' {
			p.pos++
			return string(p.data[start+1 : p.pos-1]), nil
		}
		if err := p.textChar("string"); err != nil {
			return "", err
		}
	}
}

// multilineString reads """...""" (q '"', with escapes and line-ending
// backslashes) or ”'...”' (q '\”).
func (p *tomlParser) multilineString(q byte) (string, error) {
	start := p.pos
	p.pos += 3
	if _, err := p.newline(); err != nil { // a newline right after the quotes is not content
		return "", err
	}
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errorf(start, "unterminated multi-line string")
		}
		switch c := p.data[p.pos]; {
		case c == q && bytes.HasPrefix(p.data[p.pos:], []byte{q, q, q}):
			n := 3
			for p.pos+n < len(p.data) && p.data[p.pos+n] == q {
				n++
			}
			if n > 5 {
				return "", p.errorf(p.pos, "too many quotes at the end of a multi-line string")
			}
			b.WriteString(strings.Repeat(string(q), n-3))
			p.pos += n
			return b.String(), nil
		case c == '\n' || c == '\r':
			from := p.pos
			if _, err := p.newline(); err != nil {
				return "", err
			}
			b.Write(p.data[from:p.pos])
		case c == '\\' && q == '"':
			if p.lineEndingBackslash() {
				continue
			}
			if err := p.escape(&b); err != nil {
				return "", err
			}
		default:
			from := p.pos
			if err := p.textChar("string"); err != nil {
				return "", err
			}
			b.Write(p.data[from:p.pos])
		}
	}
}

// lineEndingBackslash skips a backslash that ends a line (whitespace may
// follow it) and the whitespace and newlines after it.
func (p *tomlParser) lineEndingBackslash() bool {
	i := p.pos + 1
	for i < len(p.data) && (p.data[i] == ' ' || p.data[i] == '\t') {
		i++
	}
	if i < len(p.data) && p.data[i] == '\r' && i+1 < len(p.data) && p.data[i+1] == '\n' {
		i++
	}
	if i >= len(p.data) || p.data[i] != '\n' {
		return false
	}
	for i < len(p.data) && strings.IndexByte(" \t\n", p.data[i]) >= 0 ||
		i+1 < len(p.data) && p.data[i] == '\r' && p.data[i+1] == '\n' {
		i++
	}
	p.pos = i
	return true
}

// array reads [v, ...]: newlines and comments may come between values,
// and a comma after the last.
func (p *tomlParser) array() ([]any, error) {
	p.pos++
	list := []any{}
	for {
		if err := p.blankLines(); err != nil {
			return nil, err
		}
		if p.peek() == ']' {
			p.pos++
			return list, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		if err := p.blankLines(); err != nil {
			return nil, err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return list, nil
		default:
			return nil, p.errorf(p.pos, "expected \",\" or \"]\" in an array, found %s", p.found())
		}
	}
}

// inlineTable reads {k = v, ...}; as TOML 1.1 allows, newlines and
// comments may come between them, and a comma after the last.
func (p *tomlParser) inlineTable() (*tomlTable, error) {
	p.pos++
	t := newTOMLTable(tomlDefined)
	for {
		if err := p.blankLines(); err != nil {
			return nil, err
		}
		if p.peek() == '}' {
			p.pos++
			t.close()
			return t, nil
		}
		start := p.pos
		keys, err := p.key()
		if err != nil {
			return nil, err
		}
		p.whitespace()
		if p.peek() != '=' {
			return nil, p.errorf(p.pos, "expected \"=\" after the key, found %s", p.found())
		}
		p.pos++
		p.whitespace()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if err := p.set(t, keys, v, start); err != nil {
			return nil, err
		}
		if err := p.blankLines(); err != nil {
			return nil, err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			t.close()
			return t, nil
		default:
			return nil, p.errorf(p.pos, "expected \",\" or \"}\" in an inline table, found %s", p.found())
		}
	}
}

// scalar reads a boolean, number or date-time.
func (p *tomlParser) scalar() (any, error) {
	start := p.pos
	for !p.eof() && isScalarChar(p.data[p.pos]) {
		p.pos++
	}
	// A date-time may separate its date and time with a space.
	if p.pos-start == 10 && isDate(p.data[start:p.pos]) && p.pos+3 < len(p.data) && p.data[p.pos] == ' ' &&
		isDigit(p.data[p.pos+1]) && isDigit(p.data[p.pos+2]) && p.data[p.pos+3] == ':' {
		for p.pos++; !p.eof() && isScalarChar(p.data[p.pos]); {
			p.pos++
		}
	}
	tok := string(p.data[start:p.pos])
	switch tok {
	case "":
		return nil, p.errorf(start, "expected value, found %s", p.found())
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	case "nan", "+nan", "-nan":
		return math.NaN(), nil
	}
	if len(tok) >= 5 && (tok[2] == ':' || tok[4] == '-') {
		if !validDatetime(tok) {
			return nil, p.errorf(start, "invalid date-time %q", tok)
		}
		return tomlDatetime(tok), nil
	}
	if v, ok := tomlInteger(tok); ok {
		return v, nil
	}
	if v, ok := tomlFloat(tok); ok {
		return v, nil
	}
	return nil, p.errorf(start, "invalid value %q", tok)
}

func isScalarChar(c byte) bool {
	return isBareKeyChar(c) || c == '+' || c == '.' || c == ':'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digits reports whether s is digits with single underscores between
// them, when underscores.
func digits(s string, isDigit func(byte) bool) bool {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '_' && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func tomlInteger(tok string) (int64, bool) {
	if len(tok) > 2 && tok[0] == '0' {
		base, isDigitOf := 0, func(c byte) bool { return false }
		switch tok[1] {
		case 'x':
			base, isDigitOf = 16, func(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
		case 'o':
			base, isDigitOf = 8, func(c byte) bool { return '0' <= c && c <= '7' }
		case 'b':
			base, isDigitOf = 2, func(c byte) bool { return c == '0' || c == '1' }
		}
		if base != 0 {
			if !digits(tok[2:], isDigitOf) {
				return 0, false
			}
			u, err := strconv.ParseUint(strings.ReplaceAll(tok[2:], "_", ""), base, 64)
			return int64(u), err == nil && u <= math.MaxInt64
		}
	}
	body := strings.TrimLeft(tok, "+-")
	if len(tok)-len(body) > 1 || !digits(body, isDigit) || len(body) > 1 && body[0] == '0' {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(tok, "_", ""), 10, 64)
	return v, err == nil
}

func tomlFloat(tok string) (float64, bool) {
	body := strings.TrimLeft(tok, "+-")
	if len(tok)-len(body) > 1 {
		return 0, false
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(body), "e")
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if !hasFrac && !hasExp || !digits(intPart, isDigit) || len(intPart) > 1 && intPart[0] == '0' ||
		hasFrac && !digits(frac, isDigit) {
		return 0, false
	}
	if hasExp && !digits(strings.TrimLeft(exp, "+-"), isDigit) || len(exp)-len(strings.TrimLeft(exp, "+-")) > 1 {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(tok, "_", ""), 64)
	return v, err == nil
}

// isDate reports whether s has the shape YYYY-MM-DD.
func isDate(s []byte) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' &&
		allDigits(string(s[:4])) && allDigits(string(s[5:7])) && allDigits(string(s[8:]))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// validDatetime reports whether s is a TOML date, time (seconds optional,
// as TOML 1.1 allows) or date-time with or without an offset.
func validDatetime(s string) bool {
	if len(s) >= 10 && isDate([]byte(s[:10])) {
		y, _ := strconv.Atoi(s[:4])
		m, _ := strconv.Atoi(s[5:7])
		d, _ := strconv.Atoi(s[8:10])
		if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
			return false
		}
		s = s[10:]
		if s == "" {
			return true
		}
		if s[0] != 'T' && s[0] != 't' && s[0] != ' ' {
			return false
		}
		s = s[1:]
		rest, ok := clock(s)
		if !ok {
			return false
		}
		return rest == "" || tzOffset(rest)
	}
	rest, ok := clock(s)
	return ok && rest == ""
}

// clock reads HH:MM[:SS[.fraction]] off s.
func clock(s string) (rest string, ok bool) {
	if len(s) < 5 || s[2] != ':' || !allDigits(s[:2]) || !allDigits(s[3:5]) {
		return "", false
	}
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:5])
	if h > 23 || m > 59 {
		return "", false
	}
	s = s[5:]
	if len(s) == 0 || s[0] != ':' {
		return s, true
	}
	if len(s) < 3 || !allDigits(s[1:3]) {
		return "", false
	}
	if sec, _ := strconv.Atoi(s[1:3]); sec > 60 {
		return "", false
	}
	s = s[3:]
	if len(s) > 0 && s[0] == '.' {
		i := 1
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == 1 {
			return "", false
		}
		s = s[i:]
	}
	return s, true
}

// tzOffset reports whether s is Z or ±HH:MM.
func tzOffset(s string) bool {
	if s == "Z" || s == "z" {
		return true
	}
	if len(s) != 6 || s[0] != '+' && s[0] != '-' || s[3] != ':' || !allDigits(s[1:3]) || !allDigits(s[4:]) {
		return false
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[4:])
	return h <= 23 && m <= 59
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
