package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Results that need the user.
//
// A tool behind the Gateway may need the user's input before it can
// finish: a confirmation, a form, a URL to open. MCP 2026-07-28 says so in
// the result (resultType input_required, with inputRequests and a
// requestState the client echoes on its retry); the 2025 revisions send an
// elicitation/create request on the call's event stream, which the client
// answers. The proxy declares the elicitation capability (form and url) to
// the Gateway in both revisions, before it knows its client: whatever the
// client, it can answer, either by relaying the request to a client that
// declared the capability, in the client's revision, or by ending the call
// with an isError result that says what the Gateway asked for.
//
//   - 2026-07-28 Gateway, 2026-07-28 client: the input_required result
//     passes as it came; the client's retry carries its inputResponses and
//     requestState to the Gateway, with the secrets injected again.
//   - 2026-07-28 Gateway, 2025 client: the proxy asks the client
//     (elicitation/create through the SDK's server session) and retries the
//     call with the answers, at most maxInputRounds times.
//   - 2025 Gateway, 2025 client: the Gateway's request is relayed, and the
//     client's answer posted back to the Gateway on the session.
//   - 2025 Gateway, 2026-07-28 client: the upstream call is parked (it waits
//     for the answer, within timeouts.call) and the client gets an
//     input_required result carrying the Gateway's request and a
//     requestState that names the parked call (random, not guessable, no
//     secret in it); its retry answers the Gateway and gets the call's
//     result, or the next request.
//
// A client without the capability (or without the mode asked for) gets
// the isError result; a 2025 Gateway's request is answered with an error
// and the call cancelled, so that nothing waits for an answer that cannot
// come. Only elicitation is relayed: the proxy declares no sampling or
// roots.

// maxInputRounds bounds the requests for input one call may make (the
// go-sdk client's bound on multi-round-trip retries): a Gateway that asks
// without end is answered with an isError result.
const maxInputRounds = 10

// maxParked bounds the calls parked for a 2026-07-28 client's answer.
const maxParked = 64

// parkedStatePrefix starts every requestState the proxy hands out, so that
// a retry is known for the proxy's own and not sent to the Gateway.
const parkedStatePrefix = "agw-proxy-input."

// inputKey is the key of the one input request in an input_required result
// the proxy makes of a 2025 Gateway's request.
const inputKey = "gateway"

// upstreamElicitation is the elicitation capability the proxy declares to
// the Gateway.
var upstreamElicitation = &mcp.ElicitationCapabilities{Form: &mcp.FormElicitationCapabilities{}, URL: &mcp.URLElicitationCapabilities{}}

// upstreamCapabilities is the clientCapabilities of every 2026-07-28
// request to the Gateway.
const upstreamCapabilities = `{"elicitation":{"form":{},"url":{}}}`

// A caller is what a call knows of the client that made it.
type caller struct {
	stateless bool                         // speaks 2026-07-28
	elicit    *mcp.ElicitationCapabilities // nil: the client cannot ask the user
	ss        *mcp.ServerSession           // a 2025 client's session, through which it is asked
}

// statelessCaller is the caller of a 2026-07-28 request with the client
// capabilities caps (checked to be an object by readStateless).
func statelessCaller(caps json.RawMessage) caller {
	var c mcp.ClientCapabilities
	_ = json.Unmarshal(caps, &c)
	return caller{stateless: true, elicit: c.Elicitation}
}

// sessionCaller is the caller of a request on the 2025 session ss.
func sessionCaller(ss *mcp.ServerSession) caller {
	c := caller{ss: ss}
	if ss != nil {
		if ip := ss.InitializeParams(); ip != nil && ip.Capabilities != nil {
			c.elicit = ip.Capabilities.Elicitation
		}
	}
	return c
}

// canAsk reports whether the client can be asked the input request (method
// and params), as the go-sdk server decides it: elicitation/create in a
// mode the client declared ({} means form).
func (c caller) canAsk(method string, params json.RawMessage) bool {
	if method != "elicitation/create" || c.elicit == nil || (!c.stateless && c.ss == nil) {
		return false
	}
	if elicitMode(params) == "url" {
		return c.elicit.URL != nil
	}
	return c.elicit.Form != nil || c.elicit.URL == nil
}

// elicitMode is the mode of elicitation params: as given, else url when
// they carry a URL or an elicitation id, else form.
func elicitMode(params json.RawMessage) string {
	var p struct {
		Mode          string `json:"mode"`
		URL           string `json:"url"`
		ElicitationID string `json:"elicitationId"`
	}
	_ = json.Unmarshal(params, &p)
	switch {
	case p.Mode != "":
		return p.Mode
	case p.URL != "" || p.ElicitationID != "":
		return "url"
	}
	return "form"
}

