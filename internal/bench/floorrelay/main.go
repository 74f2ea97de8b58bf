// Command floorrelay is the benchmark's floor: the least any stdio MCP
// proxy written in Go must do. It answers initialize itself (and drops
// notifications/initialized), relays every other line of stdin as one POST
// to the upstream URL with a static bearer token, and writes each answer
// back as one line. It parses nothing beyond the method and id, and strips,
// injects and scrubs nothing. The upstream must be stateless (no
// Mcp-Session-Id), as the emulator is by default.
//
//	AGW_FLOOR_TOKEN=... floorrelay http://127.0.0.1:PORT/mcp
//
// With AGW_FLOOR_TOOLS set to a file holding a tools/list result, it also
// answers tools/list itself, with that file as read when the request
// comes: the least a proxy answering from a tool cache must do.
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
	"sync"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: AGW_FLOOR_TOKEN=... floorrelay UPSTREAM_URL")
		os.Exit(2)
	}
	r := &relay{
		url:   os.Args[1],
		token: "Bearer " + os.Getenv("AGW_FLOOR_TOKEN"),
		tools: os.Getenv("AGW_FLOOR_TOOLS"),
		out:   os.Stdout,
		hc: &http.Client{Transport: &http.Transport{
			Proxy:               nil, // the upstream is on loopback
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128, // one idle connection per call in flight
		}},
	}
	r.serve(os.Stdin)
}

type relay struct {
	url, token, version string
	tools               string // a file with the tools/list result, or ""
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
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"params"`
	}
	if json.Unmarshal(line, &msg) != nil {
		return
	}
	switch {
	case msg.Method == "initialize":
		r.version = msg.Params.ProtocolVersion
		r.write(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":%q,"capabilities":{"tools":{}},"serverInfo":{"name":"floorrelay","version":"1"}}}`, msg.ID, r.version))
	case msg.Method == "tools/list" && r.tools != "" && msg.ID != nil:
		r.wg.Go(func() { r.canned(msg.ID) })
	case msg.Method == "notifications/initialized", msg.Method == "":
		// Nothing to relay: the upstream is stateless, and no request of
		// the upstream's ever reaches a client that could answer it.
	default:
		r.wg.Go(func() { r.post(line, msg.ID) })
	}
}

// post relays one line and writes the answer, if it has an id.
func (r *relay) post(line []byte, id json.RawMessage) {
	body, err := r.roundTrip(line)
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

func (r *relay) roundTrip(line []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(line))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", r.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", r.version)
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
