// Package hostile is a Gateway that misbehaves on purpose: test support for
// proving what agw-proxy does against an upstream that echoes secrets in
// encodings nobody anticipated, redirects, floods, or lies. It is never
// linked into the agw-proxy binary; only tests import it.
//
// A Server is one loopback HTTP server acting as the AgentCore Gateway (MCP
// over Streamable HTTP at /mcp) and as its Cognito token endpoint
// (/oauth2/token, client_credentials). Unlike internal/gatewaysim it uses no
// MCP library: every answer is bytes written by hand over net/http, so a
// test can make it misbehave exactly. It speaks just enough MCP for the
// proxy: initialize (protocol version 2025-11-25, an optional
// Mcp-Session-Id), notifications (202), tools/list (optionally in pages),
// tools/call, ping, GET (405) and DELETE (200 or 405).
//
// Every JSON-RPC method (and the HTTP methods GET and DELETE, and the token
// endpoint) can be scripted with a Handler that sees what the proxy sent
// (the injected arguments, the Authorization header, the client secret) and
// answers with any status, headers and bytes:
//
//	gw := hostile.Start(t, hostile.Options{})
//	gw.Handle("tools/call", func(r *hostile.Request) *hostile.Response {
//		token, _ := r.Argument("X-Asana-Token")
//		return hostile.Result(r.ID, `{"content":[{"type":"text","text":`+hostile.JSONString(token)+`}]}`)
//	})
package hostile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// ProtocolVersion is the MCP version the Server answers initialize with.
const ProtocolVersion = "2025-11-25"

// Paths of the two endpoints on the Server.
const (
	GatewayPath = "/mcp"
	TokenPath   = "/oauth2/token"
)

// AsanaTool is the tool the Gateway lists by default: the seed tutorial's
// OpenAPI operation, with the X-Asana-Token header argument a proxy rule
// fills.
const AsanaTool = "AgentCoreGwyAPIGatewayTarget___asanaInvoke"

// AsanaToolJSON is AsanaTool's definition as the Gateway lists it.
const AsanaToolJSON = `{"name":"` + AsanaTool + `","description":"Invoke an Asana API operation",` +
	`"inputSchema":{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"tool_name":{"type":"string"}},` +
	`"required":["X-Asana-Token","tool_name"]}}`

// Options configure a Server.
type Options struct {
	// SessionID, if set, is issued on initialize as Mcp-Session-Id.
	SessionID string
	// DeleteStatus answers DELETE (closing the session); 0 means 200.
	DeleteStatus int
	// Tools are the tool definitions tools/list returns, as raw JSON; nil
	// means AsanaToolJSON alone.
	Tools []string
	// PageSize splits tools/list into pages linked by nextCursor; 0 means
	// one page.
	PageSize int
	// NoAuth accepts Gateway requests without the access token.
	NoAuth bool
}

// A Handler answers one request. It returns nil for the Server's default
// answer.
type Handler func(r *Request) *Response

// A Request is what the proxy sent, as the Server saw it.
type Request struct {
	Method string // HTTP method
	Path   string
	Header http.Header
	Body   []byte
	// The JSON-RPC message of a POST to the Gateway, when it is one.
	ID     json.RawMessage // nil for a notification
	RPC    string          // JSON-RPC method
	Params json.RawMessage
	// Form is the token endpoint request's form.
	Form url.Values
	// Context ends when the proxy gives the request up.
	Context context.Context
}

// BearerToken returns the access token of the Authorization header.
func (r *Request) BearerToken() string {
	v, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return v
}

// Arguments returns a tools/call request's arguments.
func (r *Request) Arguments() map[string]json.RawMessage {
	var p struct {
		Arguments map[string]json.RawMessage `json:"arguments"`
	}
	_ = json.Unmarshal(r.Params, &p)
	return p.Arguments
}

