package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func TestSearchResultsHideTheSecretArgument(t *testing.T) {
	h := start(t, setup{sim: gatewaysim.Options{Search: true}})
	if _, ok := h.tools(t)[proxy.SearchToolName]; !ok {
		t.Fatal("search tool not listed")
	}
	res := h.call(t, proxy.SearchToolName, map[string]any{"query": "create an asana task"})
	if res.IsError {
		t.Fatalf("search failed: %s", text(res))
	}
	b, _ := json.Marshal(res.StructuredContent)
	if !strings.Contains(string(b), asanaTool) {
		t.Fatalf("search found no %s: %s", asanaTool, b)
	}
	var sc struct {
		Tools []struct {
			Name        string         `json:"name"`
			InputSchema map[string]any `json:"inputSchema"`
		} `json:"tools"`
	}
	check := func(where string, doc []byte) {
		if err := json.Unmarshal(doc, &sc); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		for _, tool := range sc.Tools {
			s, _ := json.Marshal(tool.InputSchema)
			hidden := !strings.Contains(string(s), "X-Asana-Token")
			if tool.Name == asanaTool && !hidden {
				t.Errorf("%s: %s still shows X-Asana-Token", where, tool.Name)
			}
			if tool.Name == otherTool && hidden {
				t.Errorf("%s: %s lost X-Asana-Token though no rule names it", where, tool.Name)
			}
		}
	}
	check("structuredContent", b)
	check("text", []byte(text(res)))
}

func TestGatewayErrorsOnACallLeaveTheProxyUp(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := start(t, setup{})
			h.call(t, asanaTool, map[string]any{"tool_name": "warm-up"})
			h.sim.FailNext(1, status)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}})
			if err == nil && !res.IsError {
				t.Errorf("HTTP %d reported as success", status)
			}
			if res := h.call(t, asanaTool, map[string]any{"tool_name": "next"}); res.IsError {
				t.Errorf("call after HTTP %d failed: %s", status, text(res))
			}
		})
	}
}

func TestTokenEndpointOutageIsRecovered(t *testing.T) {
	h := start(t, setup{connect: 2 * time.Second})
	h.sim.FailTokenNext(2, http.StatusServiceUnavailable)
	if len(h.tools(t)) == 0 {
		t.Fatal("no tools after a brief token endpoint outage")
	}
	if res := h.call(t, asanaTool, map[string]any{"tool_name": "x"}); res.IsError {
		t.Errorf("call failed: %s", text(res))
	}
}

