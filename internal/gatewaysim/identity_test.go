package gatewaysim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The 3LO target: OAuth authorization code through AgentCore Identity,
// against an Asana-like provider. Raw HTTP plays the client and the
// browser; go-sdk clients where natural.

const threeLOTarget = "Asana3LO"
const threeLOTool = threeLOTarget + "___asanaInvoke"

func threeLOOptions() Options {
	return Options{Targets: []Target{
		{Name: DefaultTargetName, Spec: mustDefaultSpec(), APIKey: DefaultAPIKey},
		{Name: threeLOTarget, Spec: mustDefaultSpec(), OAuth: &OAuthCredentialProvider{}},
	}}
}

// callMsg is a 2025 tools/call of the 3LO tool, with _meta when given.
func callMsg(meta map[string]any) string {
	params := map[string]any{"name": threeLOTool, "arguments": map[string]any{"tool_name": "list_projects", "X-Asana-Token": "arg-token"}}
	if meta != nil {
		params["_meta"] = meta
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": params})
	return string(b)
}

var v2025 = map[string]string{"MCP-Protocol-Version": "2025-11-25"}

// rpcResult decodes a JSON-RPC answer (JSON body).
type rpcAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func decodeAnswer(t *testing.T, body []byte) rpcAnswer {
	t.Helper()
	var a rpcAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("answer is not JSON-RPC: %v: %s", err, body)
	}
	return a
}

type urlElicitation struct {
	Mode, URL, ElicitationID, Message string
}

// wantElicitation checks a -32042 answer and returns its one elicitation.
func wantElicitation(t *testing.T, s *Sim, body []byte) urlElicitation {
	t.Helper()
	a := decodeAnswer(t, body)
	if a.Error == nil || a.Error.Code != mcp.CodeURLElicitationRequired {
		t.Fatalf("answer %s, want error -32042", body)
	}
	var data struct {
		Elicitations []struct {
			Mode          string `json:"mode"`
			URL           string `json:"url"`
			ElicitationID string `json:"elicitationId"`
			Message       string `json:"message"`
		} `json:"elicitations"`
	}
	if err := json.Unmarshal(a.Error.Data, &data); err != nil || len(data.Elicitations) != 1 {
		t.Fatalf("data %s: want one elicitation (%v)", a.Error.Data, err)
	}
	e := data.Elicitations[0]
	if e.Mode != "url" || !strings.HasPrefix(e.URL, s.IdentityURL+"/identities/oauth2/authorize?") || e.ElicitationID == "" || e.Message == "" {
		t.Fatalf("elicitation %+v: want mode url, Identity's authorization URL, an id and a message", e)
	}
	return urlElicitation{e.Mode, e.URL, e.ElicitationID, e.Message}
}

func backendCalls(s *Sim, target string) []Request {
	var out []Request
	for _, r := range s.Received() {
		if r.Target == target {
			out = append(out, r)
		}
	}
	return out
}

