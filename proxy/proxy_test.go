package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

const (
	asanaTool  = "AgentCoreGwyAPIGatewayTarget___asanaInvoke"
	otherTool  = "OtherTarget___asanaInvoke"
	asanaToken = "1/1209876543210:asana-user-token-SECRET"
)

var asanaRule = proxy.Rule{
	Argument: "X-Asana-Token",
	Secret:   "asana",
	Tools:    []string{"AgentCoreGwyAPIGatewayTarget___*"},
}

// harness is a proxy running in-process between a go-sdk client (over pipes,
// as a desktop client would use stdio) and the emulator.
type harness struct {
	sim     *gatewaysim.Sim
	secrets *tokenstoretest.Fake // the injected secrets the proxy reads
	gateway *tokenstoretest.Fake // the Gateway's client secret, which the token source reads
	auth    *oauth.TokenCache
	client  *mcp.ClientSession
	out     *syncBuffer // everything the proxy wrote toward the client
	logs    *syncBuffer // the proxy's log at debug level
	scrub   *proxy.Scrubber
	changed chan struct{}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type setup struct {
	sim        gatewaysim.Options
	noSecret   bool
	noAuth     bool
	gatewayURL string
	connect    time.Duration
	call       time.Duration
	// gatewayFor, if set, gives the Gateway URL to use for the emulator.
	gatewayFor func(*gatewaysim.Sim) string
	// clientSecret replaces the emulator's in the store (to test a wrong one).
	clientSecret tokenstore.Secret
	// prepare, if set, runs before the proxy starts (and reads its secrets).
	prepare func(*harness)
	// secrets, if set, wraps the secret source the proxy reads from.
	secrets func(proxy.SecretSource) proxy.SecretSource
	// httpClient is Options.HTTPClient; nil means the default.
	httpClient *http.Client
	// oauth, with noAuth, is Options.OAuthHandler in place of the
	// emulator's token source.
	oauth auth.OAuthHandler
	// protocol pins the client's MCP version; empty is the go-sdk's
	// default (2026-07-28: server/discover, no initialize).
	protocol string
	// options, if set, changes the options before the proxy is made.
	options func(*proxy.Options)
	// client, if set, changes the test client's options (an
	// ElicitationHandler, say).
	client func(*mcp.ClientOptions)
}

func start(t *testing.T, s setup) *harness {
	t.Helper()
	testwait.NoLeaks(t)
	if s.sim.Targets == nil {
		s.sim.Targets = []gatewaysim.Target{
			{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
			{Name: "OtherTarget", Spec: configs.AsanaOpenAPI, APIKey: "other-key"},
		}
	}
	sim := gatewaysim.StartForTest(t, s.sim)

	h := &harness{sim: sim, secrets: tokenstoretest.NewFake(), gateway: tokenstoretest.NewFake(), out: &syncBuffer{}, logs: &syncBuffer{}, scrub: proxy.NewScrubber(), changed: make(chan struct{}, 10)}
	ctx := t.Context()
	if !s.noSecret {
		h.secrets.Set(ctx, "default", "asana", asanaToken)
	}
	if s.clientSecret == "" {
		s.clientSecret = tokenstore.Secret(sim.ClientSecret)
	}
	h.gateway.Set(ctx, "default", tokenstore.ClientSecretName, s.clientSecret)
	h.scrub.Add(tokenstore.Secret(sim.ClientSecret))

	opts := proxy.Options{
		GatewayURL:     sim.GatewayURL,
		HTTPClient:     s.httpClient,
		Rules:          []proxy.Rule{asanaRule},
		Secrets:        secretSource{h.secrets},
		Scrubber:       h.scrub,
		ConnectTimeout: s.connect,
		CallTimeout:    s.call,
		SecretTimeout:  300 * time.Millisecond,
		Logger:         debugLogger(h.scrub.Writer(h.logs)),
		Advise:         advise,
	}
	if s.gatewayURL != "" {
		opts.GatewayURL = s.gatewayURL
	}
	if s.gatewayFor != nil {
		opts.GatewayURL = s.gatewayFor(sim)
	}
	if s.secrets != nil {
		opts.Secrets = s.secrets(opts.Secrets)
	}
	if s.oauth != nil {
		opts.OAuthHandler = s.oauth
	}
	if !s.noAuth {
		h.auth = oauth.NewClientCredentials(oauth.Config{
			TokenURL: sim.TokenURL,
			ClientID: sim.ClientID,
			Scopes:   []string{sim.Scope},
			Secrets:  h.gateway,
		})
		h.auth.OnToken = h.scrub.Add
		opts.OAuthHandler = h.auth
	}
	if s.options != nil {
		s.options(&opts)
	}
	p, err := proxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.prepare != nil {
		s.prepare(h)
	}

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx, inR, io.MultiWriter(h.out, outW)) }()

	co := &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { h.changed <- struct{}{} },
	}
	if s.client != nil {
		s.client(co)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, co)
	connectCtx, connected := context.WithTimeout(ctx, 10*time.Second)
	defer connected()
	cs, err := client.Connect(connectCtx, &mcp.IOTransport{Reader: outR, Writer: inW}, &mcp.ClientSessionOptions{ProtocolVersion: s.protocol})
	if err != nil {
		t.Fatal(err)
	}
	h.client = cs
	t.Cleanup(func() {
		cs.Close()
		inW.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("proxy did not stop after stdin closed")
		}
		cancel()
		outR.Close()
		// Whatever the test did, nothing the client got or the log holds
		// decodes to the Asana token or the client secret.
		for _, line := range strings.Split(strings.TrimSpace(h.out.String()), "\n") {
			if err := leakcheck.Message([]byte(line), asanaToken, sim.ClientSecret); line != "" && err != nil {
				t.Errorf("stdout: %v", err)
			}
		}
		if err := leakcheck.Lines(h.logs.String(), asanaToken, sim.ClientSecret); err != nil {
			t.Errorf("log: %v", err)
		}
	})
	return h
}

