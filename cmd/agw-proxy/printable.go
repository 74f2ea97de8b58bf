package main

// Text from outside (the Gateway, a target, Cognito, a discovery document, a
// config file) reaches the user's terminal in doctor, status, login and the
// error lines. A terminal acts on control characters: ESC [2J clears it,
// OSC 52 writes the clipboard, OSC 8 hides a link behind other text, C1
// controls (U+0080..U+009F) do the same in one character, and a newline
// forges a line of our own ("agw-proxy: hint: run ..."). So every such
// value is shown escaped, Go style, and our own text is left alone.

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// printable returns s with every character a terminal could act on escaped:
// C0 controls (newline, tab and ESC included), DEL, C1 controls, format
// characters (bidi overrides, zero-width), line and paragraph separators,
// and bytes that are not UTF-8. A backslash stays as it is (Windows paths).
// unicode.IsGraphic keeps letters, marks, numbers, punctuation, symbols and
// spaces (Zs). s itself is returned when there is nothing to escape.
func printable(s string) string {
	i := firstUnprintable(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && !unicode.IsGraphic(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsGraphic(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// firstUnprintable returns the index of the first character printable must
// escape, or -1.
func firstUnprintable(s string) int {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !unicode.IsGraphic(r) {
			return i
		}
		i += size
	}
	return -1
}

// outsideText is a value from outside in a format's arguments: %s and %v
// print it through printable; %q quotes it (strconv.Quote escapes it
// already).
type outsideText string

func (t outsideText) Format(f fmt.State, verb rune) {
	s := string(t)
	if verb != 'q' {
		s = printable(s)
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), s)
}

// safeArgs returns a with every string and error made an outsideText, so
// that a format of our own can carry values from outside.
func safeArgs(a []any) []any {
	out := make([]any, len(a))
	for i, v := range a {
		switch v := v.(type) {
		case string:
			out[i] = outsideText(v)
		case error:
			out[i] = outsideText(v.Error())
		default:
			out[i] = v
		}
	}
	return out
}

// writef is fmt.Fprintf for text toward the user's terminal: string and
// error arguments are escaped with printable (the format, our own text,
// is not).
func writef(w io.Writer, format string, a ...any) {
	fmt.Fprintf(w, format, safeArgs(a)...)
}

// printableJSON returns compact JSON (no white space between tokens) with
// every character printable would escape written as a \u escape instead:
// the same JSON value, safe to print. Such characters can only be inside
// strings there; encoding/json leaves DEL, C1 controls and format
// characters raw.
func printableJSON(compact []byte) []byte {
	if firstUnprintable(string(compact)) < 0 {
		return compact
	}
	var b bytes.Buffer
	for i := 0; i < len(compact); {
		r, size := utf8.DecodeRune(compact[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r < 0x20 || !unicode.IsGraphic(r):
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		default:
			b.Write(compact[i : i+size])
		}
		i += size
	}
	return b.Bytes()
}
