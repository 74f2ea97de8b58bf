package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// upstream is a raw stateless MCP endpoint that records what it received
// and answers each request with the given content type and body.
type upstream struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func (u *upstream) start(t *testing.T, contentType, answer string, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.requests, u.bodies = append(u.requests, r), append(u.bodies, string(b))
		u.mu.Unlock()
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newRelay(url string, out io.Writer) *relay {
	return &relay{url: url, token: "Bearer tok-123", out: out, hc: http.DefaultClient}
}

const (
	initLine      = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n"
	initedLine    = `{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}` + "\n"
	listLine      = `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"abc"}}` + "\n"
	listAnswer    = `{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"x","inputSchema":{"type":"object"}}],"nextCursor":"def"}}`
	sseListAnswer = "event: message\nid: 1\ndata: " + listAnswer + "\n\n"
)

// The relay answers initialize itself with the client's revision, drops
// initialized, and relays tools/list as one POST with the token and the
// headers a stateless upstream needs, the body back as one line untouched.
func TestRelayInitializeAndList(t *testing.T) {
	for _, tc := range []struct{ name, contentType, answer string }{
		{"json", "application/json", listAnswer + "\n"},
		{"sse", "text/event-stream", sseListAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var up upstream
			srv := up.start(t, tc.contentType, tc.answer, http.StatusOK)
			var out bytes.Buffer
			newRelay(srv.URL, &out).serve(strings.NewReader(initLine + initedLine + listLine))

			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("wrote %d lines, want 2:\n%s", len(lines), out.String())
			}
			var init struct {
				ID     int `json:"id"`
				Result struct {
					ProtocolVersion string `json:"protocolVersion"`
				} `json:"result"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &init); err != nil || init.ID != 1 || init.Result.ProtocolVersion != "2025-06-18" {
				t.Errorf("initialize answer %s (%v)", lines[0], err)
			}
			if lines[1] != listAnswer {
				t.Errorf("tools/list answer\n%s\nwant\n%s", lines[1], listAnswer)
			}
			if len(up.requests) != 1 {
				t.Fatalf("upstream got %d requests, want 1 (initialize and initialized stay local)", len(up.requests))
			}
			r := up.requests[0]
			if up.bodies[0] != listLine {
				t.Errorf("upstream body %q, want the client's line %q", up.bodies[0], listLine)
			}
			for k, want := range map[string]string{
				"Authorization":        "Bearer tok-123",
				"Content-Type":         "application/json",
				"Accept":               "application/json, text/event-stream",
				"Mcp-Protocol-Version": "2025-06-18",
			} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("upstream %s: %q, want %q", k, got, want)
				}
			}
		})
	}
}

// An upstream failure becomes a JSON-RPC error for the request's id, so a
// client never waits for an answer that will not come.
func TestRelayUpstreamError(t *testing.T) {
	var up upstream
	srv := up.start(t, "application/json", `{"message":"Unauthorized"}`, http.StatusUnauthorized)
	var out bytes.Buffer
	newRelay(srv.URL, &out).serve(strings.NewReader(initLine + listLine))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"id":2,"error":{"code":-32603,"message":"upstream: HTTP 401"}`) {
		t.Errorf("wrote:\n%s", out.String())
	}
}

// With a tools file, tools/list is answered from it, the upstream never
// asked: the floor of an answer from a tool cache.
func TestRelayCannedList(t *testing.T) {
	var up upstream
	srv := up.start(t, "application/json", listAnswer+"\n", http.StatusOK)
	file := t.TempDir() + "/tools.json"
	if err := os.WriteFile(file, []byte(`{"tools":[{"name":"cached","inputSchema":{"type":"object"}}]}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := newRelay(srv.URL, &out)
	r.tools = file
	r.serve(strings.NewReader(initLine + initedLine + listLine))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := `{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"cached","inputSchema":{"type":"object"}}]}}`
	if len(lines) != 2 || lines[1] != want {
		t.Fatalf("wrote\n%s\nwant the second line\n%s", out.String(), want)
	}
	if len(up.requests) != 0 {
		t.Errorf("upstream got %d requests, want none", len(up.requests))
	}
}