// advise is the harness's Options.Advise, the advice the CLI gives for the
// default profile.
func advise(r proxy.Remedy) string {
	switch r.Kind {
	case proxy.StoreSecret:
		return "run `agw-proxy login " + r.Secret + "`"
	case proxy.GatewayLogin:
		return "run `agw-proxy login`"
	case proxy.CheckSetup:
		return "run `agw-proxy doctor`"
	}
	return ""
}

type secretSource struct{ s tokenstore.Secrets }

func (s secretSource) Secret(ctx context.Context, name string) (tokenstore.Secret, error) {
	return s.s.Get(ctx, "default", name)
}

func (h *harness) tools(t *testing.T) map[string]*mcp.Tool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := map[string]*mcp.Tool{}
	for tool, err := range h.client.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		out[tool.Name] = tool
	}
	return out
}

func (h *harness) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func props(t *testing.T, tool *mcp.Tool) (properties []string, required []string) {
	t.Helper()
	b, _ := json.Marshal(tool.InputSchema)
	var s struct {
		Properties map[string]any `json:"properties"`
		Required   []string       `json:"required"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	for k := range s.Properties {
		properties = append(properties, k)
	}
	slices.Sort(properties)
	return properties, s.Required
}

func lastReceived(t *testing.T, sim *gatewaysim.Sim, target string) gatewaysim.Request {
	t.Helper()
	rs := sim.Received()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Target == target {
			return rs[i]
		}
	}
	t.Fatalf("the backend received nothing for %s", target)
	return gatewaysim.Request{}
}

func TestToolsHideTheSecretArgument(t *testing.T) {
	h := start(t, setup{})
	tools := h.tools(t)
	tool, ok := tools[asanaTool]
	if !ok {
		t.Fatalf("%s not listed; got %d tools", asanaTool, len(tools))
	}
	p, req := props(t, tool)
	if slices.Contains(p, "X-Asana-Token") || slices.Contains(req, "X-Asana-Token") {
		t.Errorf("X-Asana-Token still in the schema: properties %v required %v", p, req)
	}
	if !slices.Contains(p, "tool_name") || !slices.Contains(req, "tool_name") {
		t.Errorf("tool_name lost: properties %v required %v", p, req)
	}
	// A tool outside the rule's globs keeps its argument.
	p, req = props(t, tools[otherTool])
	if !slices.Contains(p, "X-Asana-Token") || !slices.Contains(req, "X-Asana-Token") {
		t.Errorf("%s lost X-Asana-Token though no rule names it: %v %v", otherTool, p, req)
	}
}

func TestCallInjectsTheSecret(t *testing.T) {
	h := start(t, setup{})
	res := h.call(t, asanaTool, map[string]any{"tool_name": "list_projects", "workspace": "1234"})
	if res.IsError {
		t.Fatalf("call failed: %s", text(res))
	}
	got := lastReceived(t, h.sim, gatewaysim.DefaultTargetName)
	if got.Header.Get("X-Asana-Token") != "Bearer "+asanaToken {
		t.Error("the target did not receive X-Asana-Token: Bearer <stored token>")
	}
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatalf("body: %v", err)
	}
	if _, ok := body["X-Asana-Token"]; ok {
		t.Error("the token travelled in the body too")
	}
	if body["tool_name"] != "list_projects" || body["workspace"] != "1234" {
		t.Errorf("body lost the model's arguments: %s", got.Body)
	}
}

func TestModelSuppliedValueIsReplaced(t *testing.T) {
	h := start(t, setup{})
	h.call(t, asanaTool, map[string]any{"tool_name": "x", "X-Asana-Token": "Bearer made-up-by-model"})
	got := lastReceived(t, h.sim, gatewaysim.DefaultTargetName)
	if v := got.Header.Get("X-Asana-Token"); v != "Bearer "+asanaToken {
		t.Errorf("the model's value was not replaced by the stored token (got a value of length %d)", len(v))
	}
}

func TestToolOutsideGlobsGetsNoSecret(t *testing.T) {
	h := start(t, setup{})
	h.call(t, otherTool, map[string]any{"tool_name": "x", "X-Asana-Token": "model-value"})
	got := lastReceived(t, h.sim, "OtherTarget")
	if v := got.Header.Get("X-Asana-Token"); v != "model-value" {
		t.Errorf("a tool outside the globs did not get the model's own value untouched (len %d)", len(v))
	}
	for _, r := range h.sim.Received() {
		if r.Target == "OtherTarget" && strings.Contains(string(r.Body)+strings.Join(r.Header.Values("X-Asana-Token"), ""), asanaToken) {
			t.Error("the secret was sent to a target outside the rule's globs")
		}
	}
}

func TestEchoedSecretIsScrubbed(t *testing.T) {
	h := start(t, setup{sim: gatewaysim.Options{EchoToken: true}})
	res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	if strings.Contains(text(res), asanaToken) {
		t.Fatal("the target's echo of the token reached the client")
	}
	if !strings.Contains(text(res), proxy.Mask) {
		t.Errorf("expected the echoed token masked, got %q", text(res))
	}
	if !strings.Contains(h.out.String(), proxy.Mask) {
		t.Error("stdout has no mask")
	}
}

func TestMissingSecretIsAnActionableToolError(t *testing.T) {
	h := start(t, setup{noSecret: true})
	res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	if !res.IsError {
		t.Fatal("call without a stored token succeeded")
	}
	if !strings.Contains(text(res), "agw-proxy login asana") {
		t.Errorf("message does not name the login command: %q", text(res))
	}
	if n := len(h.sim.Received()); n != 0 {
		t.Errorf("the call was forwarded without its token (%d backend requests)", n)
	}
	// The proxy is still up.
	if len(h.tools(t)) == 0 {
		t.Error("no tools after the failed call")
	}
}

func TestHangingKeychainIsAToolErrorNotAHang(t *testing.T) {
	// The keychain of injected secrets hangs from before Run (the Gateway's
	// client secret is in a fake of its own, so the token fetch does not
	// hang): the read at start gives up after SecretTimeout, and listing
	// waits for that; then the call reads again and gives up too.
	h := start(t, setup{prepare: func(h *harness) { h.secrets.Hang(time.Hour) }})
	h.tools(t) // listing needs no secret
	res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	if !res.IsError || !strings.Contains(text(res), "keychain") {
		t.Errorf("want a keychain error result, got isError=%v %q", res.IsError, text(res))
	}
	if n := h.secrets.Calls("get"); n != 2 {
		t.Errorf("%d keychain reads, want 2: at start, and for the call", n)
	}
	if n := len(h.sim.Received()); n != 0 {
		t.Errorf("the call went out without its secret (%d backend requests)", n)
	}
}

// stalledSource is a secret source whose every read waits until its
// context ends: a vault command or an OAuth discovery that does not answer.
type stalledSource struct{}

func (stalledSource) Secret(ctx context.Context, _ string) (tokenstore.Secret, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// A rule whose source bounds its own reads (a command, an OAuth login) is
// still read at start within SecretTimeout: tools/list, which waits for the
// reads at start, is answered though the source never is.
func TestStalledDynamicSourceDoesNotHoldTheList(t *testing.T) {
	h := start(t, setup{options: func(o *proxy.Options) {
		r := asanaRule
		r.Source = proxy.SourceCommand
		o.Rules = []proxy.Rule{r}
		o.Secrets = stalledSource{}
	}})
	if _, ok := h.tools(t)[asanaTool]; !ok {
		t.Fatal("tools/list without the tool")
	}
}

func TestRevokedTokenIsRefreshedAndRetried(t *testing.T) {
	h := start(t, setup{})
	h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	before := h.sim.Counts().TokensIssued
	h.sim.RevokeTokens()
	res := h.call(t, asanaTool, map[string]any{"tool_name": "y"})
	if res.IsError {
		t.Fatalf("call after revocation failed: %s", text(res))
	}
	if got := h.sim.Counts().TokensIssued - before; got != 1 {
		t.Errorf("%d new tokens after revocation, want 1", got)
	}
	if n := h.sim.Counts().BackendRequests; n != 2 {
		t.Errorf("backend got %d requests, want 2", n)
	}
}

func TestAllPagesAreListed(t *testing.T) {
	h := start(t, setup{sim: gatewaysim.Options{PageSize: 1}})
	tools := h.tools(t)
	if _, ok := tools[asanaTool]; !ok {
		t.Error("first page's tool missing")
	}
	if _, ok := tools[otherTool]; !ok {
		t.Error("second page's tool missing")
	}
}

// pin2025 pins the proxy to a 2025-11-25 session with the Gateway.
func pin2025(o *proxy.Options) { o.Protocol = proxy.UpstreamProtocolVersion }

// A Gateway session announces a change of its tools on its stream.
func TestUpstreamListChangedReachesTheClient(t *testing.T) {
	h := start(t, setup{sim: gatewaysim.Options{Sessions: true, Streaming: true}, options: pin2025})
	h.tools(t)
	if err := h.sim.AddTarget(gatewaysim.Target{Name: "ThirdTarget", Spec: configs.AsanaOpenAPI}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.changed:
	case <-time.After(10 * time.Second):
		t.Fatal("no tools/list_changed reached the client")
	}
	if _, ok := h.tools(t)["ThirdTarget___asanaInvoke"]; !ok {
		t.Error("new tool not listed after the change")
	}
}

// A stateless Gateway cannot announce a change: the proxy lists its tools
// again from time to time (here every 200 ms, by default every 5 minutes)
// and tells the client when the list differs.
func TestStatelessGatewayChangeReachesTheClient(t *testing.T) {
	defer proxy.SetDefaultRelist(200 * time.Millisecond)()
	h := start(t, setup{})
	h.tools(t)
	lists := h.sim.Counts().ToolLists
	if err := h.sim.AddTarget(gatewaysim.Target{Name: "ThirdTarget", Spec: configs.AsanaOpenAPI}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.changed:
	case <-time.After(10 * time.Second):
		t.Fatalf("no tools/list_changed reached the client (%d tools/list since)", h.sim.Counts().ToolLists-lists)
	}
	if _, ok := h.tools(t)["ThirdTarget___asanaInvoke"]; !ok {
		t.Error("new tool not listed after the change")
	}
}

func TestLostSessionIsRecoveredAndRetriedOnce(t *testing.T) {
	h := start(t, setup{sim: gatewaysim.Options{Sessions: true}})
	h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	h.sim.DropSessions()
	res := h.call(t, asanaTool, map[string]any{"tool_name": "y"})
	if res.IsError {
		t.Fatalf("call after the session was dropped failed: %s", text(res))
	}
	if n := h.sim.Counts().BackendRequests; n != 2 {
		t.Errorf("backend got %d requests, want 2 (no duplicate, none lost)", n)
	}
}

func TestCallThatMayHaveRunIsNotRepeated(t *testing.T) {
	h := start(t, setup{})
	h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	h.sim.ResetNext(1)
	res := h.call(t, asanaTool, map[string]any{"tool_name": "y"})
	if !res.IsError {
		t.Errorf("a call whose connection was reset reported success: %s", text(res))
	}
	if n := h.sim.Counts().BackendRequests; n != 2 {
		t.Errorf("backend got %d requests, want 2: the reset call must not be repeated", n)
	}
	if res := h.call(t, asanaTool, map[string]any{"tool_name": "z"}); res.IsError {
		t.Errorf("next call failed: %s", text(res))
	}
}

func TestCallTimeout(t *testing.T) {
	h := start(t, setup{call: 300 * time.Millisecond})
	h.sim.SetDelay(5 * time.Second)
	res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	if !res.IsError || !strings.Contains(text(res), "did not answer within") {
		t.Errorf("want a timeout result, got isError=%v %q", res.IsError, text(res))
	}
}

func TestGatewayDownAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/mcp"
	l.Close()
	h := start(t, setup{gatewayURL: dead, connect: 300 * time.Millisecond, noAuth: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = h.client.ListTools(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Errorf("tools/list with the Gateway down: err = %v, want a clear error", err)
	}
	res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	if !res.IsError {
		t.Error("tools/call with the Gateway down succeeded")
	}
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