// Argument returns a tools/call string argument.
func (r *Request) Argument(name string) (string, bool) {
	raw, ok := r.Arguments()[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// ToolName returns a tools/call request's tool name.
func (r *Request) ToolName() string {
	var p struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(r.Params, &p)
	return p.Name
}

// ProgressToken returns the raw progress token of a request's _meta, if any.
func (r *Request) ProgressToken() json.RawMessage {
	var p struct {
		Meta struct {
			ProgressToken json.RawMessage `json:"progressToken"`
		} `json:"_meta"`
	}
	_ = json.Unmarshal(r.Params, &p)
	return p.Meta.ProgressToken
}

// Client returns the client ID and secret a token request presented, by
// HTTP Basic or in the form.
func (r *Request) Client() (id, secret string) {
	if id, secret, ok := basicAuth(r.Header); ok {
		return id, secret
	}
	return r.Form.Get("client_id"), r.Form.Get("client_secret")
}

func basicAuth(h http.Header) (id, secret string, ok bool) {
	req := &http.Request{Header: h}
	id, secret, ok = req.BasicAuth()
	if !ok {
		return "", "", false
	}
	// OAuth 2 form-encodes both before Basic encoding (RFC 6749 2.3.1).
	if v, err := url.QueryUnescape(id); err == nil {
		id = v
	}
	if v, err := url.QueryUnescape(secret); err == nil {
		secret = v
	}
	return id, secret, true
}

// A Response is what the Server writes: status (0 means 200), headers and
// Body, then, when Stream is set, whatever Stream writes (flushed as it
// goes), for bodies too large or too slow to hold.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	Stream func(w io.Writer) error
}

// A Server is the hostile Gateway and token endpoint. See the package doc.
type Server struct {
	URL          string // the Gateway's MCP endpoint
	TokenURL     string
	Origin       string // scheme://host:port of both
	ClientID     string
	ClientSecret string // 51 characters, like a Cognito app client secret
	AccessToken  string // JWT-shaped, issued by the token endpoint
	Scope        string

	opts Options
	srv  *httptest.Server

	mu         sync.Mutex
	handlers   map[string]Handler
	received   []*Request
	seenSecret string
}

// Start starts a Server for the test and closes it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	t.Cleanup(s.Close)
	return s
}

// New starts a Server; Close stops it.
func New(opts Options) *Server {
	if opts.Tools == nil {
		opts.Tools = []string{AsanaToolJSON}
	}
	s := &Server{
		ClientID:     "hostile" + strings.ToLower(rand.Text()[:14]),
		ClientSecret: clientSecret(),
		AccessToken:  jwtShaped(),
		Scope:        "hostile-gateway/read",
		opts:         opts,
		handlers:     map[string]Handler{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.Origin = s.srv.URL
	s.URL = s.srv.URL + GatewayPath
	s.TokenURL = s.srv.URL + TokenPath
	return s
}

// Close stops the Server, cutting any stream still being written.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Handle scripts name: a JSON-RPC method ("tools/call"), an HTTP method of
// the Gateway endpoint other than POST ("GET", "DELETE"), or "token" for the
// token endpoint. A nil h restores the default.
func (s *Server) Handle(name string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.handlers, name)
		return
	}
	s.handlers[name] = h
}

// HandleToken scripts the token endpoint; Handle("token", h) does the same.
func (s *Server) HandleToken(h Handler) { s.Handle("token", h) }

// Requests returns every request received so far, in order.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Request(nil), s.received...)
}

// Calls returns the JSON-RPC requests of method rpc received so far.
func (s *Server) Calls(rpc string) []*Request {
	var out []*Request
	for _, r := range s.Requests() {
		if r.RPC == rpc {
			out = append(out, r)
		}
	}
	return out
}

// SeenClientSecret returns the client secret last presented to the token
// endpoint, right or wrong.
func (s *Server) SeenClientSecret() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seenSecret
}

func (s *Server) handler(name string) Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handlers[name]
}

