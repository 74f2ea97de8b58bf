package gatewaysim

import (
	"errors"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// openSession initializes a 2025 session with tok and returns the headers
// that use it.
func openSession(t *testing.T, s *Sim, tok string) map[string]string {
	t.Helper()
	resp, body := rpc(t, s, tok, nil, initializeMsg)
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("initialize: HTTP %d, session id %q %s", resp.StatusCode, id, body)
	}
	hdr := map[string]string{"Mcp-Session-Id": id, "MCP-Protocol-Version": "2025-06-18"}
	rpc(t, s, tok, hdr, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return hdr
}

// The timeout runs from the initialize, however busy the session is: a
// session used a second ago still ends at initialize + timeout. The test
// moves the emulator's clock (SetClockSkew); tokens live a day so that
// only the session expires.
func TestSessionTimeoutIsAbsolute(t *testing.T) {
	for _, tc := range []struct {
		timeout, want time.Duration
	}{
		{0, time.Hour}, // the Gateway's default
		{900 * time.Second, 900 * time.Second},
	} {
		s := start(t, Options{Sessions: true, SessionTimeout: tc.timeout, TokenLifetime: 24 * time.Hour})
		tok := machineToken(t, s)
		hdr := openSession(t, s, tok)
		for _, at := range []time.Duration{tc.want / 3, 2 * tc.want / 3, tc.want - 2*time.Second} {
			s.SetClockSkew(at)
			if resp, body := rpc(t, s, tok, hdr, listMsg); resp.StatusCode != 200 {
				t.Fatalf("timeout %s: at +%s: HTTP %d %s, want the session alive", tc.want, at, resp.StatusCode, body)
			}
		}
		s.SetClockSkew(tc.want)
		if resp, _ := rpc(t, s, tok, hdr, listMsg); resp.StatusCode != 404 {
			t.Errorf("timeout %s: at +%s, 2 s after the last use: HTTP %d, want 404", tc.want, tc.want, resp.StatusCode)
		}
		if resp, _ := rpc(t, s, tok, hdr, listMsg); resp.StatusCode != 404 {
			t.Errorf("timeout %s: expired session came back: HTTP %d", tc.want, resp.StatusCode)
		}
		if n := s.Counts().SessionsExpired; n != 1 {
			t.Errorf("SessionsExpired = %d, want 1", n)
		}
		// A new initialize opens a new session, timed from now.
		if next := openSession(t, s, tok); next["Mcp-Session-Id"] == hdr["Mcp-Session-Id"] {
			t.Error("the new session has the expired one's id")
		} else if resp, _ := rpc(t, s, tok, next, listMsg); resp.StatusCode != 200 {
			t.Errorf("new session: HTTP %d", resp.StatusCode)
		}
	}
}

// The go-sdk client sees an expired session as a lost one.
func TestExpiredSessionIsMissingToTheSDK(t *testing.T) {
	s := start(t, Options{Sessions: true, TokenLifetime: 24 * time.Hour})
	cs := connect(t, s, machineToken(t, s), nil)
	if _, err := cs.ListTools(testCtx(t), nil); err != nil {
		t.Fatal(err)
	}
	s.SetClockSkew(time.Hour)
	if _, err := cs.ListTools(testCtx(t), nil); !errors.Is(err, mcp.ErrSessionMissing) {
		t.Errorf("after the timeout: %v, want ErrSessionMissing", err)
	}
}

func TestSessionTimeoutBounds(t *testing.T) {
	for _, d := range []time.Duration{899 * time.Second, 28801 * time.Second, -time.Second} {
		if s, err := Start(Options{Sessions: true, SessionTimeout: d}); err == nil {
			s.Close()
			t.Errorf("SessionTimeout %s accepted, want 900 s to 28800 s", d)
		}
	}
	s := start(t, Options{Sessions: true, SessionTimeout: 28800 * time.Second})
	s.Close()
}

// A session belongs to the subject of the token that opened it: another
// user's valid token gets 404 on it (the session is not theirs to find),
// and the owner goes on, with the same token or a new one.
func TestSessionIsBoundToTheSubject(t *testing.T) {
	s := start(t, Options{Sessions: true, AllowedClients: []string{}})
	owner := machineToken(t, s)
	hdr := openSession(t, s, owner)
	stranger := s.Token(t, "anotherclient", s.Scope) // sub = anotherclient
	if resp, body := rpc(t, s, stranger, hdr, listMsg); resp.StatusCode != 404 {
		t.Errorf("another subject on the session: HTTP %d %s, want 404", resp.StatusCode, body)
	}
	if resp, body := rpc(t, s, owner, hdr, listMsg); resp.StatusCode != 200 {
		t.Errorf("owner after the stranger: HTTP %d %s", resp.StatusCode, body)
	}
	if resp, body := rpc(t, s, machineToken(t, s), hdr, listMsg); resp.StatusCode != 200 {
		t.Errorf("owner with a new token: HTTP %d %s", resp.StatusCode, body)
	}
	if c := s.Counts(); c.SessionsRefused != 1 || c.ToolLists != 2 {
		t.Errorf("counts = %+v, want 1 refused and 2 lists", c)
	}
}
