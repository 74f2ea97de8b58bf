package gatewaysim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Protocol versions the Gateway accepts (supportedVersions), in the order
// its documentation lists them.
var protocolVersions = []string{modernVersion, "2025-11-25", "2025-06-18", "2025-03-26"}

// modernVersion is the first stateless MCP revision: requests carry their
// version in _meta and the MCP-Protocol-Version header, no session.
const modernVersion = "2026-07-28"

// ProtocolVersions returns the MCP versions the Gateway accepts, newest
// first.
func ProtocolVersions() []string { return slices.Clone(protocolVersions) }

// The authorizer's 401 body, byte for byte what the Gateway sends.
const invalidTokenBody = `{"jsonrpc":"2.0","id":0,"error":{"code":-32001,"message":"Invalid Bearer token"}}`

// The 403 body for a token without an allowed scope. The real body was not
// recorded; this mirrors the 401 one.
const insufficientScopeBody = `{"jsonrpc":"2.0","id":0,"error":{"code":-32001,"message":"Insufficient scope"}}`

// simTool is a tool the Gateway lists: an OpenAPI operation or the search tool.
type simTool struct {
	tool *mcp.Tool
	op   *operation // nil for the search tool
}

type targetState struct {
	Target
	tools   []string
	id      string // the control plane's targetId: 10 uppercase alphanumerics
	seq     int    // creation order
	created time.Time
}

func (s *Sim) newGateway() error {
	pageSize := s.opts.PageSize
	if s.opts.DisableListToolsPagination {
		pageSize = 1 << 30 // all in one page
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "agentcore-gateway-sim", Version: "1.0.0"}, &mcp.ServerOptions{
		PageSize:                  pageSize,
		SupportedProtocolVersions: protocolVersions,
		Capabilities:              &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
	})
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			s.mu.Lock()
			switch method {
			case "initialize":
				s.counts.Initializes++
			case "server/discover":
				s.counts.Discovers++
			case "tools/list":
				s.counts.ToolLists++
			case "tools/call":
				s.counts.ToolCalls++
			}
			s.mu.Unlock()
			return next(ctx, method, req)
		}
	})
	if s.opts.EchoCredentials {
		srv.AddReceivingMiddleware(s.echoMiddleware)
	}
	s.mcpServer = srv
	if s.opts.Search {
		s.addSearchTool()
	}

	getServer := func(*http.Request) *mcp.Server { return srv }
	newHandler := func(stateless, json bool) http.Handler {
		return mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{
			Stateless:           stateless,
			JSONResponse:        json,
			MaxRequestBodyBytes: -1, // serveMCP applies Options.MaxRequestBytes
			Logger:              s.log,
		})
	}
	// go-sdk serves 2026-07-28 only on a stateless handler, and the Gateway
	// accepts it with sessions configured too: 2026-07-28 requests always go
	// to a stateless handler, 2025 ones to the stateful one with Sessions.
	s.statelessJSON = newHandler(true, true)
	if s.opts.Streaming {
		s.statelessSSE = newHandler(true, false)
	}
	if s.opts.Sessions {
		// One handler holds the sessions, so the response style is fixed.
		s.stateful = newHandler(false, !s.opts.Streaming)
	}
	return nil
}

// gatewayHandler serves the Gateway host: /mcp behind the CUSTOM_JWT
// authorizer, the protected-resource metadata without auth, and
// <UnknownOperationException/> for anything else.
func (s *Sim) gatewayHandler() http.Handler {
	mux := http.NewServeMux()
	scopes := s.opts.AllowedScopes
	if scopes == nil {
		scopes = []string{}
	}
	meta := func(w http.ResponseWriter, r *http.Request) {
		// Exactly these three members, like the Gateway's document.
		writeJSON(w, http.StatusOK, map[string]any{
			"authorization_servers": []string{s.Issuer},
			"resource":              s.GatewayURL,
			"scopes_supported":      scopes,
		})
	}
	if s.opts.AuthorizerType == AuthorizerCustomJWT {
		// An AWS_IAM Gateway has no OAuth metadata (a guess: it is
		// documented for CUSTOM_JWT only).
		mux.HandleFunc("GET /.well-known/oauth-protected-resource", meta)
		// The path-suffixed form (RFC 9728) is not documented for the Gateway;
		// the emulator keeps serving it as it always has.
		mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", meta)
	}
	mux.HandleFunc("/mcp", s.serveMCP)
	mux.HandleFunc("/", serveUnknownOperation)
	return mux
}