func TestWrongClientSecretIsActionable(t *testing.T) {
	h := start(t, setup{connect: 5 * time.Second, clientSecret: "not-the-client-secret"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	began := time.Now()
	_, err := h.client.ListTools(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "agw-proxy login") {
		t.Fatalf("tools/list with a wrong client secret: %v; want a message naming agw-proxy login", err)
	}
	if time.Since(began) > 4*time.Second {
		t.Error("a login-needed failure waited for the whole connect timeout")
	}
	res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	if !res.IsError || !strings.Contains(text(res), "agw-proxy login") {
		t.Errorf("tools/call with a wrong client secret: %q", text(res))
	}
	// A login in another terminal heals the running proxy.
	h.gateway.Set(context.Background(), "default", tokenstore.ClientSecretName, tokenstore.Secret(h.sim.ClientSecret))
	deadline := time.Now().Add(15 * time.Second)
	for {
		res := h.call(t, asanaTool, map[string]any{"tool_name": "y"})
		if !res.IsError {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after the secret was fixed: %s", text(res))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{-10 * time.Minute, 10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			h := start(t, setup{})
			h.sim.SetClockSkew(skew)
			if res := h.call(t, asanaTool, map[string]any{"tool_name": "x"}); res.IsError {
				t.Errorf("call with the issuer's clock off by %s: %s", skew, text(res))
			}
		})
	}
}

func TestLargeArgumentAndResult(t *testing.T) {
	h := start(t, setup{sim: gatewaysim.Options{MaxRequestBytes: 32 << 20}})
	big := strings.Repeat("a", 10<<20)
	// Generous: under the race detector 10 MB of JSON takes seconds per pass.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x", "notes": big}})
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError {
		t.Fatalf("10 MB argument failed: %.200s", text(res))
	}
	// The backend echoes the body: the result is as large.
	if n := len(text(res)); n < 10<<20 {
		t.Errorf("result is %d bytes, want the 10 MB echo", n)
	}
	if got := lastReceived(t, h.sim, gatewaysim.DefaultTargetName); got.Header.Get("X-Asana-Token") != "Bearer "+asanaToken {
		t.Error("large call lost its token")
	}
}

func TestTooLargeForTheGatewayIsAToolError(t *testing.T) {
	h := start(t, setup{sim: gatewaysim.Options{MaxRequestBytes: 1 << 20}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x", "notes": strings.Repeat("b", 2<<20)}})
	if err == nil && !res.IsError {
		t.Error("a request over the Gateway's limit reported success")
	}
	if res := h.call(t, asanaTool, map[string]any{"tool_name": "small"}); res.IsError {
		t.Errorf("next call failed: %s", text(res))
	}
}

func TestThousandConcurrentCalls(t *testing.T) {
	h := start(t, setup{})
	h.tools(t)
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			marker := fmt.Sprintf("call-%04d", i)
			res, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": marker}})
			switch {
			case err != nil:
				errs <- err.Error()
			case res.IsError || !strings.Contains(text(res), `"`+marker+`"`):
				errs <- fmt.Sprintf("%s got someone else's result or an error", marker)
			}
		}()
	}
	testwait.Within(t, 40*time.Second, "1000 concurrent calls", wg.Wait)
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := h.sim.Counts().BackendRequests; got != n {
		t.Errorf("backend got %d requests, want %d", got, n)
	}
}

func TestCancelledCallIsCancelledUpstreamAndTheSessionGoesOn(t *testing.T) {
	h := start(t, setup{})
	h.tools(t)
	h.sim.SetDelay(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "slow"}})
	cancel()
	if err == nil {
		t.Fatal("cancelled call returned a result")
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.sim.Counts().ToolCallsCancelled == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h.sim.Counts().ToolCallsCancelled == 0 {
		t.Error("the Gateway never saw the cancellation")
	}
	h.sim.SetDelay(0)
	if res := h.call(t, asanaTool, map[string]any{"tool_name": "after"}); res.IsError {
		t.Errorf("call after a cancellation failed: %s", text(res))
	}
	if n := len(h.sim.Received()); n != 1 {
		t.Errorf("backend got %d requests, want only the one after the cancellation", n)
	}
}

// leakyUpstream is a Gateway stand-in whose every output tries to leak the
// secret: results, structured content, errors, progress and log messages.
// leakyUpstream is a Gateway whose tool echoes the secrets, each time in a
// random disguise (escapes, percent-encoding, HTML references, nested JSON
// documents), split at a random point now and then, in every place a
// result or a notification has: tool description, text and structured
// content, errors, progress and log messages.
func leakyUpstream(t *testing.T, secrets []string, seed uint64) string {
	t.Helper()
	testwait.NoLeaks(t)
	r := rand.New(rand.NewPCG(seed, seed))
	forms := func() string {
		s := secrets[r.IntN(len(secrets))]
		if r.IntN(2) == 0 {
			s = "Bearer " + s
		}
		if r.IntN(4) == 0 {
			cut := r.IntN(len(s))
			return leakcheck.DisguiseValue(r, s[:cut]) + " | " + leakcheck.DisguiseValue(r, s[cut:])
		}
		return leakcheck.DisguiseValue(r, s)
	}
	var mu sync.Mutex
	pick := func() string { mu.Lock(); defer mu.Unlock(); return forms() }
	srv := mcp.NewServer(&mcp.Implementation{Name: "leaky", Version: "1"}, nil)
	schema := map[string]any{"type": "object", "properties": map[string]any{"X-Asana-Token": map[string]any{"type": "string"}, "q": map[string]any{"type": "string"}}}
	srv.AddTool(&mcp.Tool{Name: "AgentCoreGwyAPIGatewayTarget___leak", Description: "leaks " + pick(), InputSchema: schema},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if tok := req.Params.GetProgressToken(); tok != nil {
				req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: 1, Message: "working with " + pick()})
			}
			req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "error", Data: "upstream log " + pick()})
			var args map[string]any
			json.Unmarshal(req.Params.Arguments, &args)
			if args["q"] == "error" {
				return nil, fmt.Errorf("upstream failure near %s", pick())
			}
			return &mcp.CallToolResult{
				IsError:           args["q"] == "iserror",
				Content:           []mcp.Content{&mcp.TextContent{Text: "result " + pick()}, &mcp.TextContent{Text: pick()}},
				StructuredContent: map[string]any{"echo": pick(), "nested": []any{pick()}},
			}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestNothingLeaksToTheClient(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			h := start(t, setup{noAuth: true, gatewayFor: func(sim *gatewaysim.Sim) string {
				return leakyUpstream(t, []string{asanaToken, sim.ClientSecret}, seed)
			}})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			h.client.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "debug"})
			for _, q := range []string{"ok", "iserror", "error"} {
				params := &mcp.CallToolParams{Name: "AgentCoreGwyAPIGatewayTarget___leak", Arguments: map[string]any{"q": q}}
				params.SetProgressToken("p-" + q)
				h.client.CallTool(ctx, params)
			}
			h.tools(t)
			// The oracle reads every message as the client does, and the
			// log line by line.
			for _, line := range strings.Split(strings.TrimSpace(h.out.String()), "\n") {
				if !json.Valid([]byte(line)) {
					t.Fatalf("the client got a line that is not JSON: %.200s", line)
				}
				if err := leakcheck.Message([]byte(line), asanaToken, h.sim.ClientSecret); err != nil {
					t.Error(err)
				}
			}
			if err := leakcheck.Lines(h.logs.String(), asanaToken, h.sim.ClientSecret); err != nil {
				t.Errorf("log: %v", err)
			}
			if !strings.Contains(h.out.String(), proxy.Mask) {
				t.Error("nothing was masked: the leaky upstream did not run")
			}
		})
	}
}

