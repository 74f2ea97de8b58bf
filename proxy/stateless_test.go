package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/proxy"
)

var (
	v2026     = []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}
	v2025only = []string{"2025-11-25", "2025-06-18", "2025-03-26"}
)

// pin sets Options.Protocol.
func pin(protocol string) func(*proxy.Options) {
	return func(o *proxy.Options) { o.Protocol = protocol }
}

func TestGatewayOffering2026IsSpokenStateless(t *testing.T) {
	for _, protocol := range []string{"", "auto", "2026-07-28"} {
		t.Run("protocol="+protocol, func(t *testing.T) {
			gw := newSDKGateway(t, sdkOptions{versions: v2026})
			h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: pin(protocol)})

			tool, ok := h.tools(t)[headerTool]
			if !ok {
				t.Fatal("the Gateway's tool is not listed")
			}
			if ps, _ := props(t, tool); strings.Contains(strings.Join(ps, ","), "X-Asana-Token") {
				t.Errorf("the listed schema still has the secret argument: %v", ps)
			}
			res := h.call(t, headerTool, map[string]any{"q": "projects"})
			if res.IsError {
				t.Fatalf("the call failed: %s", text(res))
			}
			if strings.Contains(text(res), asanaToken) {
				t.Errorf("the echoed secret reached the client: %q", text(res))
			}

			// The Gateway's handler got the injected secret, in the body and
			// in its Mcp-Param header (the SDK checked the two agree).
			calls := gw.toolCalls()
			if len(calls) != 1 {
				t.Fatalf("the Gateway ran %d calls, want 1", len(calls))
			}
			c := calls[0]
			if c.Arguments["X-Asana-Token"] != "Bearer "+asanaToken {
				t.Errorf("the Gateway got X-Asana-Token %q", c.Arguments["X-Asana-Token"])
			}
			if got := c.Header.Get("Mcp-Param-Asana-Token"); got != "Bearer "+asanaToken {
				t.Errorf("Mcp-Param-Asana-Token is %q, want the injected value", got)
			}
			if got := c.Header.Get("Mcp-Param-Query"); got != "projects" {
				t.Errorf("Mcp-Param-Query is %q, want the model's argument", got)
			}

			// The wire of 2026-07-28: discover, then requests that each
			// carry the revision; no initialize, no session, no stream.
			if n := len(gw.posts("server/discover")); n != 1 {
				t.Errorf("%d server/discover requests, want 1", n)
			}
			if n := len(gw.posts("initialize")); n != 0 {
				t.Errorf("%d initialize requests to a 2026-07-28 Gateway, want none", n)
			}
			if n := gw.gets(); n != 0 {
				t.Errorf("%d GET requests (a session stream), want none", n)
			}
			for _, r := range gw.posts("") {
				if r.Header.Get("Mcp-Session-Id") != "" {
					t.Errorf("%s carried Mcp-Session-Id", r.Method)
				}
				if r.Header.Get("Mcp-Protocol-Version") != "2026-07-28" || r.Header.Get("Mcp-Method") != r.Method {
					t.Errorf("%s: MCP-Protocol-Version %q, Mcp-Method %q", r.Method, r.Header.Get("Mcp-Protocol-Version"), r.Header.Get("Mcp-Method"))
				}
				var p struct {
					Meta map[string]json.RawMessage `json:"_meta"`
				}
				_ = json.Unmarshal(r.Params, &p)
				for _, k := range []string{mcp.MetaKeyProtocolVersion, mcp.MetaKeyClientCapabilities, mcp.MetaKeyClientInfo} {
					if _, ok := p.Meta[k]; !ok {
						t.Errorf("%s: _meta lacks %s", r.Method, k)
					}
				}
			}
			if got := gw.posts("tools/call")[0].Header.Get("Mcp-Name"); got != headerTool {
				t.Errorf("tools/call Mcp-Name %q, want %q", got, headerTool)
			}
		})
	}
}

