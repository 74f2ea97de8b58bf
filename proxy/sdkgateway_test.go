package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// sdkGateway is a Gateway built on the go-sdk server, the reference for the
// wire of each revision: it offers the revisions a test gives it, checks
// what the SDK checks (the 2026-07-28 _meta, Mcp-Method, Mcp-Name and the
// Mcp-Param headers against the body, -32020 on a mismatch), and records
// every HTTP request and every call its tool handler ran.
//
// Its tool, headerTool, marks the secret argument and q with x-mcp-header,
// and answers with the secret it received (the proxy must scrub it).
type sdkGateway struct {
	URL    string
	server *mcp.Server

	mu       sync.Mutex
	requests []sdkRequest
	calls    []sdkCall
	active   int // POSTs being served
}

// sdkRequest is one HTTP request as the Gateway received it.
type sdkRequest struct {
	HTTPMethod string
	Method     string // the JSON-RPC method of a POST
	Header     http.Header
	Params     json.RawMessage
}

// sdkCall is one run of headerTool's handler.
type sdkCall struct {
	Arguments map[string]any
	Header    http.Header // the HTTP request's (2026-07-28; empty on a session)
	Meta      mcp.Meta
	// InputResponses and RequestState are a retry's, after input_required.
	InputResponses mcp.InputResponseMap
	RequestState   string
}

const headerTool = "AgentCoreGwyAPIGatewayTarget___headers"

var headerSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"X-Asana-Token": map[string]any{"type": "string", "x-mcp-header": "Asana-Token"},
		"q":             map[string]any{"type": "string", "x-mcp-header": "Query"},
	},
	"required": []any{"X-Asana-Token"},
}

// sdkOptions configure an sdkGateway.
type sdkOptions struct {
	versions []string // SupportedProtocolVersions
	sessions bool     // a stateful handler (2025 sessions with Mcp-Session-Id); else stateless
	// streaming answers POSTs with event streams, on which a call's
	// requests to the client (elicitation/create) travel; else JSON, and
	// they go on the session's own stream.
	streaming bool
	server    *mcp.ServerOptions
	// tool, if set, is the handler of headerTool after it recorded the call.
	tool mcp.ToolHandler
}

func newSDKGateway(t *testing.T, o sdkOptions) *sdkGateway {
	t.Helper()
	testwait.NoLeaks(t)
	g := &sdkGateway{}
	so := &mcp.ServerOptions{}
	if o.server != nil {
		so = o.server
	}
	so.SupportedProtocolVersions = o.versions
	g.server = mcp.NewServer(&mcp.Implementation{Name: "sdk-gateway", Version: "1"}, so)
	g.server.AddTool(&mcp.Tool{Name: headerTool, InputSchema: headerSchema}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args map[string]any
		_ = json.Unmarshal(req.Params.Arguments, &args)
		c := sdkCall{Arguments: args, Meta: req.Params.Meta, InputResponses: req.Params.InputResponses, RequestState: req.Params.RequestState}
		if req.Extra != nil {
			c.Header = req.Extra.Header.Clone()
		}
		g.mu.Lock()
		g.calls = append(g.calls, c)
		g.mu.Unlock()
		if o.tool != nil {
			return o.tool(ctx, req)
		}
		tok, _ := args["X-Asana-Token"].(string)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "received " + tok}}}, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return g.server }, &mcp.StreamableHTTPOptions{
		Stateless:                    !o.sessions,
		JSONResponse:                 !o.streaming,
		PropagateRequestCancellation: true,
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := sdkRequest{HTTPMethod: r.Method, Header: r.Header.Clone()}
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
			var msg struct {
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			_ = json.Unmarshal(body, &msg)
			rec.Method, rec.Params = msg.Method, msg.Params
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		g.mu.Lock()
		g.requests = append(g.requests, rec)
		g.mu.Unlock()
		if r.Method == http.MethodPost {
			g.mu.Lock()
			g.active++
			g.mu.Unlock()
			defer func() {
				g.mu.Lock()
				g.active--
				g.mu.Unlock()
			}()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/mcp"
	return g
}

// at points the harness at the Gateway.
func (g *sdkGateway) at(*gatewaysim.Sim) string { return g.URL }

// posts returns the POSTs of one JSON-RPC method ("" for all).
func (g *sdkGateway) posts(method string) []sdkRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []sdkRequest
	for _, r := range g.requests {
		if r.HTTPMethod == http.MethodPost && (method == "" || r.Method == method) {
			out = append(out, r)
		}
	}
	return out
}

// gets counts the GET requests (a session's stream).
func (g *sdkGateway) gets() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, r := range g.requests {
		if r.HTTPMethod == http.MethodGet {
			n++
		}
	}
	return n
}

// serving counts the POSTs the Gateway is serving.
func (g *sdkGateway) serving() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.active
}

func (g *sdkGateway) toolCalls() []sdkCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]sdkCall(nil), g.calls...)
}
