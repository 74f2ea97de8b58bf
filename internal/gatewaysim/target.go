package gatewaysim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// internalErrorText is what the Gateway puts in a failed call's result
// when its exception level is not DEBUG.
const internalErrorText = "An internal error occurred. Please retry later."

// maxResponseBytes bounds what the Gateway reads from a target.
const maxResponseBytes = 64 << 20

// operationHandler calls the backend the way the Gateway calls an OpenAPI
// target: header arguments become headers, path and query arguments go to
// the URL, everything else is the JSON body; the outbound API key (or the
// user's vaulted OAuth token) is added, and the target's allowlisted
// headers and query parameters of the client's request are propagated.
func (s *Sim) operationHandler(op *operation) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx, cancel := withHTTPRequest(ctx)
		defer cancel()
		if err := s.wait(ctx); err != nil {
			return nil, err
		}
		s.mu.Lock()
		ts := s.targets[op.target]
		s.mu.Unlock()
		if ts == nil {
			return failure(s.opts.Debug, fmt.Sprintf("target %s not found", op.target)), nil
		}
		args := map[string]json.RawMessage{}
		if raw := req.Params.Arguments; len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &args); err != nil {
				return failure(s.opts.Debug, "arguments are not a JSON object"), nil
			}
		}
		path := op.path
		query := url.Values{}
		header := http.Header{}
		body := map[string]json.RawMessage{}
		for name, v := range args {
			switch op.in[name] {
			case "path":
				path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(scalar(v)))
			case "query":
				query.Set(name, scalar(v))
			case "header":
				header.Set(name, scalar(v))
			default:
				body[name] = v
			}
		}
		if ts.APIKey != "" {
			if ts.APIKeyLocation == "HEADER" {
				header.Set(ts.APIKeyName, ts.APIKeyPrefix+ts.APIKey)
			} else {
				query.Set(ts.APIKeyName, ts.APIKeyPrefix+ts.APIKey)
			}
		}
		var in http.Header
		if req.Extra != nil {
			in = req.Extra.Header
		}
		ts.Metadata.propagate(in, header, query)
		if ts.OAuth != nil {
			token, res, err := s.outboundToken(req, ts)
			if res != nil || err != nil {
				return res, err
			}
			header.Set("Authorization", "Bearer "+token)
		}
		u := s.BackendURL + "/" + url.PathEscape(op.target) + path
		if len(query) > 0 {
			u += "?" + query.Encode()
		}
		var reqBody io.Reader
		if op.hasBody {
			b, err := json.Marshal(body)
			if err != nil {
				return failure(s.opts.Debug, err.Error()), nil
			}
			reqBody = bytes.NewReader(b)
		}
		hreq, err := http.NewRequestWithContext(ctx, op.method, u, reqBody)
		if err != nil {
			return failure(s.opts.Debug, err.Error()), nil
		}
		for k, v := range header {
			hreq.Header[k] = v
		}
		if op.hasBody {
			hreq.Header.Set("Content-Type", "application/json")
		}
		hreq.Header.Set("User-Agent", "AgentCoreGatewaySim/1.0")
		resp, err := (&http.Client{Transport: s.outbound}).Do(hreq)
		if err != nil {
			if ctx.Err() != nil {
				s.countCancelled()
				return nil, ctx.Err()
			}
			return failure(s.opts.Debug, "target request failed: "+err.Error()), nil
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		if err != nil {
			return failure(s.opts.Debug, "reading target response: "+err.Error()), nil
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return failure(s.opts.Debug, fmt.Sprintf("target responded with HTTP %d: %s", resp.StatusCode, out)), nil
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(out)}}}, nil
	}
}

// httpRequestKey marks the context of the HTTP request that carries a
// stateless call (see serveMCP).
type httpRequestKey struct{}

// withHTTPRequest ends a stateless call when its HTTP request ends. The
// go-sdk's stateless handler keeps running a handler whose client hung up
// (its notifications/cancelled arrives in another, unrelated request), but
// a Gateway abandons the call, and tests need to see that it did.
func withHTTPRequest(ctx context.Context) (context.Context, context.CancelFunc) {
	reqCtx, ok := ctx.Value(httpRequestKey{}).(context.Context)
	if !ok {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(reqCtx, cancel)
	return ctx, func() { stop(); cancel() }
}

// wait applies SetDelay.
func (s *Sim) wait(ctx context.Context) error {
	s.mu.Lock()
	d := s.faults.delay
	s.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		s.countCancelled()
		return ctx.Err()
	case <-s.closing:
		return fmt.Errorf("gatewaysim: closing")
	}
}

func (s *Sim) countCancelled() {
	s.mu.Lock()
	s.counts.ToolCallsCancelled++
	s.mu.Unlock()
}

// failure is a failed call's result: generic unless debug, which puts the
// detail in content[0].text and in _meta.debug as a text content object
// (an object, not a string, on the Gateway).
func failure(debug bool, detail string) *mcp.CallToolResult {
	res := &mcp.CallToolResult{IsError: true}
	if debug {
		res.Content = []mcp.Content{&mcp.TextContent{Text: detail}}
		res.Meta = mcp.Meta{"debug": map[string]any{"type": "text", "text": detail}}
	} else {
		res.Content = []mcp.Content{&mcp.TextContent{Text: internalErrorText}}
	}
	return res
}

// scalar renders an argument for a header, path or query: strings as
// they are, anything else as its JSON text.
func scalar(v json.RawMessage) string {
	var str string
	if json.Unmarshal(v, &str) == nil {
		return str
	}
	return string(v)
}
