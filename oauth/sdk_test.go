package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// gateway is a minimal Gateway for the SDK round trip: an MCP server behind
// a bearer check whose accepted tokens the test controls.
type gateway struct {
	*httptest.Server
	mu       sync.Mutex
	revoked  map[string]bool
	seen     []string // Authorization headers, in order
	statuses []int
}

func newGateway(t *testing.T) *gateway {
	server := mcp.NewServer(&mcp.Implementation{Name: "gateway", Version: "test"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "ping"}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "pong"}}}, nil, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	g := &gateway{revoked: map[string]bool{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authz := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(authz, "Bearer ")
		g.mu.Lock()
		g.seen = append(g.seen, authz)
		bad := !ok || !strings.HasPrefix(tok, "access-") || g.revoked[tok]
		g.mu.Unlock()
		if bad {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"jsonrpc":"2.0","id":0,"error":{"code":-32001,"message":"Invalid Bearer token"}}`))
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gateway) revoke(tok string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.revoked[tok] = true
}

func connectSDK(t *testing.T, gw *gateway, auth *TokenCache) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "agw-proxy-test", Version: "test"}, nil)
	cs, err := client.Connect(testwait.Context(t), &mcp.StreamableClientTransport{
		Endpoint: gw.URL, OAuthHandler: auth, HTTPClient: gw.Client(), MaxRetries: -1,
	}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-06-18"})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// The go-sdk transport retries once after Authorize: a token revoked
// mid-session is replaced and the call goes through.
func TestSDKRevokedTokenRecoveredByOneRefresh(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	auth, _ := newCC(t, srv, "default")
	gw := newGateway(t)
	cs := connectSDK(t, gw, auth)
	ctx := testwait.Context(t)
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ping"}); err != nil {
		t.Fatal(err)
	}
	gw.revoke("access-1")
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ping"})
	if err != nil {
		t.Fatalf("call after revocation: %v", err)
	}
	if res.IsError {
		t.Fatalf("call after revocation: isError result")
	}
	if n := srv.issued.Load(); n != 2 {
		t.Errorf("%d tokens issued, want 2 (one refresh)", n)
	}
	gw.mu.Lock()
	last := gw.seen[len(gw.seen)-1]
	gw.mu.Unlock()
	if last != "Bearer access-2" {
		t.Errorf("the retried request carried %q, want the new token", last)
	}
}

// A rejected login surfaces as ErrLoginNeeded from the call, and the
// session survives for the next call once a new login is stored.
func TestSDKLoginNeededThenHealed(t *testing.T) {
	testwait.NoLeaks(t)
	srv := newTokenServer(t)
	f := tokenstoretest.NewFake()
	storedRefresh(t, srv, f, "default", "refresh-a")
	auth := newAC(t, srv, "default", f)
	gw := newGateway(t)
	cs := connectSDK(t, gw, auth)
	ctx := testwait.Context(t)

	srv.set(func(s *tokenServer) { delete(s.refreshTokens, "refresh-a") })
	gw.revoke("access-1")
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ping"})
	wantLoginError(t, err, "default", "invalid_grant") // through the SDK's wrapping

	storedRefresh(t, srv, f, "default", "refresh-b") // a login elsewhere
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ping"}); err != nil {
		t.Fatalf("the session did not recover after a new login: %v", err)
	}
}
