package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxResponseSize bounds one response read from the Gateway, and one event
// of an event stream (however many data: lines make it up). The Gateway's
// own limit on a payload is 6 MB.
const maxResponseSize = 32 << 20

// maxDiscoverSize bounds the answer to server/discover, a few versions and
// capabilities: a connect attempt that meets a hostile answer holds no
// more than that.
const maxDiscoverSize = 1 << 20

// limit is the bound on the answer to a request with headers h.
func (h wireHeaders) limit() int {
	if h.method == "server/discover" {
		return maxDiscoverSize
	}
	return maxResponseSize
}

// gatewayHTTP carries JSON-RPC messages to the Gateway straight over HTTP,
// the way the SDK's Streamable HTTP client would (same headers and OAuth
// handler, including its refresh-and-retry-once on 401), without decoding
// results: they are passed on as bytes. It is the wire of both upstreams,
// sessionUpstream and statelessUpstream.
type gatewayHTTP struct {
	url    string
	client *http.Client
	oauth  auth.OAuthHandler // nil sends no Authorization
	events upstreamEvents
	seq    atomic.Uint64 // ids of the requests it sends
}

// wireHeaders are the MCP headers of a request; "" omits one.
type wireHeaders struct {
	protocolVersion string // MCP-Protocol-Version
	sessionID       string // Mcp-Session-Id
	method          string // Mcp-Method (2026-07-28)
	name            string // Mcp-Name (2026-07-28, tools/call)
	// params are the Mcp-Param-* headers (2026-07-28, x-mcp-header), by
	// full header name. A value may be an injected secret: nothing logs a
	// request's headers, and the guarded HTTP client follows no redirect
	// of a POST.
	params map[string]string
	// closeCancels: the revision cancels a request by closing its HTTP
	// request (2026-07-28), not with notifications/cancelled.
	closeCancels bool
	// secrets are the header rules' headers (headers.go): set by post on
	// the POST of a tools/call alone.
	secrets callHeaders
	// meta are the members post merges into the params' _meta
	// (2026-07-28: appendWithMeta).
	meta []metaMember
}

// post sends one request with headers h and returns the result of the
// response. Notifications the Gateway sends on the request's event stream
// (progress, log messages, tools/list_changed) go to g.events; its requests
// on a session's stream (elicitation/create) are answered by the
// inputHandler of ctx (input.go), at most maxInputRounds of them. When ctx
// ends before the answer, or the handler ends the call, the Gateway is told
// the request is cancelled: with notifications/cancelled, or
// (h.closeCancels) by the HTTP request's end alone.
//
// Errors: a *jsonrpc.Error is the Gateway's answer; one wrapping
// mcp.ErrSessionMissing means the Gateway no longer knows h's session and
// did not run the request.
func (g *gatewayHTTP) post(ctx context.Context, h wireHeaders, method string, params []byte) (json.RawMessage, error) {
	id := "agw-" + strconv.FormatUint(g.seq.Add(1), 10)
	size := len(params) + len(id) + len(method) + 48
	if h.meta != nil {
		size += metaSize(h.meta)
	}
	body := make([]byte, 0, size)
	body = append(body, `{"jsonrpc":"2.0","id":"`...)
	body = append(body, id...)
	body = append(body, `","method":"`...)
	body = append(body, method...)
	body = append(body, `","params":`...)
	if h.meta != nil {
		var err error
		if body, err = appendWithMeta(body, params, h.meta); err != nil {
			return nil, err
		}
	} else {
		body = append(body, params...)
	}
	body = append(body, '}')

	sent := h
	if method == "tools/call" {
		// Only this POST carries them: h, which the cancellation and the
		// answers on the call's stream are sent with, does not.
		sent.secrets = callHeadersFrom(ctx)
	}
	resp, err := g.send(ctx, sent, body)
	if err != nil {
		if ctx.Err() != nil && !h.closeCancels {
			// Given up before the answer began (a JSON answer comes whole,
			// when the target is done): the request may be running.
			g.cancel(h, id, ctx.Err())
		}
		return nil, err
	}
	defer resp.Body.Close()
	res, err := g.readResponse(ctx, resp, h, id)
	var ended *inputError
	if err != nil && !h.closeCancels {
		switch {
		case ctx.Err() != nil:
			g.cancel(h, id, ctx.Err())
		case errors.As(err, &ended):
			g.cancel(h, id, errors.New("the client cannot give the input asked for"))
		}
	}
	return res, err
}

