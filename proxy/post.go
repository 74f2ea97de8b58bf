package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxResponseSize bounds one response read from the Gateway, and one event
// of an event stream (however many data: lines make it up). The Gateway's
// own limit on a payload is 6 MB.
const maxResponseSize = 32 << 20

// post sends one request on cs's session straight over HTTP, the way the
// SDK's Streamable HTTP client would (same session id, protocol version and
// OAuth handler, including its refresh-and-retry-once on 401), and returns
// the result of the response. Notifications the Gateway sends on the
// request's event stream (progress, log messages) go on to the client.
//
// Errors: a *jsonrpc.Error is the Gateway's answer; one wrapping
// mcp.ErrSessionMissing means the Gateway no longer knows the session and
// did not run the request.
func (p *Proxy) post(ctx context.Context, cs *mcp.ClientSession, method string, params []byte) (json.RawMessage, error) {
	id := "agw-" + strconv.FormatUint(p.seq.Add(1), 10)
	body := make([]byte, 0, len(params)+len(id)+len(method)+48)
	body = append(body, `{"jsonrpc":"2.0","id":"`...)
	body = append(body, id...)
	body = append(body, `","method":"`...)
	body = append(body, method...)
	body = append(body, `","params":`...)
	body = append(body, params...)
	body = append(body, '}')

	resp, err := p.send(ctx, cs, body)
	if err != nil {
		if ctx.Err() != nil {
			// Given up before the answer began (a JSON answer comes whole,
			// when the target is done): the request may be running.
			p.cancelUpstream(cs, id, ctx.Err())
		}
		return nil, err
	}
	defer resp.Body.Close()
	res, err := p.readResponse(ctx, resp, cs.ID() != "", id)
	if err != nil && ctx.Err() != nil {
		p.cancelUpstream(cs, id, ctx.Err())
	}
	return res, err
}

// send POSTs body with the session's headers and a Gateway token; after a
// 401 or 403 the OAuth handler refreshes the token and the request is sent
// once more.
func (p *Proxy) send(ctx context.Context, cs *mcp.ClientSession, body []byte) (*http.Response, error) {
	do := func() (*http.Request, *http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.opts.GatewayURL, bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if ir := cs.InitializeResult(); ir != nil {
			req.Header.Set("MCP-Protocol-Version", ir.ProtocolVersion)
		}
		if sid := cs.ID(); sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
		}
		if h := p.opts.OAuthHandler; h != nil {
			ts, err := h.TokenSource(ctx)
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
		resp, err := p.opts.HTTPClient.Do(req)
		return req, resp, err
	}
	req, resp, err := do()
	if err != nil {
		return nil, err
	}
	if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && p.opts.OAuthHandler != nil {
		if err := p.opts.OAuthHandler.Authorize(ctx, req, resp); err != nil {
			return nil, err
		}
		if _, resp, err = do(); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// readResponse reads the answer to request id from a JSON or event-stream
// response.
func (p *Proxy) readResponse(ctx context.Context, resp *http.Response, hasSession bool, id string) (json.RawMessage, error) {
	if resp.StatusCode == http.StatusNotFound && hasSession {
		return nil, fmt.Errorf("the Gateway answered HTTP 404 for the session: %w", mcp.ErrSessionMissing)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if r, ok := decodeResponse(data); ok && r.Error != nil {
			return nil, r.Error
		}
		return nil, fmt.Errorf("the Gateway answered HTTP %s", resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		return p.readEvents(ctx, resp.Body, id)
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(0, min(resp.ContentLength, maxResponseSize))+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseSize+1))
	data := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("reading the Gateway's answer: %w", err)
	}
	if len(data) > maxResponseSize {
		return nil, fmt.Errorf("the Gateway's answer is larger than %d MiB", maxResponseSize>>20)
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
	if !json.Valid(data) {
		return nil, false
	}
	ms, err := members(data)
	if err != nil {
		return nil, false
	}
	var m wireMessage
	for _, x := range ms {
		switch {
		case isString(x.key, "id"):
			m.ID = x.val
		case isString(x.key, "method"):
			if json.Unmarshal(x.val, &m.Method) != nil {
				return nil, false
			}
		case isString(x.key, "params"):
			m.Params = x.val
		case isString(x.key, "result"):
			m.Result = x.val
		case isString(x.key, "error"):
			if err := json.Unmarshal(x.val, &m.Error); err != nil {
				return nil, false
			}
		}
	}
	return &m, true
}

// readEvents reads a server-sent event stream until the response to id,
// passing notifications on to the client.
func (p *Proxy) readEvents(ctx context.Context, body io.Reader, id string) (json.RawMessage, error) {
	r := bufio.NewReaderSize(body, 32<<10)
	var data []byte
	// event handles one complete event; done reports the answer to id.
	event := func() (res json.RawMessage, err error, done bool) {
		m, ok := decodeResponse(data)
		data = data[:0]
		switch {
		case !ok:
		case m.Method != "":
			p.relay(ctx, m)
		case string(m.ID) == `"`+id+`"` && m.Error != nil:
			return nil, m.Error, true
		case string(m.ID) == `"`+id+`"`:
			return m.Result, nil, true
		}
		return nil, nil, false
	}
	for {
		line, err := readLine(r, maxResponseSize)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading the Gateway's event stream: %w", err)
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			v = bytes.TrimPrefix(v, []byte(" "))
			if len(data)+len(v)+1 > maxResponseSize {
				return nil, fmt.Errorf("an event in the Gateway's event stream is larger than %d MiB", maxResponseSize>>20)
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
			return nil, errors.New("the Gateway's event stream ended without an answer")
		}
	}
}

// relay passes a notification from the Gateway on to the client. Requests
// from the Gateway (sampling, elicitation) are not supported and dropped.
func (p *Proxy) relay(ctx context.Context, m *wireMessage) {
	if p.waitPrimed(ctx) != nil {
		return
	}
	switch m.Method {
	case "notifications/progress":
		// The progress token is the client's own: it was passed through.
		p.mu.Lock()
		conn := p.conn
		p.mu.Unlock()
		if conn != nil && len(m.Params) > 0 {
			msg := append(append([]byte(`{"jsonrpc":"2.0","method":"notifications/progress","params":`), m.Params...), '}')
			_ = conn.writeRaw(msg)
		}
	case "notifications/message":
		var lp mcp.LoggingMessageParams
		if ss := p.session(); ss != nil && json.Unmarshal(m.Params, &lp) == nil {
			_ = ss.Log(ctx, &lp)
		}
	}
}

// cancelUpstream tells the Gateway, best effort, that request id is no
// longer wanted (a session keeps running it otherwise).
func (p *Proxy) cancelUpstream(cs *mcp.ClientSession, id string, reason error) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		params, _ := json.Marshal(map[string]string{"requestId": id, "reason": reason.Error()})
		body := append(append([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":`), params...), '}')
		if resp, err := p.send(ctx, cs, body); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
}
