package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/proxy"
)

// The Gateway's revisions for the tests of results that need the user: a
// stateless 2026-07-28 Gateway, and a 2025 one with sessions and streaming
// (its requests to the client travel on the call's event stream).
var inputGateways = []struct {
	name string
	opts sdkOptions
	pin  string
}{
	{"2026 Gateway", sdkOptions{versions: v2026}, proxy.StatelessProtocolVersion},
	{"2025 Gateway", sdkOptions{versions: v2025only, sessions: true, streaming: true}, proxy.UpstreamProtocolVersion},
}

const deployQuestion = "Deploy to production?"

var deploySchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"confirm": map[string]any{"type": "boolean"},
		"reason":  map[string]any{"type": "string"},
	},
}

// needsConfirmation is a tool handler that asks the user to confirm, as a
// go-sdk server tool does: an input_required result with a requestState
// (the go-sdk server turns it into elicitation/create on a 2025 session),
// then, on the retry, the answer it got and the secret it received.
func needsConfirmation(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if len(req.Params.InputResponses) == 0 {
		return &mcp.CallToolResult{
			InputRequests: mcp.InputRequestMap{"confirm": &mcp.ElicitParams{Message: deployQuestion, RequestedSchema: deploySchema}},
			RequestState:  "gw-state-1",
		}, nil
	}
	var args map[string]any
	_ = json.Unmarshal(req.Params.Arguments, &args)
	answer, _ := req.Params.InputResponses["confirm"].(*mcp.ElicitResult)
	if answer == nil || req.Params.RequestState != "gw-state-1" {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("bad retry: %v %q", req.Params.InputResponses, req.Params.RequestState)}}}, nil
	}
	content, _ := json.Marshal(answer.Content)
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("deployed: %s %s for %v", answer.Action, content, args["X-Asana-Token"])}}}, nil
}

// asker is a test client's ElicitationHandler: it records each request and
// accepts.
type asker struct {
	mu       sync.Mutex
	requests []*mcp.ElicitParams
}

func (a *asker) handle(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	a.mu.Lock()
	a.requests = append(a.requests, req.Params)
	a.mu.Unlock()
	return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"confirm": true, "reason": "ship it"}}, nil
}

func (a *asker) asked() []*mcp.ElicitParams {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*mcp.ElicitParams(nil), a.requests...)
}

func (a *asker) options(o *mcp.ClientOptions) { o.ElicitationHandler = a.handle }

// Every combination of the Gateway's revision and the client's, with the
// elicitation capability: the client is asked, in its own revision, and
// its answer reaches the Gateway's tool, with the secret injected.
func TestInputIsRelayedToACapableClientInItsRevision(t *testing.T) {
	for _, gwRev := range inputGateways {
		for _, rev := range clientRevisions {
			t.Run(gwRev.name+"/"+rev+" client", func(t *testing.T) {
				o := gwRev.opts
				o.tool = needsConfirmation
				gw := newSDKGateway(t, o)
				a := &asker{}
				h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: pin(gwRev.pin), protocol: rev, client: a.options})

				res := h.call(t, headerTool, map[string]any{"q": "deploy"})
				if res.IsError || !strings.Contains(text(res), `deployed: accept {"confirm":true,"reason":"ship it"} for Bearer `+proxy.Mask) {
					t.Fatalf("the call answered %q (isError %v), want the tool's answer to the confirmation, its secret masked", text(res), res.IsError)
				}
				asked := a.asked()
				if len(asked) != 1 || asked[0].Message != deployQuestion {
					t.Fatalf("the client was asked %v, want the Gateway's question once", asked)
				}
				if b, _ := json.Marshal(asked[0].RequestedSchema); !strings.Contains(string(b), `"reason"`) {
					t.Errorf("the client was asked without the requested fields: %s", b)
				}
				// The tool ran for the question and for the answer, each time
				// with the injected secret; the retry carried the answer and
				// the Gateway's requestState.
				calls := gw.toolCalls()
				if len(calls) != 2 {
					t.Fatalf("the Gateway's tool ran %d times, want 2", len(calls))
				}
				for i, c := range calls {
					if c.Arguments["X-Asana-Token"] != "Bearer "+asanaToken {
						t.Errorf("run %d: X-Asana-Token %q, want the injected secret", i, c.Arguments["X-Asana-Token"])
					}
				}
				if calls[1].RequestState != "gw-state-1" || calls[1].InputResponses["confirm"] == nil {
					t.Errorf("the retry carried requestState %q and inputResponses %v", calls[1].RequestState, calls[1].InputResponses)
				}
				// Each revision hears it in its own words.
				if rev == "2026-07-28" {
					if len(linesWith(h, `"resultType":"input_required"`, `"inputRequests"`, deployQuestion)) != 1 {
						t.Errorf("no input_required result reached the 2026-07-28 client:\n%s", h.out.String())
					}
				} else {
					if len(linesWith(h, `"method":"elicitation/create"`, deployQuestion)) != 1 {
						t.Errorf("no elicitation/create reached the 2025 client:\n%s", h.out.String())
					}
					if strings.Contains(h.out.String(), `"input_required"`) {
						t.Errorf("an input_required reached the 2025 client:\n%s", h.out.String())
					}
				}
			})
		}
	}
}

