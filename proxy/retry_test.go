package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The retry bounds: a rejected token is refreshed and the call sent once
// more, a lost session is reopened and the call sent once more; never a
// third time.

// rejectCalls answers every tools/call with HTTP 401 and body, %s being the
// request's id; everything else (initialize, tools/list) goes through.
func rejectCalls(body string) func(http.ResponseWriter, *http.Request, tapPost) bool {
	return func(w http.ResponseWriter, _ *http.Request, p tapPost) bool {
		if p.Method != "tools/call" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, body, p.ID)
		return true
	}
}

// invalidBearer is AgentCore Gateway's answer to a token its authorizer
// refuses: HTTP 401 with JSON-RPC error -32001.
const invalidBearer = `{"jsonrpc":"2.0","id":%s,"error":{"code":-32001,"message":"Invalid Bearer token"}}`

func TestRejectedTokenIsRefreshedAndTheCallRetriedOnce(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		says       string // in the isError text
	}{
		{"json-rpc error", invalidBearer, "Invalid Bearer token"},
		{"plain text", `unauthorized %s`, "401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gw := newTapGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")), rejectCalls(tt.body))
			a := &refreshingAuth{}
			h := start(t, setup{gatewayFor: gw.at, noAuth: true, oauth: a})
			h.tools(t)
			res, err := h.callWithin(t, 10*time.Second, rawTool, map[string]any{"q": "x"})
			if err != nil {
				t.Fatalf("a call whose token is refused got a JSON-RPC error, want an isError result: %v", err)
			}
			calls := gw.postsOf("tools/call")
			if len(calls) != 2 {
				t.Fatalf("the Gateway got %d POSTs for one call refused twice, want 2 (sent, refreshed, sent once more)", len(calls))
			}
			if a.count() != 1 {
				t.Errorf("%d refreshes, want 1", a.count())
			}
			if calls[0].Token == calls[1].Token {
				t.Error("the retry carried the same token as the refused call")
			}
			if !res.IsError || !strings.Contains(text(res), tt.says) {
				t.Errorf("isError=%v %q, want an isError result that says %q", res.IsError, text(res), tt.says)
			}
		})
	}
}

func TestTokenRejectedEvenAfterARefreshIsAToolErrorSayingSo(t *testing.T) {
	gw := newTapGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")), rejectCalls(invalidBearer))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, oauth: &refreshingAuth{}})
	h.tools(t)
	res, err := h.callWithin(t, 10*time.Second, rawTool, map[string]any{"q": "x"})
	if err != nil {
		t.Fatalf("JSON-RPC error %v, want an isError result the model can report", err)
	}
	// The advice that follows (which command to run) is the caller's to
	// word; what must be said is that a fresh token was refused too, and
	// the Gateway's reason.
	for _, want := range []string{"rejected the access token even after a refresh", "Invalid Bearer token", "authorizer"} {
		if !res.IsError || !strings.Contains(text(res), want) {
			t.Errorf("isError=%v %q, want it to say %q", res.IsError, text(res), want)
		}
	}
}

func TestLostSessionIsReopenedAndTheCallRetriedOnce(t *testing.T) {
	// Every tools/call gets 404 for its session, as if the Gateway lost
	// each session as soon as the call came.
	gw := newTapGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")), func(w http.ResponseWriter, _ *http.Request, p tapPost) bool {
		if p.Method != "tools/call" {
			return false
		}
		http.Error(w, "session not found", http.StatusNotFound)
		return true
	}).withSessions()
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	h.tools(t)
	res, err := h.callWithin(t, 10*time.Second, rawTool, map[string]any{"q": "x"})
	calls := gw.postsOf("tools/call")
	if len(calls) != 2 {
		t.Fatalf("the Gateway got %d POSTs of one call whose session was lost twice, want 2 (sent, reconnected, sent once more)", len(calls))
	}
	if calls[0].Session == calls[1].Session {
		t.Errorf("the retry went on the lost session %q, not a new one", calls[0].Session)
	}
	if err != nil || !res.IsError || !strings.Contains(text(res), "404") {
		t.Errorf("want an isError result naming the 404; got %v, %+v", err, res)
	}
}

func TestCancelledCallIsCancelledUpstreamWithItsID(t *testing.T) {
	for _, tt := range []struct {
		name    string
		headers bool // the Gateway has begun its answer (an event stream) before the cancel
	}{
		{"before the answer began", false},
		{"during an event stream", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			gw := newTapGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")), func(w http.ResponseWriter, r *http.Request, p tapPost) bool {
				if p.Method != "tools/call" {
					return false
				}
				if tt.headers {
					w.Header().Set("Content-Type", "text/event-stream")
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
				}
				arrived <- struct{}{}
				select { // a slow target
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return true
			})
			h := start(t, setup{gatewayFor: gw.at, noAuth: true})
			h.tools(t)

			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: rawTool, Arguments: map[string]any{"q": "slow"}})
				done <- err
			}()
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the call never reached the Gateway")
			}
			cancel() // the client sends notifications/cancelled to the proxy
			select {
			case err := <-done:
				if err == nil {
					t.Error("the cancelled call returned a result")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the cancelled call did not end")
			}

			call := gw.postsOf("tools/call")[0]
			var want any
			json.Unmarshal(call.ID, &want)
			waitFor(t, 5*time.Second, "the Gateway got no notifications/cancelled for the call", func() bool {
				for _, c := range gw.postsOf("notifications/cancelled") {
					var params struct{ RequestID any }
					if json.Unmarshal(c.Params, &params) == nil && params.RequestID == want {
						return true
					}
				}
				return false
			})
		})
	}
}
