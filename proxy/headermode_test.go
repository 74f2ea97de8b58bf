package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// headerRule sends the Asana token as the X-Asana-Token header on the calls
// of the default target's tools.
var headerRule = proxy.Rule{
	Argument: "X-Asana-Token",
	Secret:   "asana",
	Tools:    []string{gatewaysim.DefaultTargetName + "___*"},
	Via:      proxy.ViaHeader,
}

// propagating are the emulator's two targets, both allowlisting
// X-Asana-Token in metadataConfiguration: a header the proxy sent on the
// wrong call would reach the other target's backend too.
func propagating() []gatewaysim.Target {
	meta := &gatewaysim.MetadataConfiguration{AllowedRequestHeaders: []string{"X-Asana-Token"}}
	return []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey, Metadata: meta},
		{Name: "OtherTarget", Spec: configs.AsanaOpenAPI, APIKey: "other-key", Metadata: meta},
	}
}

// wirePost is one POST to the Gateway as it left the proxy.
type wirePost struct {
	Method string // JSON-RPC method; "" for a response to the Gateway
	Tool   string // params.name of a tools/call
	Header http.Header
	Body   []byte
}

// wireTap sits between the proxy and the Gateway and records every request.
type wireTap struct {
	mu    sync.Mutex
	posts []wirePost
	other []http.Header // GET and DELETE requests
}

// tapIn front of target (the Gateway's /mcp URL) and returns the URL to use.
func tapIn(t *testing.T, target string) (string, *wireTap) {
	t.Helper()
	testwait.NoLeaks(t)
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tap := &wireTap{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		tap.mu.Lock()
		if r.Method == http.MethodPost {
			var msg struct {
				Method string `json:"method"`
				Params struct {
					Name string `json:"name"`
				} `json:"params"`
			}
			_ = json.Unmarshal(body, &msg)
			tap.posts = append(tap.posts, wirePost{Method: msg.Method, Tool: msg.Params.Name, Header: r.Header.Clone(), Body: body})
		} else {
			tap.other = append(tap.other, r.Header.Clone())
		}
		tap.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + u.Path, tap
}

func (w *wireTap) all() ([]wirePost, []http.Header) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.posts), slices.Clone(w.other)
}

// revisions are the two upstreams: the emulator's 2026-07-28 (stateless) and
// a 2025-11-25 session.
var revisions = []struct {
	name     string
	sessions bool
	options  func(*proxy.Options)
}{
	{"2026-07-28", false, nil},
	{"2025-11-25", true, pin2025},
}

