package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// codeInvalidBearer is the JSON-RPC code of the Gateway's 401 body.
const codeInvalidBearer = -32001

// callParams is what the proxy reads of a tools/call. Of _meta only the
// progress token travels on; the rest is the client's own business.
type callParams struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Meta      struct {
		ProgressToken json.RawMessage `json:"progressToken,omitempty"`
	} `json:"_meta"`
}

// upstreamParams is the tools/call sent to the Gateway.
type upstreamParams struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Meta      *struct {
		ProgressToken json.RawMessage `json:"progressToken"`
	} `json:"_meta,omitempty"`
}

// callTool handles one tools/call: it fills the secret arguments, forwards
// the call and returns the Gateway's result as it came (the client's writer
// scrubs it). It runs outside the SDK's server and client, which would
// decode and encode every result twice: calls are the hot path.
//
// Failures the model can act on, or report, are isError results; the
// returned error is a JSON-RPC error for the client.
func (p *Proxy) callTool(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var params callParams
	if err := json.Unmarshal(raw, &params); err != nil || params.Name == "" {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "agw-proxy: tools/call needs params with a tool name"}
	}
	cs, err := p.ready(ctx)
	if err != nil {
		var jerr *jsonrpc.Error
		if errors.As(err, &jerr) {
			return errorResult("%s", strings.TrimPrefix(jerr.Message, "agw-proxy: "))
		}
		return nil, err
	}

	up := upstreamParams{Name: params.Name, Arguments: params.Arguments}
	if len(params.Meta.ProgressToken) > 0 {
		up.Meta = &struct {
			ProgressToken json.RawMessage `json:"progressToken"`
		}{params.Meta.ProgressToken}
	}
	rules := p.rulesFor(params.Name)
	if len(rules) > 0 {
		values := make(map[string]tokenstore.Secret, len(rules))
		for _, r := range rules {
			s, err := p.secret(ctx, r.Secret)
			if err != nil {
				p.log.Warn("secret unavailable", "tool", params.Name, "secret", r.Secret, "error", p.redact(err))
				return errorResult("%s", p.secretMessage(r.Secret, err))
			}
			values[r.Argument] = r.value(s)
		}
		if up.Arguments, err = injectArgs(up.Arguments, values); err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "agw-proxy: tool arguments must be a JSON object"}
		}
	}
	body, err := json.Marshal(up)
	if err != nil {
		return nil, err
	}

	began := time.Now()
	res, err := p.forward(ctx, cs, body)
	if err != nil && neverSent(err) && ctx.Err() == nil {
		p.log.Info("gateway session lost; reconnecting and retrying once", "tool", params.Name)
		if cs, err = p.reconnect(ctx, cs); err == nil {
			res, err = p.forward(ctx, cs, body)
		}
	}
	if err != nil {
		return p.callFailed(ctx, params.Name, err)
	}
	p.log.Debug("tools/call", "tool", params.Name, "injected", len(rules), "bytes", len(res), "duration", time.Since(began))
	if params.Name == SearchToolName {
		res = stripSearchResult(p.opts.Rules, res)
	}
	return res, nil
}

// rulesFor returns the rules that apply to a call of the named tool.
func (p *Proxy) rulesFor(name string) []*Rule {
	p.mu.Lock()
	rules, known := p.tools[name]
	p.mu.Unlock()
	if known {
		return rules
	}
	// Not (yet) in the list: the user's globs alone decide.
	for i := range p.opts.Rules {
		if p.opts.Rules[i].matchesName(name) {
			rules = append(rules, &p.opts.Rules[i])
		}
	}
	return rules
}

func (p *Proxy) forward(ctx context.Context, cs *mcp.ClientSession, params []byte) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.CallTimeout)
	defer cancel()
	res, err := p.post(ctx, cs, "tools/call", params)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, errCallTimeout
	}
	return res, err
}

var errCallTimeout = errors.New("call timed out")

// secret returns one secret, from memory when it was read from the store
// less than SecretTTL ago (a keychain read can cost milliseconds, or a
// process on macOS), and remembers it for scrubbing. A missing secret is
// not remembered, so a login heals the next call.
func (p *Proxy) secret(ctx context.Context, name string) (tokenstore.Secret, error) {
	p.secretsMu.Lock()
	c, ok := p.secretCache[name]
	p.secretsMu.Unlock()
	if ok && timeNow().Sub(c.read) < p.opts.SecretTTL {
		return c.value, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.SecretTimeout)
	defer cancel()
	s, err := p.opts.Secrets.Secret(ctx, name)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", tokenstore.ErrNotFound
	}
	p.scrub.Add(s)
	p.secretsMu.Lock()
	p.secretCache[name] = cachedSecret{value: s, read: timeNow()}
	p.secretsMu.Unlock()
	return s, nil
}

// timeNow is the clock; tests move it.
var timeNow = time.Now

type cachedSecret struct {
	value tokenstore.Secret
	read  time.Time
}

// errorResult is a tool result that tells the model what went wrong.
func errorResult(format string, a ...any) (json.RawMessage, error) {
	return json.Marshal(&mcp.CallToolResult{
		IsError: true,
		Content: []mcp.Content{&mcp.TextContent{Text: "agw-proxy: " + fmt.Sprintf(format, a...)}},
	})
}

// callFailed turns a failed upstream call into what the client should see.
func (p *Proxy) callFailed(ctx context.Context, tool string, err error) (json.RawMessage, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	p.log.Warn("tool call failed", "tool", tool, "error", p.redact(err))
	var jerr *jsonrpc.Error
	switch {
	case errors.Is(err, errCallTimeout):
		return errorResult("the Gateway did not answer within %s (timeouts.call); the call may still complete on the target", p.opts.CallTimeout)
	case errors.Is(err, tokenstore.ErrLoginNeeded):
		return errorResult("the Gateway needs a login: %s", loginMessage(p.redact(err)))
	case errors.As(err, &jerr) && jerr.Code == codeInvalidBearer:
		return errorResult("the Gateway rejected the access token even after a refresh (%s): check that the app client is allowed by the Gateway's authorizer; run `agw-proxy doctor`", p.scrub.String(jerr.Message))
	case errors.As(err, &jerr):
		return nil, &jsonrpc.Error{Code: jerr.Code, Message: p.scrub.String(jerr.Message), Data: p.scrub.Scrub(jerr.Data)}
	}
	return errorResult("the call to the Gateway failed, and may or may not have reached the target: %s", p.redact(err))
}
