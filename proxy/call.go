package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// codeInvalidBearer is the JSON-RPC code of the Gateway's 401 body.
const codeInvalidBearer = -32001

// callParams is what the proxy reads of a tools/call. Of _meta only the
// progress token travels on; the rest is the client's own business (that
// of a 2026-07-28 client too: its protocol version, capabilities and
// client info are for the proxy, which reads them in readStateless). The
// answers of a 2026-07-28 client's retry after an input_required result
// travel on (input.go).
type callParams struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Meta      struct {
		ProgressToken json.RawMessage `json:"progressToken,omitempty"`
		// Provider is the Gateway's per-call 3LO settings (consent.go).
		Provider json.RawMessage `json:"aws.bedrock-agentcore.gateway/credentialProviderConfiguration,omitempty"`
	} `json:"_meta"`
	InputResponses json.RawMessage `json:"inputResponses,omitempty"`
	RequestState   string          `json:"requestState,omitempty"`
}

// upstreamMeta is the _meta of a tools/call sent to the Gateway.
type upstreamMeta struct {
	ProgressToken json.RawMessage `json:"progressToken,omitempty"`
	Provider      json.RawMessage `json:"aws.bedrock-agentcore.gateway/credentialProviderConfiguration,omitempty"`
}

// upstreamParams is the tools/call sent to the Gateway.
type upstreamParams struct {
	Name           string          `json:"name"`
	Arguments      json.RawMessage `json:"arguments,omitempty"`
	Meta           *upstreamMeta   `json:"_meta,omitempty"`
	InputResponses json.RawMessage `json:"inputResponses,omitempty"`
	RequestState   string          `json:"requestState,omitempty"`
}

// callTool handles one tools/call from the client c: it fills the secret
// arguments, forwards the call and returns the Gateway's result as it came
// (the client's writer scrubs it). It runs outside the SDK's server and
// client, which would decode and encode every result twice: calls are the
// hot path. A result that needs the user is relayed to c, or turned into
// an isError result (input.go).
//
// Failures the model can act on, or report, are isError results; the
// returned error is a JSON-RPC error for the client. typed reports that
// the result has a resultType of its own: it came from a Gateway of the
// stateless revision, or is an input_required the proxy made. Any other
// result is of the initialize revisions' shape.
func (p *Proxy) callTool(ctx context.Context, raw json.RawMessage, c caller) (res json.RawMessage, typed bool, err error) {
	var params callParams
	if !fastCallParams(raw, &params) {
		if err := json.Unmarshal(raw, &params); err != nil {
			params.Name = ""
		}
	}
	if params.Name == "" {
		return nil, false, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "agw-proxy: tools/call needs params with a tool name"}
	}
	if err := p.waitPrimed(ctx); err != nil {
		return nil, false, err
	}
	began := time.Now()
	switch {
	case strings.HasPrefix(params.RequestState, parkedStatePrefix):
		// The retry of a call parked for this client's answer: it goes to
		// the call that waits, not to the Gateway as a new call.
		res, typed, err = p.resume(ctx, &params)
	case strings.HasPrefix(params.RequestState, consentStatePrefix):
		// The retry after the client was asked for a consent.
		res, typed, err = p.resumeConsent(ctx, &params, c)
	default:
		var s upstreamSession
		if s, err = p.ready(ctx); err != nil {
			var jerr *jsonrpc.Error
			if errors.As(err, &jerr) {
				res, err = errorResult("%s", strings.TrimPrefix(jerr.Message, "agw-proxy: "))
				return res, false, err
			}
			return nil, false, err
		}
		res, typed, err = p.exchange(ctx, s, &params, c)
	}
	if err != nil {
		res, err = p.callFailed(ctx, params.Name, err)
		return res, false, err
	}
	if p.log.Enabled(ctx, slog.LevelDebug) { // its arguments cost allocations on every call
		p.log.Debug("tools/call answered", "tool", params.Name, "duration", time.Since(began))
	}
	if params.Name == SearchToolName {
		res = stripSearchResult(p.opts.Rules, res)
	}
	return res, typed, nil
}

// exchange sends the call params on s and returns the result c gets: for a
// 2026-07-28 Gateway, after the rounds of input c answers; for a 2025
// session, with the Gateway's requests on the call's stream answered (or
// the call parked for a 2026-07-28 client's answer). A failed call is an
// error; a secret that cannot be read is an isError result.
func (p *Proxy) exchange(ctx context.Context, s upstreamSession, params *callParams, c caller) (res json.RawMessage, typed bool, err error) {
	res, typed, err = p.exchangeOnce(ctx, s, params, c)
	if el, ok := urlElicitationOf(res, err); ok {
		// The Gateway needs the user's consent to the tool's target.
		return p.awaitConsent(ctx, params, c, el)
	}
	return res, typed, err
}

