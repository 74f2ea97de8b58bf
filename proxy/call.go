package proxy

import (
	"context"
	"errors"
	"strings"

	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// codeInvalidBearer is the JSON-RPC code of the Gateway's 401 body.
const codeInvalidBearer = -32001

// callTool fills the secret arguments of a call and forwards it.
func (p *Proxy) callTool(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	params := req.Params
	cs, err := p.ready(ctx)
	if err != nil {
		var jerr *jsonrpc.Error
		if errors.As(err, &jerr) {
			return errorResult("%s", strings.TrimPrefix(jerr.Message, "agw-proxy: ")), nil
		}
		return nil, err
	}

	p.mu.Lock()
	rules, known := p.tools[params.Name]
	p.mu.Unlock()
	if !known {
		// Not (yet) in the list: the user's globs alone decide.
		for i := range p.opts.Rules {
			if p.opts.Rules[i].matchesName(params.Name) {
				rules = append(rules, &p.opts.Rules[i])
			}
		}
	}

	up := &mcp.CallToolParams{Name: params.Name}
	args := params.Arguments
	if len(rules) > 0 {
		values := make(map[string]tokenstore.Secret, len(rules))
		for _, r := range rules {
			s, err := p.secret(ctx, r.Secret)
			if err != nil {
				p.log.Warn("secret unavailable", "tool", params.Name, "secret", r.Secret, "error", p.redact(err))
				return errorResult("%s", p.secretMessage(r.Secret, err)), nil
			}
			values[r.Argument] = r.value(s)
		}
		if args, err = injectArgs(args, values); err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "agw-proxy: tool arguments must be a JSON object"}
		}
	}
	if len(args) > 0 {
		up.Arguments = args
	}
	if tok := params.GetProgressToken(); tok != nil {
		up.SetProgressToken(tok)
	}

	res, err := p.forward(ctx, cs, up)
	if err != nil && neverSent(err) && ctx.Err() == nil {
		p.log.Info("gateway session lost; reconnecting and retrying once", "tool", params.Name)
		if cs, err = p.reconnect(ctx, cs); err == nil {
			res, err = p.forward(ctx, cs, up)
		}
	}
	if err != nil {
		return p.callFailed(ctx, params.Name, err)
	}
	if params.Name == SearchToolName {
		p.stripSearchResult(res)
	}
	return res, nil
}

func (p *Proxy) forward(ctx context.Context, cs *mcp.ClientSession, up *mcp.CallToolParams) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.CallTimeout)
	defer cancel()
	res, err := cs.CallTool(ctx, up)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, errCallTimeout
	}
	return res, err
}

var errCallTimeout = errors.New("call timed out")

// secret reads and remembers (for scrubbing) one secret.
func (p *Proxy) secret(ctx context.Context, name string) (tokenstore.Secret, error) {
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
	return s, nil
}

// callFailed turns a failed upstream call into what the client should see.
// Failures the model can act on, or report, become isError results; the
// client's own cancellation stays an error.
func (p *Proxy) callFailed(ctx context.Context, tool string, err error) (*mcp.CallToolResult, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	p.log.Warn("tool call failed", "tool", tool, "error", p.redact(err))
	jerr := peerError(err)
	switch {
	case errors.Is(err, errCallTimeout):
		return errorResult("the Gateway did not answer within %s (timeouts.call); the call may still complete on the target", p.opts.CallTimeout), nil
	case errors.Is(err, tokenstore.ErrLoginNeeded):
		return errorResult("%s", strings.TrimPrefix(p.redact(err), "tokenstore: ")), nil
	case jerr != nil && jerr.Code == codeInvalidBearer:
		return errorResult("the Gateway rejected the access token even after a refresh (%s): check that the app client is allowed by the Gateway's authorizer; run `agw-proxy doctor`", p.scrub.String(jerr.Message)), nil
	case jerr != nil:
		return nil, &jsonrpc.Error{Code: jerr.Code, Message: p.scrub.String(jerr.Message), Data: p.scrub.Scrub(jerr.Data)}
	}
	return errorResult("the call to the Gateway failed, and may or may not have reached the target: %s", p.redact(err)), nil
}

// Codes the SDK's JSON-RPC layer uses for its own, local failures.
const (
	codeClientClosing = -32003
	codeServerClosing = -32004
	codeRejected      = -32005
)

// peerError returns the JSON-RPC error the Gateway answered with, if err
// carries one. The SDK also reports local transport failures as JSON-RPC
// errors; those are not the peer's answer and are skipped.
func peerError(err error) *jsonrpc.Error {
	if err == nil {
		return nil
	}
	if jerr, ok := err.(*jsonrpc.Error); ok {
		switch jerr.Code {
		case codeClientClosing, codeServerClosing, codeRejected:
		default:
			return jerr
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return peerError(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if jerr := peerError(e); jerr != nil {
				return jerr
			}
		}
	}
	return nil
}