func TestGatewayWithout2026GetsASession(t *testing.T) {
	for _, tt := range []struct {
		name     string
		versions []string
		want     string // the revision the session speaks
	}{
		{"2025-11-25", v2025only, "2025-11-25"},
		{"only 2025-06-18", []string{"2025-06-18"}, "2025-06-18"},
		{"only 2025-03-26", []string{"2025-03-26"}, "2025-03-26"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gw := newSDKGateway(t, sdkOptions{versions: tt.versions, sessions: true})
			h := start(t, setup{gatewayFor: gw.at, noAuth: true})
			if _, ok := h.tools(t)[headerTool]; !ok {
				t.Fatal("the Gateway's tool is not listed")
			}
			res := h.call(t, headerTool, map[string]any{"q": "projects"})
			if res.IsError {
				t.Fatalf("the call failed: %s", text(res))
			}
			if n := len(gw.posts("server/discover")); n != 1 {
				t.Errorf("%d server/discover requests, want 1 (auto asks first)", n)
			}
			if n := len(gw.posts("initialize")); n != 1 {
				t.Fatalf("%d initialize requests, want 1 (the fallback)", n)
			}
			calls := gw.toolCalls()
			if len(calls) != 1 || calls[0].Arguments["X-Asana-Token"] != "Bearer "+asanaToken {
				t.Fatalf("the Gateway's calls: %+v", calls)
			}
			call := gw.posts("tools/call")[0]
			if call.Header.Get("Mcp-Session-Id") == "" {
				t.Error("the call carried no Mcp-Session-Id")
			}
			if got := call.Header.Get("Mcp-Protocol-Version"); got != tt.want {
				t.Errorf("the call's MCP-Protocol-Version is %q, want %q", got, tt.want)
			}
			if call.Header.Get("Mcp-Param-Asana-Token") != "" {
				t.Error("a session call carried the secret in an Mcp-Param header")
			}
		})
	}
}

func TestPinned2025NeverSendsDiscover(t *testing.T) {
	gw := newSDKGateway(t, sdkOptions{versions: v2026})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: pin("2025-11-25")})
	h.tools(t)
	if res := h.call(t, headerTool, map[string]any{"q": "x"}); res.IsError {
		t.Fatalf("the call failed: %s", text(res))
	}
	if n := len(gw.posts("server/discover")); n != 0 {
		t.Errorf("%d server/discover requests with protocol 2025-11-25 pinned, want none", n)
	}
	if n := len(gw.posts("initialize")); n != 1 {
		t.Errorf("%d initialize requests, want 1", n)
	}
	if got := gw.posts("tools/call")[0].Header.Get("Mcp-Protocol-Version"); got != "2025-11-25" {
		t.Errorf("the call's MCP-Protocol-Version is %q", got)
	}
}

func TestPinned2026AgainstA2025GatewayIsAClearError(t *testing.T) {
	gw := newSDKGateway(t, sdkOptions{versions: v2025only, sessions: true})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, connect: time.Second, options: pin("2026-07-28")})
	res := h.call(t, headerTool, map[string]any{"q": "x"})
	for _, want := range []string{"2026-07-28 is pinned", "offers MCP 2025-11-25", "auto"} {
		if !res.IsError || !strings.Contains(text(res), want) {
			t.Errorf("isError=%v %q, want it to say %q", res.IsError, text(res), want)
		}
	}
	if n := len(gw.posts("initialize")); n != 0 {
		t.Errorf("%d initialize requests: a pinned 2026-07-28 fell back to a session", n)
	}
	if n := len(gw.toolCalls()); n != 0 {
		t.Errorf("the Gateway ran %d calls", n)
	}
}

func TestStatelessCallKeepsTheProgressToken(t *testing.T) {
	gw := newSDKGateway(t, sdkOptions{versions: v2026})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	params := &mcp.CallToolParams{Name: headerTool, Arguments: map[string]any{"q": "x"}}
	params.SetProgressToken("progress-7")
	if _, err := h.client.CallTool(ctx, params); err != nil {
		t.Fatal(err)
	}
	calls := gw.toolCalls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	if got := calls[0].Meta["progressToken"]; got != "progress-7" {
		t.Errorf("the Gateway got progressToken %v, want the client's", got)
	}
	if got := calls[0].Meta[mcp.MetaKeyProtocolVersion]; got != "2026-07-28" {
		t.Errorf("the Gateway got protocolVersion %v beside the progress token", got)
	}
}

