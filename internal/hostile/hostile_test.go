package hostile_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/agw-proxy/agw-proxy/internal/hostile"
)

// TestAnMCPClientCanUseIt: the hand-written Gateway speaks enough MCP for
// the go-sdk client (initialize, initialized, the GET stream refused,
// tools/list in pages, tools/call, DELETE), behind its own token endpoint.
func TestAnMCPClientCanUseIt(t *testing.T) {
	second := strings.Replace(hostile.AsanaToolJSON, "asanaInvoke", "second", 1)
	gw := hostile.Start(t, hostile.Options{SessionID: "s-1", Tools: []string{hostile.AsanaToolJSON, second}, PageSize: 1})
	gw.Handle("tools/call", func(r *hostile.Request) *hostile.Response {
		v, _ := r.Argument("X-Asana-Token")
		return hostile.Result(r.ID, hostile.TextResult("got "+v))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cc := clientcredentials.Config{ClientID: gw.ClientID, ClientSecret: gw.ClientSecret, TokenURL: gw.TokenURL}
	client := cc.Client(ctx)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: gw.URL, HTTPClient: client}, &mcp.ClientSessionOptions{ProtocolVersion: hostile.ProtocolVersion})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	if len(names) != 2 {
		t.Errorf("listed %v, want both pages", names)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: hostile.AsanaTool, Arguments: map[string]any{"X-Asana-Token": "Bearer x"}})
	if err != nil {
		t.Fatal(err)
	}
	if text := res.Content[0].(*mcp.TextContent).Text; text != "got Bearer x" {
		t.Errorf("call: %q", text)
	}
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
	if gw.SeenClientSecret() != gw.ClientSecret {
		t.Error("the token endpoint did not record the client secret")
	}
	methods := map[string]int{}
	for _, r := range gw.Requests() {
		if r.Path == hostile.GatewayPath {
			if r.BearerToken() != gw.AccessToken {
				t.Errorf("%s %s without the access token", r.Method, r.RPC)
			}
			methods[r.Method+" "+r.RPC]++
		}
	}
	for _, m := range []string{"POST initialize", "POST notifications/initialized", "POST tools/list", "POST tools/call", "DELETE "} {
		if methods[m] == 0 {
			t.Errorf("no %s request (got %v)", m, methods)
		}
	}
}

func TestTokenEndpointChecksTheClientSecret(t *testing.T) {
	gw := hostile.Start(t, hostile.Options{})
	resp, err := http.PostForm(gw.TokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {gw.ClientID}, "client_secret": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_client") {
		t.Errorf("wrong secret: HTTP %d %s", resp.StatusCode, body)
	}
	if gw.SeenClientSecret() != "wrong" {
		t.Error("the presented secret was not recorded")
	}
	if len(gw.ClientSecret) != 51 || strings.Count(gw.AccessToken, ".") != 2 {
		t.Errorf("secret of %d bytes, access token with %d dots", len(gw.ClientSecret), strings.Count(gw.AccessToken, "."))
	}
}

func TestUnauthenticatedGatewayRequestsGet401(t *testing.T) {
	gw := hostile.Start(t, hostile.Options{})
	resp, err := http.Post(gw.URL, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("HTTP %d, want 401", resp.StatusCode)
	}
}

func post(t *testing.T, gw *hostile.Server, body string, header http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, gw.URL, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+gw.AccessToken)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestSSEAnswersCarryNotificationsFirst(t *testing.T) {
	gw := hostile.Start(t, hostile.Options{})
	gw.Handle("tools/call", func(r *hostile.Request) *hostile.Response {
		return hostile.SSE(hostile.Notification("notifications/progress", `{"progressToken":`+string(r.ProgressToken())+`,"progress":1}`),
			hostile.ResultMessage(r.ID, hostile.TextResult("done")))
	})
	resp := post(t, gw, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"p"}}}`, nil)
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, v)
		}
	}
	if len(events) != 2 || !strings.Contains(events[0], `"progressToken":"p"`) || !strings.Contains(events[1], `"id":3`) {
		t.Errorf("events %q", events)
	}
	for _, e := range events {
		if !json.Valid([]byte(e)) {
			t.Errorf("event %q is not JSON", e)
		}
	}
}

func TestBombsAreWhatTheySay(t *testing.T) {
	gw := hostile.Start(t, hostile.Options{})
	gw.Handle("initialize", func(r *hostile.Request) *hostile.Response {
		return hostile.GzipBomb(8<<20, hostile.ResultMessage(r.ID, hostile.InitializeResult("1")))
	})
	gw.Handle("tools/call", func(*hostile.Request) *hostile.Response { return hostile.DataLineFlood(1 << 20) })

	resp := post(t, gw, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`, http.Header{"Accept-Encoding": {"gzip"}})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("no Content-Encoding: gzip")
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	var tail []byte
	buf := make([]byte, 64<<10)
	for {
		k, err := zr.Read(buf)
		n += int64(k)
		if k > 0 {
			tail = append(tail[:0], buf[:k]...)
		}
		if err != nil {
			break
		}
	}
	if n < 8<<20 || !strings.HasSuffix(string(tail), `"version":"1"}}}`) {
		t.Errorf("inflated to %d bytes, ending %q", n, tail[max(0, len(tail)-40):])
	}

	resp = post(t, gw, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}}`, nil)
	all, _ := io.ReadAll(resp.Body)
	if len(all) < 1<<20 || strings.Contains(string(all), "\n\n") || !strings.HasPrefix(string(all), "data: ") {
		t.Errorf("flood of %d bytes; it must be data lines without a blank line", len(all))
	}
}