// serveUnknownOperation answers a path the Gateway does not serve
// (/.well-known/oauth-authorization-server, /register: there is no DCR)
// with the body gateway-facts records. The status, the trailing newline,
// no Content-Type and the request id header are a guess, taken from other
// AWS endpoints that answer the same body (HTTP 404, 29 bytes).
func serveUnknownOperation(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = nil // no sniffed text/xml
	w.Header().Set("x-amzn-RequestId", newUUID())
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, unknownOperationBody)
}

// unknownOperationBody is what the Gateway host answers to unknown paths.
const unknownOperationBody = "<UnknownOperationException/>\n"

// The bodies of HTTP 429 and 413 are not documented; these mirror what
// AWS front ends (API Gateway) send and are a guess.
const (
	throttledBody = `{"message":"Too Many Requests"}`
	tooLargeBody  = `{"message":"Request Too Long"}`
)

func (s *Sim) serveMCP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts.MCPRequests++
	fail, throttled := 0, false
	if r.Method == http.MethodPost {
		switch {
		case s.faults.mcpFailN > 0:
			s.faults.mcpFailN--
			fail = s.faults.mcpFailStatus
		case s.faults.throttleN > 0:
			s.faults.throttleN--
			throttled = true
			s.counts.Throttled++
		}
	}
	s.mu.Unlock()
	if fail != 0 {
		writeJSON(w, fail, map[string]string{"message": http.StatusText(fail)})
		return
	}
	if throttled {
		writeRaw(w, http.StatusTooManyRequests, throttledBody)
		return
	}
	var body []byte
	if r.Method == http.MethodPost {
		var ok bool
		if body, ok = s.readBody(w, r); !ok {
			return
		}
	}
	r.Header.Del(callerARNHeader) // only the AWS_IAM authorizer sets it
	if s.opts.AuthorizerType == AuthorizerAWSIAM {
		key := s.awsAuth(w, r, body, svcControl, "bedrock-agentcore:InvokeGateway", s.gatewayARN())
		if key == nil {
			s.mu.Lock()
			s.counts.Unauthorized++
			s.mu.Unlock()
			return
		}
		r.Header.Set(callerARNHeader, key.ARN)
		s.serveAuthorizedMCP(w, r, body, &tokenClaims{Claims: jwt.Claims{Subject: key.ARN}})
		return
	}
	claims, status := s.authorize(r)
	if status != http.StatusOK {
		s.mu.Lock()
		s.counts.Unauthorized++
		s.mu.Unlock()
		scope := ""
		if len(s.opts.AllowedScopes) > 0 {
			scope = `, scope="` + strings.Join(s.opts.AllowedScopes, " ") + `"`
		}
		body, challenge := invalidTokenBody, `Bearer error="invalid_token"`+scope+`, resource_metadata="`+s.ResourceURL+`"`
		if status == http.StatusForbidden {
			body = insufficientScopeBody
			challenge = `Bearer error="insufficient_scope"` + scope + `, resource_metadata="` + s.ResourceURL + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeRaw(w, status, body)
		return
	}
	s.serveAuthorizedMCP(w, r, body, claims)
}

// callerARNHeader carries the AWS_IAM caller's ARN from the authorizer to
// the tool handlers (which see the request's headers); a client's own is
// removed first.
const callerARNHeader = "X-Agwsim-Caller-Arn"

