package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestReadKeys: the line editing of the hidden prompt (readKeys), byte by
// byte as a raw terminal sends them. The terminal itself is tested through
// a pseudo-terminal (interrupt_test.go).
func TestReadKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys string
		want string
		err  error
		rest string // left unread
	}{
		{"enter", "tok-1\rnext", "tok-1", nil, "next"},
		{"newline", "tok-2\n", "tok-2", nil, ""},
		{"backspace", "tok-3x\x7f", "tok-3", nil, ""},
		{"ctrl-h", "tok-4x\x08\r", "tok-4", nil, ""},
		{"backspace erases a whole character", "tok-é\x7f5\r", "tok-5", nil, ""},
		{"backspace on an empty line", "\x7f\x7ftok-6\r", "tok-6", nil, ""},
		{"ctrl-u erases the line", "wrong\x15tok-7\r", "tok-7", nil, ""},
		{"ctrl-d ends a line", "tok-8\x04rest", "tok-8", nil, "rest"},
		{"ctrl-d on an empty line", "\x04", "", errEmptySecret, ""},
		{"end of input on an empty line", "", "", errEmptySecret, ""},
		{"end of input ends a line", "tok-9", "tok-9", nil, ""},
		{"ctrl-c", "tok\x03\r", "", context.Canceled, "\r"},
		{"ctrl-backslash", "\x1c", "", context.Canceled, ""},
		{"other control bytes are kept", "a\x1bb\r", "a\x1bb", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReader(tc.keys)
			got, err := readKeys(r)
			if string(got) != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("readKeys(%q) = %q, %v; want %q, %v", tc.keys, got, err, tc.want, tc.err)
			}
			if tc.err == context.Canceled {
				if x, ok := errors.AsType[*interrupted](err); !ok || x.exitCode() != 130 {
					t.Errorf("readKeys(%q): %v, want an interruption with exit 130", tc.keys, err)
				}
			}
			if rest := tc.keys[len(tc.keys)-r.Len():]; rest != tc.rest {
				t.Errorf("readKeys(%q) left %q unread, want %q", tc.keys, rest, tc.rest)
			}
		})
	}
}