// get loads u without following redirects.
func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestThreeLOConsentThenVaultedTokenReachesBackend(t *testing.T) {
	s := start(t, threeLOOptions())
	tok := machineToken(t, s)
	sub := s.ClientID // a client_credentials token's sub is its client id

	_, body := rpc(t, s, tok, v2025, callMsg(nil))
	e := wantElicitation(t, s, body)
	if n := len(backendCalls(s, threeLOTarget)); n != 0 {
		t.Fatalf("backend got %d calls before consent, want 0", n)
	}

	// The browser, step by step: Identity -> provider consent page.
	resp, _ := get(t, e.URL)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), s.ProviderURL+ProviderAuthorizePath+"?") {
		t.Fatalf("authorization URL: HTTP %d to %q, want 302 to the provider", resp.StatusCode, resp.Header.Get("Location"))
	}
	consent := resp.Header.Get("Location")
	resp, page := get(t, consent)
	if resp.StatusCode != 200 || !strings.Contains(page, `name="decision" value="allow"`) {
		t.Fatalf("consent page: HTTP %d %s", resp.StatusCode, page)
	}
	// Click Allow: post the form.
	cu, _ := url.Parse(consent)
	form := cu.Query()
	form.Set("decision", "allow")
	presp, err := noRedirect.PostForm(s.ProviderURL+ProviderAuthorizePath, form)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	back := presp.Header.Get("Location")
	if presp.StatusCode != http.StatusFound || !strings.HasPrefix(back, s.IdentityURL+"/identities/callback/") {
		t.Fatalf("consent: HTTP %d to %q, want 302 to Identity's callback", presp.StatusCode, back)
	}
	// Identity -> the return URL with the session URI.
	resp, _ = get(t, back)
	ret, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || ret == nil || !strings.HasPrefix(ret.String(), s.ReturnAppURL+"?") ||
		!strings.HasPrefix(ret.Query().Get("session_id"), "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("Identity callback: HTTP %d to %q, want 302 to the return URL with session_id", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := s.VaultedTokens(sub); len(got) != 0 {
		t.Fatalf("vaulted before the session was bound: %v", got)
	}
	// The owner's application binds the session.
	resp, page = get(t, ret.String())
	if resp.StatusCode != 200 || !strings.Contains(page, "Authorization complete") {
		t.Fatalf("return URL: HTTP %d %s", resp.StatusCode, page)
	}
	vaulted := s.VaultedTokens(sub)[threeLOTarget]
	if vaulted == "" {
		t.Fatalf("no token vaulted for %s after consent", sub)
	}
	c := s.Counts()
	if c.ConsentURLs != 1 || c.ConsentURLsOpened != 1 || c.Consents != 1 || c.Bindings != 1 {
		t.Fatalf("counts %+v: want 1 URL, 1 opened, 1 consent, 1 binding", c)
	}

	_, body = rpc(t, s, tok, v2025, callMsg(nil))
	if a := decodeAnswer(t, body); a.Error != nil || bytes.Contains(a.Result, []byte(`"isError":true`)) {
		t.Fatalf("call after consent: %s", body)
	}
	calls := backendCalls(s, threeLOTarget)
	if len(calls) != 1 || calls[0].Header.Get("Authorization") != "Bearer "+vaulted {
		t.Fatalf("backend got %d calls, Authorization %q; want one with the vaulted token", len(calls), calls[0].Header.Get("Authorization"))
	}
	if calls[0].Query.Has("api_key") {
		t.Fatal("a 3LO target's call carries an API key")
	}
}

func TestThreeLOBackendTakesOnlyProviderTokens(t *testing.T) {
	s := start(t, threeLOOptions())
	for _, authz := range []string{"", "Bearer not-from-the-provider", "Bearer " + machineToken(t, s)} {
		req, _ := http.NewRequest("POST", s.BackendURL+"/"+threeLOTarget+"/asana", strings.NewReader(`{}`))
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("backend with %.20q: HTTP %d, want 401", authz, resp.StatusCode)
		}
	}
}

func TestThreeLOModernInputRequired(t *testing.T) {
	s := start(t, threeLOOptions())
	tok := machineToken(t, s)
	msg := modernMsg("tools/call", map[string]any{"name": threeLOTool, "arguments": map[string]any{"tool_name": "x"}})
	_, body := rpc(t, s, tok, modernHeaders("tools/call", threeLOTool), msg)
	a := decodeAnswer(t, body)
	if a.Error != nil {
		t.Fatalf("2026-07-28 call: error %s, want an input_required result", body)
	}
	var res struct {
		ResultType    string `json:"resultType"`
		InputRequests map[string]struct {
			Method string `json:"method"`
			Params struct {
				Mode, URL, ElicitationID, Message string
			} `json:"params"`
		} `json:"inputRequests"`
	}
	json.Unmarshal(a.Result, &res)
	if res.ResultType != "input_required" || len(res.InputRequests) != 1 {
		t.Fatalf("result %s: want resultType input_required with one input request", a.Result)
	}
	for id, ir := range res.InputRequests {
		p := ir.Params
		if ir.Method != "elicitation/create" || p.Mode != "url" || p.ElicitationID != id ||
			!strings.HasPrefix(p.URL, s.IdentityURL+"/identities/oauth2/authorize?") || p.Message == "" {
			t.Fatalf("input request %q: %+v", id, ir)
		}
		if _, err := ConsentInBrowser(testCtx(t), nil, p.URL, "allow"); err != nil {
			t.Fatal(err)
		}
	}
	_, body = rpc(t, s, tok, modernHeaders("tools/call", threeLOTool), msg)
	if !bytes.Contains(body, []byte(`"resultType":"complete"`)) || bytes.Contains(body, []byte(`"isError":true`)) {
		t.Fatalf("after consent: %s", body)
	}
}

