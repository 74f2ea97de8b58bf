package proxy_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// Both revisions a desktop client may speak: 2026-07-28 without initialize,
// 2025-11-25 with it.
var clientRevisions = []string{"2026-07-28", "2025-11-25"}

// linesWith returns the lines the proxy wrote toward the client that hold
// every one of parts.
func linesWith(h *harness, parts ...string) []string {
	var out []string
	for _, line := range strings.Split(h.out.String(), "\n") {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			out = append(out, line)
		}
	}
	return out
}

// Each client revision, with each Gateway revision: a 2026-07-28 client
// gets a resultType on the results of a 2025 Gateway too, which have none.
func TestEachRevisionGetsStrippingInjectionAndScrubbing(t *testing.T) {
	for _, rev := range clientRevisions {
		for _, up := range upstreamRevisions {
			t.Run(rev+"/Gateway "+up.name, func(t *testing.T) {
				testEachRevision(t, rev, up.options)
			})
		}
	}
}

func testEachRevision(t *testing.T, rev string, options func(*proxy.Options)) {
	h := start(t, setup{sim: gatewaysim.Options{EchoToken: true}, protocol: rev, options: options})
	if got := h.client.InitializeResult().ProtocolVersion; got != rev {
		t.Fatalf("the client speaks %s, want %s", got, rev)
	}
	p, req := props(t, h.tools(t)[asanaTool])
	if slices.Contains(p, "X-Asana-Token") || slices.Contains(req, "X-Asana-Token") {
		t.Errorf("X-Asana-Token still in the schema: properties %v required %v", p, req)
	}
	res := h.call(t, asanaTool, map[string]any{"tool_name": "list_projects"})
	if res.IsError {
		t.Fatalf("call failed: %s", text(res))
	}
	if got := lastReceived(t, h.sim, gatewaysim.DefaultTargetName); got.Header.Get("X-Asana-Token") != "Bearer "+asanaToken {
		t.Error("the target did not receive X-Asana-Token: Bearer <stored token>")
	}
	if !strings.Contains(text(res), proxy.Mask) || strings.Contains(text(res), asanaToken) {
		t.Errorf("the echoed token was not masked: %s", text(res))
	}
	// The raw answers: resultType for a 2026-07-28 client, on the
	// list (with its cache hints) and the call; never for 2025.
	lists := linesWith(h, `"result":{`, `"tools":[`)
	calls := linesWith(h, `"result":{`, `x_asana_token`)
	if len(lists) != 1 || len(calls) != 1 {
		t.Fatalf("found %d tools/list and %d tools/call answers in:\n%s", len(lists), len(calls), h.out.String())
	}
	if rev == "2026-07-28" {
		if !strings.Contains(lists[0], `"result":{"resultType":"complete","ttlMs":0,"cacheScope":"private","tools":[`) {
			t.Errorf("tools/list answer without resultType and cache hints: %.200s", lists[0])
		}
		var answer struct {
			Result struct {
				ResultType string `json:"resultType"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(calls[0]), &answer); err != nil || answer.Result.ResultType != "complete" {
			t.Errorf("tools/call answer without resultType complete (%v): %.200s", err, calls[0])
		}
	} else if strings.Contains(lists[0], `"resultType"`) {
		// The proxy's own answers are of the client's revision (a
		// call's result is the Gateway's: from a stateless Gateway
		// it carries a resultType, a member 2025 results may have).
		t.Errorf("a %s client's tools/list answer has a resultType: %.200s", rev, lists[0])
	}
}

// Of a 2026-07-28 client's _meta only the progress token travels to the
// Gateway: protocol version, capabilities and client info are the proxy's
// business.
func TestStatelessMetaStaysInTheProxy(t *testing.T) {
	gw := newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, protocol: "2026-07-28"})
	if got := h.client.InitializeResult().ProtocolVersion; got != "2026-07-28" {
		t.Fatalf("the client speaks %s, want 2026-07-28", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	params := &mcp.CallToolParams{Name: rawTool, Arguments: map[string]any{"q": "x"}}
	params.SetProgressToken("tok-7")
	if _, err := h.client.CallTool(ctx, params); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Params struct {
			Meta map[string]any `json:"_meta"`
		} `json:"params"`
	}
	if err := json.Unmarshal(lastCall(t, gw, rawTool).Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Params.Meta) != 1 || body.Params.Meta["progressToken"] != "tok-7" {
		t.Errorf("the Gateway got _meta %v, want only the progress token", body.Params.Meta)
	}
}

func TestProgressReachesEachRevision(t *testing.T) {
	for _, rev := range clientRevisions {
		t.Run(rev, func(t *testing.T) {
			h := start(t, setup{gatewayURL: leakyUpstream(t, []string{"unused-secret-value"}, 1), noAuth: true, protocol: rev})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			params := &mcp.CallToolParams{Name: "AgentCoreGwyAPIGatewayTarget___leak", Arguments: map[string]any{"q": "ok"}}
			params.SetProgressToken("tok-" + rev)
			if _, err := h.client.CallTool(ctx, params); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				if len(linesWith(h, `"notifications/progress"`, `"tok-`+rev+`"`)) > 0 {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Error("no progress notification with the client's token reached the client")
		})
	}
}

// A 2026-07-28 client hears of a change of the Gateway's tools on the
// subscription it opened (the go-sdk client opens one when it has a
// handler), tagged with its id, and never untagged: the revision forbids a
// notification the client did not subscribe to.
func TestStatelessListChangedComesOnTheSubscription(t *testing.T) {
	h := start(t, setup{sim: gatewaysim.Options{Sessions: true, Streaming: true}, protocol: "2026-07-28", options: pin2025})
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
	acks := linesWith(h, `"notifications/subscriptions/acknowledged"`, `"toolsListChanged":true`)
	if len(acks) != 1 {
		t.Fatalf("%d acknowledgements of the subscription in:\n%s", len(acks), h.out.String())
	}
	for _, line := range linesWith(h, `"notifications/tools/list_changed"`) {
		if !strings.Contains(line, `"io.modelcontextprotocol/subscriptionId":`) {
			t.Errorf("an untagged tools/list_changed reached a 2026-07-28 client: %s", line)
		}
	}
	// The subscription's id: the acknowledgement's.
	var ack struct {
		Params struct {
			Meta map[string]any `json:"_meta"`
		} `json:"params"`
	}
	json.Unmarshal([]byte(acks[0]), &ack)
	id, _ := json.Marshal(ack.Params.Meta["io.modelcontextprotocol/subscriptionId"])
	if n := len(linesWith(h, `"notifications/tools/list_changed"`, `"io.modelcontextprotocol/subscriptionId":`+string(id))); n != 1 {
		t.Errorf("%d tools/list_changed on subscription %s, want 1 (the first listing is no news):\n%s", n, id, h.out.String())
	}
}

func TestNothingLeaksToA2025Client(t *testing.T) {
	// TestNothingLeaksToTheClient runs with the go-sdk's default, 2026-07-28.
	for seed := range uint64(3) {
		h := start(t, setup{noAuth: true, protocol: "2025-11-25", gatewayFor: func(sim *gatewaysim.Sim) string {
			return leakyUpstream(t, []string{asanaToken, sim.ClientSecret}, seed)
		}})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		h.client.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "debug"})
		for _, q := range []string{"ok", "iserror", "error"} {
			params := &mcp.CallToolParams{Name: "AgentCoreGwyAPIGatewayTarget___leak", Arguments: map[string]any{"q": q}}
			params.SetProgressToken("p-" + q)
			h.client.CallTool(ctx, params)
		}
		cancel()
		h.tools(t)
		// The harness's cleanup runs the oracle over every line.
		if !strings.Contains(h.out.String(), proxy.Mask) {
			t.Error("nothing was masked: the leaky upstream did not run")
		}
	}
}
