package proxy

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// endlessDataLines is an event stream whose one event never ends: data
// lines, never the blank line that would close the event. It does end,
// after twice the event limit, so that a reader without the limit fails
// the test instead of reading forever.
type endlessDataLines struct{ read int }

func (r *endlessDataLines) Read(p []byte) (int, error) {
	const line = "data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	if r.read > 2*maxResponseSize {
		return 0, io.EOF
	}
	n := 0
	for n+len(line) <= len(p) {
		n += copy(p[n:], line)
	}
	r.read += n
	return n, nil
}

func TestEventOfEndlessDataLinesIsRefused(t *testing.T) {
	p, err := New(Options{GatewayURL: "http://127.0.0.1:1/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	body := &endlessDataLines{}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	testwait.Within(t, 20*time.Second, "reading an endless event", func() { _, err = (&gatewayHTTP{events: p}).readEvents(ctx, body, wireHeaders{}, "agw-1") })
	if err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Fatalf("readEvents = %v, want an error naming the event limit", err)
	}
	// The event's data is most of each line read ("data: " is not).
	if body.read > maxResponseSize*5/4 {
		t.Errorf("read %d MiB of one event before refusing it", body.read>>20)
	}
}