// exchangeOnce is exchange without waiting for a consent: a URL
// elicitation is the outcome.
func (p *Proxy) exchangeOnce(ctx context.Context, s upstreamSession, params *callParams, c caller) (res json.RawMessage, typed bool, err error) {
	if _, stateless := s.(*statelessSession); !stateless && c.stateless && c.elicit != nil {
		return p.startPending(ctx, s, params, c)
	}
	ctx = withInputHandler(ctx, p.askHandler(c, params.Name))
	for round := 0; ; round++ {
		failed, res, typed, err := p.send(ctx, s, params)
		if failed != nil || err != nil {
			return failed, false, err
		}
		if _, ok := urlElicitationOf(res, nil); ok {
			return res, typed, nil
		}
		out, retry, err := p.relayStateless(ctx, res, params, c)
		if !retry || err != nil {
			return out, typed, err
		}
		if round+1 >= maxInputRounds {
			return nil, false, errTooManyRounds
		}
	}
}

// send sends the call params on s, with the secrets the tool list decides
// the tool gets, and returns its result. A call the Gateway certainly did
// not get (a lost session) is sent once more on a new session, whose tool
// list decides again. failed is a tool result for the model when a secret
// cannot be read. typed reports that res came from a Gateway of the
// stateless revision, whose results carry their resultType.
func (p *Proxy) send(ctx context.Context, s upstreamSession, params *callParams) (failed, res json.RawMessage, typed bool, err error) {
	body, headers, sent, failed, err := p.request(ctx, params)
	if failed != nil || err != nil {
		return failed, nil, false, err
	}
	res, err = p.forward(ctx, s, body, headers)
	if err != nil && errors.Is(err, errNotSent) && ctx.Err() == nil {
		p.log.Info("gateway session lost; reconnecting and retrying once", "tool", params.Name)
		if s, err = p.reconnect(ctx, s); err == nil {
			// The new session's tool list decides again: the tool may be
			// gone from it, or its arguments changed.
			if body, headers, sent, failed, err = p.request(ctx, params); failed != nil || err != nil {
				return failed, nil, false, err
			}
			res, err = p.forward(ctx, s, body, headers)
		}
	}
	if err == nil {
		// The target may have rejected an OAuth token (rejected.go).
		retry, failed, ferr := p.refreshRejected(ctx, params.Name, sent, res)
		if failed != nil || ferr != nil {
			return failed, nil, false, ferr
		}
		if retry {
			if body, headers, sent, failed, err = p.request(ctx, params); failed != nil || err != nil {
				return failed, nil, false, err
			}
			res, err = p.forward(ctx, s, body, headers)
		}
	}
	if err == nil && p.log.Enabled(ctx, slog.LevelDebug) {
		p.log.Debug("tools/call", "tool", params.Name, "injected", len(sent), "headers", len(headers), "bytes", len(res))
	}
	return nil, res, err == nil && s.protocol() == StatelessProtocolVersion, err
}

// request returns the tools/call params for the Gateway, with the secrets
// the tool list decides the tool gets, the headers of its header rules
// (callHeaders), and the values it carries. failed is a tool result for
// the model when a secret cannot be read or sent.
func (p *Proxy) request(ctx context.Context, params *callParams) (body []byte, headers callHeaders, sent []ruleValue, failed json.RawMessage, err error) {
	up := upstreamParams{Name: params.Name, Arguments: params.Arguments, InputResponses: params.InputResponses, RequestState: params.RequestState}
	if len(params.Meta.ProgressToken) > 0 || len(params.Meta.Provider) > 0 {
		up.Meta = &upstreamMeta{ProgressToken: params.Meta.ProgressToken, Provider: params.Meta.Provider}
	}
	values, failed, err := p.injection(ctx, params.Name)
	if failed != nil || err != nil {
		return nil, nil, nil, failed, err
	}
	args, headers, drop, failed, err := splitValues(values)
	if failed != nil || err != nil {
		return nil, nil, nil, failed, err
	}
	if len(values) > 0 {
		if up.Arguments, err = rewriteArgs(up.Arguments, args, drop); err != nil {
			return nil, nil, nil, nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "agw-proxy: tool arguments must be a JSON object"}
		}
	}
	body, err = appendUpstreamParams(make([]byte, 0, len(up.Name)+len(up.Arguments)+len(up.InputResponses)+len(up.RequestState)+128), &up)
	return body, headers, values, nil, err
}

// maxDecisions bounds how often a call decides again because the tool list
// changed while it read its secrets.
const maxDecisions = 4