func TestHeaderRuleSendsTheSecretOnMatchingCallsOnly(t *testing.T) {
	for _, rev := range revisions {
		t.Run(rev.name, func(t *testing.T) {
			var tap *wireTap
			h := start(t, setup{
				sim:        gatewaysim.Options{Targets: propagating(), Sessions: rev.sessions, Search: true},
				gatewayFor: func(sim *gatewaysim.Sim) (u string) { u, tap = tapIn(t, sim.GatewayURL); return u },
				options: func(o *proxy.Options) {
					o.Rules = []proxy.Rule{headerRule}
					if rev.options != nil {
						rev.options(o)
					}
				},
			})
			tools := h.tools(t)
			// The argument is still hidden from the model where the
			// target declares it; a tool outside the globs keeps it.
			if ps, req := props(t, tools[asanaTool]); slices.Contains(ps, "X-Asana-Token") || slices.Contains(req, "X-Asana-Token") {
				t.Errorf("%s still declares X-Asana-Token: %v %v", asanaTool, ps, req)
			}
			if ps, _ := props(t, tools[otherTool]); !slices.Contains(ps, "X-Asana-Token") {
				t.Errorf("%s lost X-Asana-Token though no rule names it", otherTool)
			}

			// A value the model made up is dropped, not sent: with it in
			// the arguments the Gateway would prefer it to the header.
			res := h.call(t, asanaTool, map[string]any{"tool_name": "list_projects", "X-Asana-Token": "Bearer made-up-by-model"})
			if res.IsError {
				t.Fatalf("call failed: %s", text(res))
			}
			got := lastReceived(t, h.sim, gatewaysim.DefaultTargetName)
			if v := got.Header.Get("X-Asana-Token"); v != "Bearer "+asanaToken {
				t.Errorf("the backend got X-Asana-Token of %d bytes, want Bearer <stored token>", len(v))
			}
			if res := h.call(t, otherTool, map[string]any{"tool_name": "x"}); res.IsError {
				t.Fatalf("call failed: %s", text(res))
			}
			if v := lastReceived(t, h.sim, "OtherTarget").Header.Get("X-Asana-Token"); v != "" {
				t.Errorf("a tool outside the globs got X-Asana-Token (%d bytes) through propagation", len(v))
			}
			if res := h.call(t, proxy.SearchToolName, map[string]any{"query": "asana"}); res.IsError {
				t.Fatalf("search failed: %s", text(res))
			}

			posts, other := tap.all()
			var carried []string
			for _, p := range posts {
				if bytes.Contains(p.Body, []byte(asanaToken)) || leakcheck.Message(p.Body, asanaToken) != nil {
					t.Errorf("the body of a %s POST holds the secret", p.Method)
				}
				if v := p.Header.Values("X-Asana-Token"); len(v) > 0 {
					carried = append(carried, p.Method+" "+p.Tool)
					if len(v) != 1 || v[0] != "Bearer "+asanaToken {
						t.Errorf("the %s POST carried %d X-Asana-Token values, want exactly Bearer <stored token>", p.Method, len(v))
					}
				}
				for k, vs := range p.Header {
					if strings.HasPrefix(k, "Mcp-Param-") && strings.Contains(strings.Join(vs, ""), "=?base64?") {
						t.Errorf("%s: an Mcp-Param header carries an encoded value", k)
					}
				}
			}
			if want := []string{"tools/call " + asanaTool}; !slices.Equal(carried, want) {
				t.Errorf("POSTs carrying X-Asana-Token: %q, want %q", carried, want)
			}
			if methods := postMethods(posts); !slices.Contains(methods, "tools/list") {
				t.Errorf("the tap saw no tools/list: %v", methods)
			}
			for _, hd := range other {
				if hd.Get("X-Asana-Token") != "" {
					t.Error("a GET or DELETE carried X-Asana-Token")
				}
			}
		})
	}
}

func postMethods(posts []wirePost) []string {
	var out []string
	for _, p := range posts {
		out = append(out, p.Method)
	}
	return out
}

// A glob that matches every tool, the search tool's name included, still
// does not send the secret to the search tool.
func TestHeaderRuleNeverReachesTheSearchTool(t *testing.T) {
	var tap *wireTap
	rule := headerRule
	rule.Tools = []string{"*"}
	h := start(t, setup{
		sim:        gatewaysim.Options{Targets: propagating(), Search: true},
		gatewayFor: func(sim *gatewaysim.Sim) (u string) { u, tap = tapIn(t, sim.GatewayURL); return u },
		options:    func(o *proxy.Options) { o.Rules = []proxy.Rule{rule} },
	})
	if _, ok := h.tools(t)[proxy.SearchToolName]; !ok {
		t.Fatal("the search tool is not listed")
	}
	h.call(t, proxy.SearchToolName, map[string]any{"query": "asana"})
	h.call(t, otherTool, map[string]any{"tool_name": "x"})
	posts, _ := tap.all()
	for _, p := range posts {
		has := p.Header.Get("X-Asana-Token") != ""
		if want := p.Method == "tools/call" && p.Tool == otherTool; has != want {
			t.Errorf("%s %s: carries X-Asana-Token %v, want %v", p.Method, p.Tool, has, want)
		}
	}
}