// A client that did not declare the capability gets an isError result that
// says what the Gateway asked for; a 2025 Gateway's request is answered,
// and its call ends.
func TestInputForAClientWithoutTheCapabilityIsAnErrorResult(t *testing.T) {
	for _, gwRev := range inputGateways {
		for _, rev := range clientRevisions {
			t.Run(gwRev.name+"/"+rev+" client", func(t *testing.T) {
				o := gwRev.opts
				o.tool = needsConfirmation
				gw := newSDKGateway(t, o)
				h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: pin(gwRev.pin), protocol: rev})

				res := h.call(t, headerTool, map[string]any{"q": "deploy"})
				want := "the Gateway asked for input the client cannot give: " + deployQuestion + " (fields: confirm, reason)"
				if !res.IsError || !strings.Contains(text(res), want) {
					t.Fatalf("the call answered %q (isError %v), want an isError result with %q", text(res), res.IsError, want)
				}
				if strings.Contains(h.out.String(), "elicitation/create") || strings.Contains(h.out.String(), "input_required") {
					t.Errorf("the client was asked though it cannot answer:\n%s", h.out.String())
				}
				// Nothing waits at the Gateway for an answer.
				deadline := time.Now().Add(10 * time.Second)
				for gw.serving() > 0 {
					if time.Now().After(deadline) {
						t.Fatal("the Gateway still serves the call: its request for input was never answered")
					}
					time.Sleep(10 * time.Millisecond)
				}
				if n := len(gw.toolCalls()); n != 1 {
					t.Errorf("the Gateway's tool ran %d times, want 1 (no retry without an answer)", n)
				}
			})
		}
	}
}

// A Gateway that asks again on every retry is given up on after
// maxInputRounds rounds: the client is not asked without end.
func TestGatewayThatAsksWithoutEndIsBounded(t *testing.T) {
	gw := newSDKGateway(t, sdkOptions{versions: v2026, tool: func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"again": &mcp.ElicitParams{Message: "once more?"}}, RequestState: "s"}, nil
	}})
	a := &asker{}
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: pin(proxy.StatelessProtocolVersion), protocol: "2025-11-25", client: a.options})
	res := h.call(t, headerTool, map[string]any{"q": "x"})
	if !res.IsError || !strings.Contains(text(res), "the Gateway asked for input more than 10 times in one call") {
		t.Fatalf("the call answered %q (isError %v), want an isError result on the bound", text(res), res.IsError)
	}
	if n := len(a.asked()); n == 0 || n > 10 {
		t.Errorf("the client was asked %d times, want 1 to 10", n)
	}
	if n := len(gw.toolCalls()); n > 10 {
		t.Errorf("the Gateway's tool ran %d times, want at most 10", n)
	}
}