// describeInput says what an input request asks for, for a client that
// cannot answer it: the message and, for a form, the fields' names, for a
// URL, the URL.
func describeInput(method string, params json.RawMessage) string {
	if method != "elicitation/create" {
		return "a " + method + " request"
	}
	var p struct {
		Message         string `json:"message"`
		URL             string `json:"url"`
		RequestedSchema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"requestedSchema"`
	}
	_ = json.Unmarshal(params, &p)
	msg := strings.TrimSpace(p.Message)
	if msg == "" {
		msg = "(no message)"
	}
	if elicitMode(params) == "url" {
		return fmt.Sprintf("%s (URL: %s)", msg, p.URL)
	}
	fields := make([]string, 0, len(p.RequestedSchema.Properties))
	for name := range p.RequestedSchema.Properties {
		fields = append(fields, name)
	}
	if len(fields) == 0 {
		return msg
	}
	slices.Sort(fields)
	return fmt.Sprintf("%s (fields: %s)", msg, strings.Join(fields, ", "))
}

// An inputError ends a call that needed input it could not get; its text
// is the isError result's.
type inputError struct{ text string }

func (e *inputError) Error() string { return e.text }

// cannotGive is the inputError for input the client cannot give.
func cannotGive(descriptions ...string) *inputError {
	return &inputError{"the Gateway asked for input the client cannot give: " + strings.Join(descriptions, "; ")}
}

var errTooManyRounds = &inputError{fmt.Sprintf("the Gateway asked for input more than %d times in one call; the call was given up", maxInputRounds)}

// refusal is the answer to a 2025 Gateway's request the client cannot
// answer, as the go-sdk client without a handler gives it.
var refusal = &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "agw-proxy: the client cannot answer this request (it declared no such capability)"}

// An inputHandler answers a request the Gateway sends on a call's event
// stream (2025 sessions): with a result or a JSON-RPC error to post back.
// A non-nil end ends the call after the answer (none is posted when both
// are nil).
type inputHandler func(ctx context.Context, method string, params json.RawMessage) (result json.RawMessage, rpcErr *jsonrpc.Error, end error)

type inputHandlerKey struct{}

func withInputHandler(ctx context.Context, h inputHandler) context.Context {
	return context.WithValue(ctx, inputHandlerKey{}, h)
}

func inputHandlerFrom(ctx context.Context) inputHandler {
	h, _ := ctx.Value(inputHandlerKey{}).(inputHandler)
	return h
}

// askHandler is the inputHandler of a call whose client answers at once
// (a 2025 client) or not at all.
func (p *Proxy) askHandler(c caller, tool string) inputHandler {
	return func(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, *jsonrpc.Error, error) {
		if method != "elicitation/create" {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: fmt.Sprintf("agw-proxy: %q is not supported", method)}, nil
		}
		if !c.canAsk(method, params) || c.stateless {
			p.log.Info("the Gateway asks for input the client cannot give", "tool", tool, "method", method)
			return nil, refusal, cannotGive(describeInput(method, params))
		}
		p.log.Debug("relaying the Gateway's request for input", "tool", tool, "method", method)
		res, err := p.askClient(ctx, c.ss, params)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			var jerr *jsonrpc.Error
			if !errors.As(err, &jerr) {
				jerr = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "agw-proxy: the client could not answer: " + p.redact(err)}
			}
			return nil, jerr, nil
		}
		return res, nil, nil
	}
}

// askClient asks a 2025 client for the input elicitation params describe,
// and returns its answer (an ElicitResult).
func (p *Proxy) askClient(ctx context.Context, ss *mcp.ServerSession, params json.RawMessage) (json.RawMessage, error) {
	var ep mcp.ElicitParams
	if err := json.Unmarshal(params, &ep); err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "agw-proxy: the elicitation/create params are not valid"}
	}
	res, err := ss.Elicit(ctx, &ep)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// An inputRequest is one entry of an input_required result's inputRequests.
type inputRequest struct {
	key    string
	method string
	params json.RawMessage
}

// inputRequired reads an input_required result: its input requests (sorted
// by key) and its requestState (a JSON value, as it came). ok is false for
// any other result.
func inputRequired(res json.RawMessage) (reqs []inputRequest, state json.RawMessage, ok bool) {
	if !bytes.Contains(res, []byte("input_required")) {
		return nil, nil, false // the hot path: a result that cannot be one
	}
	ms, err := members(res)
	if err != nil {
		return nil, nil, false
	}
	var raw []byte
	for _, m := range ms {
		switch {
		case isString(m.key, "resultType"):
			ok = isString(m.val, "input_required")
		case isString(m.key, "inputRequests"):
			raw = m.val
		case isString(m.key, "requestState"):
			state = m.val
		}
	}
	if !ok {
		return nil, nil, false
	}
	entries, _ := members(raw)
	for _, e := range entries {
		var r struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		var key string
		if json.Unmarshal(e.key, &key) != nil || json.Unmarshal(e.val, &r) != nil {
			continue
		}
		reqs = append(reqs, inputRequest{key: key, method: r.Method, params: r.Params})
	}
	slices.SortFunc(reqs, func(a, b inputRequest) int { return strings.Compare(a.key, b.key) })
	return reqs, state, true
}

// A pendingCall is an upstream tools/call on a 2025 session for a
// 2026-07-28 client that can be asked: it runs apart from the client's
// request, since its answers come on later requests (the retries).
type pendingCall struct {
	tool   string
	asks   chan *inputAsk // the Gateway's requests, to whoever waits for the call
	done   chan struct{}  // closed when the call has ended
	res    json.RawMessage
	typed  bool // res has its own resultType (see callTool)
	err    error
	cancel context.CancelFunc
}

// An inputAsk is a request of the Gateway waiting for its answer.
type inputAsk struct {
	method string
	params json.RawMessage
	answer chan inputAnswer // buffered: whoever answers does not wait
}

type inputAnswer struct {
	result json.RawMessage
	err    *jsonrpc.Error
	end    error
}

// handle is the pending call's inputHandler: it hands each request to the
// call's waiter, which parks it, and waits for the answer.
func (pc *pendingCall) handle(c caller) inputHandler {
	return func(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, *jsonrpc.Error, error) {
		if method != "elicitation/create" {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: fmt.Sprintf("agw-proxy: %q is not supported", method)}, nil
		}
		if !c.canAsk(method, params) {
			return nil, refusal, cannotGive(describeInput(method, params))
		}
		a := &inputAsk{method: method, params: params, answer: make(chan inputAnswer, 1)}
		select {
		case pc.asks <- a:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		select {
		case ans := <-a.answer:
			return ans.result, ans.err, ans.end
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// A parkedInput is a pending call waiting for a 2026-07-28 client's answer
// to ask, by the requestState the client got.
type parkedInput struct {
	pc  *pendingCall
	ask *inputAsk
}

// parkedInputs are the parked calls, by requestState.
type parkedInputs struct {
	mu sync.Mutex
	m  map[string]parkedInput
}

// park records that pc waits for the answer to ask, and returns the
// requestState for it; ok is false when maxParked calls wait already.
func (t *parkedInputs) park(pc *pendingCall, ask *inputAsk) (state string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxParked {
		return "", false
	}
	if t.m == nil {
		t.m = make(map[string]parkedInput)
	}
	// 128 random bits: the state names the parked call and nothing else.
	state = parkedStatePrefix + rand.Text()
	t.m[state] = parkedInput{pc: pc, ask: ask}
	return state, true
}

// take returns, and forgets, the parked call for state and tool.
func (t *parkedInputs) take(state, tool string) (parkedInput, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[state]
	if !ok || e.pc.tool != tool {
		return parkedInput{}, false
	}
	delete(t.m, state)
	return e, true
}

// drop forgets every parked request of pc (it has ended).
func (t *parkedInputs) drop(pc *pendingCall) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.m {
		if e.pc == pc {
			delete(t.m, k)
		}
	}
}

// startPending starts the upstream call params on s apart from the client's
// request, and waits for its first outcome (await).
func (p *Proxy) startPending(ctx context.Context, s upstreamSession, params *callParams, c caller) (json.RawMessage, bool, error) {
	base := p.runCtx
	if base == nil {
		base = context.Background()
	}
	uctx, cancel := context.WithCancel(base)
	pc := &pendingCall{tool: params.Name, asks: make(chan *inputAsk), done: make(chan struct{}), cancel: cancel}
	uctx = withInputHandler(uctx, pc.handle(c))
	go func() {
		defer close(pc.done)
		defer cancel()
		defer p.parked.drop(pc)
		var failed json.RawMessage
		failed, pc.res, pc.typed, pc.err = p.send(uctx, s, params)
		if failed != nil {
			pc.res = failed
		}
	}()
	return p.await(ctx, pc)
}

// await waits for the pending call's result, or for the Gateway's next
// request, which it parks: the client then gets an input_required result
// with it. The client's cancelling (ctx) cancels the call.
func (p *Proxy) await(ctx context.Context, pc *pendingCall) (json.RawMessage, bool, error) {
	select {
	case <-pc.done:
		return pc.res, pc.typed, pc.err
	case a := <-pc.asks:
		state, ok := p.parked.park(pc, a)
		if !ok {
			a.answer <- inputAnswer{err: refusal, end: &inputError{fmt.Sprintf("the Gateway asked for input while %d other calls wait for the user's answers; answer those first", maxParked)}}
			<-pc.done
			return pc.res, pc.typed, pc.err
		}
		p.log.Debug("relaying the Gateway's request for input as input_required", "tool", pc.tool, "method", a.method)
		return parkedResult(a, state), true, nil
	case <-ctx.Done():
		pc.cancel()
		<-pc.done
		return nil, false, ctx.Err()
	}
}

// parkedResult is the input_required result that carries the Gateway's
// request ask to a 2026-07-28 client, with state to retry with.
func parkedResult(a *inputAsk, state string) json.RawMessage {
	method, _ := json.Marshal(a.method)
	st, _ := json.Marshal(state)
	b := make([]byte, 0, len(a.params)+len(state)+128)
	b = append(b, `{"resultType":"input_required","inputRequests":{"`+inputKey+`":{"method":`...)
	b = append(b, method...)
	if len(a.params) > 0 {
		b = append(b, `,"params":`...)
		b = append(b, a.params...)
	}
	b = append(b, `}},"requestState":`...)
	b = append(b, st...)
	return append(b, '}')
}

// resume serves a 2026-07-28 client's retry of a parked call: its answer
// goes to the Gateway, and the retry gets the call's result or its next
// request.
func (p *Proxy) resume(ctx context.Context, params *callParams) (json.RawMessage, bool, error) {
	e, ok := p.parked.take(params.RequestState, params.Name)
	if !ok {
		res, err := errorResult("the requestState of this retry is unknown: it has been used, or its call has ended (a call waits for input at most %s, timeouts.call) or was for another tool; call the tool again without inputResponses and requestState", p.opts.CallTimeout)
		return res, false, err
	}
	answer := member(params.InputResponses, inputKey)
	if answer == nil || bytes.TrimSpace(answer)[0] != '{' {
		// No answer to the question asked: as if the user dismissed it.
		answer = json.RawMessage(`{"action":"cancel"}`)
	}
	e.ask.answer <- inputAnswer{result: answer}
	return p.await(ctx, e.pc)
}

// relayStateless serves a 2026-07-28 Gateway's input_required result res:
// passed to a 2026-07-28 client that can answer every request in it; for a
// 2025 client that can, the answers are asked for and the call retried
// with them; else an isError result. It returns the result the client
// gets, or the params of the retry (retry true).
func (p *Proxy) relayStateless(ctx context.Context, res json.RawMessage, params *callParams, c caller) (out json.RawMessage, retry bool, err error) {
	reqs, state, ok := inputRequired(res)
	if !ok {
		return res, false, nil
	}
	var cannot []string
	for _, r := range reqs {
		if !c.canAsk(r.method, r.params) {
			cannot = append(cannot, describeInput(r.method, r.params))
		}
	}
	switch {
	case len(cannot) > 0:
		p.log.Info("the Gateway asks for input the client cannot give", "tool", params.Name, "requests", len(reqs))
		return nil, false, cannotGive(cannot...)
	case c.stateless:
		return res, false, nil
	}
	p.log.Debug("asking the client for the Gateway's input", "tool", params.Name, "requests", len(reqs))
	answers := make([]byte, 0, 256)
	answers = append(answers, '{')
	for i, r := range reqs {
		wait, cancel := context.WithTimeout(ctx, p.opts.CallTimeout)
		a, err := p.askClient(wait, c.ss, r.params)
		cancel()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil, false, ctx.Err()
			case errors.Is(err, context.DeadlineExceeded):
				return nil, false, &inputError{fmt.Sprintf("the client did not answer the Gateway's request for input within %s (timeouts.call)", p.opts.CallTimeout)}
			}
			return nil, false, &inputError{"the client could not answer the Gateway's request for input: " + p.redact(err)}
		}
		if i > 0 {
			answers = append(answers, ',')
		}
		key, _ := json.Marshal(r.key)
		answers = append(append(append(answers, key...), ':'), a...)
	}
	params.InputResponses = append(answers, '}')
	var s string
	if json.Unmarshal(state, &s) == nil {
		params.RequestState = s
	} else {
		params.RequestState = ""
	}
	return nil, true, nil
}