// The backend's echo of the header it received (EchoToken) is scrubbed
// from the result, for both revisions.
func TestEchoOfTheHeaderIsScrubbed(t *testing.T) {
	for _, rev := range revisions {
		t.Run(rev.name, func(t *testing.T) {
			h := start(t, setup{
				sim: gatewaysim.Options{Targets: propagating(), Sessions: rev.sessions, EchoToken: true},
				options: func(o *proxy.Options) {
					o.Rules = []proxy.Rule{headerRule}
					if rev.options != nil {
						rev.options(o)
					}
				},
			})
			res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
			if res.IsError {
				t.Fatalf("call failed: %s", text(res))
			}
			if lastReceived(t, h.sim, gatewaysim.DefaultTargetName).Header.Get("X-Asana-Token") != "Bearer "+asanaToken {
				t.Fatal("the backend did not receive the header, so it echoed nothing")
			}
			if err := leakcheck.Text(text(res), asanaToken); err != nil {
				t.Errorf("result: %v", err)
			}
			if !strings.Contains(text(res), `"x_asana_token":"Bearer `+proxy.Mask) {
				t.Errorf("want the echoed header masked, got %q", text(res))
			}
			// start's cleanup checks every line of stdout and the log.
		})
	}
}

// A secret a header cannot carry (a line break) is an isError result naming
// the secret, and nothing is sent.
func TestSecretAHeaderCannotCarryIsAToolError(t *testing.T) {
	h := start(t, setup{
		sim:      gatewaysim.Options{Targets: propagating()},
		noSecret: true,
		options:  func(o *proxy.Options) { o.Rules = []proxy.Rule{headerRule} },
	})
	h.secrets.Set(t.Context(), "default", "asana", asanaToken+"\r\nX-Evil: 1")
	res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
	if !res.IsError || !strings.Contains(text(res), `secret "asana" cannot be sent as the header X-Asana-Token`) {
		t.Fatalf("want an isError naming the secret and the header, got %v %q", res.IsError, text(res))
	}
	if n := len(h.sim.Received()); n != 0 {
		t.Errorf("the backend received %d requests", n)
	}
}

func TestHeaderRuleNamesAreChecked(t *testing.T) {
	for _, name := range []string{"Authorization", "cookie", "Content-Type", "Mcp-Session-Id", "Host", "Connection", "X-Amz-Date", "X Token", "X-Token:"} {
		r := headerRule
		r.Argument = name
		_, err := proxy.New(proxy.Options{GatewayURL: "http://127.0.0.1:1/mcp", Rules: []proxy.Rule{r}, Secrets: secretSource{}})
		if err == nil || !strings.Contains(err.Error(), "header") {
			t.Errorf("header %q: New = %v, want an error about the header", name, err)
		}
	}
	r := headerRule
	r.Via = "body"
	if _, err := proxy.New(proxy.Options{GatewayURL: "http://127.0.0.1:1/mcp", Rules: []proxy.Rule{r}, Secrets: secretSource{}}); err == nil {
		t.Error(`via "body" accepted`)
	}
	// An argument rule may name any argument, Authorization included.
	r = headerRule
	r.Argument, r.Via = "Authorization", ""
	if _, err := proxy.New(proxy.Options{GatewayURL: "http://127.0.0.1:1/mcp", Rules: []proxy.Rule{r}, Secrets: secretSource{}}); err != nil {
		t.Errorf("argument rule for Authorization: %v", err)
	}
}