func TestProgressPassesThrough(t *testing.T) {
	h := start(t, setup{gatewayURL: leakyUpstream(t, []string{"unused-secret-value"}, 1), noAuth: true})
	var mu sync.Mutex
	var got []string
	client := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil)
	_ = client
	// The harness's client has no progress handler; read progress from
	// stdout instead, where the proxy wrote it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	params := &mcp.CallToolParams{Name: "AgentCoreGwyAPIGatewayTarget___leak", Arguments: map[string]any{"q": "ok"}}
	params.SetProgressToken("tok-42")
	if _, err := h.client.CallTool(ctx, params); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(h.out.String(), "\n") {
			if strings.Contains(line, `"notifications/progress"`) && strings.Contains(line, `"tok-42"`) {
				mu.Lock()
				got = append(got, line)
				mu.Unlock()
			}
		}
		if len(got) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("no progress notification with the client's token reached the client")
}

func TestNoGoroutinesLeftBehind(t *testing.T) {
	// The harness checks this test's goroutines alone when it ends
	// (checkGoroutines), whatever earlier tests left winding down; the
	// session here has the Gateway's event stream open as well.
	h := start(t, setup{sim: gatewaysim.Options{Sessions: true, Streaming: true}})
	h.tools(t)
	h.call(t, asanaTool, map[string]any{"tool_name": "x"})
}

func TestLockedKeychainIsAToolError(t *testing.T) {
	h := start(t, setup{prepare: func(h *harness) { h.secrets.FailWith(tokenstore.ErrLocked) }})
	h.tools(t)
	res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	if !res.IsError || !strings.Contains(text(res), "locked") {
		t.Errorf("want a locked-keychain error result, got isError=%v %q", res.IsError, text(res))
	}
	if n := len(h.sim.Received()); n != 0 {
		t.Errorf("the call went out without its token (%d backend requests)", n)
	}
	h.secrets.FailWith(nil)
	if res := h.call(t, asanaTool, map[string]any{"tool_name": "y"}); res.IsError {
		t.Errorf("call after unlocking failed: %s", text(res))
	}
}

func TestGatewayThatComesBackIsServedWithListChanged(t *testing.T) {
	// The proxy starts while nothing listens on the Gateway's port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	h := start(t, setup{gatewayURL: "http://" + addr + "/mcp", connect: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.client.ListTools(ctx, nil); err == nil {
		t.Fatal("tools/list succeeded with the Gateway down")
	}
	// The Gateway comes up on that port (a reverse proxy to the emulator).
	target, _ := url.Parse(h.sim.GatewayURL)
	target.Path = ""
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	select {
	case <-h.changed:
	case <-ctx.Done():
		t.Fatal("no tools/list_changed after the Gateway came back")
	}
	if _, ok := h.tools(t)[asanaTool]; !ok {
		t.Error("tools not served after the Gateway came back")
	}
}