func (s *Server) serve(w http.ResponseWriter, hr *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(hr.Body, 256<<20))
	r := &Request{
		Method:  hr.Method,
		Path:    hr.URL.Path,
		Header:  hr.Header.Clone(),
		Body:    body,
		Context: hr.Context(),
	}
	var resp *Response
	switch hr.URL.Path {
	case TokenPath:
		r.Form, _ = url.ParseQuery(string(body))
		s.record(r)
		_, secret := r.Client()
		s.mu.Lock()
		s.seenSecret = secret
		s.mu.Unlock()
		if h := s.handler("token"); h != nil {
			resp = h(r)
		}
		if resp == nil {
			resp = s.token(r)
		}
	case GatewayPath:
		if hr.Method == http.MethodPost {
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			if json.Unmarshal(body, &m) == nil {
				r.ID, r.RPC, r.Params = m.ID, m.Method, m.Params
			}
		}
		s.record(r)
		if !s.opts.NoAuth && r.BearerToken() != s.AccessToken {
			// The Gateway's authorizer, byte for byte.
			resp = &Response{Status: http.StatusUnauthorized, Header: http.Header{
				"Content-Type":     {"application/json"},
				"Www-Authenticate": {`Bearer error="invalid_token"`},
			}, Body: []byte(`{"jsonrpc":"2.0","id":0,"error":{"code":-32001,"message":"Invalid Bearer token"}}`)}
			break
		}
		name := r.RPC
		if hr.Method != http.MethodPost {
			name = hr.Method
		}
		if h := s.handler(name); h != nil {
			resp = h(r)
		}
		if resp == nil {
			resp = s.gateway(r)
		}
	default:
		s.record(r)
		resp = &Response{Status: http.StatusNotFound, Body: []byte("<UnknownOperationException/>")}
	}
	s.write(w, resp)
}

func (s *Server) record(r *Request) {
	s.mu.Lock()
	s.received = append(s.received, r)
	s.mu.Unlock()
}

func (s *Server) write(w http.ResponseWriter, resp *Response) {
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
	if resp.Stream != nil {
		_ = resp.Stream(flushWriter{w})
	}
}