// A URL the Gateway asks a client to open, when the client declared only
// form elicitation, is a consent the proxy waits for (consent.go): with no
// browser to open, it is told, and a call still asked for it after the
// consent timeout is an isError result that names the URL.
func TestURLElicitationForAFormOnlyClientNamesTheURL(t *testing.T) {
	const url = "https://bedrock-agentcore.us-east-1.amazonaws.com/identities/oauth2/authorize?request_uri=urn:x"
	for _, rev := range clientRevisions {
		t.Run(rev, func(t *testing.T) {
			gw := newSDKGateway(t, sdkOptions{versions: v2026, tool: func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"login": &mcp.ElicitParams{Mode: "url", Message: "Authorize Asana", URL: url, ElicitationID: "el-1"}}}, nil
			}})
			a := &asker{}
			h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: func(o *proxy.Options) {
				o.Protocol = proxy.StatelessProtocolVersion
				o.ConsentTimeout, o.ConsentPoll = time.Second, 200*time.Millisecond
			}, protocol: rev, client: a.options})
			res := h.call(t, headerTool, map[string]any{"q": "x"})
			want := "still asked for it after 1s (timeouts.consent): open " + url + " in a browser"
			if !res.IsError || !strings.Contains(text(res), want) {
				t.Fatalf("the call answered %q (isError %v), want %q", text(res), res.IsError, want)
			}
			if n := len(a.asked()); n != 0 {
				t.Errorf("the form-only client was asked %d times", n)
			}
			if !strings.Contains(h.logs.String(), `url="`+url+`"`) {
				t.Errorf("the log does not name the URL to open:\n%s", h.logs)
			}
		})
	}
}

// The Gateway's URL elicitation for an OAuth consent (-32042 from a 2025
// Gateway, input_required from a 2026-07-28 one) reaches a client that
// declared URL elicitation in the client's revision, once, with its URL;
// the call, polled while the Gateway still asks, ends with the consent
// timeout.
func TestURLElicitationRequiredErrorStillReachesTheClient(t *testing.T) {
	const url = "https://bedrock-agentcore.us-east-1.amazonaws.com/identities/oauth2/authorize?request_uri=urn:y"
	for _, gwRev := range inputGateways {
		for _, rev := range clientRevisions {
			t.Run(gwRev.name+"/"+rev+" client", func(t *testing.T) {
				o := gwRev.opts
				o.tool = func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					el := &mcp.ElicitParams{Mode: "url", Message: "Authorize Asana", URL: url, ElicitationID: "el-2"}
					if gwRev.pin == proxy.StatelessProtocolVersion {
						return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"auth": el}}, nil
					}
					return nil, mcp.URLElicitationRequiredError([]*mcp.ElicitParams{el})
				}
				gw := newSDKGateway(t, o)
				a := &urlAsker{action: "accept"}
				h := start(t, setup{gatewayFor: gw.at, noAuth: true, protocol: rev, client: a.options, options: func(o *proxy.Options) {
					o.Protocol = gwRev.pin
					o.ConsentTimeout, o.ConsentPoll = time.Second, 200*time.Millisecond
				}})
				res := h.call(t, headerTool, map[string]any{"q": "x"})
				if !res.IsError || !strings.Contains(text(res), "open "+url) {
					t.Fatalf("the call answered %q (isError %v), want the consent timeout with the URL", text(res), res.IsError)
				}
				asked := a.requests()
				if len(asked) != 1 || asked[0].URL != url || asked[0].Mode != "url" || asked[0].Message != "Authorize Asana" {
					t.Fatalf("the client was asked %+v, want the Gateway's URL elicitation once", asked)
				}
				if n := len(gw.toolCalls()); n < 2 {
					t.Errorf("the Gateway's tool ran %d times: the call was not polled", n)
				}
			})
		}
	}
}

// manualInput makes the test client declare elicitation and leave the
// retries of input_required results to the test.
func manualInput(o *mcp.ClientOptions) {
	o.Capabilities = &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{}}
	o.MultiRoundTrip = &mcp.MultiRoundTripOptions{Disabled: true}
}