// A go-sdk client of each revision sees the consent request the way its
// revision expresses it, and succeeds once the user consented.
func TestThreeLOGoSDKClients(t *testing.T) {
	ctx := testCtx(t)
	t.Run("2025-11-25", func(t *testing.T) {
		s := start(t, threeLOOptions())
		cs := connect(t, s, machineToken(t, s), &mcp.ClientOptions{
			Capabilities: &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{URL: &mcp.URLElicitationCapabilities{}}},
		})
		params := &mcp.CallToolParams{Name: threeLOTool, Arguments: map[string]any{"tool_name": "get_task"}}
		_, err := cs.CallTool(ctx, params)
		var rpcErr *jsonrpc.Error
		if !errors.As(err, &rpcErr) || rpcErr.Code != mcp.CodeURLElicitationRequired {
			t.Fatalf("CallTool: %v, want -32042", err)
		}
		var data struct{ Elicitations []*mcp.ElicitParams }
		if err := json.Unmarshal(rpcErr.Data, &data); err != nil || len(data.Elicitations) != 1 || data.Elicitations[0].Mode != "url" {
			t.Fatalf("data %s", rpcErr.Data)
		}
		if _, err := ConsentInBrowser(ctx, nil, data.Elicitations[0].URL, "allow"); err != nil {
			t.Fatal(err)
		}
		res, err := cs.CallTool(ctx, params)
		if err != nil || res.IsError {
			t.Fatalf("after consent: %v %+v", err, res)
		}
	})
	t.Run("2026-07-28", func(t *testing.T) {
		s := start(t, threeLOOptions())
		transport := &mcp.StreamableClientTransport{
			Endpoint:   s.GatewayURL,
			HTTPClient: &http.Client{Transport: bearer{machineToken(t, s), http.DefaultTransport}},
			MaxRetries: -1,
		}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, &mcp.ClientOptions{
			MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true},
		}).Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: "2026-07-28"})
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		params := &mcp.CallToolParams{Name: threeLOTool, Arguments: map[string]any{"tool_name": "get_task"}}
		res, err := cs.CallTool(ctx, params)
		if err != nil || !res.NeedsInput() || len(res.InputRequests) != 1 {
			t.Fatalf("CallTool: %v %+v, want input_required", err, res)
		}
		for _, ir := range res.InputRequests {
			ep, ok := ir.(*mcp.ElicitParams)
			if !ok || ep.Mode != "url" {
				t.Fatalf("input request %T %+v", ir, ir)
			}
			if _, err := ConsentInBrowser(ctx, nil, ep.URL, "allow"); err != nil {
				t.Fatal(err)
			}
		}
		res, err = cs.CallTool(ctx, params)
		if err != nil || res.NeedsInput() || res.IsError {
			t.Fatalf("after consent: %v %+v", err, res)
		}
	})
}

