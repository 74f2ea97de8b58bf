// Command floorrelay is the benchmark's floor: the least any stdio MCP
// proxy written in Go must do. It answers initialize itself (and drops
// notifications/initialized), relays every other line of stdin as one POST
// to the upstream URL with a static bearer token, and writes each answer
// back as one line. It parses nothing beyond the method and id (and, for
// 2026-07-28, the name of what is called), and strips, injects and scrubs
// nothing. The upstream must be stateless (no
// Mcp-Session-Id), as the emulator is by default.
//
//	AGW_FLOOR_TOKEN=... floorrelay http://127.0.0.1:PORT/mcp
//
// With AGW_FLOOR_TOOLS set to a file holding a tools/list result, it also
// answers tools/list itself, with that file as read when the request
// comes: the least a proxy answering from a tool cache must do.
//
// With AGW_FLOOR_PROTOCOL=2026-07-28 it speaks that revision upstream as
// cheaply as a bare relay can: into each relayed line it splices, right
// after `"params":{`, the _meta the revision requires (the protocol
// version and the client capabilities), and sends the MCP-Protocol-Version,
// Mcp-Method and Mcp-Name headers; no server/discover, no session. The
// capabilities, and the clientInfo, are its client's, as the client sent
// them in initialize (empty capabilities if it sent none): what that client
// sends on every request when it speaks the revision itself, so that the
// Gateway does the same work for a relayed request as for a direct one. It
// expects compact lines, as go-sdk writes them, whose params carry no _meta
// of their own. Without it, it relays the lines as they are, in the
// revision its client initialized with.
//
// The token comes from the environment, never argv. internal/bench builds
// and runs it; it is never linked into agw-proxy.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: AGW_FLOOR_TOKEN=... floorrelay UPSTREAM_URL")
		os.Exit(2)
	}
	r := &relay{
		url:       os.Args[1],
		token:     "Bearer " + os.Getenv("AGW_FLOOR_TOKEN"),
		tools:     os.Getenv("AGW_FLOOR_TOOLS"),
		stateless: os.Getenv("AGW_FLOOR_PROTOCOL") == statelessVersion,
		out:       os.Stdout,
		hc: &http.Client{Transport: &http.Transport{
			Proxy:               nil, // the upstream is on loopback
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128, // one idle connection per call in flight
		}},
	}
	r.serve(os.Stdin)
}

// statelessVersion is the revision spoken upstream with AGW_FLOOR_PROTOCOL,
// and meta the _meta member it requires of every request, before the
// client's initialize gives its capabilities and clientInfo (clientMeta).
const (
	statelessVersion = "2026-07-28"
	meta             = `"_meta":{"io.modelcontextprotocol/protocolVersion":"` + statelessVersion + `","io.modelcontextprotocol/clientCapabilities":{}}`
)

// clientMeta returns the _meta member of the stateless requests relayed
// for a client that initialized with capabilities and clientInfo (each
// JSON, or nil): what a go-sdk client speaking the revision itself sends
// on every request. Capabilities that are not an object read as none.
func clientMeta(capabilities, clientInfo json.RawMessage) []byte {
	m := []byte(`"_meta":{"io.modelcontextprotocol/protocolVersion":"` + statelessVersion + `","io.modelcontextprotocol/clientCapabilities":`)
	if caps := compact(capabilities); len(caps) > 0 && caps[0] == '{' {
		m = append(m, caps...)
	} else {
		m = append(m, "{}"...)
	}
	if info := compact(clientInfo); len(info) > 0 && info[0] == '{' {
		m = append(append(m, `,"io.modelcontextprotocol/clientInfo":`...), info...)
	}
	return append(m, '}')
}

func compact(v json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return nil
	}
	return b.Bytes()
}

type relay struct {
	url, token, version string
	tools               string // a file with the tools/list result, or ""
	stateless           bool   // speak statelessVersion upstream
	meta                []byte // the _meta member spliced in (stateless), from initialize
	hc                  *http.Client
	wg                  sync.WaitGroup
	mu                  sync.Mutex // one line at a time on out
	out                 io.Writer
}

// serve relays the lines of in until it ends, then waits for the answers.
func (r *relay) serve(in io.Reader) {
	br := bufio.NewReaderSize(in, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			r.handle(line)
		}
		if err != nil {
			break
		}
	}
	r.wg.Wait()
}