// flushWriter flushes after every write, so a stream reaches the proxy as
// it is written.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// gateway is the default answer of the Gateway endpoint.
func (s *Server) gateway(r *Request) *Response {
	switch {
	case r.Method == http.MethodGet:
		return &Response{Status: http.StatusMethodNotAllowed, Header: http.Header{"Allow": {"POST, DELETE"}}}
	case r.Method == http.MethodDelete:
		status := s.opts.DeleteStatus
		if status == 0 {
			status = http.StatusOK
		}
		return &Response{Status: status}
	case r.Method != http.MethodPost:
		return &Response{Status: http.StatusMethodNotAllowed}
	case r.RPC == "":
		return &Response{Status: http.StatusBadRequest, Header: jsonHeader(),
			Body: []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`)}
	case r.ID == nil:
		return &Response{Status: http.StatusAccepted} // a notification
	}
	switch r.RPC {
	case "initialize":
		resp := Result(r.ID, InitializeResult("1.0.0"))
		if s.opts.SessionID != "" {
			resp.Header.Set("Mcp-Session-Id", s.opts.SessionID)
		}
		return resp
	case "ping":
		return Result(r.ID, `{}`)
	case "tools/list":
		return Result(r.ID, s.toolsPage(r))
	case "tools/call":
		return Result(r.ID, TextResult("ok"))
	}
	return Error(r.ID, -32601, "Method not found", "")
}

// InitializeResult is an initialize result naming version as the server's.
func InitializeResult(version string) string {
	return `{"protocolVersion":"` + ProtocolVersion + `","capabilities":{"tools":{"listChanged":true}},` +
		`"serverInfo":{"name":"hostile-gateway","version":` + JSONString(version) + `}}`
}

// toolsPage returns the page of Options.Tools that the request's cursor asks for.
func (s *Server) toolsPage(r *Request) string {
	var p struct {
		Cursor string `json:"cursor"`
	}
	_ = json.Unmarshal(r.Params, &p)
	return ToolsPage(s.opts.Tools, s.opts.PageSize, p.Cursor)
}

// ToolsPage returns the tools/list result for cursor over tools in pages of
// size (0: one page). Cursors are the page's start index.
func ToolsPage(tools []string, size int, cursor string) string {
	start, _ := strconv.Atoi(cursor)
	start = max(0, min(start, len(tools)))
	end := len(tools)
	if size > 0 {
		end = min(start+size, len(tools))
	}
	out := `{"tools":[` + strings.Join(tools[start:end], ",") + `]`
	if end < len(tools) {
		out += `,"nextCursor":"` + strconv.Itoa(end) + `"`
	}
	return out + `}`
}

// token is the default answer of the token endpoint: Cognito's
// client_credentials grant.
func (s *Server) token(r *Request) *Response {
	if r.Method != http.MethodPost {
		return &Response{Status: http.StatusMethodNotAllowed}
	}
	id, secret := r.Client()
	switch {
	case r.Form.Get("grant_type") != "client_credentials":
		return &Response{Status: http.StatusBadRequest, Header: jsonHeader(), Body: []byte(`{"error":"unsupported_grant_type"}`)}
	case id != s.ClientID || secret != s.ClientSecret:
		return &Response{Status: http.StatusBadRequest, Header: jsonHeader(), Body: []byte(`{"error":"invalid_client"}`)}
	}
	return &Response{Header: jsonHeader(), Body: []byte(`{"access_token":"` + s.AccessToken + `","token_type":"Bearer","expires_in":3600}`)}
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// Result is a JSON response carrying result (raw JSON) for request id.
func Result(id json.RawMessage, result string) *Response {
	return &Response{Header: jsonHeader(), Body: []byte(ResultMessage(id, result))}
}

// ResultMessage is the JSON-RPC response message carrying result.
func ResultMessage(id json.RawMessage, result string) string {
	return `{"jsonrpc":"2.0","id":` + string(id) + `,"result":` + result + `}`
}

// Error is a JSON response carrying a JSON-RPC error; data is raw JSON, or
// empty for none.
func Error(id json.RawMessage, code int, message, data string) *Response {
	return &Response{Header: jsonHeader(), Body: []byte(ErrorMessage(id, code, message, data))}
}

// ErrorMessage is the JSON-RPC error response message; message is put in
// as a JSON string, data (raw JSON) only when not empty.
func ErrorMessage(id json.RawMessage, code int, message, data string) string {
	out := `{"jsonrpc":"2.0","id":` + string(id) + `,"error":{"code":` + strconv.Itoa(code) + `,"message":` + JSONString(message)
	if data != "" {
		out += `,"data":` + data
	}
	return out + `}}`
}

// Notification is a JSON-RPC notification message; params is raw JSON.
func Notification(method, params string) string {
	return `{"jsonrpc":"2.0","method":` + JSONString(method) + `,"params":` + params + `}`
}

// TextResult is a tools/call result with one text item.
func TextResult(text string) string {
	return `{"content":[{"type":"text","text":` + JSONString(text) + `}],"isError":false}`
}

// SSE is an event-stream response with one event per message, in order.
func SSE(messages ...string) *Response {
	var b bytes.Buffer
	for _, m := range messages {
		b.WriteString("event: message\ndata: ")
		b.WriteString(m)
		b.WriteString("\n\n")
	}
	return &Response{Header: http.Header{"Content-Type": {"text/event-stream"}, "Cache-Control": {"no-cache"}}, Body: b.Bytes()}
}

// Redirect is a redirect response with status to location.
func Redirect(status int, location string) *Response {
	return &Response{Status: status, Header: http.Header{"Location": {location}, "Content-Type": {"text/plain"}},
		Body: []byte(http.StatusText(status) + "\n")}
}

// JSONString returns s as a JSON string literal, quotes included, with no
// HTML escaping.
func JSONString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// clientSecret returns 51 random characters from a Cognito client secret's
// alphabet.
func clientSecret() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 51)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// jwtShaped returns an access token shaped like Cognito's: three base64url
// parts, the payload with Cognito's claims, the signature random.
func jwtShaped() string {
	enc := base64.RawURLEncoding
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	header := `{"kid":"hostile-` + strings.ToLower(rand.Text()[:8]) + `","alg":"RS256"}`
	payload := fmt.Sprintf(`{"sub":"hostile","token_use":"access","scope":"hostile-gateway/read","jti":%q,"client_id":"hostile","exp":4102444800}`, rand.Text())
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(sig)
}
