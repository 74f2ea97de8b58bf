package proxy

import (
	"bytes"
	"html"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The scrubber looks for secrets in what a reader would decode the bytes
// to, not only in the bytes. decodeOnce is one step of that decoding: it
// undoes, wherever they appear, the escapes a JSON string, a URL and an
// HTML page use (`\u0041`, `\/`, `\"`, `%2F`, `&#x2F;`, `&sol;`), so that a
// JSON document inside a JSON string, a token in a query string or an
// escaped token in prose all come out as the text a client or a model sees.
// It is lenient: an escape that is not well formed stays as it is.

// An escape is one escape sequence in the input of decodeOnce and what it
// became in the output. Bytes between escapes are copied one to one.
type escape struct {
	in, inEnd   int // the sequence in the input
	out, outEnd int // what it decoded to in the output
}

// A decoding is the output of decodeOnce and the escapes that made it, in
// order, so that a span found in the output can be traced back to the
// input.
type decoding struct {
	out     []byte
	escapes []escape
}

// decodeOnce decodes b one step. It returns nil when b holds no escape.
// percent says whether %XX is an escape: a '%' may as well be a percent sign
// before two characters of a secret ("50%2/1205…"), so the scrubber reads
// text both ways.
func decodeOnce(b []byte, percent bool) *decoding {
	var d *decoding
	last := 0 // input copied up to here
	for i := 0; i < len(b); {
		n, r, raw := decodeAt(b, i)
		if n == 0 || (!percent && b[i] == '%') {
			i++
			continue
		}
		if d == nil {
			d = &decoding{out: make([]byte, 0, len(b))}
		}
		d.out = append(d.out, b[last:i]...)
		e := escape{in: i, inEnd: i + n, out: len(d.out)}
		if raw >= 0 {
			d.out = append(d.out, byte(raw))
		} else {
			d.out = utf8.AppendRune(d.out, r)
		}
		e.outEnd = len(d.out)
		d.escapes = append(d.escapes, e)
		i += n
		last = i
	}
	if d != nil {
		d.out = append(d.out, b[last:]...)
	}
	return d
}

// decodeAt decodes the escape sequence at b[i], if there is one: its length
// n (0 when there is none) and either a byte (raw >= 0) or a rune.
func decodeAt(b []byte, i int) (n int, r rune, raw int) {
	switch b[i] {
	case '\\':
		if i+1 >= len(b) {
			return 0, 0, 0
		}
		switch c := b[i+1]; c {
		case '"', '\\', '/':
			return 2, 0, int(c)
		case 'b':
			return 2, 0, '\b'
		case 'f':
			return 2, 0, '\f'
		case 'n':
			return 2, 0, '\n'
		case 'r':
			return 2, 0, '\r'
		case 't':
			return 2, 0, '\t'
		case 'u':
			u, ok := hex4(b, i+2)
			if !ok {
				return 0, 0, 0
			}
			if utf16.IsSurrogate(rune(u)) {
				if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if u2, ok := hex4(b, i+8); ok {
						if p := utf16.DecodeRune(rune(u), rune(u2)); p != utf8.RuneError {
							return 12, p, -1
						}
					}
				}
				return 6, utf8.RuneError, -1
			}
			if u < utf8.RuneSelf {
				return 6, 0, int(u)
			}
			return 6, rune(u), -1
		}
	case '%':
		if i+2 < len(b) {
			if h, ok := hexDigit(b[i+1]); ok {
				if l, ok := hexDigit(b[i+2]); ok {
					return 3, 0, int(h<<4 | l)
				}
			}
		}
	case '&':
		return decodeEntity(b, i)
	}
	return 0, 0, 0
}

// maxEntity bounds the length of an HTML character reference.
const maxEntity = 32

