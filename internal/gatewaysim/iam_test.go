package gatewaysim

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The AWS_IAM Gateway: /mcp takes SigV4 (service bedrock-agentcore, the
// Gateway's region) instead of a Cognito JWT; and the CUSTOM_JWT
// authorizer's allowedAudience, which takes Cognito ID tokens.

// sigv4Transport signs every request as an SDK would, with the key and
// the emulator's clock.
type sigv4Transport struct {
	s    *Sim
	key  func() AWSKey
	base http.RoundTripper
}

func (st sigv4Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	signWith(st.key(), "us-east-1", "bedrock-agentcore", st.s.now(), false)(r, body)
	return st.base.RoundTrip(r)
}

// signedRPC posts one JSON-RPC message to the Gateway, signed by sign (nil:
// unsigned).
func signedRPC(t *testing.T, s *Sim, sign func(*http.Request, []byte), hdr map[string]string, msg string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", s.GatewayURL, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if sign != nil {
		sign(req, []byte(msg))
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

const toolsListMsg = `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`

func TestIAMGatewayServesSignedClients(t *testing.T) {
	s := start(t, Options{AuthorizerType: AuthorizerAWSIAM})
	transport := &mcp.StreamableClientTransport{
		Endpoint:   s.GatewayURL,
		HTTPClient: &http.Client{Transport: sigv4Transport{s, testKey, http.DefaultTransport}},
		MaxRetries: -1,
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).
		Connect(testCtx(t), transport, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("connect with SigV4: %v", err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(testCtx(t), nil)
	if err != nil || len(tools.Tools) == 0 {
		t.Fatalf("tools/list: %v", err)
	}
	res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: DefaultTargetName + "___asanaInvoke",
		Arguments: map[string]any{"tool_name": "list_projects", "X-Asana-Token": "Bearer ASANA"}})
	if err != nil || res.IsError {
		t.Fatalf("tools/call: %v %+v", err, res)
	}
	if got := backendCalls(s, DefaultTargetName); len(got) != 1 || got[0].Header.Get("X-Asana-Token") != "Bearer ASANA" {
		t.Fatalf("backend got %+v", got)
	}
}

func TestIAMGatewayRefusals(t *testing.T) {
	s := start(t, Options{AuthorizerType: AuthorizerAWSIAM, AWSKeys: []AWSKey{
		testKey(),
		{AccessKeyID: "AKIAREADONLY00000000", SecretAccessKey: "ro-secret", ARN: "arn:aws:iam::123456789012:user/ro", Actions: []string{"bedrock-agentcore:Get*"}},
	}})
	now := s.now()
	jwt := s.Token(t, s.ClientID, s.Scope)
	for _, c := range []struct {
		name    string
		sign    func(*http.Request, []byte)
		code    string
		message string
	}{
		{"unsigned", nil, "MissingAuthenticationTokenException", msgMissingToken},
		{"a Cognito JWT", func(r *http.Request, _ []byte) { r.Header.Set("Authorization", "Bearer "+jwt) }, "IncompleteSignatureException", "Authorization header requires"},
		{"wrong secret", signWith(AWSKey{AccessKeyID: TestAccessKeyID, SecretAccessKey: "nope"}, "us-east-1", "bedrock-agentcore", now, false), "InvalidSignatureException", "The request signature we calculated does not match"},
		{"unknown key", signWith(AWSKey{AccessKeyID: "AKIANOBODY0000000000", SecretAccessKey: "x"}, "us-east-1", "bedrock-agentcore", now, false), "UnrecognizedClientException", msgInvalidToken},
		{"wrong service", signWith(testKey(), "us-east-1", "execute-api", now, false), "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock-agentcore'. "},
		{"wrong region", signWith(testKey(), "us-west-2", "bedrock-agentcore", now, false), "InvalidSignatureException", "Credential should be scoped to a valid region, not 'us-west-2'. "},
		{"signed 10 minutes ago", signWith(testKey(), "us-east-1", "bedrock-agentcore", now.Add(-10*time.Minute), false), "InvalidSignatureException", "Signature expired: "},
		{"no InvokeGateway permission", signWith(AWSKey{AccessKeyID: "AKIAREADONLY00000000", SecretAccessKey: "ro-secret"}, "us-east-1", "bedrock-agentcore", now, false),
			"AccessDeniedException", "User: arn:aws:iam::123456789012:user/ro is not authorized to perform: bedrock-agentcore:InvokeGateway on resource: " + s.gatewayARN() +
				" because no identity-based policy allows the bedrock-agentcore:InvokeGateway action"},
	} {
		resp, body := signedRPC(t, s, c.sign, nil, toolsListMsg)
		code, msg := readAWSError(t, protoRESTJSON, resp, body)
		if resp.StatusCode != 403 || code != c.code || !strings.HasPrefix(msg, c.message) {
			t.Errorf("%s: HTTP %d %s %q, want 403 %s %q", c.name, resp.StatusCode, code, msg, c.code, c.message)
		}
	}
	if n := s.Counts().Unauthorized; n != 8 {
		t.Errorf("Unauthorized = %d, want 8", n)
	}
	if n := s.Counts().ToolLists; n != 0 {
		t.Errorf("%d tools/list reached the server", n)
	}
	// No OAuth metadata on an IAM Gateway.
	if resp, _ := get(t, s.ResourceURL); resp.StatusCode != 404 {
		t.Errorf("protected-resource metadata: HTTP %d, want 404", resp.StatusCode)
	}
}

// Temporary credentials stop working at their expiry (ExpiredTokenException);
// fresh ones work at once, as a refreshing client needs.
func TestIAMGatewayTemporaryCredentials(t *testing.T) {
	s := start(t, Options{AuthorizerType: AuthorizerAWSIAM})
	k := s.IssueTemporaryCredentials(15*time.Minute, nil)
	sign := func(k AWSKey) func(*http.Request, []byte) {
		return func(r *http.Request, b []byte) { signWith(k, "us-east-1", "bedrock-agentcore", s.now(), false)(r, b) }
	}
	if resp, body := signedRPC(t, s, sign(k), v2025, toolsListMsg); resp.StatusCode != 200 {
		t.Fatalf("fresh temporary credentials: HTTP %d %s", resp.StatusCode, body)
	}
	s.SetClockSkew(16 * time.Minute)
	resp, body := signedRPC(t, s, sign(k), v2025, toolsListMsg)
	if code, msg := readAWSError(t, protoRESTJSON, resp, body); resp.StatusCode != 403 || code != "ExpiredTokenException" || msg != msgExpiredToken {
		t.Fatalf("expired temporary credentials: HTTP %d %s %q", resp.StatusCode, code, msg)
	}
	k2 := s.IssueTemporaryCredentials(15*time.Minute, nil)
	if resp, body := signedRPC(t, s, sign(k2), v2025, toolsListMsg); resp.StatusCode != 200 {
		t.Fatalf("refreshed credentials: HTTP %d %s", resp.StatusCode, body)
	}
}

// With sessions, a session belongs to the IAM principal that opened it.
func TestIAMGatewaySessionsBelongToTheCaller(t *testing.T) {
	other := AWSKey{AccessKeyID: "AKIAOTHERUSER0000000", SecretAccessKey: "other-secret", ARN: "arn:aws:iam::123456789012:user/other"}
	s := start(t, Options{AuthorizerType: AuthorizerAWSIAM, Sessions: true, AWSKeys: []AWSKey{testKey(), other}})
	sign := func(k AWSKey) func(*http.Request, []byte) {
		return func(r *http.Request, b []byte) { signWith(k, "us-east-1", "bedrock-agentcore", s.now(), false)(r, b) }
	}
	resp, body := signedRPC(t, s, sign(testKey()), nil, initializeMsg)
	sid := resp.Header.Get(sessionIDHeader)
	if resp.StatusCode != 200 || sid == "" {
		t.Fatalf("initialize: HTTP %d %s, session %q", resp.StatusCode, body, sid)
	}
	hdr := map[string]string{sessionIDHeader: sid, "MCP-Protocol-Version": "2025-06-18"}
	if resp, _ := signedRPC(t, s, sign(other), hdr, toolsListMsg); resp.StatusCode != 404 {
		t.Errorf("another principal's use of the session: HTTP %d, want 404", resp.StatusCode)
	}
	if resp, body := signedRPC(t, s, sign(testKey()), hdr, toolsListMsg); resp.StatusCode != 200 {
		t.Errorf("the owner's use of the session: HTTP %d %s", resp.StatusCode, body)
	}
}

// 3LO behind an AWS_IAM Gateway: the vault keys the token by the caller's ARN.
func TestIAMGatewayThreeLOUsesTheCallerARN(t *testing.T) {
	opts := threeLOOptions()
	opts.AuthorizerType = AuthorizerAWSIAM
	s := start(t, opts)
	sign := func(r *http.Request, b []byte) {
		signWith(testKey(), "us-east-1", "bedrock-agentcore", s.now(), false)(r, b)
	}
	_, body := signedRPC(t, s, sign, v2025, callMsg(nil))
	e := wantElicitation(t, s, body)
	visit, err := ConsentInBrowser(testCtx(t), nil, e.URL, "allow")
	if err != nil || visit.Status != 200 {
		t.Fatalf("consent: %v %+v", err, visit)
	}
	if s.VaultedTokens(DefaultUserARN)[threeLOTarget] == "" {
		t.Fatalf("nothing vaulted for %s", DefaultUserARN)
	}
	_, body = signedRPC(t, s, sign, v2025, callMsg(nil))
	if a := decodeAnswer(t, body); a.Error != nil || strings.Contains(string(a.Result), `"isError":true`) {
		t.Fatalf("call after consent: %s", body)
	}
	calls := backendCalls(s, threeLOTarget)
	if len(calls) != 1 || !strings.HasPrefix(calls[0].Header.Get("Authorization"), "Bearer ") {
		t.Fatalf("backend got %+v", calls)
	}
}

// loginTokens runs the web client's authorization code flow and returns
// its token response (access_token, id_token, ...).
func loginTokens(t *testing.T, s *Sim) map[string]any {
	t.Helper()
	verifier, challenge := pkce()
	loc := authorize(t, s, authorizeQuery(s, challenge))
	status, body := exchange(t, s, loc.Query().Get("code"), verifier)
	if status != 200 || body["id_token"] == nil {
		t.Fatalf("code exchange: HTTP %d %v", status, body)
	}
	return body
}

func TestAllowedAudienceTakesIDTokens(t *testing.T) {
	const web = "webclient0000000000000000a"
	s := start(t, Options{WebClientID: web, AllowedAudience: []string{web}})
	tokens := loginTokens(t, s)
	if resp, body := rpc(t, s, tokens["id_token"].(string), v2025, toolsListMsg); resp.StatusCode != 200 {
		t.Errorf("ID token (aud = the web client): HTTP %d %s", resp.StatusCode, body)
	}
	if resp, _ := rpc(t, s, tokens["access_token"].(string), v2025, toolsListMsg); resp.StatusCode != 401 {
		t.Errorf("access token (no aud): HTTP %d, want 401", resp.StatusCode)
	}
	if resp, _ := rpc(t, s, machineToken(t, s), v2025, toolsListMsg); resp.StatusCode != 401 {
		t.Errorf("machine token (no aud): HTTP %d, want 401", resp.StatusCode)
	}

	// Another audience refuses the same kind of token; the default
	// authorizer (allowedClients) refuses ID tokens, which carry no client_id.
	for _, opts := range []Options{
		{WebClientID: web, AllowedAudience: []string{"someone-else"}},
		{WebClientID: web},
	} {
		s := start(t, opts)
		tokens := loginTokens(t, s)
		if resp, _ := rpc(t, s, tokens["id_token"].(string), v2025, toolsListMsg); resp.StatusCode != 401 {
			t.Errorf("%+v: ID token: HTTP %d, want 401", opts.AllowedAudience, resp.StatusCode)
		}
		if len(opts.AllowedAudience) == 0 {
			if resp, _ := rpc(t, s, tokens["access_token"].(string), v2025, toolsListMsg); resp.StatusCode != 200 {
				t.Errorf("default authorizer: access token: HTTP %d, want 200", resp.StatusCode)
			}
		}
	}
}

// The ID token of the authorization code grant has the claims the
// allowedAudience authorizer checks.
func TestIDTokenClaims(t *testing.T) {
	s := start(t, Options{})
	tokens := loginTokens(t, s)
	c, err := s.verified(tokens["id_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Audience) != 1 || c.Audience[0] != s.WebClientID || c.ClientID != "" || c.Subject == "" || c.Issuer != s.Issuer {
		t.Errorf("ID token claims %+v", c)
	}
	a, _ := s.verified(tokens["access_token"].(string))
	if len(a.Audience) != 0 || a.ClientID != s.WebClientID {
		t.Errorf("access token claims %+v", a)
	}
}