// A 2025 session's call that times out is cancelled with
// notifications/cancelled: that POST is not the call's and does not carry
// the header.
func TestCancellationOfAHeaderCallDoesNotCarryTheHeader(t *testing.T) {
	var tap *wireTap
	h := start(t, setup{
		sim:        gatewaysim.Options{Targets: propagating(), Sessions: true},
		gatewayFor: func(sim *gatewaysim.Sim) (u string) { u, tap = tapIn(t, sim.GatewayURL); return u },
		call:       300 * time.Millisecond,
		options: func(o *proxy.Options) {
			o.Rules = []proxy.Rule{headerRule}
			pin2025(o)
		},
	})
	h.sim.SetDelay(5 * time.Second)
	if res := h.call(t, asanaTool, map[string]any{"tool_name": "x"}); !res.IsError {
		t.Fatalf("want a timeout, got %q", text(res))
	}
	// The cancellation is sent in the background, best effort.
	var cancelled []wirePost
	for deadline := time.Now().Add(testwait.Limit); len(cancelled) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no notifications/cancelled reached the Gateway")
		}
		posts, _ := tap.all()
		for _, p := range posts {
			if p.Method == "notifications/cancelled" {
				cancelled = append(cancelled, p)
			}
		}
	}
	for _, p := range cancelled {
		if p.Header.Get("X-Asana-Token") != "" {
			t.Error("notifications/cancelled carried X-Asana-Token")
		}
	}
	posts, _ := tap.all()
	for _, p := range posts {
		if p.Method == "tools/call" && p.Header.Get("X-Asana-Token") == "" {
			t.Error("the call itself did not carry the header")
		}
	}
}

// In 2026-07-28 a schema's x-mcp-header marks an argument to be mirrored
// into an Mcp-Param header. A header rule's argument is not in the body, so
// no Mcp-Param header mirrors it (the go-sdk Gateway refuses a header
// without its body value, -32020), and the secret goes as the rule's header
// only. On a 2025 session, the same.
func TestHeaderRuleIsNotMirroredIntoAnMcpParam(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    sdkOptions
	}{
		{"2026-07-28", sdkOptions{versions: v2026}},
		{"2025-11-25 session", sdkOptions{versions: v2025only, sessions: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.tool = func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				// A hostile Gateway: it echoes the header it got.
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "got " + req.Extra.Header.Get("X-Asana-Token")}}}, nil
			}
			gw := newSDKGateway(t, tt.o)
			h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: func(o *proxy.Options) { o.Rules = []proxy.Rule{headerRule} }})
			res := h.call(t, headerTool, map[string]any{"q": "projects", "X-Asana-Token": "model's"})
			if res.IsError {
				t.Fatalf("the call failed: %s", text(res))
			}
			if text(res) != "got Bearer "+proxy.Mask {
				t.Errorf("result %q, want the echoed header masked", text(res))
			}
			calls := gw.toolCalls()
			if len(calls) != 1 {
				t.Fatalf("the Gateway ran %d calls, want 1", len(calls))
			}
			if _, ok := calls[0].Arguments["X-Asana-Token"]; ok {
				t.Error("the arguments hold X-Asana-Token")
			}
			if calls[0].Arguments["q"] != "projects" {
				t.Errorf("the model's q was lost: %v", calls[0].Arguments)
			}
			for _, r := range gw.posts("") {
				got := r.Header.Get("X-Asana-Token")
				if want := r.Method == "tools/call"; (got == "Bearer "+asanaToken) != want || !want && got != "" {
					t.Errorf("%s POST: X-Asana-Token of %d bytes", r.Method, len(got))
				}
				for k, vs := range r.Header {
					if strings.HasPrefix(k, "Mcp-Param-") && strings.Contains(strings.Join(vs, ""), asanaToken) || k == "Mcp-Param-Asana-Token" {
						t.Errorf("%s POST: %s mirrors the secret", r.Method, k)
					}
				}
			}
		})
	}
}