// serveAuthorizedMCP serves an MCP request the authorizer let through,
// for the caller of claims (Subject is the caller's identity).
func (s *Sim) serveAuthorizedMCP(w http.ResponseWriter, r *http.Request, body []byte, claims *tokenClaims) {

	// The Gateway does not insist on the Accept header the SDK demands (the
	// seed notebook sends none); it answers JSON unless streaming is on and
	// the client accepts text/event-stream.
	sse := s.opts.Streaming && strings.Contains(strings.Join(r.Header.Values("Accept"), ","), "text/event-stream")
	if r.Method == http.MethodPost {
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Del(mcpQueryHeader)
		if r.URL.RawQuery != "" {
			r.Header.Set(mcpQueryHeader, r.URL.RawQuery)
		}
	}
	stateless := !s.opts.Sessions || isModern(r, body)
	if stateless {
		r = r.WithContext(context.WithValue(r.Context(), httpRequestKey{}, r.Context()))
	}

	if r.Method == http.MethodGet && !s.opts.Streaming {
		// Without streaming there is no standalone SSE stream to open.
		w.Header().Set("Allow", "POST")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	h := s.stateful
	switch {
	case stateless && sse:
		h = s.statelessSSE
	case stateless:
		h = s.statelessJSON
	default:
		if !s.checkSession(w, r, claims.Subject) {
			return
		}
		if r.Header.Get(sessionIDHeader) == "" {
			w = s.recordNewSession(w, claims.Subject)
		}
	}
	if r.Method == http.MethodPost && s.takeReset(body) {
		s.serveAndReset(h, w, r)
		return
	}
	h.ServeHTTP(w, r)
}

// readBody reads a POST body within Options.MaxRequestBytes, answering 413
// (and false) beyond it, and puts it back for the MCP handler.
func (s *Sim) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	limit := s.opts.MaxRequestBytes
	tooLarge := func() ([]byte, bool) {
		s.mu.Lock()
		s.counts.TooLarge++
		s.mu.Unlock()
		writeRaw(w, http.StatusRequestEntityTooLarge, tooLargeBody)
		return nil, false
	}
	rd := io.Reader(r.Body)
	if limit > 0 {
		if r.ContentLength > limit {
			return tooLarge()
		}
		rd = io.LimitReader(r.Body, limit+1)
	}
	body, err := io.ReadAll(rd)
	r.Body.Close()
	if err != nil {
		http.Error(w, "failed to read body", http.StatusBadRequest)
		return nil, false
	}
	if limit > 0 && int64(len(body)) > limit {
		return tooLarge()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

// isModern reports whether a request speaks 2026-07-28 or later (by its
// MCP-Protocol-Version header or its _meta), or is a server/discover: the
// stateless protocol, which the Gateway serves whatever its session
// configuration. go-sdk then checks the header against the body.
func isModern(r *http.Request, body []byte) bool {
	if v := r.Header.Get("Mcp-Protocol-Version"); v >= modernVersion {
		return true
	}
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Meta map[string]json.RawMessage `json:"_meta"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil {
		return false
	}
	if msg.Method == "server/discover" {
		return true
	}
	var v string
	json.Unmarshal(msg.Params.Meta[mcp.MetaKeyProtocolVersion], &v)
	return v >= modernVersion
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// tokenClaims are the claims the authorizer looks at.
type tokenClaims struct {
	jwt.Claims
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope"`
	OriginJTI string `json:"origin_jti"` // a user's login (its refresh token family)
}

// authorize is the CUSTOM_JWT authorizer: signature against the pool's
// JWKS, exp, iss, client_id in allowedClients, any allowed scope. It
// returns the token's claims and 200, or 401 or 403.
func (s *Sim) authorize(r *http.Request) (*tokenClaims, int) {
	c, status, reason := s.checkToken(r.Header.Get("Authorization"))
	if status != http.StatusOK {
		s.log.Debug("gatewaysim: authorizer rejected a request", "status", status, "reason", reason)
	}
	return c, status
}

func (s *Sim) checkToken(authz string) (claims *tokenClaims, status int, reason string) {
	scheme, raw, ok := strings.Cut(authz, " ")
	raw = strings.TrimSpace(raw)
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return nil, http.StatusUnauthorized, "no bearer token"
	}
	c, err := s.verified(raw)
	if err != nil {
		return nil, http.StatusUnauthorized, err.Error()
	}
	if c.Expiry == nil || !s.now().Before(c.Expiry.Time()) {
		return nil, http.StatusUnauthorized, "expired"
	}
	if c.Issuer != s.Issuer {
		return nil, http.StatusUnauthorized, "issuer"
	}
	s.mu.Lock()
	live := s.issued[c.ID]
	revoked := s.opts.AuthorizerChecksRevocation && c.OriginJTI != "" && s.originRevoked[c.OriginJTI]
	s.mu.Unlock()
	if !live {
		return nil, http.StatusUnauthorized, "revoked"
	}
	if revoked {
		return nil, http.StatusUnauthorized, "refresh token revoked"
	}
	if len(s.opts.AllowedAudience) > 0 && !slices.ContainsFunc(c.Audience, func(a string) bool {
		return slices.Contains(s.opts.AllowedAudience, a)
	}) {
		return nil, http.StatusUnauthorized, "audience not allowed"
	}
	if len(s.opts.AllowedClients) > 0 && !slices.Contains(s.opts.AllowedClients, c.ClientID) {
		return nil, http.StatusUnauthorized, "client not allowed"
	}
	if len(s.opts.AllowedScopes) > 0 && !slices.ContainsFunc(strings.Fields(c.Scope), func(sc string) bool {
		return slices.Contains(s.opts.AllowedScopes, sc)
	}) {
		return nil, http.StatusForbidden, "no allowed scope"
	}
	return c, http.StatusOK, ""
}

// verified checks a token's signature, remembering tokens already checked
// (an RSA verification costs more than the rest of a request).
func (s *Sim) verified(raw string) (*tokenClaims, error) {
	s.mu.Lock()
	c, ok := s.verifiedTokens[raw]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("malformed")
	}
	c = new(tokenClaims)
	if err := tok.Claims(&s.keys.jwks, c); err != nil {
		return nil, fmt.Errorf("signature")
	}
	s.mu.Lock()
	if len(s.verifiedTokens) > 10000 {
		clear(s.verifiedTokens)
	}
	s.verifiedTokens[raw] = c
	s.mu.Unlock()
	return c, nil
}

