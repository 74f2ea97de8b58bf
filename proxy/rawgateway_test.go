package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// rawGateway is a Gateway stand-in written at the HTTP level, for shapes the
// emulator does not produce: it lists exactly the tool bytes a test gives it
// (a name twice, say), answers each call with the result bytes the test set,
// and records every call as it arrived. It speaks just enough Streamable
// HTTP: JSON answers to initialize, tools/list and tools/call, 202 for
// notifications, and a GET event stream that carries tools/list_changed.
type rawGateway struct {
	URL string

	mu       sync.Mutex
	tools    string                     // the JSON array tools/list answers
	results  map[string]json.RawMessage // tools/call results by tool name
	calls    []rawCall
	lists    int           // tools/list requests answered or held
	hold     chan struct{} // non-nil: tools/list waits until it is closed
	held     chan struct{} // closed when a tools/list is being held
	sessions bool          // hand out Mcp-Session-Id and honour it
	session  string        // the live session; others get 404
	nextID   int
	streams  []chan string // open GET streams
}

// rawCall is one tools/call as the Gateway received it.
type rawCall struct {
	Name      string
	Arguments json.RawMessage
	Body      []byte // the whole JSON-RPC request
}

func newRawGateway(t *testing.T, tools string) *rawGateway {
	t.Helper()
	testwait.NoLeaks(t)
	g := &rawGateway{tools: tools, results: map[string]json.RawMessage{}}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/mcp"
	return g
}

// setTools replaces the listed tools; listChanged tells the client.
func (g *rawGateway) setTools(tools string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tools = tools
}

// result sets the answer to calls of the named tool (a CallToolResult).
func (g *rawGateway) result(name, result string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.results[name] = json.RawMessage(result)
}

// listChanged sends notifications/tools/list_changed on every open stream
// and reports how many there were.
func (g *rawGateway) listChanged() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.streams {
		s <- `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`
	}
	return len(g.streams)
}

// holdLists makes the following tools/list requests wait until release is
// called; the returned channel is closed once one is waiting.
func (g *rawGateway) holdLists() (held <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold, g.held = make(chan struct{}), make(chan struct{})
	hold := g.hold
	var once sync.Once
	return g.held, func() { once.Do(func() { close(hold) }) }
}

// dropSessions forgets the live session: its next request gets HTTP 404.
func (g *rawGateway) dropSessions() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.session = ""
}

func (g *rawGateway) received() []rawCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]rawCall(nil), g.calls...)
}

func (g *rawGateway) listCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lists
}

func (g *rawGateway) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	sessions, live := g.sessions, g.session
	g.mu.Unlock()
	if sid := r.Header.Get("Mcp-Session-Id"); sessions && sid != "" && sid != live {
		http.Error(w, "session not found", http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		g.stream(w, r)
		return
	case http.MethodDelete:
		return
	case http.MethodPost:
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	if len(req.ID) == 0 {
		w.WriteHeader(http.StatusAccepted) // a notification
		return
	}
	var result string
	switch req.Method {
	case "initialize":
		var p struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		json.Unmarshal(req.Params, &p)
		if sessions {
			g.mu.Lock()
			g.nextID++
			g.session = fmt.Sprintf("raw-session-%d", g.nextID)
			w.Header().Set("Mcp-Session-Id", g.session)
			g.mu.Unlock()
		}
		v, _ := json.Marshal(p.ProtocolVersion)
		result = `{"protocolVersion":` + string(v) + `,"capabilities":{"tools":{"listChanged":true}},"serverInfo":{"name":"raw-gateway","version":"1"}}`
	case "tools/list":
		g.mu.Lock()
		g.lists++
		hold, held := g.hold, g.held
		g.hold, g.held = nil, nil
		g.mu.Unlock()
		if hold != nil {
			close(held)
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		g.mu.Lock()
		result = `{"tools":` + g.tools + `}`
		g.mu.Unlock()
	case "tools/call":
		var p struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		json.Unmarshal(req.Params, &p)
		g.mu.Lock()
		g.calls = append(g.calls, rawCall{Name: p.Name, Arguments: p.Arguments, Body: body})
		res, ok := g.results[p.Name]
		g.mu.Unlock()
		result = `{"content":[{"type":"text","text":"ok"}]}`
		if ok {
			result = string(res)
		}
	case "ping":
		result = `{}`
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"method not found"}}`, req.ID)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, result)
}

// stream serves the GET event stream, on which listChanged sends.
func (g *rawGateway) stream(w http.ResponseWriter, r *http.Request) {
	f, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "no streaming", http.StatusMethodNotAllowed)
		return
	}
	ch := make(chan string, 16)
	g.mu.Lock()
	g.streams = append(g.streams, ch)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		for i, s := range g.streams {
			if s == ch {
				g.streams = append(g.streams[:i], g.streams[i+1:]...)
				break
			}
		}
		g.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	f.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg := <-ch:
			fmt.Fprintf(w, "event: message\ndata: %s\n\n", msg)
			f.Flush()
		}
	}
}
