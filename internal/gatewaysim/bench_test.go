package gatewaysim

import (
	"net/http"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkCall measures one tools/call through the emulator (Gateway,
// target, backend) over loopback with the go-sdk client: the floor under
// every proxy benchmark.
func BenchmarkCall(b *testing.B) {
	s, err := Start(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tok, err := s.MintToken(TokenSpec{})
	if err != nil {
		b.Fatal(err)
	}
	transport := &mcp.StreamableClientTransport{Endpoint: s.GatewayURL,
		HTTPClient: &http.Client{Transport: bearer{tok, http.DefaultTransport}}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(b.Context(), transport,
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	params := &mcp.CallToolParams{Name: asanaTool, Arguments: map[string]any{"tool_name": "get_task", "X-Asana-Token": "Bearer t"}}
	for b.Loop() {
		if _, err := cs.CallTool(b.Context(), params); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	s.ClearReceived()
}
