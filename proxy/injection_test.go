package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Tools a rawGateway lists in these tests: rawTool and rawOther match the
// rule's glob and declare the secret argument; outsideTool declares it but
// is outside the glob.
const (
	rawTool     = "AgentCoreGwyAPIGatewayTarget___invoke"
	rawOther    = "AgentCoreGwyAPIGatewayTarget___other"
	outsideTool = "OtherTarget___invoke"
)

// toolDef is a tool definition as the Gateway lists it, with the given
// arguments (all required).
func toolDef(name string, args ...string) string {
	props := map[string]any{}
	for _, a := range args {
		props[a] = map[string]any{"type": "string"}
	}
	if args == nil {
		args = []string{}
	}
	b, _ := json.Marshal(map[string]any{
		"name":        name,
		"description": "a tool",
		"inputSchema": map[string]any{"type": "object", "properties": props, "required": args},
	})
	return string(b)
}

func list(defs ...string) string { return "[" + strings.Join(defs, ",") + "]" }

// at points the harness at the raw Gateway.
func (g *rawGateway) at(*gatewaysim.Sim) string { return g.URL }

// lastCall returns the last call of the named tool the Gateway received.
func lastCall(t *testing.T, g *rawGateway, name string) rawCall {
	t.Helper()
	calls := g.received()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Name == name {
			return calls[i]
		}
	}
	t.Fatalf("the Gateway received no call of %s", name)
	return rawCall{}
}

func argsOf(t *testing.T, c rawCall) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Arguments, &m); err != nil {
		t.Fatalf("arguments of %s: %v", c.Name, err)
	}
	return m
}

// noSecretIn fails the test if the call carried the secret in any form.
func noSecretIn(t *testing.T, c rawCall) {
	t.Helper()
	if err := leakcheck.Message(c.Body, asanaToken); err != nil {
		t.Errorf("the call of %s carried the secret: %v", c.Name, err)
	}
}

func TestCaseVariantsOfTheSecretArgumentNeverReachTheTool(t *testing.T) {
	gw := newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q"), toolDef(outsideTool, "X-Asana-Token", "q")))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	model := map[string]any{
		"q":             "x",
		"x-asana-token": "Bearer model-lower",
		"X-ASANA-TOKEN": "Bearer model-upper",
		"X-Asana-Token": "Bearer model-exact",
	}
	h.call(t, rawTool, model)
	args := argsOf(t, lastCall(t, gw, rawTool))
	for k := range args {
		if strings.EqualFold(k, "X-Asana-Token") && k != "X-Asana-Token" {
			t.Errorf("the model's %q reached the tool next to the injected value", k)
		}
	}
	if args["X-Asana-Token"] != "Bearer "+asanaToken {
		t.Error("the tool did not get X-Asana-Token: Bearer <stored token>")
	}
	if args["q"] != "x" {
		t.Errorf("the model's other arguments were lost: %v", args["q"])
	}

	// A tool outside the rule's globs gets the model's arguments as sent.
	h.call(t, outsideTool, model)
	c := lastCall(t, gw, outsideTool)
	noSecretIn(t, c)
	if got := argsOf(t, c); !reflect.DeepEqual(got, model) {
		t.Errorf("a tool outside the globs got other arguments than the model sent: %d of %d", len(got), len(model))
	}
}

func TestUnlistedToolGetsNoSecret(t *testing.T) {
	gw := newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	model := map[string]any{"q": "x", "X-Asana-Token": "model-value"}
	// Both names match the rule's glob; neither is in the Gateway's list.
	for _, name := range []string{"AgentCoreGwyAPIGatewayTarget___notlisted", "AgentCoreGwyAPIGatewayTarget___*"} {
		h.call(t, name, model)
		c := lastCall(t, gw, name)
		noSecretIn(t, c)
		if got := argsOf(t, c); !reflect.DeepEqual(got, model) {
			t.Errorf("%s: the arguments were changed on the way: got %d keys, X-Asana-Token sent as the model's: %v",
				name, len(got), got["X-Asana-Token"] == "model-value")
		}
	}
}

