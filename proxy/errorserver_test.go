package proxy_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// A serve that cannot start still answers its client, with the reason.
func ExampleServeError() {
	in := strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/list"}
{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t"}}
`)
	msg := `agw-proxy: error: config.yaml:3:5: unknown key "gatway_url" in profile "default"`
	_ = proxy.ServeError(context.Background(), in, os.Stdout, "1.0.0", msg)
	// Output:
	// {"jsonrpc":"2.0","id":1,"result":{"capabilities":{"tools":{}},"instructions":"agw-proxy: error: config.yaml:3:5: unknown key \"gatway_url\" in profile \"default\"","protocolVersion":"2025-06-18","serverInfo":{"name":"agw-proxy","version":"1.0.0"}}}
	// {"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"agw-proxy: error: config.yaml:3:5: unknown key \"gatway_url\" in profile \"default\""}}
	// {"jsonrpc":"2.0","id":3,"result":{"content":[{"text":"agw-proxy: error: config.yaml:3:5: unknown key \"gatway_url\" in profile \"default\"","type":"text"}],"isError":true}}
}

func TestServeErrorAnswersEveryRequest(t *testing.T) {
	testwait.NoLeaks(t)
	const msg = "agw-proxy: error: no profile \"work\"\nagw-proxy: hint: run \"agw-proxy init\""
	for _, tc := range []struct {
		name, in, want string
	}{
		{"an unknown protocol version gets the newest", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}`,
			`"protocolVersion":"` + proxy.DownstreamProtocolVersions[0] + `"`},
		{"ping", `{"jsonrpc":"2.0","id":"p","method":"ping"}`, `{"jsonrpc":"2.0","id":"p","result":{}}`},
		{"any other request gets the message", `{"jsonrpc":"2.0","id":7,"method":"resources/list"}`,
			`{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"agw-proxy: error: no profile \"work\"\nagw-proxy: hint: run \"agw-proxy init\""}}`},
		{"a line that is not JSON is answered and reading goes on", "not json\n" + `{"jsonrpc":"2.0","id":8,"method":"ping"}`,
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: not a JSON value"}}` + "\n" + `{"jsonrpc":"2.0","id":8,"result":{}}`},
		{"notifications and responses get no answer", `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" + `{"jsonrpc":"2.0","id":9,"result":{}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			ctx := testwait.Context(t)
			if err := proxy.ServeError(ctx, strings.NewReader(tc.in+"\n"), &out, "", msg); err != nil {
				t.Fatalf("ServeError: %v", err)
			}
			got := strings.TrimSuffix(out.String(), "\n")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("answer:\n%s\nwant it to hold\n%s", got, tc.want)
			}
		})
	}
}

func TestServeErrorEndsWithItsContext(t *testing.T) {
	testwait.NoLeaks(t)
	inR, inW := io.Pipe()
	defer inW.Close()
	ctx, cancel := context.WithCancel(testwait.Context(t))
	done := make(chan error, 1)
	go func() { done <- proxy.ServeError(ctx, inR, io.Discard, "", "agw-proxy: error: x") }()
	cancel()
	if err := testwait.Await(t, done, "ServeError to end"); !errors.Is(err, context.Canceled) {
		t.Errorf("ServeError = %v, want context.Canceled", err)
	}
	inR.Close() // the abandoned read of stdin ends too
}

// A 2026-07-28 client, which never initializes, meets the error too.
func TestServeErrorAnswersAStatelessClient(t *testing.T) {
	testwait.NoLeaks(t)
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	const msg = "agw-proxy: error: no profile \"work\""
	for _, tc := range []struct {
		name, in, want string
	}{
		{"server/discover", `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{` + meta + `}}`,
			`"result":{"resultType":"complete","supportedVersions":["2026-07-28","2025-11-25","2025-06-18","2025-03-26","2024-11-05"],"capabilities":{"tools":{}},"serverInfo":{"name":"agw-proxy","version":"devel"},"instructions":"agw-proxy: error: no profile \"work\""`},
		{"tools/call", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t",` + meta + `}}`,
			`{"jsonrpc":"2.0","id":2,"result":{"content":[{"text":"agw-proxy: error: no profile \"work\"","type":"text"}],"isError":true,"resultType":"complete"}}`},
		{"tools/list", `{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{` + meta + `}}`,
			`{"jsonrpc":"2.0","id":3,"error":{"code":-32603,"message":"agw-proxy: error: no profile \"work\""}}`},
		{"ping is gone", `{"jsonrpc":"2.0","id":4,"method":"ping","params":{` + meta + `}}`, `"error":{"code":-32601,`},
		{"no capabilities", `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, `"error":{"code":-32602,`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if err := proxy.ServeError(testwait.Context(t), strings.NewReader(tc.in+"\n"), &out, "", msg); err != nil {
				t.Fatalf("ServeError: %v", err)
			}
			if got := out.String(); !strings.Contains(got, tc.want) {
				t.Errorf("answer:\n%s\nwant it to hold\n%s", got, tc.want)
			}
		})
	}
}