func TestThreeLOConsentURLExpires(t *testing.T) {
	s := start(t, threeLOOptions())
	tok := machineToken(t, s)
	_, body := rpc(t, s, tok, v2025, callMsg(nil))
	e := wantElicitation(t, s, body)
	s.SetClockSkew(ConsentURLLifetime + time.Second)
	resp, page := get(t, e.URL)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "expired") {
		t.Fatalf("expired URL: HTTP %d %s, want 400 saying it expired", resp.StatusCode, page)
	}
	if _, err := ConsentInBrowser(testCtx(t), nil, e.URL, "allow"); err == nil {
		t.Fatal("consent through an expired URL succeeded")
	}
	if c := s.Counts(); c.ConsentURLsExpired == 0 || c.Consents != 0 || len(s.VaultedTokens(s.ClientID)) != 0 {
		t.Fatalf("counts %+v, vault %v: want the expiry counted and nothing vaulted", c, s.VaultedTokens(s.ClientID))
	}

	// Within the lifetime it works (the skew is from the URL's issue).
	s.SetClockSkew(0)
	_, body = rpc(t, s, tok, v2025, callMsg(nil))
	e = wantElicitation(t, s, body)
	s.SetClockSkew(ConsentURLLifetime - time.Minute)
	if _, err := ConsentInBrowser(testCtx(t), nil, e.URL, "allow"); err != nil || len(s.VaultedTokens(s.ClientID)) != 1 {
		t.Fatalf("consent 9 minutes in: %v, vault %d", err, len(s.VaultedTokens(s.ClientID)))
	}
}

func TestThreeLODeniedConsentVaultsNothing(t *testing.T) {
	s := start(t, threeLOOptions())
	_, body := rpc(t, s, machineToken(t, s), v2025, callMsg(nil))
	visit, err := ConsentInBrowser(testCtx(t), nil, wantElicitation(t, s, body).URL, "deny")
	if err != nil {
		t.Fatal(err)
	}
	if visit.URL.Query().Get("error") != "access_denied" || visit.URL.Query().Get("session_id") == "" {
		t.Fatalf("return URL %s: want session_id and error=access_denied", visit.URL)
	}
	if c := s.Counts(); c.Consents != 0 || c.Bindings != 0 || len(s.VaultedTokens(s.ClientID)) != 0 {
		t.Fatalf("counts %+v: a denied consent vaulted something", c)
	}
}

func forceMeta(returnURL string, force bool) map[string]any {
	inner := map[string]any{"forceAuthentication": force}
	if returnURL != "" {
		inner["returnUrl"] = returnURL
	}
	return map[string]any{CredentialProviderMetaKey: map[string]any{"oauthCredentialProvider": inner}}
}

func TestThreeLOForceAuthentication(t *testing.T) {
	s := start(t, threeLOOptions())
	tok := machineToken(t, s)
	_, body := rpc(t, s, tok, v2025, callMsg(nil))
	if _, err := ConsentInBrowser(testCtx(t), nil, wantElicitation(t, s, body).URL, "allow"); err != nil {
		t.Fatal(err)
	}
	first := s.VaultedTokens(s.ClientID)[threeLOTarget]

	_, body = rpc(t, s, tok, v2025, callMsg(forceMeta("", true)))
	e := wantElicitation(t, s, body) // despite the vaulted token
	if got := s.VaultedTokens(s.ClientID); len(got) != 0 {
		t.Fatalf("forceAuthentication left the old token in the vault: %v", got)
	}
	// Not consenting leaves the user without a token: the next call asks again.
	_, body = rpc(t, s, tok, v2025, callMsg(nil))
	wantElicitation(t, s, body)
	if _, err := ConsentInBrowser(testCtx(t), nil, e.URL, "allow"); err != nil {
		t.Fatal(err)
	}
	second := s.VaultedTokens(s.ClientID)[threeLOTarget]
	if second == "" || second == first {
		t.Fatalf("re-consent vaulted %q (first %q), want a new token", second, first)
	}
	s.ClearReceived()
	_, body = rpc(t, s, tok, v2025, callMsg(forceMeta("", false)))
	if a := decodeAnswer(t, body); a.Error != nil {
		t.Fatalf("call with forceAuthentication false: %s", body)
	}
	if calls := backendCalls(s, threeLOTarget); len(calls) != 1 || calls[0].Header.Get("Authorization") != "Bearer "+second {
		t.Fatalf("backend calls %d: want one with the new token", len(calls))
	}
}