func TestDuplicateToolNameIsServedFromTheFirstListing(t *testing.T) {
	const dup = "AgentCoreGwyAPIGatewayTarget___dup"
	first := toolDef(dup, "X-Asana-Token", "q")
	second := toolDef(dup, "other") // declares no secret argument
	gw := newRawGateway(t, list(first, second, toolDef(rawTool, "X-Asana-Token", "q")))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})

	listed := func() []*mcp.Tool {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := h.client.ListTools(ctx, nil)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		var out []*mcp.Tool
		for _, tool := range res.Tools {
			if tool.Name == dup {
				out = append(out, tool)
			}
		}
		return out
	}
	dups := listed()
	if len(dups) != 1 {
		t.Fatalf("the client's list holds %s %d times, want once", dup, len(dups))
	}
	if p, req := props(t, dups[0]); !reflect.DeepEqual(p, []string{"q"}) || !reflect.DeepEqual(req, []string{"q"}) {
		t.Errorf("%s is not the first listing, stripped: properties %v required %v", dup, p, req)
	}
	h.call(t, dup, map[string]any{"q": "x"})
	if got := argsOf(t, lastCall(t, gw, dup)); got["X-Asana-Token"] != "Bearer "+asanaToken {
		t.Error("the call's rules did not come from the first listing: no secret injected")
	}

	errorLines := func() int {
		n := 0
		for _, line := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(line, "level=ERROR") && strings.Contains(line, dup) {
				n++
			}
		}
		return n
	}
	if n := errorLines(); n != 1 {
		t.Errorf("%d error lines about %s after one sync, want 1", n, dup)
	}

	// A re-sync that lists the name twice again does not report it again.
	gw.setTools(list(first, second, toolDef(rawTool, "X-Asana-Token", "q"), toolDef(rawOther, "q")))
	announce(t, gw)
	select {
	case <-h.changed:
	case <-time.After(10 * time.Second):
		t.Fatal("the re-sync did not reach the client")
	}
	if n := gw.listCount(); n < 2 {
		t.Fatalf("%d tools/list requests, want a re-sync", n)
	}
	if n := errorLines(); n != 1 {
		t.Errorf("%d error lines about %s after two syncs, want 1 (once per name, not per sync)", n, dup)
	}
	if dups := listed(); len(dups) != 1 {
		t.Errorf("after the re-sync the client's list holds %s %d times", dup, len(dups))
	}
}

// announce sends tools/list_changed once the proxy's event stream is open.
func announce(t *testing.T, gw *rawGateway) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for gw.listChanged() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the proxy never opened the Gateway's event stream")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gatedSecrets holds every secret read until release is closed, and says
// when one has begun.
type gatedSecrets struct {
	proxy.SecretSource
	entered chan struct{}
	release chan struct{}
}

func (g *gatedSecrets) Secret(ctx context.Context, name string) (tokenstore.Secret, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return g.SecretSource.Secret(ctx, name)
}

func TestCallRacingAResyncGetsNoSecretForARemovedTool(t *testing.T) {
	gw := newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q"), toolDef(rawOther, "q")))
	gate := &gatedSecrets{entered: make(chan struct{}, 1), release: make(chan struct{})}
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, secrets: func(s proxy.SecretSource) proxy.SecretSource {
		gate.SecretSource = s
		return gate
	}})
	h.tools(t)

	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: rawTool, Arguments: map[string]any{"q": "x"}})
		if err != nil {
			res = &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}
		}
		done <- res
	}()
	select {
	case <-gate.entered: // the call has decided to inject and reads the secret
	case <-time.After(10 * time.Second):
		t.Fatal("the call never read the secret")
	}
	// Meanwhile the Gateway removes the tool, and the proxy re-syncs.
	gw.setTools(list(toolDef(rawOther, "q")))
	announce(t, gw)
	select {
	case <-h.changed:
	case <-time.After(10 * time.Second):
		t.Fatal("the re-sync did not reach the client")
	}
	close(gate.release)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not end")
	}
	for _, c := range gw.received() {
		noSecretIn(t, c)
	}
}

func TestCallDuringAnAnnouncedResyncWaitsForIt(t *testing.T) {
	gw := newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q"), toolDef(rawOther, "q")))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	h.call(t, rawTool, map[string]any{"q": "warm"}) // the secret is cached from now on

	// The Gateway removes the tool and says so; the proxy's re-sync is slow.
	held, release := gw.holdLists()
	defer release()
	gw.setTools(list(toolDef(rawOther, "q")))
	announce(t, gw)
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not re-sync")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		h.client.CallTool(ctx, &mcp.CallToolParams{Name: rawTool, Arguments: map[string]any{"q": "racing"}})
	}()
	time.Sleep(300 * time.Millisecond)
	for _, c := range gw.received() {
		if strings.Contains(string(c.Arguments), "racing") {
			t.Error("the call went out before the announced re-sync finished")
		}
	}
	release()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not end after the re-sync")
	}
	c := lastCall(t, gw, rawTool)
	if !strings.Contains(string(c.Arguments), "racing") {
		t.Fatalf("the racing call did not reach the Gateway")
	}
	noSecretIn(t, c)
}

