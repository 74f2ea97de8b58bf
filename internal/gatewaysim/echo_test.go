package gatewaysim

import (
	"context"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// wantEcho checks that text holds secret raw, \u-escaped and
// percent-encoded, each form built independently of echo.go.
func wantEcho(t *testing.T, where, text, name, secret string) {
	t.Helper()
	h := hex.EncodeToString([]byte(secret))
	var esc, pct strings.Builder
	for i := 0; i < len(h); i += 2 {
		esc.WriteString(`\u00` + h[i:i+2])
		pct.WriteString("%" + strings.ToUpper(h[i:i+2]))
	}
	for form, want := range map[string]string{"raw": secret, "u-escaped": esc.String(), "percent-encoded": pct.String()} {
		if !strings.Contains(text, want) {
			t.Errorf("%s: no %s %s", where, form, name)
		}
	}
}

func TestEchoCredentials(t *testing.T) {
	s := start(t, Options{EchoCredentials: true, Streaming: true})
	tok := machineToken(t, s)
	var mu sync.Mutex
	var progress []string
	cs := connect(t, s, tok, &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
		mu.Lock()
		progress = append(progress, r.Params.Message)
		mu.Unlock()
	}})

	params := &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}}
	params.SetProgressToken("p1")
	res, err := cs.CallTool(testCtx(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Content) != 2 {
		t.Fatalf("result has %d content items, want the target's and the echo", len(res.Content))
	}
	echo := res.Content[1].(*mcp.TextContent).Text
	wantEcho(t, "result", echo, "access token", tok)
	wantEcho(t, "result", echo, "client secret", s.ClientSecret)

	_, err = cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: "no-such-tool"})
	if err == nil {
		t.Fatal("unknown tool: no error")
	}
	wantEcho(t, "error", err.Error(), "access token", tok)

	// The client delivers notifications on a goroutine of its own: the
	// progress may arrive after the call's result.
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got = slices.Clone(progress)
		mu.Unlock()
		if len(got) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(got) == 0 {
		t.Error("no progress notification")
	} else {
		wantEcho(t, "progress", got[0], "access token", tok)
	}

	c := s.Credentials()
	if !slices.Equal(c.ClientSecrets, []string{s.ClientSecret}) || !slices.Contains(c.AccessTokens, tok) {
		t.Errorf("Credentials: %d client secrets, %d access tokens; want the client secret and the token", len(c.ClientSecrets), len(c.AccessTokens))
	}
}

func TestEchoCredentialsOff(t *testing.T) {
	s := start(t, Options{})
	cs := connect(t, s, machineToken(t, s), nil)
	res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	callText(t, res) // one content item: the target's body
	if c := s.Credentials(); len(c.All()) != 0 {
		t.Errorf("%d credentials recorded without EchoCredentials", len(c.All()))
	}
}

func TestEchoRefreshTokens(t *testing.T) {
	s := start(t, Options{EchoCredentials: true, RefreshTokenRotation: true})
	rt := s.IssueRefreshToken("")
	refresh := func(rt string) (int, map[string]any) {
		return postForm(t, s.TokenURL, url.Values{
			"grant_type": {"refresh_token"}, "client_id": {s.WebClientID}, "refresh_token": {rt},
		}, "", "")
	}
	status, body := refresh(rt)
	next, _ := body["refresh_token"].(string)
	if status != 200 || next == "" || next == rt {
		t.Fatalf("refresh with rotation: HTTP %d, want a new refresh token", status)
	}
	if status, body := refresh(rt); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the replaced refresh token: HTTP %d %v, want 400 invalid_grant", status, body)
	}
	status, body = refresh(next)
	if status != 200 {
		t.Fatalf("the rotated refresh token: HTTP %d %v", status, body)
	}
	access, _ := body["access_token"].(string)
	c := s.Credentials()
	if !slices.Contains(c.RefreshTokens, rt) || !slices.Contains(c.RefreshTokens, next) || !slices.Contains(c.AccessTokens, access) {
		t.Errorf("Credentials: %d refresh tokens, %d access tokens; want both refresh tokens and the access token", len(c.RefreshTokens), len(c.AccessTokens))
	}
	cs := connect(t, s, access, nil)
	res, err := cs.CallTool(testCtx(t), &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	echo := res.Content[len(res.Content)-1].(*mcp.TextContent).Text
	wantEcho(t, "result", echo, "refresh token", rt)
	wantEcho(t, "result", echo, "rotated refresh token", next)
	wantEcho(t, "result", echo, "access token", access)
}
