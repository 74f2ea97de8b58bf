package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// sdkGatewayURL starts a go-sdk server offering versions: stateless (as a
// 2026-07-28 Gateway serves) or with sessions.
func sdkGatewayURL(t *testing.T, versions []string, sessions bool) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "sdk-gateway", Version: "1"}, &mcp.ServerOptions{SupportedProtocolVersions: versions})
	s.AddTool(&mcp.Tool{Name: "T___op", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: !sessions, JSONResponse: true}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func TestDoctorReportsTheNegotiatedRevision(t *testing.T) {
	both := []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}
	only2025 := []string{"2025-11-25", "2025-06-18", "2025-03-26"}
	for _, tc := range []struct {
		name     string
		versions []string
		sessions bool
		args     []string
		line     string
		code     int
	}{
		{"auto, 2026-07-28 offered", both, false, nil,
			`✓ mcp: protocol 2026-07-28 \(stateless: server/discover, no session\), server "sdk-gateway" version 1`, exitOK},
		{"auto, 2025 only", only2025, true, nil,
			`✓ mcp: protocol 2025-11-25 \(a session: initialize\), server "sdk-gateway" version 1`, exitOK},
		{"pinned 2025-11-25", both, false, []string{"--protocol", "2025-11-25"},
			`✓ mcp: protocol 2025-11-25 \(a session: initialize\), server "sdk-gateway" version 1`, exitOK},
		{"pinned 2026-07-28, 2025 only", only2025, true, []string{"--protocol", "2026-07-28"},
			`✗ mcp: the Gateway does not offer MCP 2026-07-28 \(it answered initialize with 2025-11-25\), and protocol pins it \(--protocol\)`, exitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := sdkGatewayURL(t, tc.versions, tc.sessions)
			// The emulator only gives checkNoSecrets its client secret.
			sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
			r := runDoctorCase(t, doctorCase{sim: sim, noProfile: true, args: append([]string{"--gateway-url", url, "--connect-timeout", "5s"}, tc.args...)})
			wantDoctorLines(t, r, tc.line)
			wantDoctorCode(t, r, tc.code)
		})
	}
}

func TestServePassesTheProtocolToTheProxy(t *testing.T) {
	for _, v := range profile.Protocols {
		p := profile.New("default")
		p.Auth.Type = profile.AuthNone
		p.Protocol = v
		if got := proxyOptions(newEnv(), p, tokenstoretest.NewFake(), http.DefaultClient, proxy.NewScrubber()).Protocol; got != v {
			t.Errorf("profile protocol %q: proxy.Options.Protocol %q", v, got)
		}
	}
}
