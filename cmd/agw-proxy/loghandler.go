package main

// The log holds text from outside: tool names and arguments' names from the
// Gateway, error texts from the Gateway, Cognito and targets, the client's
// names. slog's TextHandler quotes a value with a space, '=', '"' or a
// non-printing character (strconv.Quote escapes the controls), but writes
// any other value bare, and strconv.Quote leaves '$' and '`' alone. A log
// line read as shell (a --log-file pointed at an rc file) would then run
// tool=$(curl…|sh), x;reboot, or "…$(…)…". So:
//   - every value that is not plain (letters, digits and -_.:/@+,) is
//     quoted (quoteOutsideText), the message included;
//   - '$' and '`' are written as \x24 and \x60 (shellInertWriter), which
//     inside a quoted value is the same text to a Go or logfmt reader.
// Inside double quotes, with those two escaped, a shell runs nothing.

import (
	"bytes"
	"encoding"
	"fmt"
	"io"
	"log/slog"

	"github.com/agw-proxy/agw-proxy/proxy"
)

// newLogger returns the text logger of serve and demo, writing to w through
// scrub (first) and shellInertWriter.
func newLogger(w io.Writer, scrub *proxy.Scrubber, level slog.Level) *slog.Logger {
	h := slog.NewTextHandler(scrub.Writer(shellInertWriter{w}), &slog.HandlerOptions{Level: level, ReplaceAttr: quoteOutsideText})
	return slog.New(h)
}

// quoteOutsideText makes the TextHandler quote every string-like value (and
// the message) that is not plain: it passes it on as a []byte, which the
// TextHandler always writes with strconv.Quote.
func quoteOutsideText(_ []string, a slog.Attr) slog.Attr {
	var s string
	switch a.Value.Kind() {
	case slog.KindString:
		s = a.Value.String()
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case []byte:
			return a // quoted already
		case encoding.TextMarshaler:
			b, err := v.MarshalText()
			if err != nil {
				return a
			}
			s = string(b)
		default:
			s = fmt.Sprintf("%+v", v) // what the TextHandler writes for it
		}
	default:
		return a // numbers, booleans, times, durations
	}
	if plainLogValue(s) {
		return a
	}
	return slog.Any(a.Key, []byte(s))
}

// plainLogValue: non-empty, and only characters no shell acts on.
func plainLogValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '@', c == '+', c == ',':
		default:
			return false
		}
	}
	return true
}

// shellInertWriter writes '$' as \x24 and '`' as \x60. Each Write is a
// whole log record (the TextHandler writes one per record).
type shellInertWriter struct{ w io.Writer }

func (s shellInertWriter) Write(p []byte) (int, error) {
	if bytes.IndexAny(p, "$`") < 0 {
		return s.w.Write(p)
	}
	out := make([]byte, 0, len(p)+16)
	for _, c := range p {
		switch c {
		case '$':
			out = append(out, `\x24`...)
		case '`':
			out = append(out, `\x60`...)
		default:
			out = append(out, c)
		}
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
