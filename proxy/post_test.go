package proxy

import (
	"context"
	"strings"
	"testing"
)

// endlessDataLines is an event stream whose one event never ends: data
// lines forever, never the blank line that would close the event.
type endlessDataLines struct{ read int }

func (r *endlessDataLines) Read(p []byte) (int, error) {
	const line = "data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
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
	_, err = (&gatewayHTTP{events: p}).readEvents(context.Background(), body, "agw-1")
	if err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Fatalf("readEvents = %v, want an error naming the event limit", err)
	}
	// The event's data is most of each line read ("data: " is not).
	if body.read > maxResponseSize*5/4 {
		t.Errorf("read %d MiB of one event before refusing it", body.read>>20)
	}
}