func TestSecretIsReadOncePerTTL(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	restore := proxy.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	defer restore()
	h := start(t, setup{})
	h.tools(t) // answered once the secrets have been read at start
	reads := func() int { return h.secrets.Calls("get") }
	if got := reads(); got != 1 {
		t.Errorf("%d keychain reads at start, want 1", got)
	}
	h.call(t, asanaTool, map[string]any{"tool_name": "a"})
	h.call(t, asanaTool, map[string]any{"tool_name": "b"})
	if got := reads(); got != 1 {
		t.Errorf("%d keychain reads in all for two calls within the TTL, want 1", got)
	}

	// A new login is used once the TTL has passed.
	h.secrets.Set(context.Background(), "default", "asana", "second-asana-token-value")
	mu.Lock()
	now = now.Add(proxy.DefaultSecretTTL + time.Second)
	mu.Unlock()
	h.call(t, asanaTool, map[string]any{"tool_name": "c"})
	if got := lastReceived(t, h.sim, gatewaysim.DefaultTargetName).Header.Get("X-Asana-Token"); got != "Bearer second-asana-token-value" {
		t.Errorf("after the TTL the new token was not used (got %d bytes)", len(got))
	}
}

// frontDoor serves the emulator's Gateway on a port of its own that a test
// can close and open again, like a Gateway endpoint that goes away.
type frontDoor struct {
	addr string
	srv  *http.Server
	h    http.Handler
}

func newFrontDoor(t *testing.T, gatewayURL string) *frontDoor {
	t.Helper()
	testwait.NoLeaks(t)
	target, _ := url.Parse(gatewayURL)
	target.Path = ""
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &frontDoor{addr: l.Addr().String(), h: httputil.NewSingleHostReverseProxy(target)}
	f.serve(l)
	t.Cleanup(f.close)
	return f
}

func (f *frontDoor) serve(l net.Listener) {
	f.srv = &http.Server{Handler: f.h}
	// No idle connections: after close, the next call must dial (and be
	// refused), rather than find a connection the door has just closed.
	f.srv.SetKeepAlivesEnabled(false)
	go f.srv.Serve(l)
}

func (f *frontDoor) close() { f.srv.Close() }

// open serves on the door's port again; it fails if the port was taken
// meanwhile. It may run on any goroutine: it does not touch the test.
func (f *frontDoor) open() error {
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("port %s taken meanwhile: %w", f.addr, err)
	}
	f.serve(l)
	return nil
}

func TestCallThatCouldNotConnectIsSentOnceTheGatewayIsBack(t *testing.T) {
	var door *frontDoor
	h := start(t, setup{connect: 10 * time.Second, gatewayFor: func(sim *gatewaysim.Sim) string {
		door = newFrontDoor(t, sim.GatewayURL)
		return "http://" + door.addr + "/mcp"
	}})
	h.tools(t)

	door.close() // refused from now on
	reopened := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		reopened <- door.open()
	}()
	res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	// Skip, like Fatal, only from the test's own goroutine.
	select {
	case err := <-reopened:
		if err != nil {
			t.Skip(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the door did not reopen")
	}
	if res.IsError {
		t.Fatalf("the call failed instead of waiting for the Gateway: %s", text(res))
	}
	if n := h.sim.Counts().BackendRequests; n != 1 {
		t.Errorf("backend got %d requests, want exactly 1", n)
	}
}

func TestSecretsAreKnownBeforeTheFirstCall(t *testing.T) {
	// A target whose tool description holds the user's token, escaped the
	// way a PHP or Java encoder writes it: the client lists tools before it
	// has made any call, so the proxy must know the token already.
	escaped := strings.ReplaceAll(asanaToken, "/", `\/`)
	spec := strings.Replace(string(configs.AsanaOpenAPI), `"description": "Runs one Asana operation`,
		`"description": "With `+escaped+`, runs one Asana operation`, 1)
	h := start(t, setup{sim: gatewaysim.Options{Targets: []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: []byte(spec), APIKey: gatewaysim.DefaultAPIKey},
	}}})
	tools := h.tools(t)
	tool, ok := tools[asanaTool]
	if !ok {
		t.Fatal("tool not listed")
	}
	if !strings.Contains(tool.Description, proxy.Mask) {
		t.Errorf("the token in the tool's description was not masked: %q", tool.Description)
	}
	for _, line := range strings.Split(strings.TrimSpace(h.out.String()), "\n") {
		if err := leakcheck.Message([]byte(line), asanaToken); err != nil {
			t.Error(err)
		}
	}
}
