package gatewaysim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestMetadataConfigurationRefusesWhatAWSRefuses(t *testing.T) {
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("X-H%d", i)
	}
	bad := map[string]*MetadataConfiguration{
		"Authorization":       {AllowedRequestHeaders: []string{"X-Ok", "Authorization"}},
		"cookie":              {AllowedRequestHeaders: []string{"cookie"}},
		"Content-Type":        {AllowedRequestHeaders: []string{"Content-Type"}},
		"Mcp-Session-Id":      {AllowedRequestHeaders: []string{"mcp-session-id"}},
		"X-Amz-Date":          {AllowedRequestHeaders: []string{"X-Amz-Date"}},
		"Set-Cookie response": {AllowedResponseHeaders: []string{"Set-Cookie"}},
		"eleven headers":      {AllowedRequestHeaders: eleven},
		"empty list":          {AllowedRequestHeaders: []string{}},
		"empty name":          {AllowedRequestHeaders: []string{""}},
		"101-char header":     {AllowedRequestHeaders: []string{"X-" + strings.Repeat("a", 99)}},
		"41-char query":       {AllowedQueryParameters: []string{strings.Repeat("q", 41)}},
		"eleven query params": {AllowedQueryParameters: eleven},
	}
	for name, m := range bad {
		if _, err := Start(Options{Targets: []Target{{Name: "t", Spec: mustDefaultSpec(), Metadata: m}}}); err == nil {
			t.Errorf("%s: Start accepted the target", name)
		}
	}
	s := start(t, Options{})
	if err := s.AddTarget(Target{Name: "t2", Spec: mustDefaultSpec(), Metadata: bad["Authorization"]}); err == nil || !strings.Contains(err.Error(), `"Authorization" cannot be propagated`) {
		t.Errorf("AddTarget with Authorization: %v", err)
	}
	ten := eleven[:10]
	if err := s.AddTarget(Target{Name: "t3", Spec: mustDefaultSpec(), Metadata: &MetadataConfiguration{
		AllowedRequestHeaders: ten, AllowedResponseHeaders: ten, AllowedQueryParameters: ten,
	}}); err != nil {
		t.Errorf("ten names each: %v", err)
	}
}

const propTarget = "Propagating"

func propagationSim(t *testing.T) *Sim {
	return start(t, Options{Targets: []Target{
		{Name: DefaultTargetName, Spec: mustDefaultSpec(), APIKey: DefaultAPIKey},
		{Name: propTarget, Spec: mustDefaultSpec(), APIKey: DefaultAPIKey, Metadata: &MetadataConfiguration{
			AllowedRequestHeaders:  []string{"x-asana-token", "X-Trace-Id"},
			AllowedQueryParameters: []string{"workspace"},
		}},
	}})
}

func callWith(t *testing.T, s *Sim, tool string, args map[string]any, hdr map[string]string, query string) Request {
	t.Helper()
	s.ClearReceived()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": map[string]any{"name": tool, "arguments": args}})
	req, _ := http.NewRequest("POST", s.GatewayURL+query, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+machineToken(t, s))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := s.Received()
	if len(got) != 1 {
		t.Fatalf("backend got %d requests, want 1", len(got))
	}
	return got[0]
}

func TestHeaderPropagation(t *testing.T) {
	s := propagationSim(t)
	hdr := map[string]string{"X-Asana-Token": "propagated-secret", "X-Trace-Id": "trace-1", "X-Other": "dropped"}
	args := map[string]any{"tool_name": "list_projects"} // the required X-Asana-Token argument left out

	got := callWith(t, s, propTarget+"___asanaInvoke", args, hdr, "?workspace=42&other=1")
	if got.Header.Get("X-Asana-Token") != "propagated-secret" || got.Header.Get("X-Trace-Id") != "trace-1" {
		t.Errorf("allowlisted headers on the backend: %v", got.Header)
	}
	if got.Header.Get("X-Other") != "" {
		t.Error("a header not on the allowlist reached the backend")
	}
	if got.Query.Get("workspace") != "42" || got.Query.Has("other") {
		t.Errorf("query on the backend %v: want workspace only", got.Query)
	}
	if got.Header.Get(mcpQueryHeader) != "" {
		t.Error("the emulator's internal header reached the backend")
	}
	if strings.Contains(string(got.Body), "propagated-secret") {
		t.Error("the propagated header ended up in the body")
	}

	// The argument, when the call has it, wins over the propagated header.
	args["X-Asana-Token"] = "argument-value"
	if got := callWith(t, s, propTarget+"___asanaInvoke", args, hdr, ""); got.Header.Get("X-Asana-Token") != "argument-value" {
		t.Errorf("argument and header: backend got %q, want the argument's", got.Header.Get("X-Asana-Token"))
	}

	// A target without the allowlist forwards nothing.
	delete(args, "X-Asana-Token")
	got = callWith(t, s, DefaultTargetName+"___asanaInvoke", args, hdr, "?workspace=42")
	if got.Header.Get("X-Asana-Token") != "" || got.Header.Get("X-Trace-Id") != "" || got.Query.Has("workspace") {
		t.Errorf("a target without metadataConfiguration got %v %v", got.Header, got.Query)
	}
}

// A go-sdk client whose HTTP client adds the header: the header reaches
// the backend, the JSON-RPC body never holds it.
func TestHeaderPropagationGoSDK(t *testing.T) {
	s := propagationSim(t)
	transport := &mcp.StreamableClientTransport{
		Endpoint: s.GatewayURL,
		HTTPClient: &http.Client{Transport: headerAdder{"X-Asana-Token", "sdk-secret",
			bearer{machineToken(t, s), http.DefaultTransport}}},
		MaxRetries: -1,
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).
		Connect(testCtx(t), transport, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: propTarget + "___asanaInvoke", Arguments: map[string]any{"tool_name": "get_task"}})
	if err != nil || res.IsError {
		t.Fatalf("CallTool: %v %+v", err, res)
	}
	var got []Request
	for _, r := range s.Received() {
		if r.Target == propTarget {
			got = append(got, r)
		}
	}
	if len(got) != 1 || got[0].Header.Get("X-Asana-Token") != "sdk-secret" {
		t.Fatalf("backend requests %d, header %v", len(got), got)
	}
}

type headerAdder struct {
	name, value string
	base        http.RoundTripper
}

func (h headerAdder) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.name, h.value)
	return h.base.RoundTrip(r)
}