func TestRetryAfterReconnectDecidesAgain(t *testing.T) {
	gw := newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q"), toolDef(rawOther, "q")))
	gw.sessions = true
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	h.call(t, rawTool, map[string]any{"q": "warm"})

	// The session is lost, and the new session's list no longer has the
	// tool: the call refused with 404 is sent again without the secret.
	gw.setTools(list(toolDef(rawOther, "q")))
	gw.dropSessions()
	h.call(t, rawTool, map[string]any{"q": "retried"})
	c := lastCall(t, gw, rawTool)
	if !strings.Contains(string(c.Arguments), "retried") {
		t.Fatalf("the call was not retried after the reconnect")
	}
	noSecretIn(t, c)
	if n := gw.listCount(); n < 2 {
		t.Errorf("%d tools/list requests, want a re-sync on the new session", n)
	}
}

func TestSearchResultsInEveryShapeHideTheSecretArgument(t *testing.T) {
	injected := toolDef(rawTool, "X-Asana-Token", "x-asana-token", "q")
	outside := toolDef(outsideTool, "X-Asana-Token", "q")
	doc := `{"tools":[` + injected + `,` + outside + `]}`
	const before, after = "Found 2 tools for your query:\n\n", "\n\nAsk again to see more."
	textJSON, _ := json.Marshal(before + doc + after)
	gw := newRawGateway(t, list(toolDef(proxy.SearchToolName, "query"), toolDef(rawTool, "X-Asana-Token", "q")))
	gw.result(proxy.SearchToolName, `{"content":[{"type":"text","text":`+string(textJSON)+`}],`+
		`"structuredContent":{"results":{"tools":[`+injected+`,`+outside+`]}}}`)
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	res := h.call(t, proxy.SearchToolName, map[string]any{"query": "asana"})

	check := func(where string, doc []byte) {
		t.Helper()
		var d struct {
			Tools []struct {
				Name        string `json:"name"`
				InputSchema struct {
					Properties map[string]any `json:"properties"`
					Required   []string       `json:"required"`
				} `json:"inputSchema"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if len(d.Tools) != 2 {
			t.Fatalf("%s: %d tools, want 2", where, len(d.Tools))
		}
		for _, tool := range d.Tools {
			declared := strings.Join(tool.InputSchema.Required, " ")
			for k := range tool.InputSchema.Properties {
				declared += " " + k
			}
			hidden := !strings.Contains(strings.ToLower(declared), "x-asana-token")
			switch {
			case tool.Name == rawTool && !hidden:
				t.Errorf("%s: %s still shows the secret argument: %s", where, tool.Name, declared)
			case tool.Name == outsideTool && hidden:
				t.Errorf("%s: %s lost X-Asana-Token though no rule names it", where, tool.Name)
			case tool.Name == rawTool && !strings.Contains(declared, "q"):
				t.Errorf("%s: %s lost its other arguments", where, tool.Name)
			}
		}
	}
	sc, _ := json.Marshal(res.StructuredContent)
	var wrapped struct {
		Results json.RawMessage `json:"results"`
	}
	json.Unmarshal(sc, &wrapped)
	check("structuredContent.results", wrapped.Results)

	txt := text(res)
	if !strings.HasPrefix(txt, before) || !strings.HasSuffix(txt, after) {
		t.Fatalf("the prose around the JSON was not kept: %q", txt)
	}
	check("text", []byte(strings.TrimSuffix(strings.TrimPrefix(txt, before), after)))
}

// TestStrippedToolsAreExactlyTheFilledOnes: of the tools that declare the
// secret argument, those the client sees without it are exactly those whose
// calls get the secret.
func TestStrippedToolsAreExactlyTheFilledOnes(t *testing.T) {
	names := []string{rawTool, rawOther, outsideTool, "AgentCoreGwyAPIGatewayTargetX___invoke"}
	var defs []string
	for _, n := range names {
		defs = append(defs, toolDef(n, "X-Asana-Token", "q"))
	}
	gw := newRawGateway(t, list(defs...))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	tools := h.tools(t)
	for _, name := range names {
		p, _ := props(t, tools[name])
		stripped := !strings.Contains(fmt.Sprint(p), "X-Asana-Token")
		h.call(t, name, map[string]any{"q": "x"})
		filled := argsOf(t, lastCall(t, gw, name))["X-Asana-Token"] != nil
		if stripped != filled {
			t.Errorf("%s: stripped from the list %v, filled on a call %v", name, stripped, filled)
		}
	}
}