// A 2025 Gateway's call parked for a 2026-07-28 client is resumed by the
// retry with its requestState, once; the state is random and names nothing
// of the call; a parked call that the client never answers ends with the
// call timeout, and its state is then unknown.
func TestParkedCallIsResumedOnceAndExpires(t *testing.T) {
	gw := newSDKGateway(t, sdkOptions{versions: v2025only, sessions: true, streaming: true, tool: needsConfirmation})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: pin(proxy.UpstreamProtocolVersion), protocol: "2026-07-28", client: manualInput, call: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call := func(p *mcp.CallToolParams) *mcp.CallToolResult {
		t.Helper()
		res, err := h.client.CallTool(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := call(&mcp.CallToolParams{Name: headerTool, Arguments: map[string]any{"q": "x"}})
	ask, _ := first.InputRequests["gateway"].(*mcp.ElicitParams)
	if !first.NeedsInput() || ask == nil || ask.Message != deployQuestion {
		t.Fatalf("the first round answered %+v, want input_required with the Gateway's question", first)
	}
	state := first.RequestState
	if !strings.HasPrefix(state, "agw-proxy-input.") || len(state) < len("agw-proxy-input.")+26 || strings.Contains(state, headerTool) {
		t.Errorf("requestState %q: want the proxy's prefix and 128 random bits, nothing of the call", state)
	}
	retry := &mcp.CallToolParams{Name: headerTool, Arguments: map[string]any{"q": "x"},
		InputResponses: mcp.InputResponseMap{"gateway": &mcp.ElicitResult{Action: "accept", Content: map[string]any{"confirm": true}}},
		RequestState:   state}
	if res := call(retry); res.IsError || !strings.Contains(text(res), `deployed: accept {"confirm":true}`) {
		t.Fatalf("the retry answered %q (isError %v), want the call's result", text(res), res.IsError)
	}
	if res := call(retry); !res.IsError || !strings.Contains(text(res), "the requestState of this retry is unknown") {
		t.Errorf("a second retry with the same state answered %q, want the unknown-state error", text(res))
	}

	// A question left unanswered: the call ends with timeouts.call, at the
	// Gateway too, and its state with it.
	second := call(&mcp.CallToolParams{Name: headerTool, Arguments: map[string]any{"q": "y"}})
	if !second.NeedsInput() || second.RequestState == state {
		t.Fatalf("the second call answered %+v, want input_required with a state of its own", second)
	}
	deadline := time.Now().Add(10 * time.Second)
	for gw.serving() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the parked call still runs at the Gateway after the call timeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
	retry.RequestState = second.RequestState
	if res := call(retry); !res.IsError || !strings.Contains(text(res), "the requestState of this retry is unknown") {
		t.Errorf("a retry after the call timeout answered %q, want the unknown-state error", text(res))
	}
}

// A state is used once even while its call goes on: after the retry, the
// Gateway's next question has a state of its own, and a retry with the old
// one is an unknown state that leaves the call alone.
func TestUsedStateIsUnknownWhileItsCallGoesOn(t *testing.T) {
	twoQuestions := func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var got []string
		for _, q := range []string{"First?", "Second?"} {
			res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: q, RequestedSchema: deploySchema})
			if err != nil {
				return nil, err
			}
			got = append(got, res.Action)
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "answers: " + strings.Join(got, ",")}}}, nil
	}
	gw := newSDKGateway(t, sdkOptions{versions: v2025only, sessions: true, streaming: true, tool: twoQuestions})
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: pin(proxy.UpstreamProtocolVersion), protocol: "2026-07-28", client: manualInput})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call := func(state, action string) *mcp.CallToolResult {
		t.Helper()
		p := &mcp.CallToolParams{Name: headerTool, Arguments: map[string]any{"q": "x"}}
		if state != "" {
			p.InputResponses = mcp.InputResponseMap{"gateway": &mcp.ElicitResult{Action: action}}
			p.RequestState = state
		}
		res, err := h.client.CallTool(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := call("", "")
	second := call(first.RequestState, "accept")
	if ask, _ := second.InputRequests["gateway"].(*mcp.ElicitParams); !second.NeedsInput() || ask == nil || ask.Message != "Second?" {
		t.Fatalf("the first retry answered %+v, want the second question", second)
	}
	if res := call(first.RequestState, "decline"); !res.IsError || !strings.Contains(text(res), "the requestState of this retry is unknown") {
		t.Errorf("a retry with the used state answered %q, want the unknown-state error", text(res))
	}
	if res := call(second.RequestState, "decline"); res.IsError || text(res) != "answers: accept,decline" {
		t.Errorf("the last retry answered %q (isError %v), want the answers to both questions", text(res), res.IsError)
	}
}