func TestExpiredSessionIsReopenedAndTheCallRetried(t *testing.T) {
	gw := newSDKGateway(t, sdkOptions{versions: v2025only, sessions: true})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	h.call(t, headerTool, map[string]any{"q": "before"})

	// The Gateway's absolute timeout: the session ends on the Gateway's
	// side, and its id now gets HTTP 404.
	for ss := range gw.server.Sessions() {
		ss.Close()
	}
	res := h.call(t, headerTool, map[string]any{"q": "after"})
	if res.IsError {
		t.Fatalf("the call after the session expired failed: %s", text(res))
	}
	calls := gw.toolCalls()
	if len(calls) != 2 || calls[1].Arguments["q"] != "after" {
		t.Fatalf("the Gateway ran %+v, want the retried call", calls)
	}
	if n := len(gw.posts("initialize")); n != 2 {
		t.Errorf("%d initialize requests, want 2 (the session was opened again)", n)
	}
}

func TestStatelessCallIsCancelledByClosingItsRequest(t *testing.T) {
	started, stopped := make(chan struct{}), make(chan struct{})
	gw := newSDKGateway(t, sdkOptions{versions: v2026, tool: func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		close(started)
		<-ctx.Done()
		close(stopped)
		return nil, ctx.Err()
	}})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.client.CallTool(ctx, &mcp.CallToolParams{Name: headerTool, Arguments: map[string]any{"q": "slow"}})
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not reach the Gateway")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the Gateway's handler was not cancelled")
	}
	<-done
	// A notifications/cancelled would be sent at once, in the background:
	// give it a second to show up (a 2025 session's arrives within
	// milliseconds).
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if n := len(gw.posts("notifications/cancelled")); n != 0 {
			t.Fatalf("%d notifications/cancelled sent on a stateless revision, want none (closing the request cancels)", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTTLExpiryListsTheToolsAgain(t *testing.T) {
	defer proxy.SetMinRelist(50 * time.Millisecond)()
	gw := newSDKGateway(t, sdkOptions{versions: v2026, server: &mcp.ServerOptions{
		SetCacheable: func(_ context.Context, req mcp.Request, c *mcp.Cacheable) {
			c.TTLMs = 100
		},
	}})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	// A tool appears on the Gateway, which announces nothing to a
	// stateless client: the list's ttlMs is what finds it.
	gw.server.AddTool(&mcp.Tool{Name: "AgentCoreGwyAPIGatewayTarget___new", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	select {
	case <-h.changed:
	case <-time.After(20 * time.Second):
		t.Fatalf("the client heard of no change after the list's ttlMs (%d tools/list requests)", len(gw.posts("tools/list")))
	}
	if _, ok := h.tools(t)["AgentCoreGwyAPIGatewayTarget___new"]; !ok {
		t.Error("the new tool is not listed")
	}
}

func TestStatelessLogsAndOutputHoldNoSecret(t *testing.T) {
	gw := newSDKGateway(t, sdkOptions{versions: v2026})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	h.call(t, headerTool, map[string]any{"q": "x"})
	// The header carried the secret; nothing the client got or the debug
	// log holds does (the harness checks both again at its end).
	if err := leakcheck.Lines(h.out.String()+h.logs.String(), asanaToken); err != nil {
		t.Error(err)
	}
	if !strings.Contains(h.logs.String(), "2026-07-28") {
		t.Errorf("the debug log does not say which revision is spoken:\n%s", h.logs.String())
	}
	if gw.posts("tools/call")[0].Header.Get("Mcp-Param-Asana-Token") == "" {
		t.Error("the header was not sent, so this test shows nothing")
	}
}

func TestStatelessCallWithTheSecretInAHeaderIsNotRedirected(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	loc := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/mcp"
	tool := `{"name":"` + rawTool + `","inputSchema":{"type":"object","properties":{"X-Asana-Token":{"type":"string","x-mcp-header":"Asana-Token"}}}}`
	gw := newTapGateway(t, "["+tool+"]", func(w http.ResponseWriter, _ *http.Request, p tapPost) bool {
		switch p.Method {
		case "server/discover":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"supportedVersions":["2026-07-28"],"capabilities":{"tools":{}}}}`, p.ID)
			return true
		case "tools/call":
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusTemporaryRedirect)
			return true
		}
		return false
	})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	if res := h.call(t, rawTool, map[string]any{}); !res.IsError || !strings.Contains(text(res), "redirect") {
		t.Errorf("isError=%v %q, want the redirect refused", res.IsError, text(res))
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect's target received %d requests, want none", n)
	}
	if n := len(gw.postsOf("initialize")); n != 0 {
		t.Errorf("%d initialize requests: the stateless revision was not used", n)
	}
}
