package main

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeAgainstEmulator runs the serve command in-process, wired exactly
// as in the binary (secrets from the environment override, over the
// keychain, which is then never asked), and drives it with an MCP client.
func TestServeAgainstEmulator(t *testing.T) {
	testwait.NoLeaks(t)
	sim, err := gatewaysim.Start(gatewaysim.Options{EchoToken: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	const asanaToken = "1/serve-test-asana-token-4711"

	for _, tc := range []struct {
		name string
		auth []string
	}{
		{"token URL", []string{"--token-url", sim.TokenURL}},
		{"discovery URL", []string{"--discovery-url", sim.DiscoveryURL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sim.ClearReceived()
			toProxyR, toProxyW := io.Pipe()
			fromProxyR, fromProxyW := io.Pipe()
			var stdout, stderr syncBuffer
			vars := map[string]string{
				"AGW_PROXY_CLIENT_SECRET": sim.ClientSecret,
				"AGW_PROXY_SECRET_ASANA":  asanaToken,
			}
			e := &env{testKeychain: testStore,
				stdin:         toProxyR,
				stdout:        io.MultiWriter(fromProxyW, &stdout),
				stderr:        &stderr,
				getenv:        func(k string) string { return vars[k] },
				userConfigDir: func() (string, error) { return t.TempDir(), nil },
			}
			args := append([]string{"serve", "--log-level", "debug",
				"--gateway-url", sim.GatewayURL, "--client-id", sim.ClientID, "--scope", sim.Scope,
				"--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*"},
				tc.auth...)
			code := make(chan int, 1)
			go func() {
				code <- run(ctx, args, e)
				fromProxyW.Close()
			}()

			client := mcp.NewClient(&mcp.Implementation{Name: "serve-test"}, nil)
			cs, err := client.Connect(ctx, &mcp.IOTransport{Reader: fromProxyR, Writer: toProxyW}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tools, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatalf("tools/list: %v\nstderr:\n%s", err, stderr.String())
			}
			var found bool
			for _, tool := range tools.Tools {
				if tool.Name != demoTool {
					continue
				}
				found = true
				props, req := schemaArgs(tool.InputSchema)
				if slices.Contains(props, "X-Asana-Token") || slices.Contains(req, "X-Asana-Token") {
					t.Errorf("X-Asana-Token not stripped: %v %v", props, req)
				}
			}
			if !found {
				t.Fatalf("%s not listed", demoTool)
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: demoTool, Arguments: map[string]any{"tool_name": "list_projects"}})
			if err != nil || res.IsError {
				t.Fatalf("tools/call: %v %v", err, res)
			}
			got := sim.Received()
			if len(got) != 1 || got[0].Header.Get("X-Asana-Token") != "Bearer "+asanaToken {
				t.Errorf("the target did not receive X-Asana-Token: Bearer <the stored secret> (%d requests)", len(got))
			}
			cs.Close()
			toProxyW.Close()
			select {
			case c := <-code:
				if c != exitOK {
					t.Errorf("serve exit %d\nstderr:\n%s", c, stderr.String())
				}
			case <-ctx.Done():
				t.Fatal("serve did not end after stdin closed")
			}
			for _, out := range []struct{ name, text string }{{"stdout", stdout.String()}, {"stderr", stderr.String()}} {
				if strings.Contains(out.text, asanaToken) {
					t.Errorf("Asana token leaked to %s", out.name)
				}
				if strings.Contains(out.text, sim.ClientSecret) {
					t.Errorf("client secret leaked to %s", out.name)
				}
			}
			if !strings.Contains(stdout.String(), `x_asana_token\":\"Bearer [redacted]`) {
				t.Errorf("the echoed token did not come back scrubbed")
			}
			if !strings.Contains(stderr.String(), "msg=serving") {
				t.Errorf("no log line on stderr:\n%s", stderr.String())
			}
		})
	}
}
