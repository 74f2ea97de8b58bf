package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// tapGateway is a rawGateway behind a tap: it records every POST as it
// arrived, in order, and a test's answer func may answer a POST itself (a
// 401, a 404, a call that never ends) instead of the rawGateway. Counting
// the POSTs is how the retry bounds are checked.
type tapGateway struct {
	*rawGateway
	answer func(w http.ResponseWriter, r *http.Request, p tapPost) bool

	tapMu sync.Mutex
	posts []tapPost
}

// tapPost is one POST as the Gateway received it.
type tapPost struct {
	Method  string
	ID      json.RawMessage // absent for a notification
	Params  json.RawMessage
	Session string // Mcp-Session-Id
	Token   string // the Authorization header's bearer token
}

// newTapGateway starts a Gateway listing tools; answer, if not nil, is asked
// first about each POST and reports whether it answered it.
func newTapGateway(t *testing.T, tools string, answer func(w http.ResponseWriter, r *http.Request, p tapPost) bool) *tapGateway {
	t.Helper()
	testwait.NoLeaks(t)
	g := &tapGateway{rawGateway: &rawGateway{tools: tools, results: map[string]json.RawMessage{}}, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/mcp"
	return g
}

// withSessions makes the Gateway hand out session ids and answer 404 for
// any but the live one.
func (g *tapGateway) withSessions() *tapGateway {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sessions = true
	return g
}

func (g *tapGateway) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		g.rawGateway.serve(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(body, &msg)
	tok, _ := bytes.CutPrefix([]byte(r.Header.Get("Authorization")), []byte("Bearer "))
	p := tapPost{Method: msg.Method, ID: msg.ID, Params: msg.Params, Session: r.Header.Get("Mcp-Session-Id"), Token: string(tok)}
	g.tapMu.Lock()
	g.posts = append(g.posts, p)
	g.tapMu.Unlock()
	if g.answer != nil && g.answer(w, r, p) {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	g.rawGateway.serve(w, r)
}

// postsOf returns the POSTs of one JSON-RPC method received so far.
func (g *tapGateway) postsOf(method string) []tapPost {
	g.tapMu.Lock()
	defer g.tapMu.Unlock()
	var out []tapPost
	for _, p := range g.posts {
		if p.Method == method {
			out = append(out, p)
		}
	}
	return out
}

// waitFor polls until cond holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// callWithin makes one tools/call from the client, failing the test if it
// is not answered within d. err is the JSON-RPC error, if any.
func (h *harness) callWithin(t *testing.T, d time.Duration, name string, args map[string]any) (*mcp.CallToolResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	res, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if ctx.Err() != nil {
		t.Fatalf("tools/call %s: no answer within %s", name, d)
	}
	return res, err
}

// refreshingAuth is an OAuthHandler whose every Authorize (after a 401 or
// 403) "refreshes" the token: the next requests carry token-1, token-2...
type refreshingAuth struct {
	mu         sync.Mutex
	authorized int
}

func (a *refreshingAuth) TokenSource(context.Context) (oauth2.TokenSource, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fmt.Sprintf("token-%d", a.authorized)}), nil
}

func (a *refreshingAuth) Authorize(_ context.Context, _ *http.Request, resp *http.Response) error {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.authorized++
	return nil
}

func (a *refreshingAuth) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.authorized
}