// A call's returnUrl sends the browser there, and the token is vaulted only
// once that application calls CompleteResourceTokenAuth.
func TestThreeLOReturnURLAndSessionBinding(t *testing.T) {
	s := start(t, threeLOOptions())
	tok := machineToken(t, s)
	bound := make(chan error, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An application that holds the user's token and IAM credentials.
		bound <- s.CompleteResourceTokenAuth(r.Context(), r.URL.Query().Get("session_id"), tok)
		io.WriteString(w, "bound")
	}))
	defer app.Close()
	returnURL := app.URL + "/cb"

	_, body := rpc(t, s, tok, v2025, callMsg(forceMeta(returnURL, false)))
	if a := decodeAnswer(t, body); a.Error != nil || !bytes.Contains(a.Result, []byte(`"isError":true`)) {
		t.Fatalf("call with a returnUrl the workload identity does not allow: %s, want an isError result", body)
	}
	if s.Counts().ConsentURLs != 0 {
		t.Fatal("a refused returnUrl still handed out an authorization URL")
	}

	s.AllowReturnURL(returnURL)
	_, body = rpc(t, s, tok, v2025, callMsg(forceMeta(returnURL, false)))
	visit, err := ConsentInBrowser(testCtx(t), nil, wantElicitation(t, s, body).URL, "allow")
	if err != nil {
		t.Fatal(err)
	}
	if visit.URL.Path != "/cb" || visit.URL.Host != strings.TrimPrefix(app.URL, "http://") {
		t.Fatalf("browser ended at %s, want the call's returnUrl", visit.URL)
	}
	if err := <-bound; err != nil {
		t.Fatalf("CompleteResourceTokenAuth: %v", err)
	}
	if s.VaultedTokens(s.ClientID)[threeLOTarget] == "" {
		t.Fatal("nothing vaulted after the binding")
	}
}

