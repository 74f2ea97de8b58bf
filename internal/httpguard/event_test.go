package httpguard

import (
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
)

// chunky returns reads of 1, 2, 3, ... 7 bytes in turn, so that line ends
// fall on every side of a read.
type chunky struct {
	r io.Reader
	n int
}

func (c *chunky) Read(p []byte) (int, error) {
	c.n = c.n%7 + 1
	return c.r.Read(p[:min(len(p), c.n)])
}

// The event scanner with a small limit, over every way to end a line and
// every way to split the stream into reads.
func TestEventLimitCountsBytesBetweenBlankLines(t *testing.T) {
	const limit = 16
	for _, tt := range []struct {
		name   string
		stream string
		cut    bool
	}{
		{"events under the limit, LF", strings.Repeat("data: 012345\n\n", 50), false},
		{"events under the limit, CRLF", strings.Repeat("data: 0123\r\n\r\n", 50), false},
		{"events under the limit, CR", strings.Repeat("data: 012345\r\r", 50), false},
		{"LF then CRLF is a blank line", strings.Repeat("data: 01234\n\r\n", 50), false},
		{"CRLF then LF is a blank line", strings.Repeat("data: 0123\r\n\n", 50), false},
		{"events of exactly the limit", strings.Repeat("data: 01234567\n\n", 50), false},
		{"only blank lines", strings.Repeat("\n", 1000), false},
		{"many data lines, no blank line", strings.Repeat("data: 0\n", 50), true},
		{"CRLF line ends are not blank lines", strings.Repeat("data: 0\r\n", 50), true},
		{"comment lines add up", strings.Repeat(":\n", 50), true},
		{"one event one byte over", "data: 012345678\n\n", true},
		{"a long line", strings.Repeat("x", 100), true},
		{"a good event, then an endless one", "data: 1\n\n" + strings.Repeat("data: 2\n", 10), true},
	} {
		for _, split := range []string{"whole", "one byte", "chunky"} {
			t.Run(tt.name+"/"+split, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tt.stream)
				switch split {
				case "one byte":
					r = iotest.OneByteReader(r)
				case "chunky":
					r = &chunky{r: r}
				}
				b := &eventBody{rc: io.NopCloser(r), limit: limit, from: "http://127.0.0.1:1", prev: '\n'}
				got, err := io.ReadAll(b)
				var le *LimitError
				switch {
				case !tt.cut && err != nil:
					t.Fatalf("cut after %d bytes: %v", len(got), err)
				case !tt.cut && string(got) != tt.stream:
					t.Fatal("the stream was altered")
				case tt.cut && !errors.As(err, &le):
					t.Fatalf("read all %d bytes (error %v), want a *LimitError", len(got), err)
				case tt.cut && !strings.HasPrefix(tt.stream, string(got)):
					t.Fatal("the bytes before the error are not the stream's")
				case tt.cut && len(got) > limit+completeEvents(string(got)):
					t.Fatalf("%d bytes passed before the error: more than the limit past the last complete event", len(got))
				}
			})
		}
	}
}

// completeEvents returns the length of the complete events at the start of
// an LF stream.
func completeEvents(s string) int {
	if i := strings.LastIndex(s, "\n\n"); i >= 0 {
		return i + 2
	}
	return 0
}

func TestLimitErrorNamesTheLimit(t *testing.T) {
	for _, tt := range []struct {
		err  LimitError
		want string
	}{
		{LimitError{From: "https://gw.example:443", Limit: 32 << 20}, "httpguard: the response from https://gw.example:443 is larger than 32 MiB"},
		{LimitError{From: "https://gw.example:443", Event: true, Limit: 32 << 20}, "httpguard: an event of the event stream from https://gw.example:443 is larger than 32 MiB"},
		{LimitError{From: "http://127.0.0.1:1", Event: true, Limit: 16}, "httpguard: an event of the event stream from http://127.0.0.1:1 is larger than 16 bytes"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestOriginAlwaysHasAPort(t *testing.T) {
	for raw, want := range map[string]string{
		"https://Cognito.Example/oauth2/token?x=1": "https://cognito.example:443",
		"http://127.0.0.1:8080/mcp":                "http://127.0.0.1:8080",
		"http://[::1]/x":                           "http://[::1]:80",
		"HTTPS://gw.example:8443":                  "https://gw.example:8443",
	} {
		u, _ := url.Parse(raw)
		if got := origin(u); got != want {
			t.Errorf("origin(%s) = %s, want %s", raw, got, want)
		}
	}
}
