package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// ServeError serves MCP on in and out for a proxy that cannot start (its
// configuration is broken, its profile missing): it answers initialize and
// ping, and every other request with message, so that the user reads why in
// the MCP client, which shows a server's errors but, mostly, not its stderr.
// A client that only sees the process exit says "server disconnected".
//
// tools/call gets a result with isError set and message as its text (clients
// show a tool's error to the user and the model); tools/list and every other
// request get a JSON-RPC error whose message is message (clients show a
// failed listing as the server's error; an empty list would say nothing).
// initialize also carries message as the server's instructions.
//
// A client of a stateless revision (2026-07-28) is answered in it:
// server/discover with message as the instructions, the tools/call result
// with resultType "complete", a removed method (initialize, ping) with
// method not found, a bad _meta with the error the revision defines.
//
// The framing is the proxy's (bounded lines, bad input answered, not fatal).
// message is sent as it is: it must hold no secret, and should already be
// escaped for display. ServeError returns nil when in ends, ctx's error
// when ctx ends first, or the error writing to out.
func ServeError(ctx context.Context, in io.Reader, out io.Writer, version, message string) error {
	if version == "" {
		version = "devel"
	}
	conn := newStdioConn(in, out, NewScrubber(), nil)
	defer conn.Close()
	for {
		msg, err := conn.Read(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		req, ok := msg.(*jsonrpc.Request)
		if !ok || !req.IsCall() {
			continue // responses and notifications need no answer
		}
		if err := conn.Write(ctx, errorServerAnswer(req, version, message)); err != nil {
			return err
		}
	}
}

// errorServerAnswer is ServeError's answer to req.
func errorServerAnswer(req *jsonrpc.Request, version, message string) *jsonrpc.Response {
	sr, jerr := readStateless(req.Params)
	if jerr != nil {
		return &jsonrpc.Response{ID: req.ID, Error: jerr}
	}
	if sr != nil {
		return statelessErrorServerAnswer(req, sr, version, message)
	}
	var result any
	switch req.Method {
	case "initialize":
		var params struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		_ = json.Unmarshal(req.Params, &params)
		result = map[string]any{
			"protocolVersion": handshakeVersion(params.ProtocolVersion),
			// Tools, so that clients list them and meet the error.
			"capabilities": map[string]any{"tools": map[string]any{}},
			"serverInfo":   map[string]any{"name": "agw-proxy", "version": version},
			"instructions": message,
		}
	case "ping":
		result = map[string]any{}
	case "tools/call":
		result = map[string]any{
			"content": []any{map[string]any{"type": "text", "text": message}},
			"isError": true,
		}
	default:
		return &jsonrpc.Response{ID: req.ID, Error: &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: message}}
	}
	b, err := json.Marshal(result)
	if err != nil {
		return &jsonrpc.Response{ID: req.ID, Error: &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: message}}
	}
	return &jsonrpc.Response{ID: req.ID, Result: b}
}

// statelessErrorServerAnswer is ServeError's answer to req of a stateless
// revision.
func statelessErrorServerAnswer(req *jsonrpc.Request, sr *statelessRequest, version, message string) *jsonrpc.Response {
	switch {
	case req.Method == "server/discover":
		// Tools, so that clients list them and meet the error.
		return &jsonrpc.Response{ID: req.ID, Result: discoverResult(version, `{"tools":{}}`, message)}
	case req.Method == "tools/call":
		b, err := json.Marshal(map[string]any{
			"content":    []any{map[string]any{"type": "text", "text": message}},
			"isError":    true,
			"resultType": "complete",
		})
		if err == nil {
			return &jsonrpc.Response{ID: req.ID, Result: b}
		}
	case removedInStateless(req.Method, sr) != nil:
		return &jsonrpc.Response{ID: req.ID, Error: removedInStateless(req.Method, sr)}
	}
	return &jsonrpc.Response{ID: req.ID, Error: &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: message}}
}