// CompleteResourceTokenAuth is authorized with SigV4 (IAM), and binds a
// session only for the user who started it, once, after consent.
func TestCompleteResourceTokenAuthAuthorization(t *testing.T) {
	s := start(t, threeLOOptions())
	tok := machineToken(t, s)
	other := s.Token(t, s.WebClientID, s.Scope) // another subject (the web client's id)

	// A session the user consented to, whose browser stops at a return URL
	// that does nothing (so the test binds it).
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer sink.Close()
	s.AllowReturnURL(sink.URL)
	newSession := func(consent bool) string {
		_, body := rpc(t, s, tok, v2025, callMsg(forceMeta(sink.URL, true)))
		e := wantElicitation(t, s, body)
		if !consent {
			u, _ := url.Parse(e.URL)
			return u.Query().Get("request_uri")
		}
		visit, err := ConsentInBrowser(testCtx(t), nil, e.URL, "allow")
		if err != nil {
			t.Fatal(err)
		}
		return visit.URL.Query().Get("session_id")
	}
	sessionURI := newSession(true)

	post := func(sign func(*http.Request, []byte), payload map[string]any) (int, string) {
		t.Helper()
		body, _ := json.Marshal(payload)
		req, _ := http.NewRequest("POST", s.IdentityURL+"/identities/CompleteResourceTokenAuth", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sign != nil {
			sign(req, body)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType")
	}
	iam := func(akid, secret string) func(*http.Request, []byte) {
		return func(r *http.Request, b []byte) {
			SignV4(r, b, akid, secret, "us-east-1", "bedrock-agentcore", s.now())
		}
	}
	good := iam(s.IAMAccessKeyID, s.IAMSecretAccessKey())
	asUser := func(token string) map[string]any {
		return map[string]any{"sessionUri": sessionURI, "userIdentifier": map[string]string{"userToken": token}}
	}

	refused := []struct {
		name    string
		sign    func(*http.Request, []byte)
		payload map[string]any
		status  int
		errType string
	}{
		{"unsigned", nil, asUser(tok), 403, "MissingAuthenticationTokenException"},
		{"the user's Cognito token as the credential", func(r *http.Request, _ []byte) { r.Header.Set("Authorization", "Bearer "+tok) }, asUser(tok), 403, "IncompleteSignatureException"},
		{"unknown access key", iam("AKIAUNKNOWN000000000", s.IAMSecretAccessKey()), asUser(tok), 403, "UnrecognizedClientException"},
		{"wrong secret", iam(s.IAMAccessKeyID, "wrong"), asUser(tok), 403, "InvalidSignatureException"},
		{"another user's token", good, asUser(other), 403, "AccessDeniedException"},
		{"userId instead of the token", good, map[string]any{"sessionUri": sessionURI, "userIdentifier": map[string]string{"userId": s.ClientID}}, 403, "AccessDeniedException"},
		{"no user", good, map[string]any{"sessionUri": sessionURI}, 400, "ValidationException"},
		{"unknown session", good, map[string]any{"sessionUri": sessionURIPrefix + "nope", "userIdentifier": map[string]string{"userToken": tok}}, 404, "ResourceNotFoundException"},
		{"not yet consented", good, map[string]any{"sessionUri": newSession(false), "userIdentifier": map[string]string{"userToken": tok}}, 400, "ValidationException"},
	}
	for _, c := range refused {
		if status, errType := post(c.sign, c.payload); status != c.status || errType != c.errType {
			t.Errorf("%s: HTTP %d %s, want %d %s", c.name, status, errType, c.status, c.errType)
		}
	}
	if got := s.VaultedTokens(s.ClientID); len(got) != 0 {
		t.Fatalf("a refused binding vaulted %v", got)
	}
	if status, errType := post(good, asUser(tok)); status != 200 {
		t.Fatalf("signed binding by the user: HTTP %d %s, want 200", status, errType)
	}
	if s.VaultedTokens(s.ClientID)[threeLOTarget] == "" {
		t.Fatal("nothing vaulted after the binding")
	}
	if status, errType := post(good, asUser(tok)); status != 400 || errType != "ValidationException" {
		t.Fatalf("second binding of the same session: HTTP %d %s, want 400 ValidationException", status, errType)
	}

	// Consented, then the 10 minutes pass before the binding.
	sessionURI = newSession(true)
	s.SetClockSkew(ConsentURLLifetime + time.Second)
	tok2 := s.Token(t, s.ClientID, s.Scope)
	if status, errType := post(good, asUser(tok2)); status != 400 || errType != "ValidationException" {
		t.Fatalf("binding after expiry: HTTP %d %s, want 400 ValidationException", status, errType)
	}
}

func TestThreeLOTargetConfiguration(t *testing.T) {
	for _, c := range []struct {
		name string
		t    Target
	}{
		{"API key and OAuth", Target{Name: "x", Spec: mustDefaultSpec(), APIKey: "k", OAuth: &OAuthCredentialProvider{}}},
		{"client credentials", Target{Name: "x", Spec: mustDefaultSpec(), OAuth: &OAuthCredentialProvider{GrantType: "CLIENT_CREDENTIALS"}}},
	} {
		if _, err := Start(Options{Targets: []Target{c.t}}); err == nil {
			t.Errorf("%s: Start accepted the target", c.name)
		}
	}
	// The default Gateway has no 3LO target.
	s := start(t, Options{})
	for _, n := range s.Tools() {
		if strings.HasPrefix(n, threeLOTarget) {
			t.Fatalf("default Sim lists %s", n)
		}
	}
}

// The per-call override is read from the spelling of the developer guide's
// example and of its schema.
func TestParseProviderMeta(t *testing.T) {
	for _, key := range []string{"oauthCredentialProvider", "oauthcredentialProvider"} {
		cfg := parseProviderMeta(mcp.Meta{CredentialProviderMetaKey: map[string]any{key: map[string]any{"returnUrl": "https://r", "forceAuthentication": true}}})
		if cfg.returnURL != "https://r" || !cfg.force {
			t.Errorf("%s: %+v", key, cfg)
		}
	}
	if cfg := parseProviderMeta(nil); cfg.force || cfg.returnURL != "" {
		t.Errorf("no _meta: %+v", cfg)
	}
}
