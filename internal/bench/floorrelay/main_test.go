package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
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

// With AGW_FLOOR_PROTOCOL=2026-07-28 the floor speaks that revision to the
// emulator, which answers it as one: tools/list and tools/call succeed,
// each request carries the revision's headers and _meta (with the
// capabilities and clientInfo the client initialized with, as it would send
// them itself), and the answers carry the revision's resultType, which no
// 2025 request gets. Nothing initializes or discovers upstream.
func TestRelayStateless(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	target, err := url.Parse(sim.GatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []http.Header
	var bodies []string
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, bodies = append(seen, r.Header.Clone()), append(bodies, string(b))
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	const tool = gatewaysim.DefaultTargetName + "___asanaInvoke"
	callLine := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"` + tool + `","arguments":{"tool_name":"get_task","X-Asana-Token":"Bearer t"}}}` + "\n"
	listLine := `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}` + "\n"
	var out bytes.Buffer
	r := &relay{url: front.URL + target.Path, token: "Bearer " + sim.Token(t, sim.ClientID, sim.Scope), out: &out, hc: http.DefaultClient, stateless: true}
	testwait.Within(t, 10*time.Second, "the floor", func() {
		r.serve(strings.NewReader(sdkInitLine + initedLine + listLine + callLine))
	})

	answers := map[int]struct {
		Result struct {
			ResultType string            `json:"resultType"`
			Tools      []json.RawMessage `json:"tools"`
			IsError    bool              `json:"isError"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}{}
	for line := range strings.Lines(out.String()) {
		var a struct {
			ID int `json:"id"`
		}
		json.Unmarshal([]byte(line), &a)
		v := answers[a.ID]
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("answer %s: %v", line, err)
		}
		answers[a.ID] = v
	}
	if a := answers[2]; a.Error != nil || len(a.Result.Tools) == 0 || a.Result.ResultType != "complete" {
		t.Errorf("tools/list: %+v, want tools and resultType complete\n%s", a, out.String())
	}
	if a := answers[3]; a.Error != nil || a.Result.IsError || a.Result.ResultType != "complete" {
		t.Errorf("tools/call: %+v, want a result with resultType complete\n%s", a, out.String())
	}
	if c := sim.Counts(); c.ToolLists != 1 || c.ToolCalls != 1 || c.Initializes != 0 || c.Discovers != 0 {
		t.Errorf("the emulator counted %d tools/list, %d tools/call, %d initialize, %d server/discover; want 1, 1, 0, 0", c.ToolLists, c.ToolCalls, c.Initializes, c.Discovers)
	}
	if len(seen) != 2 {
		t.Fatalf("upstream got %d requests, want 2", len(seen))
	}
	for i, want := range []struct{ method, name string }{{"tools/list", ""}, {"tools/call", tool}} {
		h := seen[i]
		if seen[0].Get("Mcp-Method") == "tools/call" {
			h = seen[1-i] // they went in parallel
		}
		if h.Get("Mcp-Protocol-Version") != statelessVersion || h.Get("Mcp-Method") != want.method || h.Get("Mcp-Name") != want.name || h.Get("Mcp-Session-Id") != "" {
			t.Errorf("%s: upstream MCP-Protocol-Version %q, Mcp-Method %q, Mcp-Name %q, Mcp-Session-Id %q; want %s, %s, %q, none",
				want.method, h.Get("Mcp-Protocol-Version"), h.Get("Mcp-Method"), h.Get("Mcp-Name"), h.Get("Mcp-Session-Id"), statelessVersion, want.method, want.name)
		}
	}
	for _, b := range bodies {
		if !strings.Contains(b, `"params":{"_meta":`) {
			t.Errorf("upstream body %s: no _meta first in its params", b)
		}
		var req struct {
			Params struct {
				Meta map[string]json.RawMessage `json:"_meta"`
			} `json:"params"`
		}
		if err := json.Unmarshal([]byte(b), &req); err != nil {
			t.Fatalf("upstream body %s: %v", b, err)
		}
		m := req.Params.Meta
		if string(m["io.modelcontextprotocol/protocolVersion"]) != `"`+statelessVersion+`"` ||
			string(m["io.modelcontextprotocol/clientCapabilities"]) != `{"roots":{"listChanged":true}}` ||
			string(m["io.modelcontextprotocol/clientInfo"]) != `{"name":"agw-bench","version":"1"}` {
			t.Errorf("upstream body %s: _meta is not the revision's with the client's capabilities and clientInfo", b)
		}
	}
}

// sdkInitLine is the initialize of the benchmark's go-sdk client.
const sdkInitLine = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{"roots":{"listChanged":true}},"clientInfo":{"name":"agw-bench","version":"1"},"protocolVersion":"2025-11-25"}}` + "\n"

// The _meta of a relayed stateless request carries the client's
// capabilities and clientInfo from initialize, compacted; capabilities
// missing or not an object read as none, a clientInfo missing or not an
// object is left out.
func TestClientMeta(t *testing.T) {
	const head = `"_meta":{"io.modelcontextprotocol/protocolVersion":"` + statelessVersion + `","io.modelcontextprotocol/clientCapabilities":`
	for _, tc := range []struct{ caps, info, want string }{
		{`{"roots":{"listChanged":true}}`, `{"name":"c","version":"1"}`, head + `{"roots":{"listChanged":true}},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"}}`},
		{`{ "elicitation" : {} }`, ``, head + `{"elicitation":{}}}`},
		{``, ``, meta},
		{`null`, `"x"`, meta},
		{`{}`, `{"name":"c"}`, head + `{},"io.modelcontextprotocol/clientInfo":{"name":"c"}}`},
	} {
		var caps, info json.RawMessage
		if tc.caps != "" {
			caps = json.RawMessage(tc.caps)
		}
		if tc.info != "" {
			info = json.RawMessage(tc.info)
		}
		if got := string(clientMeta(caps, info)); got != tc.want {
			t.Errorf("clientMeta(%s, %s)\n= %s\nwant %s", tc.caps, tc.info, got, tc.want)
		}
		var v any
		if err := json.Unmarshal([]byte("{"+string(clientMeta(caps, info))+"}"), &v); err != nil {
			t.Errorf("clientMeta(%s, %s): not a JSON member: %v", tc.caps, tc.info, err)
		}
	}
}

// The splice puts the revision's _meta first in the params, with a comma
// only when other members follow, and adds params to a request without.
func TestWithMeta(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + meta + `,"name":"x"}}`},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`, `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + meta + `}}`},
		{`{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{` + meta + `}}` + "\n"},
		{`{"params":{`, `{"params":{`},
		{`nonsense`, `nonsense`},
	} {
		got := string(withMeta([]byte(tc.in), []byte(meta)))
		if got != tc.want {
			t.Errorf("withMeta(%s)\n= %s\nwant %s", tc.in, got, tc.want)
		}
		var v any
		if json.Valid([]byte(tc.in)) && json.Unmarshal([]byte(got), &v) != nil {
			t.Errorf("withMeta(%s) = %s: not JSON", tc.in, got)
		}
	}
}
