package proxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// jsonError answers a POST with a JSON-RPC error.
func jsonError(w http.ResponseWriter, p tapPost, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%q}}`, p.ID, code, msg)
}

func TestRefusedDiscoverFallsBackToASession(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(w http.ResponseWriter, p tapPost)
	}{
		{"method not found", nil}, // the raw Gateway's own answer
		{"unsupported protocol version", func(w http.ResponseWriter, p tapPost) {
			jsonError(w, p, http.StatusOK, -32022, "unsupported protocol version")
		}},
		{"invalid request in an HTTP 400", func(w http.ResponseWriter, p tapPost) {
			jsonError(w, p, http.StatusBadRequest, -32600, "no session")
		}},
		{"HTTP 400", func(w http.ResponseWriter, _ tapPost) { http.Error(w, "bad request", http.StatusBadRequest) }},
		{"HTTP 404", func(w http.ResponseWriter, _ tapPost) { http.Error(w, "not found", http.StatusNotFound) }},
		{"HTTP 405", func(w http.ResponseWriter, _ tapPost) {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gw := newTapGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")), func(w http.ResponseWriter, _ *http.Request, p tapPost) bool {
				if p.Method != "server/discover" || tt.answer == nil {
					return false
				}
				tt.answer(w, p)
				return true
			}).withSessions()
			h := start(t, setup{gatewayFor: gw.at, noAuth: true})
			if res := h.call(t, rawTool, map[string]any{"q": "x"}); res.IsError {
				t.Fatalf("the call failed: %s", text(res))
			}
			if n := len(gw.postsOf("server/discover")); n != 1 {
				t.Errorf("%d server/discover requests, want 1 (a refusal is not retried)", n)
			}
			if n := len(gw.postsOf("initialize")); n != 1 {
				t.Errorf("%d initialize requests, want 1", n)
			}
			if c := lastCall(t, gw.rawGateway, rawTool); !strings.Contains(string(c.Arguments), asanaToken) {
				t.Errorf("the call on the session lacks the injected secret: %s", c.Arguments)
			}
		})
	}
}

func TestDiscoverRefreshesARejectedToken(t *testing.T) {
	a := &refreshingAuth{}
	gw := newTapGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")), func(w http.ResponseWriter, _ *http.Request, p tapPost) bool {
		if p.Method == "server/discover" && p.Token == "token-0" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			jsonError(w, p, http.StatusUnauthorized, -32001, "Invalid Bearer token")
			return true
		}
		return false
	}).withSessions()
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, oauth: a})
	if res := h.call(t, rawTool, map[string]any{"q": "x"}); res.IsError {
		t.Fatalf("the call failed: %s", text(res))
	}
	ds := gw.postsOf("server/discover")
	if len(ds) != 2 || ds[0].Token != "token-0" || ds[1].Token != "token-1" {
		t.Errorf("server/discover requests %+v, want one with the old token and one after the refresh", ds)
	}
	if a.count() != 1 {
		t.Errorf("%d refreshes, want 1", a.count())
	}
}

func TestDiscoverRejectedAfterTheRefreshDoesNotFallBack(t *testing.T) {
	gw := newTapGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")), func(w http.ResponseWriter, _ *http.Request, p tapPost) bool {
		if p.Method == "server/discover" {
			jsonError(w, p, http.StatusUnauthorized, -32001, "Invalid Bearer token")
			return true
		}
		return false
	}).withSessions()
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, oauth: &refreshingAuth{}, connect: time.Second})
	res := h.call(t, rawTool, map[string]any{"q": "x"})
	if !res.IsError || !strings.Contains(text(res), "Invalid Bearer token") {
		t.Errorf("isError=%v %q, want the Gateway's refusal", res.IsError, text(res))
	}
	if n := len(gw.postsOf("initialize")); n != 0 {
		t.Errorf("%d initialize requests: a rejected token was taken for a 2025 Gateway", n)
	}
}

func TestDiscoverThatFailsIsRetriedNotFallenBackFrom(t *testing.T) {
	var failed atomic.Bool
	gw := newTapGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q")), func(w http.ResponseWriter, _ *http.Request, p tapPost) bool {
		if p.Method == "server/discover" && failed.CompareAndSwap(false, true) {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return true
		}
		return false
	}).withSessions()
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	if res := h.call(t, rawTool, map[string]any{"q": "x"}); res.IsError {
		t.Fatalf("the call failed: %s", text(res))
	}
	gw.tapMu.Lock()
	var order []string
	for _, p := range gw.posts {
		if p.Method == "server/discover" || p.Method == "initialize" {
			order = append(order, p.Method)
		}
	}
	gw.tapMu.Unlock()
	if strings.Join(order, " ") != "server/discover server/discover initialize" {
		t.Errorf("requests %v, want a failed discover, a retried one, then the fallback", order)
	}
}
