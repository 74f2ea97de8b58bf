package gatewaysim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MCP 2026-07-28 against the emulator with raw HTTP, the way any client
// (or curl) sends it: no initialize, _meta on every request, the standard
// headers. Every behaviour runs against a stateless Gateway and against
// one with sessions configured, which accepts 2026-07-28 just the same.

var modernGateways = []struct {
	name string
	opts Options
}{
	{"stateless", Options{}},
	{"sessions", Options{Sessions: true}},
	{"sessions+streaming", Options{Sessions: true, Streaming: true}},
}

// modernMsg is a 2026-07-28 request: params with the _meta triple.
func modernMsg(method string, params map[string]any) string {
	if params == nil {
		params = map[string]any{}
	}
	if _, ok := params["_meta"]; !ok {
		params["_meta"] = modernMeta()
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func modernMeta() map[string]any {
	return map[string]any{
		mcp.MetaKeyProtocolVersion:    "2026-07-28",
		mcp.MetaKeyClientCapabilities: map[string]any{},
		mcp.MetaKeyClientInfo:         map[string]any{"name": "curl", "version": "8"},
	}
}

// modernHeaders are the headers a 2026-07-28 request carries.
func modernHeaders(method, name string) map[string]string {
	h := map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method, "Accept": "application/json, text/event-stream"}
	if name != "" {
		h["Mcp-Name"] = name
	}
	return h
}

// rpcResponse is a JSON-RPC response, read from a JSON body or from the
// last data line of an SSE body.
type rpcResponse struct {
	ID     any             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int64           `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func decodeRPC(t *testing.T, resp *http.Response, body []byte) rpcResponse {
	t.Helper()
	raw := body
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		raw = nil
		for line := range strings.Lines(string(body)) {
			if d, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data: "); ok {
				raw = []byte(d)
			}
		}
	}
	var r rpcResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("HTTP %d: not a JSON-RPC response: %q", resp.StatusCode, body)
	}
	return r
}

func TestModernDiscover(t *testing.T) {
	for _, g := range modernGateways {
		t.Run(g.name, func(t *testing.T) {
			s := start(t, g.opts)
			resp, body := rpc(t, s, machineToken(t, s), modernHeaders("server/discover", ""), modernMsg("server/discover", nil))
			if resp.StatusCode != 200 {
				t.Fatalf("HTTP %d %s", resp.StatusCode, body)
			}
			if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
				t.Errorf("server/discover issued session %q", id)
			}
			var res struct {
				SupportedVersions []string       `json:"supportedVersions"`
				Capabilities      map[string]any `json:"capabilities"`
				ResultType        string         `json:"resultType"`
				Meta              map[string]any `json:"_meta"`
			}
			if err := json.Unmarshal(decodeRPC(t, resp, body).Result, &res); err != nil {
				t.Fatal(err)
			}
			if want := []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}; !slices.Equal(res.SupportedVersions, want) {
				t.Errorf("supportedVersions = %v, want %v (the Gateway's, in order)", res.SupportedVersions, want)
			}
			if res.Capabilities["tools"] == nil || res.ResultType != "complete" {
				t.Errorf("capabilities %v, resultType %q", res.Capabilities, res.ResultType)
			}
			if info, _ := res.Meta[mcp.MetaKeyServerInfo].(map[string]any); info["name"] == nil {
				t.Errorf("_meta has no serverInfo: %v", res.Meta)
			}
			if c := s.Counts(); c.Discovers != 1 || c.Initializes != 0 {
				t.Errorf("counts = %+v, want one discover and no initialize", c)
			}
		})
	}
}

func TestModernListAndCallWithoutInitialize(t *testing.T) {
	for _, g := range modernGateways {
		t.Run(g.name, func(t *testing.T) {
			s := start(t, g.opts)
			tok := machineToken(t, s)
			hdr := modernHeaders("tools/list", "")
			hdr["Mcp-Session-Id"] = "client-invented" // ignored: there are no sessions in 2026-07-28
			resp, body := rpc(t, s, tok, hdr, modernMsg("tools/list", nil))
			if resp.StatusCode != 200 {
				t.Fatalf("tools/list: HTTP %d %s", resp.StatusCode, body)
			}
			var list struct {
				Tools      []mcp.Tool `json:"tools"`
				ResultType string     `json:"resultType"`
			}
			json.Unmarshal(decodeRPC(t, resp, body).Result, &list)
			if len(list.Tools) != 1 || list.Tools[0].Name != asanaTool || list.ResultType != "complete" {
				t.Errorf("tools/list = %s, want the tool and resultType complete", body)
			}
			if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
				t.Errorf("tools/list issued session %q", id)
			}

			resp, body = rpc(t, s, tok, modernHeaders("tools/call", asanaTool), modernMsg("tools/call", map[string]any{
				"name": asanaTool, "arguments": map[string]any{"tool_name": "get_task", "X-Asana-Token": "Bearer t"},
			}))
			if resp.StatusCode != 200 {
				t.Fatalf("tools/call: HTTP %d %s", resp.StatusCode, body)
			}
			var call struct {
				IsError    bool   `json:"isError"`
				ResultType string `json:"resultType"`
			}
			json.Unmarshal(decodeRPC(t, resp, body).Result, &call)
			if call.IsError || call.ResultType != "complete" {
				t.Errorf("tools/call = %s, want a complete result", body)
			}
			if got := s.Received(); len(got) != 1 || got[0].Header.Get("X-Asana-Token") != "Bearer t" {
				t.Errorf("backend got %d requests", len(got))
			}
		})
	}
}

func TestModernRequestErrors(t *testing.T) {
	callParams := func() map[string]any {
		return map[string]any{"name": asanaTool, "arguments": map[string]any{"tool_name": "x"}}
	}
	without := func(key string) map[string]any {
		m := modernMeta()
		delete(m, key)
		return m
	}
	for _, tc := range []struct {
		name       string
		hdr        map[string]string
		msg        string
		wantStatus int
		wantCode   int64
	}{
		{"no Mcp-Method", map[string]string{"MCP-Protocol-Version": "2026-07-28"},
			modernMsg("tools/list", nil), 400, -32020},
		{"Mcp-Method differs from the body", modernHeaders("tools/call", asanaTool),
			modernMsg("tools/list", nil), 400, -32020},
		{"no Mcp-Name on tools/call", modernHeaders("tools/call", ""),
			modernMsg("tools/call", callParams()), 400, -32020},
		{"Mcp-Name differs from the body", modernHeaders("tools/call", "other___tool"),
			modernMsg("tools/call", callParams()), 400, -32020},
		{"MCP-Protocol-Version differs from _meta", modernHeaders("tools/list", ""),
			modernMsg("tools/list", map[string]any{"_meta": map[string]any{
				mcp.MetaKeyProtocolVersion: "2027-01-01", mcp.MetaKeyClientCapabilities: map[string]any{}}}), 400, -32020},
		{"no MCP-Protocol-Version header", map[string]string{"Mcp-Method": "tools/list"},
			modernMsg("tools/list", nil), 400, -32020},
		{"no protocolVersion in _meta", modernHeaders("tools/list", ""),
			modernMsg("tools/list", map[string]any{"_meta": without(mcp.MetaKeyProtocolVersion)}), 400, -32602},
		{"no clientCapabilities in _meta", modernHeaders("tools/list", ""),
			modernMsg("tools/list", map[string]any{"_meta": without(mcp.MetaKeyClientCapabilities)}), 400, -32602},
		{"clientInfo not an object", modernHeaders("tools/list", ""),
			modernMsg("tools/list", map[string]any{"_meta": map[string]any{
				mcp.MetaKeyProtocolVersion: "2026-07-28", mcp.MetaKeyClientCapabilities: map[string]any{}, mcp.MetaKeyClientInfo: 5}}), 400, -32602},
		{"ping is gone in 2026-07-28", modernHeaders("ping", ""),
			modernMsg("ping", nil), 404, -32601},
		{"initialize is gone in 2026-07-28", modernHeaders("initialize", ""),
			modernMsg("initialize", map[string]any{"protocolVersion": "2026-07-28", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "x", "version": "1"}}), 404, -32601},
	} {
		for _, g := range modernGateways {
			t.Run(tc.name+"/"+g.name, func(t *testing.T) {
				s := start(t, g.opts)
				resp, body := rpc(t, s, machineToken(t, s), tc.hdr, tc.msg)
				r := decodeRPC(t, resp, body)
				if resp.StatusCode != tc.wantStatus || r.Error == nil || r.Error.Code != tc.wantCode {
					t.Errorf("HTTP %d %s, want %d and code %d", resp.StatusCode, body, tc.wantStatus, tc.wantCode)
				}
				if n := len(s.Received()); n != 0 {
					t.Errorf("a refused request reached the backend %d times", n)
				}
			})
		}
	}
}

func TestModernUnsupportedVersionListsTheGatewayVersions(t *testing.T) {
	for _, g := range modernGateways {
		t.Run(g.name, func(t *testing.T) {
			s := start(t, g.opts)
			hdr := modernHeaders("tools/list", "")
			hdr["MCP-Protocol-Version"] = "2027-01-01"
			resp, body := rpc(t, s, machineToken(t, s), hdr, modernMsg("tools/list", map[string]any{"_meta": map[string]any{
				mcp.MetaKeyProtocolVersion: "2027-01-01", mcp.MetaKeyClientCapabilities: map[string]any{}}}))
			r := decodeRPC(t, resp, body)
			if resp.StatusCode != 400 || r.Error == nil || r.Error.Code != -32022 {
				t.Fatalf("HTTP %d %s, want 400 with -32022", resp.StatusCode, body)
			}
			var data struct {
				Supported []string `json:"supported"`
				Requested string   `json:"requested"`
			}
			json.Unmarshal(r.Error.Data, &data)
			if !slices.Equal(data.Supported, ProtocolVersions()) || data.Requested != "2027-01-01" {
				t.Errorf("error data = %s, want supported %v and requested 2027-01-01", r.Error.Data, ProtocolVersions())
			}
		})
	}
}

// A 2026-07-28 request next to a 2025 session on the same Gateway, and a
// GET stream asked for in 2026-07-28 (there is none).
func TestModernNextToSessions(t *testing.T) {
	s := start(t, Options{Sessions: true, Streaming: true})
	tok := machineToken(t, s)
	resp, _ := rpc(t, s, tok, nil, initializeMsg)
	id := resp.Header.Get("Mcp-Session-Id")
	if id == "" {
		t.Fatal("no session for a 2025 initialize")
	}
	resp, body := rpc(t, s, tok, modernHeaders("tools/list", ""), modernMsg("tools/list", nil))
	if resp.StatusCode != 200 || resp.Header.Get("Mcp-Session-Id") != "" {
		t.Errorf("2026-07-28 tools/list: HTTP %d session %q %s", resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), body)
	}
	hdr := map[string]string{"Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-06-18"}
	if resp, body := rpc(t, s, tok, hdr, listMsg); resp.StatusCode != 200 {
		t.Errorf("the 2025 session after a 2026-07-28 request: HTTP %d %s", resp.StatusCode, body)
	}

	req, _ := http.NewRequest("GET", s.GatewayURL, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2026-07-28")
	get, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != 405 {
		t.Errorf("GET in 2026-07-28: HTTP %d, want 405", get.StatusCode)
	}
}

// The go-sdk client pinned to 2026-07-28 works against every Gateway
// configuration without initialize.
func TestModernSDKClient(t *testing.T) {
	for _, g := range modernGateways {
		t.Run(g.name, func(t *testing.T) {
			s := start(t, g.opts)
			transport := &mcp.StreamableClientTransport{Endpoint: s.GatewayURL,
				HTTPClient: &http.Client{Transport: bearer{machineToken(t, s), http.DefaultTransport}}, MaxRetries: -1}
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "modern", Version: "1"}, nil).Connect(testCtx(t), transport,
				&mcp.ClientSessionOptions{ProtocolVersion: "2026-07-28"})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			ctx := testCtx(t)
			if res, err := cs.ListTools(ctx, nil); err != nil || len(res.Tools) != 1 {
				t.Fatalf("ListTools: %v", err)
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}})
			if err != nil || res.IsError {
				t.Fatalf("CallTool: %v %+v", err, res)
			}
			if c := s.Counts(); c.Initializes != 0 || c.ToolCalls != 1 {
				t.Errorf("counts = %+v, want no initialize", c)
			}
		})
	}
}
