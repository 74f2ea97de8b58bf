package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The test binary doubles as a small MCP server over stdio, built on go-sdk
// v1.8.0, which speaks 2026-07-28 natively. It stands in for agw-proxy so
// that sdk2_client.mjs is known to work whatever the proxy does (see
// TestTypeScriptSDKv2Script): TestMain runs it instead of the tests when
// fakeServerEnv is set, the script launching os.Args[0] as its server.
//
// It plays a proxy that has done its job: its one tool (named like the
// Asana tool) has no X-Asana-Token in its schema, and answers with the echo
// a target gives through agw-proxy, the injected token masked. Its value
// of fakeServerEnv picks what it does, comma separated:
//
//	2025       offer only the 2025 revisions (no server/discover)
//	schema     keep X-Asana-Token in the tool's schema (a proxy that forgot to strip it)
//	noresult   drop resultType from the tools/call result (a server that half speaks 2026-07-28)
//	leak       put the secret, percent-encoded, in the tool's answer
const fakeServerEnv = "AGW_INTEROP_FAKE_SERVER"

// fakeEcho is what the emulator's EchoToken target answers through
// agw-proxy: the received X-Asana-Token, scrubbed.
const fakeEcho = "Bearer [redacted]"

func runFakeServer(mode string) int {
	has := func(m string) bool {
		for _, f := range strings.Split(mode, ",") {
			if f == m {
				return true
			}
		}
		return false
	}
	opts := &mcp.ServerOptions{}
	if has("2025") {
		opts.SupportedProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26"}
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "interop-fake-server", Version: "1.0.0"}, opts)
	props := map[string]any{
		"tool_name": map[string]any{"type": "string"},
		"workspace": map[string]any{"type": "string"},
	}
	required := []string{"tool_name"}
	if has("schema") {
		props[hiddenArg] = map[string]any{"type": "string"}
		required = append(required, hiddenArg)
	}
	server.AddTool(&mcp.Tool{
		Name:        tool,
		Description: "Asana, as the test's stand-in for agw-proxy",
		InputSchema: map[string]any{"type": "object", "properties": props, "required": required},
	}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args map[string]any
		if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
			return nil, err
		}
		delete(args, hiddenArg) // the proxy takes it out of the body
		echo := map[string]any{"received": args, "x_asana_token": fakeEcho}
		if has("leak") {
			echo["oops"] = percentEncodeAll(os.Getenv("AGW_PROXY_SECRET_ASANA"))
		}
		text, _ := json.Marshal(echo)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(text)}}}, nil
	})
	var t mcp.Transport = &mcp.StdioTransport{}
	if has("noresult") {
		t = &dropResultType{Transport: t}
	}
	if err := server.Run(context.Background(), t); err != nil {
		fmt.Fprintln(os.Stderr, "fake server:", err)
		return 1
	}
	return 0
}

// percentEncodeAll writes every byte of s as %XX: no substring of the
// secret is left for a plain search to find, but a reader that decodes
// percent-encoding (leakcheck, a model) still sees it.
func percentEncodeAll(s string) string {
	var b strings.Builder
	for i := range len(s) {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// dropResultType takes resultType out of the answers to tools/call.
type dropResultType struct {
	mcp.Transport
	mu    sync.Mutex
	calls map[jsonrpc.ID]bool
}

func (d *dropResultType) Connect(ctx context.Context) (mcp.Connection, error) {
	d.calls = map[jsonrpc.ID]bool{}
	c, err := d.Transport.Connect(ctx)
	return dropResultTypeConn{c, d}, err
}

type dropResultTypeConn struct {
	mcp.Connection
	d *dropResultType
}

func (c dropResultTypeConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	msg, err := c.Connection.Read(ctx)
	if r, ok := msg.(*jsonrpc.Request); ok && r.Method == "tools/call" {
		c.d.mu.Lock()
		c.d.calls[r.ID] = true
		c.d.mu.Unlock()
	}
	return msg, err
}

func (c dropResultTypeConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if r, ok := msg.(*jsonrpc.Response); ok && r.Result != nil && c.d.calls[r.ID] {
		var m map[string]json.RawMessage
		if json.Unmarshal(r.Result, &m) == nil {
			delete(m, "resultType")
			r.Result, _ = json.Marshal(m)
		}
	}
	return c.Connection.Write(ctx, msg)
}
