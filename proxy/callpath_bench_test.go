package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"

	"github.com/agw-proxy/agw-proxy/proxy"
)

// BenchmarkCallRoundTrip is one sequential tools/call through the proxy
// in-process: a line on its stdin, the injection, the POST to a canned
// Gateway on loopback (answering at once, with a small result or one of
// 1 MB), the answer's line on stdout, with each revision spoken with the
// Gateway. Allocations count the Gateway's and the reader's too: compare
// runs, not absolute numbers.
//
//	go test -run '^$' -bench CallRoundTrip -benchmem ./proxy/
func BenchmarkCallRoundTrip(b *testing.B) {
	for _, size := range []int{0, 1 << 20} {
		for _, protocol := range []string{proxy.StatelessProtocolVersion, proxy.UpstreamProtocolVersion} {
			b.Run(fmt.Sprintf("%s/result=%d", protocol, size), func(b *testing.B) { benchCall(b, protocol, size) })
		}
	}
}

func benchCall(b *testing.B, protocol string, size int) {
	result := `{"content":[{"type":"text","text":"ok"}]}`
	if size > 0 {
		result = `{"content":[{"type":"text","text":"` + strings.Repeat("abcdefghij klmnopq ", size/19) + `"}]}`
	}
	tool := toolDef("AgentCoreGwyAPIGatewayTarget___asanaInvoke", "X-Asana-Token", "q")
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		id := jsonID(body)
		if id == "" {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		var res string
		switch {
		case strings.Contains(string(body), `"method":"server/discover"`):
			res = `{"supportedVersions":["2026-07-28"],"capabilities":{"tools":{}},"serverInfo":{"name":"canned","version":"1"}}`
		case strings.Contains(string(body), `"method":"initialize"`):
			w.Header().Set("Mcp-Session-Id", "canned")
			res = `{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"canned","version":"1"}}`
		case strings.Contains(string(body), `"method":"tools/list"`):
			res = `{"tools":[` + tool + `]}`
		default:
			res = result
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jsonrpc":"2.0","id":`+id+`,"result":`+res+`}`)
	}))
	b.Cleanup(gw.Close)
	secrets := tokenstoretest.NewFake()
	secrets.Set(b.Context(), "default", "asana", asanaToken)
	p, err := proxy.New(proxy.Options{
		GatewayURL: gw.URL + "/mcp",
		Rules:      []proxy.Rule{asanaRule},
		Secrets:    secretSource{secrets},
		Protocol:   protocol,
	})
	if err != nil {
		b.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx, inR, outW); close(done) }()
	defer func() {
		inW.Close()
		go io.Copy(io.Discard, outR)
		<-done
		cancel()
		outR.Close()
	}()
	lines := bufio.NewReaderSize(outR, 4<<20)
	answer := func(id string) {
		for {
			line, err := lines.ReadSlice('\n')
			for err == bufio.ErrBufferFull {
				_, err = lines.ReadSlice('\n')
			}
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(string(line[:min(len(line), 40)]), `{"jsonrpc":"2.0","id":`+id+`,`) {
				return
			}
		}
	}
	fmt.Fprintln(inW, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
	answer("0")
	fmt.Fprintln(inW, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	fmt.Fprintln(inW, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	answer("1")
	b.SetBytes(int64(len(result)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprint(i + 2)
		fmt.Fprintln(inW, `{"jsonrpc":"2.0","id":`+id+`,"method":"tools/call","params":{"name":"AgentCoreGwyAPIGatewayTarget___asanaInvoke","arguments":{"q":"x"}}}`)
		answer(id)
	}
}

// jsonID returns the id of a JSON-RPC message, as written, or "".
func jsonID(body []byte) string {
	s := string(body)
	i := strings.Index(s, `"id":`)
	if i < 0 {
		return ""
	}
	s = s[i+5:]
	j := strings.IndexAny(s, ",}")
	if j < 0 {
		return ""
	}
	return s[:j]
}
