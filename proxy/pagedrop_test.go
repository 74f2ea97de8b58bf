package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/hostile"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// pagingGateway is a Gateway written at the HTTP level that lists its tools
// in pages (cursors are the page's first index) and can drop the
// connection in the middle of a page's answer, as an intermediary does
// (golang/go#40747), or refuse a cursor. It speaks both revisions: a
// server/discover offering 2026-07-28 (stateless), and 2025 sessions
// (initialize, then requests with the session's id).
type pagingGateway struct {
	URL   string
	tools []string
	size  int

	mu      sync.Mutex
	tries   map[string]int // tools/list requests by cursor
	lists   int            // tools/list requests
	opens   int            // server/discover and initialize requests
	dropAt  string         // the cursor whose first answer breaks off
	refuse  bool           // and whose second is refused (-32602)
	drops   int            // answers broken off
	refusal int            // cursors refused
}

func newPagingGateway(t *testing.T, n, size int) *pagingGateway {
	t.Helper()
	testwait.NoLeaks(t)
	g := &pagingGateway{size: size, tries: map[string]int{}, dropAt: "-"}
	for i := range n {
		g.tools = append(g.tools, toolDef(fmt.Sprintf("AgentCoreGwyAPIGatewayTarget___tool%03d", i), "X-Asana-Token", "q"))
	}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/mcp"
	return g
}

func (g *pagingGateway) at(*gatewaysim.Sim) string { return g.URL }

func (g *pagingGateway) counts() (lists, opens, drops, refusals int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lists, g.opens, g.drops, g.refusal
}

func (g *pagingGateway) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Cursor          string `json:"cursor"`
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &req) != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	if len(req.ID) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	answer := func(result string) string {
		return `{"jsonrpc":"2.0","id":` + string(req.ID) + `,"result":` + result + `}`
	}
	var msg string
	switch req.Method {
	case "server/discover", "initialize":
		g.mu.Lock()
		g.opens++
		g.mu.Unlock()
		if req.Method == "server/discover" {
			msg = answer(`{"supportedVersions":["2026-07-28"],"capabilities":{"tools":{}},"serverInfo":{"name":"paging","version":"1"}}`)
		} else {
			w.Header().Set("Mcp-Session-Id", "paging-session")
			v, _ := json.Marshal(req.Params.ProtocolVersion)
			msg = answer(`{"protocolVersion":` + string(v) + `,"capabilities":{"tools":{}},"serverInfo":{"name":"paging","version":"1"}}`)
		}
	case "tools/list":
		c := req.Params.Cursor
		g.mu.Lock()
		g.lists++
		g.tries[c]++
		try := g.tries[c]
		g.mu.Unlock()
		msg = answer(hostile.ToolsPage(g.tools, g.size, c))
		switch {
		case c == g.dropAt && try == 1:
			// Half the answer, then the connection ends.
			g.mu.Lock()
			g.drops++
			g.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, msg[:len(msg)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case c == g.dropAt && try == 2 && g.refuse:
			g.mu.Lock()
			g.refusal++
			g.mu.Unlock()
			msg = `{"jsonrpc":"2.0","id":` + string(req.ID) + `,"error":{"code":-32602,"message":"Invalid cursor"}}`
		}
	default:
		msg = `{"jsonrpc":"2.0","id":` + string(req.ID) + `,"error":{"code":-32601,"message":"method not found"}}`
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, msg)
}

// An answer that breaks off in the middle of a page costs one more request
// of that page, at once: no reconnect, no backoff, no page read twice. A
// Gateway that refuses the cursor asked for again has the list read from
// its first page, still without a reconnect.
func TestListPageBrokenOffIsAskedForAgain(t *testing.T) {
	for _, protocol := range []string{proxy.StatelessProtocolVersion, proxy.UpstreamProtocolVersion} {
		for _, refuse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/refuse=%v", protocol, refuse), func(t *testing.T) {
				gw := newPagingGateway(t, 10, 3) // pages at 0, 3, 6, 9
				gw.dropAt, gw.refuse = "6", refuse
				h := start(t, setup{gatewayFor: gw.at, noAuth: true, options: func(o *proxy.Options) { o.Protocol = protocol }})
				tools := h.tools(t)
				if len(tools) != 10 {
					t.Fatalf("the client got %d tools, want 10", len(tools))
				}
				for name, tool := range tools {
					if _, ok := tool.InputSchema.(map[string]any)["properties"].(map[string]any)["X-Asana-Token"]; ok {
						t.Errorf("%s: the injected argument is listed", name)
					}
				}
				lists, opens, drops, refusals := gw.counts()
				want := 4 + 1 // four pages and the broken one again
				if refuse {
					want = 2 + 2 + 4 // two pages, the broken one twice, then all four
				}
				if drops != 1 || refusals != btoi(refuse) {
					t.Fatalf("the Gateway broke off %d answers and refused %d cursors, want 1 and %d", drops, refusals, btoi(refuse))
				}
				if lists != want {
					t.Errorf("%d tools/list requests, want %d", lists, want)
				}
				if opens != 1 {
					t.Errorf("%d connects (server/discover or initialize), want 1: a broken page must not cost a reconnect", opens)
				}
			})
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
