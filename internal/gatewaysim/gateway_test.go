package gatewaysim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const listMsg = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`

func TestAuthorizerRejects(t *testing.T) {
	s := start(t, Options{})
	good := machineToken(t, s)
	expired, err := s.MintToken(TokenSpec{IssuedAt: time.Now().Add(-2 * time.Hour), Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer, _ := s.MintToken(TokenSpec{Issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"})
	otherClient := s.Token(t, "someotherclient", s.Scope)
	idToken := s.mintID(s.WebClientID, "")

	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256,
		Key: jose.JSONWebKey{Key: otherKey, KeyID: s.keys.kid}}, nil)
	forged, _ := jwt.Signed(signer).Claims(accessClaims(s.Issuer, s.ClientID, s.ClientID, s.Scope, "", time.Now(), time.Now().Add(time.Hour))).Serialize()

	// The advertised scopes come before resource_metadata, as on the Gateway.
	wantChallenge := `Bearer error="invalid_token", scope="` + s.Scope + `", resource_metadata="` + s.ResourceURL + `"`
	if !strings.HasSuffix(s.ResourceURL, "/.well-known/oauth-protected-resource") {
		t.Fatalf("ResourceURL = %s", s.ResourceURL)
	}
	for _, tc := range []struct {
		name   string
		header string
	}{
		{"missing", ""},
		{"not bearer", "Basic " + good},
		{"garbage", "Bearer not.a.jwt"},
		{"forged signature", "Bearer " + forged},
		{"expired", "Bearer " + expired},
		{"wrong issuer", "Bearer " + otherIssuer},
		{"client not allowed", "Bearer " + otherClient},
		{"id token", "Bearer " + idToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.header != "" {
				hdr["Authorization"] = tc.header
			}
			resp, body := rpc(t, s, "", hdr, listMsg)
			if resp.StatusCode != 401 {
				t.Fatalf("HTTP %d, want 401", resp.StatusCode)
			}
			if string(body) != invalidTokenBody {
				t.Errorf("body = %s, want %s", body, invalidTokenBody)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("WWW-Authenticate = %s, want %s", got, wantChallenge)
			}
		})
	}

	if resp, body := rpc(t, s, good, nil, listMsg); resp.StatusCode != 200 {
		t.Fatalf("valid token: HTTP %d %s", resp.StatusCode, body)
	}
	t.Run("revoked", func(t *testing.T) {
		s.RevokeTokens()
		if resp, body := rpc(t, s, good, nil, listMsg); resp.StatusCode != 401 || string(body) != invalidTokenBody {
			t.Errorf("revoked token: HTTP %d %s, want 401", resp.StatusCode, body)
		}
		if resp, _ := rpc(t, s, machineToken(t, s), nil, listMsg); resp.StatusCode != 200 {
			t.Errorf("token issued after RevokeTokens: HTTP %d, want 200", resp.StatusCode)
		}
	})
	if c := s.Counts(); c.Unauthorized != 9 {
		t.Errorf("Counts.Unauthorized = %d, want 9", c.Unauthorized)
	}
}

func TestAuthorizerScope(t *testing.T) {
	s := start(t, Options{})
	resp, body := rpc(t, s, s.Token(t, s.ClientID, "other-server/write"), nil, listMsg)
	if resp.StatusCode != 403 {
		t.Fatalf("HTTP %d %s, want 403", resp.StatusCode, body)
	}
	if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) {
		t.Errorf("WWW-Authenticate = %s, want insufficient_scope", got)
	}
	// Any one allowed scope is enough.
	if resp, _ := rpc(t, s, s.Token(t, s.ClientID, "other-server/write "+s.Scope), nil, listMsg); resp.StatusCode != 200 {
		t.Errorf("token with one allowed scope among others: HTTP %d, want 200", resp.StatusCode)
	}
}

func TestProtectedResourceMetadata(t *testing.T) {
	s := start(t, Options{})
	resp, err := http.Get(s.ResourceURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HTTP %d, %v", resp.StatusCode, err)
	}
	// Exactly these members: no bearer_methods_supported or anything else.
	want := map[string]any{
		"authorization_servers": []any{s.Issuer},
		"resource":              s.GatewayURL,
		"scopes_supported":      []any{s.Scope},
	}
	if !jsonEqual(meta, want) {
		t.Errorf("metadata = %v, want exactly %v", meta, want)
	}
}

func TestUnknownPathsAnswerUnknownOperation(t *testing.T) {
	s := start(t, Options{})
	base := strings.TrimSuffix(s.GatewayURL, "/mcp")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/.well-known/oauth-authorization-server"},
		{"GET", "/.well-known/openid-configuration"},
		{"POST", "/register"}, // no dynamic client registration
		{"GET", "/"},
		{"POST", "/mcp/extra"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(`{}`))
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || string(body) != "<UnknownOperationException/>\n" {
			t.Errorf("%s %s: HTTP %d %q, want 404 <UnknownOperationException/>", tc.method, tc.path, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			t.Errorf("%s %s: Content-Type %q, want none", tc.method, tc.path, ct)
		}
	}
}

func TestDefaultToolSchema(t *testing.T) {
	s := start(t, Options{})
	cs := connect(t, s, machineToken(t, s), nil)
	res, err := cs.ListTools(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tools) != 1 || res.NextCursor != "" {
		t.Fatalf("tools = %d, cursor %q; want one tool, one page", len(res.Tools), res.NextCursor)
	}
	tool := res.Tools[0]
	if tool.Name != "AgentCoreGwyAPIGatewayTarget___asanaInvoke" || tool.Description == "" {
		t.Errorf("tool = %s %q", tool.Name, tool.Description)
	}
	schema := tool.InputSchema.(map[string]any)
	var props []string
	for k := range schema["properties"].(map[string]any) {
		props = append(props, k)
	}
	slices.Sort(props)
	if want := []string{"X-Asana-Token", "name", "notes", "project", "task_gid", "tool_name", "workspace"}; !slices.Equal(props, want) {
		t.Errorf("properties = %v, want %v (header param and body properties flattened)", props, want)
	}
	if req := schema["required"]; !jsonEqual(req, []any{"X-Asana-Token", "tool_name"}) {
		t.Errorf("required = %v, want [X-Asana-Token tool_name]", req)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// tasksSpec has path, query and header parameters, a $ref'd body and a
// path-level parameter, for the flattening and wire tests.
const tasksSpec = `{
  "openapi": "3.1.0",
  "info": {"title": "tasks", "version": "1"},
  "components": {"schemas": {"Task": {"type": "object", "required": ["title"],
    "properties": {"title": {"type": "string"}, "done": {"type": "boolean"}}}}},
  "paths": {
    "/projects/{project}/tasks": {
      "parameters": [{"name": "project", "in": "path", "required": true, "schema": {"type": "string"}}],
      "post": {
        "operationId": "createTask",
        "summary": "Create a task",
        "parameters": [
          {"name": "X-Asana-Token", "in": "header", "required": true, "schema": {"type": "string"}},
          {"name": "notify", "in": "query", "schema": {"type": "boolean"}}
        ],
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Task"}}}}
      },
      "get": {"operationId": "listTasks", "description": "List tasks",
        "parameters": [{"name": "limit", "in": "query", "required": true, "schema": {"type": "integer"}}]}
    }
  }
}`

func TestFlattenedSchemaAndWire(t *testing.T) {
	s := start(t, Options{Targets: []Target{{
		Name: "Tasks", Spec: []byte(tasksSpec),
		APIKey: "k3y", APIKeyLocation: "HEADER", APIKeyName: "Authorization", APIKeyPrefix: "Token ",
	}}})
	cs := connect(t, s, machineToken(t, s), nil)
	ctx := testCtx(t)
	tools := map[string]*mcp.Tool{}
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		tools[tool.Name] = tool
	}
	create := tools["Tasks___createTask"]
	if create == nil || tools["Tasks___listTasks"] == nil {
		t.Fatalf("tools = %v", tools)
	}
	if create.Description != "Create a task" || tools["Tasks___listTasks"].Description != "List tasks" {
		t.Errorf("descriptions = %q, %q; want summary as fallback, description first", create.Description, tools["Tasks___listTasks"].Description)
	}
	schema := create.InputSchema.(map[string]any)
	if req := schema["required"]; !jsonEqual(req, []any{"X-Asana-Token", "project", "title"}) {
		t.Errorf("required = %v, want operation params, path-level params, then body (union)", req)
	}
	if len(schema["properties"].(map[string]any)) != 5 {
		t.Errorf("properties = %v, want 5", schema["properties"])
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "Tasks___createTask", Arguments: map[string]any{
		"project": "p/1", "notify": true, "X-Asana-Token": "Bearer tok", "title": "Write tests", "done": false,
	}})
	if err != nil || res.IsError {
		t.Fatalf("call: %v %+v", err, res)
	}
	got := s.Received()
	if len(got) != 1 {
		t.Fatalf("backend got %d requests", len(got))
	}
	r := got[0]
	if r.Target != "Tasks" || r.Method != "POST" || r.Path != "/projects/p%2F1/tasks" && r.Path != "/projects/p/1/tasks" {
		t.Errorf("request = %s %s %s", r.Target, r.Method, r.Path)
	}
	if r.Header.Get("X-Asana-Token") != "Bearer tok" || r.Header.Get("Authorization") != "Token k3y" {
		t.Errorf("headers: X-Asana-Token %q, Authorization %q", r.Header.Get("X-Asana-Token"), r.Header.Get("Authorization"))
	}
	if r.Query.Get("notify") != "true" || r.Query.Has("api_key") {
		t.Errorf("query = %v, want notify=true and no api_key", r.Query)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(body, map[string]any{"title": "Write tests", "done": false}) {
		t.Errorf("body = %s, want only the body properties", r.Body)
	}

	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "Tasks___listTasks", Arguments: map[string]any{"limit": 5}}); err != nil {
		t.Fatal(err)
	}
	r = s.Received()[1]
	if r.Method != "GET" || len(r.Body) != 0 || r.Query.Get("limit") != "5" {
		t.Errorf("GET request = %s %v body %q", r.Method, r.Query, r.Body)
	}
}

func TestDefaultTargetWire(t *testing.T) {
	s := start(t, Options{})
	cs := connect(t, s, machineToken(t, s), nil)
	res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{
		Name:      "AgentCoreGwyAPIGatewayTarget___asanaInvoke",
		Arguments: map[string]any{"X-Asana-Token": "Bearer ASANA-TOKEN", "tool_name": "create_task", "name": "n", "project": "42"},
	})
	if err != nil || res.IsError {
		t.Fatalf("call: %v %+v", err, res)
	}
	r := s.Received()[0]
	if r.Method != "POST" || r.Path != "/asana" || r.Target != DefaultTargetName {
		t.Errorf("request = %s %s (%s)", r.Method, r.Path, r.Target)
	}
	if r.Header.Get("X-Asana-Token") != "Bearer ASANA-TOKEN" {
		t.Error("X-Asana-Token header not sent")
	}
	if r.Query.Get("api_key") != DefaultAPIKey || len(r.Query) != 1 {
		t.Errorf("query = %v, want api_key only", r.Query)
	}
	if strings.Contains(string(r.Body), "ASANA-TOKEN") || !jsonEqual(json.RawMessage(r.Body), map[string]any{"name": "n", "project": "42", "tool_name": "create_task"}) {
		t.Errorf("body = %s, want the body arguments without the header one", r.Body)
	}
	text := callText(t, res)
	var reply map[string]any
	if err := json.Unmarshal([]byte(text), &reply); err != nil || !jsonEqual(reply["received"], map[string]any{"name": "n", "project": "42", "tool_name": "create_task"}) {
		t.Errorf("result text = %s, want the backend's body verbatim", text)
	}
	if strings.Contains(text, "ASANA-TOKEN") {
		t.Error("backend echoed the token without EchoToken")
	}
}

func TestEchoTokenAndSecondTarget(t *testing.T) {
	other := strings.ReplaceAll(tasksSpec, `"3.1.0"`, `"3.0.3"`)
	s := start(t, Options{EchoToken: true, Targets: []Target{
		{Name: DefaultTargetName, Spec: []byte(asanaSpec(t)), APIKey: DefaultAPIKey},
		{Name: "OtherTarget", Spec: []byte(other)},
	}})
	cs := connect(t, s, machineToken(t, s), nil)
	res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: "OtherTarget___createTask",
		Arguments: map[string]any{"project": "1", "title": "t", "X-Asana-Token": "Bearer model-value"}})
	if err != nil || res.IsError {
		t.Fatalf("call: %v %+v", err, res)
	}
	if !strings.Contains(callText(t, res), "Bearer model-value") {
		t.Errorf("result %s does not echo the X-Asana-Token", callText(t, res))
	}
	r := s.Received()[0]
	if r.Target != "OtherTarget" || r.Query.Has("api_key") {
		t.Errorf("request to %s with query %v; want OtherTarget without an API key", r.Target, r.Query)
	}
}

func asanaSpec(t *testing.T) string {
	t.Helper()
	return string(mustDefaultSpec())
}

func TestTargetErrors(t *testing.T) {
	for _, debug := range []bool{false, true} {
		s := start(t, Options{Debug: debug})
		cs := connect(t, s, machineToken(t, s), nil)
		s.FailBackendNext(1, 502)
		res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: "AgentCoreGwyAPIGatewayTarget___asanaInvoke",
			Arguments: map[string]any{"tool_name": "get_task"}})
		if err != nil {
			t.Fatal(err)
		}
		text := callText(t, res)
		if !res.IsError {
			t.Errorf("debug=%v: non-2xx gave isError false", debug)
		}
		if !debug && text != internalErrorText {
			t.Errorf("text = %q, want the generic Gateway message", text)
		}
		if debug && !strings.Contains(text, "502") {
			t.Errorf("debug text = %q, want the target status", text)
		}
		// _meta.debug is a text content object with the same detail.
		if want := map[string]any{"type": "text", "text": text}; debug && !jsonEqual(res.Meta["debug"], want) {
			t.Errorf("_meta.debug = %#v, want %v", res.Meta["debug"], want)
		}
		if _, ok := res.Meta["debug"]; !debug && ok {
			t.Errorf("_meta.debug = %v without Debug", res.Meta["debug"])
		}
	}
}

func TestRejectsUnsupportedSpecs(t *testing.T) {
	for name, spec := range map[string]string{
		"swagger 2":      `{"swagger":"2.0","paths":{}}`,
		"no operationId": `{"openapi":"3.0.0","paths":{"/a":{"get":{}}}}`,
		"not json body":  `{"openapi":"3.0.0","paths":{"/a":{"post":{"operationId":"a","requestBody":{"content":{"text/plain":{}}}}}}}`,
		"oneOf":          `{"openapi":"3.0.0","paths":{"/a":{"post":{"operationId":"a","requestBody":{"content":{"application/json":{"schema":{"oneOf":[]}}}}}}}}`,
		"dangling ref":   `{"openapi":"3.0.0","paths":{"/a":{"post":{"operationId":"a","requestBody":{"$ref":"#/components/requestBodies/x"}}}}}`,
		"not even JSON":  `openapi: 3.0.0`,
	} {
		if _, err := Start(Options{Targets: []Target{{Name: "T", Spec: []byte(spec)}}}); err == nil {
			t.Errorf("%s: Start accepted the spec", name)
		}
	}
}

// manyOpsSpec is an OpenAPI spec with n operations op0 ... op{n-1}.
func manyOpsSpec(n int) []byte {
	paths := map[string]any{}
	for i := range n {
		paths[fmt.Sprintf("/op%d", i)] = map[string]any{"post": map[string]any{
			"operationId": fmt.Sprintf("op%02d", i), "description": "operation",
		}}
	}
	b, _ := json.Marshal(map[string]any{"openapi": "3.0.3", "info": map[string]any{"title": "many", "version": "1"}, "paths": paths})
	return b
}

func TestPaginationIsThirtyPerPage(t *testing.T) {
	s := start(t, Options{Targets: []Target{{Name: "Many", Spec: manyOpsSpec(64)}}, Search: true}) // 65 tools
	cs := connect(t, s, machineToken(t, s), nil)
	ctx := testCtx(t)
	var sizes []int
	cursor := ""
	var names []string
	for {
		res, err := cs.ListTools(ctx, &mcp.ListToolsParams{Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(res.Tools))
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(sizes, []int{30, 30, 5}) {
		t.Errorf("page sizes = %v, want [30 30 5]", sizes)
	}
	if !slices.Equal(names, s.Tools()) {
		t.Errorf("all pages = %v, want %v", names, s.Tools())
	}
	if n := s.Counts().ToolLists; n != 3 {
		t.Errorf("ToolLists = %d, want 3 pages", n)
	}
}

func TestDisableListToolsPagination(t *testing.T) {
	s := start(t, Options{Targets: []Target{{Name: "Many", Spec: manyOpsSpec(64)}}, DisableListToolsPagination: true})
	res, err := connect(t, s, machineToken(t, s), nil).ListTools(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tools) != 64 || res.NextCursor != "" {
		t.Errorf("%d tools, cursor %q; want all 64 in one page", len(res.Tools), res.NextCursor)
	}
}

func TestPageSizeForTests(t *testing.T) {
	s := start(t, Options{PageSize: 2, Search: true, Targets: []Target{
		{Name: DefaultTargetName, Spec: mustDefaultSpec()},
		{Name: "Tasks", Spec: []byte(tasksSpec)},
		{Name: "Tasks2", Spec: []byte(tasksSpec)},
	}}) // 1 + 2 + 2 + search = 6 tools
	cs := connect(t, s, machineToken(t, s), nil)
	ctx := testCtx(t)
	first, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Tools) != 2 || first.NextCursor == "" {
		t.Fatalf("first page: %d tools, cursor %q; want 2 and a cursor", len(first.Tools), first.NextCursor)
	}
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	if len(names) != 6 || !slices.Equal(names, s.Tools()) {
		t.Errorf("all pages = %v, want %v", names, s.Tools())
	}
}

func TestStatelessLikeTheSeedNotebook(t *testing.T) {
	s := start(t, Options{})
	tok := machineToken(t, s)
	// No initialize, no Accept header, a client-invented session id: 200 JSON.
	resp, body := rpc(t, s, tok, map[string]string{"Mcp-Session-Id": "made-up"}, listMsg)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("HTTP %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if !strings.Contains(string(body), "asanaInvoke") {
		t.Errorf("body = %s", body)
	}
	resp, _ = rpc(t, s, tok, nil, initializeMsg)
	if resp.Header.Get("Mcp-Session-Id") != "" {
		t.Error("stateless Gateway issued a session id")
	}
}

func TestProtocolVersions(t *testing.T) {
	s := start(t, Options{})
	tok := machineToken(t, s)
	for _, v := range []string{"2025-03-26", "2025-06-18", "2025-11-25"} {
		_, body := rpc(t, s, tok, nil, strings.Replace(initializeMsg, "2025-06-18", v, 1))
		if !strings.Contains(string(body), `"protocolVersion":"`+v+`"`) {
			t.Errorf("initialize %s: %s", v, body)
		}
	}
	_, body := rpc(t, s, tok, nil, strings.Replace(initializeMsg, "2025-06-18", "2024-11-05", 1))
	if !strings.Contains(string(body), `"protocolVersion":"2025-11-25"`) {
		t.Errorf("initialize 2024-11-05 answered %s, want 2025-11-25", body)
	}
	if resp, _ := rpc(t, s, tok, map[string]string{"MCP-Protocol-Version": "2024-11-05"}, listMsg); resp.StatusCode != 400 {
		t.Errorf("MCP-Protocol-Version 2024-11-05: HTTP %d, want 400", resp.StatusCode)
	}
}

func TestSessions(t *testing.T) {
	s := start(t, Options{Sessions: true})
	tok := machineToken(t, s)
	resp, _ := rpc(t, s, tok, nil, initializeMsg)
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("initialize: HTTP %d, session id %q", resp.StatusCode, id)
	}
	hdr := map[string]string{"Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-06-18"}
	rpc(t, s, tok, hdr, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if resp, body := rpc(t, s, tok, hdr, listMsg); resp.StatusCode != 200 {
		t.Fatalf("tools/list in session: HTTP %d %s", resp.StatusCode, body)
	}
	if resp, _ := rpc(t, s, tok, map[string]string{"Mcp-Session-Id": "unknown"}, listMsg); resp.StatusCode != 404 {
		t.Errorf("unknown session id: HTTP %d, want 404", resp.StatusCode)
	}
	s.DropSessions()
	if resp, _ := rpc(t, s, tok, hdr, listMsg); resp.StatusCode != 404 {
		t.Errorf("dropped session: HTTP %d, want 404", resp.StatusCode)
	}
	// The SDK client sees the 404 as a lost session.
	cs := connect(t, s, tok, nil)
	s.DropSessions()
	if _, err := cs.ListTools(testCtx(t), nil); !errors.Is(err, mcp.ErrSessionMissing) {
		t.Errorf("after DropSessions: %v, want ErrSessionMissing", err)
	}
}

func TestStreaming(t *testing.T) {
	for _, sessions := range []bool{false, true} {
		s := start(t, Options{Streaming: true, Sessions: sessions})
		tok := machineToken(t, s)
		resp, body := rpc(t, s, tok, map[string]string{"Accept": "application/json, text/event-stream"}, initializeMsg)
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || !strings.HasPrefix(string(body), "event: message") && !strings.Contains(string(body), "data: ") {
			t.Errorf("sessions=%v: Content-Type %q body %q, want SSE", sessions, ct, body)
		}
		if !sessions {
			resp, _ := rpc(t, s, tok, map[string]string{"Accept": "application/json"}, initializeMsg)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Accept: application/json got %q, want JSON", ct)
			}
		}
		// The go-sdk client works over SSE too.
		cs := connect(t, s, tok, nil)
		if _, err := cs.ListTools(testCtx(t), nil); err != nil {
			t.Errorf("sessions=%v: ListTools over SSE: %v", sessions, err)
		}
	}
}

func TestToolListChanged(t *testing.T) {
	s := start(t, Options{Sessions: true, Streaming: true})
	changed := make(chan struct{}, 10)
	cs := connect(t, s, machineToken(t, s), &mcp.ClientOptions{
		ToolListChangedHandler: func(ctx context.Context, req *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	})
	ctx := testCtx(t)
	if _, err := cs.ListTools(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTarget(Target{Name: "Tasks", Spec: []byte(tasksSpec)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no tools/list_changed after AddTarget")
	}
	res, err := cs.ListTools(ctx, nil)
	if err != nil || len(res.Tools) != 3 {
		t.Fatalf("after AddTarget: %v, %d tools, want 3", err, len(res.Tools))
	}
	s.RemoveTarget("Tasks")
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no tools/list_changed after RemoveTarget")
	}
	if got := s.Tools(); len(got) != 1 {
		t.Errorf("Tools() = %v after RemoveTarget", got)
	}
}

func TestSearchTool(t *testing.T) {
	s := start(t, Options{Search: true, Targets: []Target{
		{Name: DefaultTargetName, Spec: mustDefaultSpec()},
		{Name: "Tasks", Spec: []byte(tasksSpec)},
	}})
	cs := connect(t, s, machineToken(t, s), nil)
	res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: SearchToolName, Arguments: map[string]any{"query": "create a task"}})
	if err != nil || res.IsError {
		t.Fatalf("search: %v %+v", err, res)
	}
	var fromText struct {
		Tools []*mcp.Tool `json:"tools"`
	}
	if err := json.Unmarshal([]byte(callText(t, res)), &fromText); err != nil {
		t.Fatalf("content[0].text is not the tools JSON: %v", err)
	}
	structured, _ := json.Marshal(res.StructuredContent)
	if !jsonEqual(json.RawMessage(structured), fromText) {
		t.Errorf("structuredContent %s differs from content[0].text", structured)
	}
	if len(fromText.Tools) == 0 || fromText.Tools[0].Name != "Tasks___createTask" {
		t.Fatalf("search results = %v, want Tasks___createTask first", fromText.Tools)
	}
	schema, _ := json.Marshal(fromText.Tools[0].InputSchema)
	if !strings.Contains(string(schema), `"X-Asana-Token"`) {
		t.Errorf("search result lacks the full inputSchema: %s", schema)
	}
	for _, tool := range fromText.Tools {
		if tool.Name == SearchToolName {
			t.Error("search returned itself")
		}
	}
}

func TestAllowedClients(t *testing.T) {
	s := start(t, Options{ClientID: "machineclient", ClientSecret: "s3cret", WebClientID: "webclient",
		AllowedClients: []string{"machineclient"}}) // like the seed: the machine client only
	if s.ClientID != "machineclient" || s.ClientSecret != "s3cret" || s.WebClientID != "webclient" {
		t.Fatalf("client ids %s/%s not taken from Options", s.ClientID, s.WebClientID)
	}
	if resp, _ := rpc(t, s, machineToken(t, s), nil, listMsg); resp.StatusCode != 200 {
		t.Errorf("machine client: HTTP %d, want 200", resp.StatusCode)
	}
	if resp, _ := rpc(t, s, s.Token(t, "webclient", s.Scope), nil, listMsg); resp.StatusCode != 401 {
		t.Errorf("web client outside allowedClients: HTTP %d, want 401", resp.StatusCode)
	}
	any := start(t, Options{AllowedClients: []string{}})
	if resp, _ := rpc(t, any, any.Token(t, "whoever", any.Scope), nil, listMsg); resp.StatusCode != 200 {
		t.Errorf("empty allowedClients: HTTP %d, want any client let in", resp.StatusCode)
	}
}