// takeReset reports whether this request (its body) is a tools/call that
// a pending ResetNext should cut off.
func (s *Sim) takeReset(body []byte) bool {
	s.mu.Lock()
	pending := s.faults.resetN > 0
	s.mu.Unlock()
	if !pending {
		return false
	}
	var msg struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != "tools/call" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.resetN == 0 {
		return false
	}
	s.faults.resetN--
	return true
}

// serveAndReset runs the call (so the target sees it) and then resets the
// connection instead of answering.
func (s *Sim) serveAndReset(h http.Handler, w http.ResponseWriter, r *http.Request) {
	h.ServeHTTP(&discardWriter{header: http.Header{}}, r)
	hj, ok := w.(http.Hijacker)
	if !ok {
		if u, isWrapper := w.(interface{ Unwrap() http.ResponseWriter }); isWrapper {
			hj, ok = u.Unwrap().(http.Hijacker)
		}
	}
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // RST, not FIN
	}
	conn.Close()
}

type discardWriter struct {
	header http.Header
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// AddTarget adds an OpenAPI target at run time; its tools replace tools of
// the same name. Sessions that can receive notifications get
// notifications/tools/list_changed.
func (s *Sim) AddTarget(t Target) (err error) {
	if t.Name == "" {
		return fmt.Errorf("gatewaysim: target without a name")
	}
	switch t.APIKeyLocation {
	case "":
		t.APIKeyLocation = "QUERY_PARAMETER"
	case "QUERY_PARAMETER", "HEADER":
	default:
		return fmt.Errorf("gatewaysim: target %s: APIKeyLocation %q: want QUERY_PARAMETER or HEADER", t.Name, t.APIKeyLocation)
	}
	if t.APIKeyName == "" {
		t.APIKeyName = "api_key"
	}
	if t.OAuth != nil {
		if t.APIKey != "" {
			return fmt.Errorf("gatewaysim: target %s: one outbound credential provider: APIKey or OAuth, not both", t.Name)
		}
		p := *t.OAuth
		switch p.GrantType {
		case "", "AUTHORIZATION_CODE":
			p.GrantType = "AUTHORIZATION_CODE"
		default:
			return fmt.Errorf("gatewaysim: target %s: OAuth grant type %q: the emulator serves AUTHORIZATION_CODE only", t.Name, p.GrantType)
		}
		p.ProviderName = cmp.Or(p.ProviderName, t.Name)
		if len(p.Scopes) == 0 {
			p.Scopes = []string{"default"}
		}
		p.DefaultReturnURL = cmp.Or(p.DefaultReturnURL, s.ReturnAppURL)
		t.OAuth = &p
	}
	if t.Metadata != nil {
		if err := t.Metadata.validate(t.Name); err != nil {
			return err
		}
	}
	ops, err := parseOpenAPI(t.Name, t.Spec)
	if err != nil {
		return err
	}
	ts := &targetState{Target: t, id: strings.ToUpper(randomString(10, lowerAlnum)), created: s.created}
	s.mu.Lock()
	if old := s.targets[t.Name]; old != nil {
		ts.id, ts.created = old.id, old.created // the same target, updated
	}
	s.targetSeq++
	ts.seq = s.targetSeq
	s.mu.Unlock()
	for _, op := range ops {
		tool := &mcp.Tool{Name: op.name, Description: op.description, InputSchema: op.schema}
		if err := s.addTool(tool, s.operationHandler(op)); err != nil {
			return err
		}
		s.mu.Lock()
		s.tools[op.name] = &simTool{tool: tool, op: op}
		s.mu.Unlock()
		ts.tools = append(ts.tools, op.name)
	}
	s.mu.Lock()
	s.targets[t.Name] = ts
	s.mu.Unlock()
	return nil
}

func (s *Sim) addTool(t *mcp.Tool, h mcp.ToolHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("gatewaysim: tool %s: %v", t.Name, p)
		}
	}()
	s.mcpServer.AddTool(t, h)
	return nil
}