// A hostile Gateway echoes the request's headers into a result and into a
// JSON-RPC error (message and data): the client sees the header's value
// masked, raw or JSON-escaped.
func TestHostileGatewayEchoingTheHeaderIsScrubbed(t *testing.T) {
	const errTool = "AgentCoreGwyAPIGatewayTarget___fails"
	gw := newTapGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q"), toolDef(errTool, "q")), func(w http.ResponseWriter, r *http.Request, p tapPost) bool {
		if p.Method != "tools/call" {
			return false
		}
		var params struct{ Name string }
		_ = json.Unmarshal(p.Params, &params)
		hdr, _ := json.Marshal(r.Header) // "\u0026"-style escapes where JSON has them
		w.Header().Set("Content-Type", "application/json")
		var msg any
		if params.Name == errTool {
			msg = map[string]any{"jsonrpc": "2.0", "id": p.ID, "error": map[string]any{
				"code": -32603, "message": "rejected " + r.Header.Get("X-Asana-Token"), "data": map[string]any{"headers": string(hdr)},
			}}
		} else {
			msg = map[string]any{"jsonrpc": "2.0", "id": p.ID, "result": map[string]any{
				"content":           []any{map[string]any{"type": "text", "text": "headers " + string(hdr)}},
				"structuredContent": map[string]any{"token": r.Header.Get("X-Asana-Token")},
			}}
		}
		_ = json.NewEncoder(w).Encode(msg)
		return true
	})
	rule := headerRule
	h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: func(o *proxy.Options) { o.Rules = []proxy.Rule{rule} }})

	res := h.call(t, rawTool, map[string]any{"q": "x"})
	if err := leakcheck.Text(text(res), asanaToken); err != nil {
		t.Errorf("result: %v", err)
	}
	if !strings.Contains(text(res), proxy.Mask) {
		t.Errorf("no mask in %q", text(res))
	}
	_, err := h.callWithin(t, 10*time.Second, errTool, map[string]any{"q": "x"})
	if err == nil || !strings.Contains(err.Error(), "rejected Bearer "+proxy.Mask) {
		t.Errorf("want the Gateway's error with the header masked, got %v", err)
	}
	if err != nil {
		if err := leakcheck.Text(err.Error(), asanaToken); err != nil {
			t.Errorf("error: %v", err)
		}
	}
	if n := len(gw.postsOf("tools/call")); n != 2 {
		t.Fatalf("%d calls reached the Gateway, want 2", n)
	}
	// start's cleanup decodes every line of stdout and the log.
}

// The guarded HTTP client follows no redirect of a call's POST, to another
// origin or to the same one: the header goes to the Gateway's URL only.
func TestRedirectedHeaderCallGoesNowhere(t *testing.T) {
	for _, sameOrigin := range []bool{false, true} {
		t.Run(fmt.Sprintf("same origin %v", sameOrigin), func(t *testing.T) {
			var got atomic.Int64
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Asana-Token") != "" {
					got.Add(1)
				}
			}))
			defer other.Close()
			h := start(t, setup{
				sim:        gatewaysim.Options{Targets: propagating()},
				httpClient: &http.Client{}, // unguarded: the proxy guards it
				options:    func(o *proxy.Options) { o.Rules = []proxy.Rule{headerRule} },
				gatewayFor: func(sim *gatewaysim.Sim) string {
					var front string
					front = hostileFront(t, sim, "tools/call", func(w http.ResponseWriter, r *http.Request) {
						if r.URL.Path == "/elsewhere" {
							got.Add(1)
							return
						}
						loc := other.URL + "/mcp"
						if sameOrigin {
							loc = "/elsewhere"
						}
						w.Header().Set("Location", loc)
						w.WriteHeader(http.StatusTemporaryRedirect)
					})
					return front
				},
			})
			res := h.call(t, asanaTool, map[string]any{"tool_name": "x"})
			if !res.IsError || !strings.Contains(text(res), "redirect (HTTP 307)") {
				t.Fatalf("want the redirect refused, got %v %q", res.IsError, text(res))
			}
			if n := got.Load(); n != 0 {
				t.Errorf("the redirect was followed with the header %d times", n)
			}
		})
	}
}