func (r *relay) handle(line []byte) {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			ProtocolVersion string          `json:"protocolVersion"`
			Capabilities    json.RawMessage `json:"capabilities"` // initialize
			ClientInfo      json.RawMessage `json:"clientInfo"`   // initialize
			Name            string          `json:"name"`         // tools/call, prompts/get
			URI             string          `json:"uri"`          // resources/read
		} `json:"params"`
	}
	if json.Unmarshal(line, &msg) != nil {
		return
	}
	switch {
	case msg.Method == "initialize":
		r.version = msg.Params.ProtocolVersion
		r.meta = clientMeta(msg.Params.Capabilities, msg.Params.ClientInfo)
		r.write(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":%q,"capabilities":{"tools":{}},"serverInfo":{"name":"floorrelay","version":"1"}}}`, msg.ID, r.version))
	case msg.Method == "tools/list" && r.tools != "" && msg.ID != nil:
		r.wg.Go(func() { r.canned(msg.ID) })
	case msg.Method == "notifications/initialized", msg.Method == "":
		// Nothing to relay: the upstream is stateless, and no request of
		// the upstream's ever reaches a client that could answer it.
	default:
		var name string // Mcp-Name
		switch msg.Method {
		case "tools/call", "prompts/get":
			name = msg.Params.Name
		case "resources/read":
			name = msg.Params.URI
		}
		r.wg.Go(func() { r.post(line, msg.ID, msg.Method, name) })
	}
}

// post relays one line and writes the answer, if it has an id.
func (r *relay) post(line []byte, id json.RawMessage, method, name string) {
	body, err := r.roundTrip(line, method, name)
	if id == nil {
		return // a notification: nothing to answer
	}
	if err != nil {
		body = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32603,"message":%q}}`, id, err.Error())
	}
	r.write(body)
}

// canned answers tools/list with the result in r.tools.
func (r *relay) canned(id json.RawMessage) {
	res, err := os.ReadFile(r.tools)
	if err != nil {
		r.write(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32603,"message":%q}}`, id, err.Error()))
		return
	}
	msg := make([]byte, 0, len(res)+len(id)+40)
	msg = append(msg, `{"jsonrpc":"2.0","id":`...)
	msg = append(msg, id...)
	msg = append(msg, `,"result":`...)
	msg = append(msg, bytes.TrimSpace(res)...)
	r.write(append(msg, '}'))
}

// withMeta returns line with meta spliced in as the first member of its
// params, or with params of meta alone when it has none.
func withMeta(line, meta []byte) []byte {
	i, end := bytes.Index(line, []byte(`"params":{`)), bytes.LastIndexByte(line, '}')
	if i < 0 && end >= 0 {
		return slices.Concat(line[:end], []byte(`,"params":{`), meta, []byte(`}`), line[end:])
	}
	i += len(`"params":{`)
	if i >= end {
		return line // not the JSON object it should be: the upstream says so
	}
	out := append(append(make([]byte, 0, len(line)+len(meta)+1), line[:i]...), meta...)
	if line[i] != '}' {
		out = append(out, ',')
	}
	return append(out, line[i:]...)
}

func (r *relay) roundTrip(line []byte, method, name string) ([]byte, error) {
	version := r.version
	if r.stateless {
		m := r.meta
		if m == nil {
			m = []byte(meta) // no initialize came
		}
		line, version = withMeta(line, m), statelessVersion
	}
	req, err := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(line))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", r.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", version)
	if r.stateless {
		req.Header.Set("Mcp-Method", method)
		if name != "" {
			req.Header.Set("Mcp-Name", name)
		}
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("upstream: HTTP %d", resp.StatusCode)
	}
	if bytes.HasPrefix([]byte(resp.Header.Get("Content-Type")), []byte("text/event-stream")) {
		// The answer is the last event's data line.
		events := append([]byte("\n"), body...)
		i := bytes.LastIndex(events, []byte("\ndata:"))
		if i < 0 {
			return nil, fmt.Errorf("upstream: SSE without data")
		}
		body, _, _ = bytes.Cut(events[i+len("\ndata:"):], []byte("\n"))
	}
	return bytes.TrimSpace(body), nil
}

func (r *relay) write(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.Write(append(b, '\n'))
}
