package proxy_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// The proxy against the emulator as the Gateway is in late 2026: tools/list
// in pages of 30, sessions that end at an absolute timeout.

// upstreamRevisions are the ways the proxy can speak with the emulator:
// auto (which finds 2026-07-28) and a pinned 2025 session.
var upstreamRevisions = []struct {
	name    string
	options func(*proxy.Options)
}{
	{"auto", nil},
	{"2025-11-25", pin2025},
}

// opsSpec is an OpenAPI spec with n operations op000 ... op{n-1}.
func opsSpec(n int) []byte {
	paths := map[string]any{}
	for i := range n {
		paths[fmt.Sprintf("/op%d", i)] = map[string]any{"post": map[string]any{
			"operationId": fmt.Sprintf("op%03d", i), "description": "operation",
		}}
	}
	b, _ := json.Marshal(map[string]any{"openapi": "3.0.3", "info": map[string]any{"title": "many", "version": "1"}, "paths": paths})
	return b
}

// The Gateway's own page size, 30, with 100 tools: the client gets every
// one in its list, and the proxy followed four pages for it.
func TestEveryPageOfThirtyIsListed(t *testing.T) {
	for _, rev := range upstreamRevisions {
		t.Run(rev.name, func(t *testing.T) {
			h := start(t, setup{options: rev.options, sim: gatewaysim.Options{Targets: []gatewaysim.Target{
				{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
				{Name: "Many", Spec: opsSpec(99)},
			}}})
			tools := h.tools(t)
			if len(tools) != 100 {
				t.Fatalf("the client sees %d tools, want 100", len(tools))
			}
			for i := range 99 {
				if _, ok := tools[fmt.Sprintf("Many___op%03d", i)]; !ok {
					t.Errorf("Many___op%03d is missing", i)
				}
			}
			if _, ok := tools[asanaTool].InputSchema.(map[string]any)["properties"].(map[string]any)["X-Asana-Token"]; ok {
				t.Error("the secret argument was not stripped")
			}
			if n := h.sim.Counts().ToolLists; n < 4 {
				t.Errorf("the Gateway served %d tools/list pages, want at least 4 (100 tools, 30 a page)", n)
			}
		})
	}
}

// A 2025 session ends an hour after it opened, however busy: the next call
// gets HTTP 404 for it, and the proxy opens a new session and sends the
// call again, with nothing for the client to see.
func TestAbsoluteSessionTimeoutIsRecoveredUnseen(t *testing.T) {
	h := start(t, setup{options: pin2025, sim: gatewaysim.Options{Sessions: true, TokenLifetime: 24 * time.Hour}})
	if res := h.call(t, asanaTool, map[string]any{"tool_name": "list_projects"}); res.IsError {
		t.Fatalf("first call: %s", text(res))
	}
	h.sim.SetClockSkew(gatewaysim.DefaultSessionTimeout + time.Second)
	res := h.call(t, asanaTool, map[string]any{"tool_name": "list_projects"})
	if res.IsError {
		t.Fatalf("the call after the session's timeout failed: %s", text(res))
	}
	c := h.sim.Counts()
	if c.SessionsExpired != 1 || c.Initializes != 2 {
		t.Errorf("%d sessions expired and %d initialized, want 1 and 2", c.SessionsExpired, c.Initializes)
	}
	if c.BackendRequests != 2 {
		t.Errorf("the target got %d requests, want 2 (the expired session's call never reached it)", c.BackendRequests)
	}
}