// send POSTs body with headers h and a Gateway token; after a 401 or 403
// the OAuth handler refreshes the token and the request is sent once more.
func (g *gatewayHTTP) send(ctx context.Context, h wireHeaders, body []byte) (*http.Response, error) {
	do := func() (*http.Request, *http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		// Canonical keys set straight, and the values that recur shared:
		// Header.Set allocates for each (nothing changes a request's
		// header values once it is made).
		req.Header["Content-Type"] = headerJSON
		req.Header["Accept"] = headerAccept
		if h.protocolVersion != "" {
			req.Header["Mcp-Protocol-Version"] = headerValues(h.protocolVersion)
		}
		if h.sessionID != "" {
			req.Header["Mcp-Session-Id"] = []string{h.sessionID}
		}
		if h.method != "" {
			req.Header["Mcp-Method"] = headerValues(h.method)
		}
		if h.name != "" {
			req.Header["Mcp-Name"] = []string{h.name}
		}
		for k, v := range h.params {
			req.Header.Set(k, v)
		}
		for _, s := range h.secrets {
			req.Header.Set(s.name, string(s.value))
		}
		if g.oauth != nil {
			ts, err := g.oauth.TokenSource(ctx)
			if err != nil {
				return nil, nil, err
			}
			if ts != nil {
				tok, err := ts.Token()
				if err != nil {
					return nil, nil, err
				}
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			}
		}
		resp, err := g.roundTrip(req)
		return req, resp, err
	}
	req, resp, err := do()
	if err != nil {
		return nil, err
	}
	if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && g.oauth != nil {
		if err := g.oauth.Authorize(ctx, req, resp); err != nil {
			return nil, err
		}
		if _, resp, err = do(); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// Header values of every request, shared (see send).
var (
	headerJSON      = []string{"application/json"}
	headerAccept    = []string{"application/json, text/event-stream"}
	headerStateless = []string{StatelessProtocolVersion}
	headerSession   = []string{UpstreamProtocolVersion}
	headerCall      = []string{"tools/call"}
	headerList      = []string{"tools/list"}
)

// headerValues returns the values of a header that is v: shared for the
// protocol versions and methods of most requests.
func headerValues(v string) []string {
	switch v {
	case StatelessProtocolVersion:
		return headerStateless
	case UpstreamProtocolVersion:
		return headerSession
	case "tools/call":
		return headerCall
	case "tools/list":
		return headerList
	}
	return []string{v}
}

// readResponse reads the answer to request id from a JSON or event-stream
// response.
func (g *gatewayHTTP) readResponse(ctx context.Context, resp *http.Response, h wireHeaders, id string) (json.RawMessage, error) {
	if resp.StatusCode == http.StatusNotFound && h.sessionID != "" {
		return nil, fmt.Errorf("the Gateway answered HTTP 404 for the session: %w", mcp.ErrSessionMissing)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if r, ok := decodeResponse(data); ok && r.Error != nil {
			return nil, r.Error
		}
		return nil, &statusError{code: resp.StatusCode, status: resp.Status}
	}
	if isEventStream(resp.Header.Get("Content-Type")) {
		return g.readEvents(ctx, resp.Body, h, id)
	}
	limit := h.limit()
	var data []byte
	var err error
	if resp.ContentLength >= 0 {
		buf := bytes.NewBuffer(make([]byte, 0, min(resp.ContentLength, int64(limit))+bytes.MinRead))
		_, err = buf.ReadFrom(io.LimitReader(resp.Body, int64(limit)+1))
		data = buf.Bytes()
	} else {
		// Chunked: io.ReadAll reads into growing chunks and copies them
		// once (a bytes.Buffer doubling from 512 bytes allocated four
		// times a large answer's size).
		data, err = io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Gateway's answer: %w", err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("the Gateway's answer is larger than %d MiB", limit>>20)
	}
	r, ok := decodeResponse(data)
	if !ok || (r.Result == nil && r.Error == nil) {
		return nil, errors.New("the Gateway's answer is not a JSON-RPC response")
	}
	if r.Error != nil {
		return nil, r.Error
	}
	return r.Result, nil
}

// isEventStream reports whether a response's Content-Type is an event
// stream, as internal/httpguard decides it (it bounds the body by that).
func isEventStream(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// A statusError is an HTTP answer other than 2xx that carries no JSON-RPC
// error.
type statusError struct {
	code   int
	status string // "404 Not Found"
}

func (e *statusError) Error() string { return "the Gateway answered HTTP " + e.status }

// wireMessage is any JSON-RPC message from the Gateway.
type wireMessage struct {
	ID     json.RawMessage
	Method string
	Params json.RawMessage
	Result json.RawMessage
	Error  *jsonrpc.Error
}

// decodeResponse reads a JSON-RPC message from the Gateway. Params and
// result stay the bytes they were (slices of data): they are passed on, not
// looked into.
func decodeResponse(data []byte) (*wireMessage, bool) {
	if !validJSON(data) {
		return nil, false
	}
	var m wireMessage
	ok := true
	err := eachMember(data, func(x span) bool {
		switch {
		case isString(x.key, "id"):
			m.ID = x.val
		case isString(x.key, "method"):
			if json.Unmarshal(x.val, &m.Method) != nil {
				ok = false
			}
		case isString(x.key, "params"):
			m.Params = x.val
		case isString(x.key, "result"):
			m.Result = x.val
		case isString(x.key, "error"):
			if err := json.Unmarshal(x.val, &m.Error); err != nil {
				ok = false
			}
		}
		return ok
	})
	if err != nil || !ok {
		return nil, false
	}
	return &m, true
}

// maxPings bounds the pings the Gateway may send during one call (one a
// second for the Gateway's 15-minute invocation limit).
const maxPings = 900

// readEvents reads a server-sent event stream until the response to id,
// passing notifications to g.events and answering the Gateway's requests
// (answer).
func (g *gatewayHTTP) readEvents(ctx context.Context, body io.Reader, h wireHeaders, id string) (json.RawMessage, error) {
	r := bufio.NewReaderSize(body, 32<<10)
	var data []byte
	requests, pings := 0, 0
	// event handles one complete event; done reports the answer to id.
	event := func() (res json.RawMessage, err error, done bool) {
		m, ok := decodeResponse(data)
		data = data[:0]
		switch {
		case !ok:
		case m.Method != "" && len(m.ID) > 0 && !isNull(m.ID):
			// A request of the Gateway. Only a session has a way back for
			// its answer; a stateless revision sends none.
			if h.sessionID == "" {
				break
			}
			// A ping of a long call does not count as a request for
			// input; a flood of them is bounded all the same.
			if m.Method == "ping" {
				if pings++; pings > maxPings {
					return nil, fmt.Errorf("the Gateway sent more than %d pings during one call", maxPings), true
				}
			} else if requests++; requests > maxInputRounds {
				return nil, errTooManyRounds, true
			}
			if err := g.answer(ctx, h, m); err != nil {
				return nil, err, true
			}
		case m.Method == "notifications/tools/list_changed":
			// A request's stream is the only one a stateless revision
			// has; on a session the SDK's stream carries it too.
			g.events.toolsChanged()
		case m.Method != "":
			g.events.notify(ctx, m.Method, m.Params)
		case string(m.ID) == `"`+id+`"` && m.Error != nil:
			return nil, m.Error, true
		case string(m.ID) == `"`+id+`"`:
			return m.Result, nil, true
		}
		return nil, nil, false
	}
	for {
		line, err := readLine(r, h.limit())
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading the Gateway's event stream: %w", err)
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			v = bytes.TrimPrefix(v, []byte(" "))
			if len(data)+len(v)+1 > h.limit() {
				return nil, fmt.Errorf("an event in the Gateway's event stream is larger than %d MiB", h.limit()>>20)
			}
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, v...)
		}
		if (len(line) == 0 || err != nil) && len(data) > 0 {
			if res, err, done := event(); done {
				return res, err
			}
		}
		if err != nil {
			return nil, fmt.Errorf("the Gateway's event stream ended without an answer: %w", io.ErrUnexpectedEOF)
		}
	}
}

// answer answers the Gateway's request m on the session of h: a ping at
// once, anything else by the inputHandler of ctx (a call without one
// answers method not found). An error ends the call: the handler's end, or
// an answer that could not be posted.
func (g *gatewayHTTP) answer(ctx context.Context, h wireHeaders, m *wireMessage) error {
	var res json.RawMessage
	var rpcErr *jsonrpc.Error
	var end error
	handle := inputHandlerFrom(ctx)
	switch {
	case m.Method == "ping":
		res = json.RawMessage(`{}`)
	case handle != nil:
		res, rpcErr, end = handle(ctx, m.Method, m.Params)
	default:
		rpcErr = &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: fmt.Sprintf("agw-proxy: %q is not supported here", m.Method)}
	}
	if res == nil && rpcErr == nil {
		return end
	}
	body := make([]byte, 0, len(res)+len(m.ID)+64)
	body = append(body, `{"jsonrpc":"2.0","id":`...)
	body = append(body, m.ID...)
	if rpcErr != nil {
		e, _ := json.Marshal(rpcErr)
		body = append(append(body, `,"error":`...), e...)
	} else {
		body = append(append(body, `,"result":`...), res...)
	}
	body = append(body, '}')
	resp, err := g.send(ctx, wireHeaders{protocolVersion: h.protocolVersion, sessionID: h.sessionID}, body)
	if err != nil {
		return fmt.Errorf("answering the Gateway's %s request: %w", m.Method, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answering the Gateway's %s request: the Gateway answered HTTP %s", m.Method, resp.Status)
	}
	return end
}

// cancel tells the Gateway, best effort, that request id is no longer
// wanted (a session keeps running it otherwise).
func (g *gatewayHTTP) cancel(h wireHeaders, id string, reason error) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		params, _ := json.Marshal(map[string]string{"requestId": id, "reason": reason.Error()})
		body := append(append([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":`), params...), '}')
		if resp, err := g.send(ctx, h, body); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
}

// roundTrip sends req through the client's transport, as client.Do would,
// without what Do adds for features the proxy's client does not use: a copy
// of the header for redirects (the httpguard transport under every client
// follows the redirects it allows itself; Do never sees one), a timer for
// Client.Timeout, a cookie jar. Like Do, it wraps an error in a *url.Error.
// A client that uses one of them goes through Do.
func (g *gatewayHTTP) roundTrip(req *http.Request) (*http.Response, error) {
	rt := g.client.Transport
	if rt == nil || g.client.Jar != nil || g.client.Timeout != 0 || req.URL.User != nil {
		return g.client.Do(req)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: g.url, Err: err}
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	return resp, nil
}