// decodeEntity decodes an HTML character reference at b[i] ('&'):
// numeric (`&#47;`, `&#x2F;`) or named (`&sol;`).
func decodeEntity(b []byte, i int) (n int, r rune, raw int) {
	end := -1
	for j := i + 1; j < len(b) && j-i <= maxEntity; j++ {
		if b[j] == ';' {
			end = j
			break
		}
		if !isAlnum(b[j]) && !(j == i+1 && b[j] == '#') {
			return 0, 0, 0
		}
	}
	if end < 0 || end == i+1 {
		return 0, 0, 0
	}
	ref := b[i+1 : end]
	if ref[0] == '#' {
		var v uint64
		var err error
		if len(ref) > 1 && (ref[1] == 'x' || ref[1] == 'X') {
			v, err = strconv.ParseUint(string(ref[2:]), 16, 32)
		} else {
			v, err = strconv.ParseUint(string(ref[1:]), 10, 32)
		}
		if err != nil || v > utf8.MaxRune {
			return 0, 0, 0
		}
		if v < utf8.RuneSelf {
			return end + 1 - i, 0, int(v)
		}
		return end + 1 - i, rune(v), -1
	}
	s := string(b[i : end+1])
	u := html.UnescapeString(s)
	if u == s {
		return 0, 0, 0
	}
	ur, size := utf8.DecodeRuneInString(u)
	if size != len(u) {
		return 0, 0, 0 // a reference to two runes: no token holds one
	}
	if ur < utf8.RuneSelf {
		return end + 1 - i, 0, int(ur)
	}
	return end + 1 - i, ur, -1
}

func hex4(b []byte, i int) (uint16, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var v uint16
	for _, c := range b[i : i+4] {
		d, ok := hexDigit(c)
		if !ok {
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// toInput returns the span of the input that the output span [a, b)
// (a < b) was decoded from. A span that starts or ends inside what an escape
// decoded to covers the whole escape.
func (d *decoding) toInput(a, b int) (int, int) {
	return d.inputPos(a, false), d.inputPos(b-1, true)
}

// inputPos maps output position p to the input: the start of what produced
// it, or (end) the end.
func (d *decoding) inputPos(p int, end bool) int {
	// The last escape that starts at or before p.
	k, _ := slices.BinarySearchFunc(d.escapes, p, func(e escape, p int) int {
		if e.out <= p {
			return -1
		}
		return 1
	})
	k--
	if k >= 0 {
		e := d.escapes[k]
		if p < e.outEnd {
			if end {
				return e.inEnd
			}
			return e.in
		}
		p += e.inEnd - e.outEnd
	}
	if end {
		return p + 1
	}
	return p
}

// widen grows the span [a, b) of v so that it does not cut an escape
// sequence of v in two, as decodeOnce would read them, nor one of what v
// decodes to: a span right after backslashes takes them in, since in a
// JSON document inside v ("\\n" in v is "\n" there) they may escape its
// first character, and would escape the mask's.
func widen(v []byte, a, b int) (int, int) {
	a, b = escapeStart(v, a), escapeEnd(v, b)
	for a > 0 && v[a-1] == '\\' {
		a--
	}
	return a, b
}

// escapeStart returns the start of the escape sequence that position p is
// inside of (not at its start), or p.
func escapeStart(v []byte, p int) int {
	for i := p - 1; i >= 0 && i >= p-maxEscape; i-- {
		if n, _, _ := decodeAt(v, i); n > 0 && i+n > p && startsEscape(v, i) {
			return i
		}
	}
	return p
}

// hasPercentEscape reports whether b holds a %XX escape.
func hasPercentEscape(b []byte) bool { return hasEscape(b, '%') }

// hasEscape reports whether b holds an escape sequence that starts with c
// ('%' or '&').
func hasEscape(b []byte, c byte) bool {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], c)
		if j < 0 {
			return false
		}
		if n, _, _ := decodeAt(b, i+j); n > 0 {
			return true
		}
		i += j + 1
	}
	return false
}

// escapeEnd returns the end of the escape sequence that ends after position
// p and starts before it, or p.
func escapeEnd(v []byte, p int) int {
	for i := p - 1; i >= 0 && i >= p-maxEscape; i-- {
		if n, _, _ := decodeAt(v, i); n > 0 && i+n > p && startsEscape(v, i) {
			return i + n
		}
	}
	return p
}

// maxEscape is the longest escape sequence decodeAt reads (an HTML
// reference; a surrogate pair is 12).
const maxEscape = maxEntity + 1

// startsEscape reports whether decodeOnce, reading v from the start, would
// read an escape at v[i] rather than take v[i] as part of the one before:
// only a backslash can be taken, by an odd run of backslashes before it
// (`\` is one escape). A '%' or '&' is never inside another escape.
func startsEscape(v []byte, i int) bool {
	if v[i] != '\\' {
		return true
	}
	n := 0
	for j := i - 1; j >= 0 && v[j] == '\\'; j-- {
		n++
	}
	return n%2 == 0
}
