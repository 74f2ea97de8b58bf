package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
)

// Header mode through the built binary, with each revision spoken with the
// Gateway: both targets allowlist X-Asana-Token, so a header sent on the
// wrong call would reach the other target's API.
func TestEndToEndHeaderRule(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		sessions bool
	}{{"2026-07-28", false}, {"2025-11-25", true}} {
		t.Run(tc.protocol, func(t *testing.T) {
			meta := &gatewaysim.MetadataConfiguration{AllowedRequestHeaders: []string{"X-Asana-Token"}}
			sim := gatewaysim.StartForTest(t, gatewaysim.Options{EchoToken: true, Sessions: tc.sessions, Targets: []gatewaysim.Target{
				{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey, Metadata: meta},
				{Name: "OtherTarget", Spec: configs.AsanaOpenAPI, APIKey: "other-api-key", Metadata: meta},
			}})
			// The binary talks to the Gateway through a tap that records
			// every POST: the proof that the body never holds the token.
			tap := newPostTap(t, sim.GatewayURL)
			cmd := e2eServeCmd(t, sim, e2eAsanaToken, "--inject-via", "header", "--protocol", tc.protocol, "--log-level", "debug",
				"--gateway-url", tap.url)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			cs := e2eConnect(t, cmd)
			asana := gatewaysim.DefaultTargetName + "___asanaInvoke"

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for tool, err := range cs.Tools(ctx, nil) {
				if err != nil {
					t.Fatal(err)
				}
				if s, _ := json.Marshal(tool.InputSchema); tool.Name == asana && strings.Contains(string(s), "X-Asana-Token") {
					t.Errorf("%s still declares X-Asana-Token", asana)
				}
			}
			out, isErr := e2eCall(t, cs, asana, map[string]any{"tool_name": "echo", "X-Asana-Token": "Bearer from-the-model"})
			if isErr {
				t.Fatalf("call failed: %s", out)
			}
			got := e2eReceived(t, sim, gatewaysim.DefaultTargetName)
			if got.Header.Get("X-Asana-Token") != "Bearer "+e2eAsanaToken {
				t.Error("the API did not receive X-Asana-Token: Bearer <stored token> through propagation")
			}
			if bytes.Contains(got.Body, []byte("e2e-asana-token")) || bytes.Contains(got.Body, []byte("X-Asana-Token")) {
				t.Error("the body holds the token or the argument")
			}
			if err := leakcheck.Text(out, e2eAsanaToken); err != nil || !strings.Contains(out, `"x_asana_token":"Bearer [redacted]"`) {
				t.Errorf("the API's echo of the header: %v, want it masked: %q", err, out)
			}
			e2eCall(t, cs, "OtherTarget___asanaInvoke", map[string]any{"tool_name": "x"})
			if v := e2eReceived(t, sim, "OtherTarget").Header.Get("X-Asana-Token"); v != "" {
				t.Errorf("a tool outside the globs got X-Asana-Token (%d bytes)", len(v))
			}
			cs.Close()
			carried := 0
			for _, p := range tap.all() {
				if bytes.Contains(p.body, []byte("e2e-asana-token")) || leakcheck.Message(p.body, e2eAsanaToken) != nil {
					t.Errorf("the body of a %s POST holds the token", p.method)
				}
				if v := p.header.Get("X-Asana-Token"); v != "" {
					carried++
					if p.method != "tools/call" || p.tool != asana || v != "Bearer "+e2eAsanaToken {
						t.Errorf("a %s POST of %q carried X-Asana-Token (%d bytes)", p.method, p.tool, len(v))
					}
				}
			}
			if carried != 1 {
				t.Errorf("%d POSTs carried X-Asana-Token, want the one call of %s", carried, asana)
			}
			if err := leakcheck.Lines(stderr.String(), e2eAsanaToken, sim.ClientSecret); err != nil {
				t.Errorf("debug log: %v", err)
			}
			if !strings.Contains(stderr.String(), "level=DEBUG") {
				t.Error("no debug log lines: the log check proves nothing")
			}
		})
	}
}

// postTap is a reverse proxy in front of a Gateway that records each POST.
type postTap struct {
	url  string
	mu   sync.Mutex
	seen []tappedPost
}

type tappedPost struct {
	method, tool string
	header       http.Header
	body         []byte
}

func newPostTap(t *testing.T, gateway string) *postTap {
	t.Helper()
	u, err := url.Parse(gateway)
	if err != nil {
		t.Fatal(err)
	}
	tap := &postTap{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Method == http.MethodPost {
			var msg struct {
				Method string
				Params struct{ Name string }
			}
			_ = json.Unmarshal(body, &msg)
			tap.mu.Lock()
			tap.seen = append(tap.seen, tappedPost{msg.Method, msg.Params.Name, r.Header.Clone(), body})
			tap.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tap.url = srv.URL + u.Path
	return tap
}

func (p *postTap) all() []tappedPost {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]tappedPost(nil), p.seen...)
}