// injection returns the values a call of the named tool gets, by argument:
// those of the rules the tool list decided for it (rulesFor). A call must
// not carry a secret for a tool that the list it is sent under no longer
// has, so it waits while a re-sync the Gateway announced is pending, and
// decides again when the list changed while it read the secrets (a keychain
// can take seconds).
func (p *Proxy) injection(ctx context.Context, name string) (values []ruleValue, failed json.RawMessage, err error) {
	var decided []*Rule
	var timeout <-chan time.Time
	for n := 0; ; {
		rules, pending, changed := p.rulesFor(name)
		if len(rules) > 0 && pending {
			if timeout == nil {
				t := time.NewTimer(p.opts.ConnectTimeout)
				defer t.Stop()
				timeout = t.C
			}
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-timeout:
				failed, err := errorResult("the Gateway changed its tools and the proxy could not re-read them within %s; retry", p.opts.ConnectTimeout)
				return nil, failed, err
			}
		}
		if len(rules) == 0 {
			return nil, nil, nil
		}
		if values != nil && slices.Equal(rules, decided) {
			return values, nil, nil
		}
		if n++; n > maxDecisions {
			failed, err := errorResult("the Gateway's tool list kept changing during the call; retry")
			return nil, failed, err
		}
		decided = rules
		values = make([]ruleValue, 0, len(rules))
		for _, r := range rules {
			s, err := p.secret(ctx, r)
			if err != nil {
				p.log.Warn("secret unavailable", "tool", name, "secret", r.Secret, "source", r.Source, "error", p.redact(err))
				failed, err := errorResult("%s", p.ruleSecretMessage(r, err))
				return nil, failed, err
			}
			values = append(values, ruleValue{r, r.value(s), s})
		}
	}
}

// rulesFor returns the rules the tool list decided for the named tool (none
// for a name it does not have), whether a re-sync the Gateway announced is
// still pending, and the channel closed at the next change.
func (p *Proxy) rulesFor(name string) (rules []*Rule, pending bool, changed <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tools[name], p.lists.announced > p.lists.settled, p.changed
}

// forward sends a tools/call with params and headers on s, bounded by the
// call timeout.
func (p *Proxy) forward(ctx context.Context, s upstreamSession, params []byte, headers callHeaders) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(withCallHeaders(ctx, headers), p.opts.CallTimeout)
	defer cancel()
	res, err := s.call(ctx, "tools/call", params)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, errCallTimeout
	}
	return res, err
}

var errCallTimeout = errors.New("call timed out")

// secret returns one secret, from memory when it was read from the store
// less than SecretTTL ago (a keychain read can cost milliseconds, or a
// process on macOS), and remembers it for scrubbing. A missing secret is
// not remembered, so a login heals the next call; nor is one shorter than
// tokenstore.MinSecretSize, which is an error.
//
// A rule whose source caches its own value (a command's output, an OAuth
// access token: Rule.dynamic) is read from Secrets every time, bounded by
// the source's own timeouts, not SecretTimeout.
func (p *Proxy) secret(ctx context.Context, r *Rule) (tokenstore.Secret, error) {
	name := r.Secret
	if r.dynamic() {
		s, err := p.opts.Secrets.Secret(ctx, name)
		if err != nil {
			return "", err
		}
		return p.checkSecret(name, s)
	}
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
	if s, err = p.checkSecret(name, s); err != nil {
		return "", err
	}
	p.secretsMu.Lock()
	p.secretCache[name] = cachedSecret{value: s, read: timeNow()}
	p.secretsMu.Unlock()
	return s, nil
}

// checkSecret refuses an empty or too short secret and adds the others to
// the scrubber.
func (p *Proxy) checkSecret(name string, s tokenstore.Secret) (tokenstore.Secret, error) {
	if s == "" {
		return "", tokenstore.ErrNotFound
	}
	// A secret shorter than tokenstore.MinSecretSize would be scrubbed out
	// of ordinary words in every result: it is refused, and not scrubbed.
	if err := tokenstore.CheckSize(name, s); err != nil {
		return "", err
	}
	p.scrub.Add(s)
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
	var need *inputError
	if errors.As(err, &need) {
		// Logged where it was decided, without what the Gateway asked.
		return errorResult("%s", need.text)
	}
	p.log.Warn("tool call failed", "tool", tool, "error", p.redact(err))
	var jerr *jsonrpc.Error
	var redirect *httpguard.RedirectError
	switch {
	case errors.Is(err, errCallTimeout):
		return errorResult("the Gateway did not answer within %s (timeouts.call); the call may still complete on the target", p.opts.CallTimeout)
	case errors.Is(err, tokenstore.ErrLoginNeeded):
		return errorResult("the Gateway needs a login: %s", p.loginMessage(err))
	case errors.As(err, &jerr) && jerr.Code == codeInvalidBearer:
		msg := fmt.Sprintf("the Gateway rejected the access token even after a refresh (%s): check that the app client is allowed by the Gateway's authorizer", p.scrub.String(jerr.Message))
		return errorResult("%s", advised(msg, "; ", p.advice(Remedy{Kind: CheckSetup}), ""))
	case errors.As(err, &jerr):
		return nil, &jsonrpc.Error{Code: jerr.Code, Message: p.scrub.String(jerr.Message), Data: p.scrub.ScrubJSON(jerr.Data)}
	case errors.As(err, &redirect):
		// The Gateway answered the POST itself, with a redirect: the call
		// went no further.
		return errorResult("the Gateway answered the call with a redirect (HTTP %d) to %s, which agw-proxy does not follow: the call was not sent on; check gateway_url", redirect.Status, redirect.To)
	}
	return errorResult("the call to the Gateway failed, and may or may not have reached the target: %s", p.redact(err))
}