// RemoveTool removes tools by name (notifying sessions, like AddTarget).
func (s *Sim) RemoveTool(names ...string) {
	s.mu.Lock()
	for _, n := range names {
		delete(s.tools, n)
	}
	s.mu.Unlock()
	s.mcpServer.RemoveTools(names...)
}

// RemoveTarget removes a target and all its tools.
func (s *Sim) RemoveTarget(name string) {
	s.mu.Lock()
	ts := s.targets[name]
	delete(s.targets, name)
	s.mu.Unlock()
	if ts != nil {
		s.RemoveTool(ts.tools...)
	}
}

// Tools returns the names of the tools the Gateway lists, sorted.
func (s *Sim) Tools() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.tools))
	for n := range s.tools {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (s *Sim) sessions() []*mcp.ServerSession {
	return slices.Collect(s.mcpServer.Sessions())
}

// DropSessions ends every MCP session, as a Gateway does when it loses
// them: the next request with an old Mcp-Session-Id gets HTTP 404 and
// open SSE streams end. Without Options.Sessions it does nothing.
func (s *Sim) DropSessions() {
	if !s.opts.Sessions {
		return // the only sessions are the per-request ones of stateless calls
	}
	s.forgetSessions()
	for _, ss := range s.sessions() {
		ss.Close()
	}
}

// FailNext makes the Gateway answer the next n POSTs to /mcp with status
// and body {"message":"<status text>"}, before the authorizer runs (GET and
// DELETE are not counted). n <= 0 cancels a pending failure.
func (s *Sim) FailNext(n, status int) {
	s.mu.Lock()
	s.faults.mcpFailN, s.faults.mcpFailStatus = max(n, 0), status
	s.mu.Unlock()
}

// ThrottleNext makes the Gateway answer the next n POSTs to /mcp with HTTP
// 429, as it throttles beyond its rate (200 TPS per gateway), before the
// authorizer runs. The body, {"message":"Too Many Requests"}, is a guess:
// AWS does not document it. n <= 0 cancels pending throttling.
func (s *Sim) ThrottleNext(n int) {
	s.mu.Lock()
	s.faults.throttleN = max(n, 0)
	s.mu.Unlock()
}

// SetDelay delays every tools/call of an OpenAPI target by d before the
// Gateway calls the backend (a slow target). A call cancelled during the
// delay never reaches the backend and counts in Counts.ToolCallsCancelled.
// 0 removes the delay.
func (s *Sim) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.faults.delay = d
	s.mu.Unlock()
}

// ResetNext makes the next n tools/call requests reach the target and then
// lose their connection (TCP RST) instead of a response: the client cannot
// tell whether the call happened.
func (s *Sim) ResetNext(n int) {
	s.mu.Lock()
	s.faults.resetN = max(n, 0)
	s.mu.Unlock()
}

// ResetConnections closes every open client connection to the Gateway,
// idle or busy (in-flight requests and SSE streams fail).
func (s *Sim) ResetConnections() {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// Counts returns a snapshot of the emulator's counters.
func (s *Sim) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}
