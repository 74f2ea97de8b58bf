package proxy

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The first initialize, answered at once.
//
// A desktop client starts the proxy and sends initialize; until it has the
// answer it waits, so the time to that answer is the proxy's start-up time.
// The answer depends on nothing but the version asked for and the proxy's
// own version, so the proxy writes it as it reads the request, off the
// reading goroutine: not after the SDK's server has been connected, has
// scheduled its handler and has encoded the result (about a tenth of the
// start on 2 cores). The request still goes to the SDK's server, whose
// session records it as it always did; the SDK's own answer, the same in
// content, is dropped (stdioConn.answered). Reading waits until the SDK
// has handled it (earlyInit.handled), so that what comes next (notifications/
// initialized, tools/list) finds the session initialized, as before.
//
// Only a first initialize whose params decode is answered early: anything
// else (no params, a repeated initialize, params the SDK might refuse) is the
// SDK's to answer, as it was.

// earlyInit is the state of the initialize answered early.
type earlyInit struct {
	mu      sync.Mutex
	tried   bool          // the first initialize has been seen
	handled chan struct{} // closed once the SDK has handled it; nil if it was not answered early
}

// initializeResult returns the result of initialize for a client asking for
// MCP version: what the SDK's server (made in New) answers, encoded as it
// encodes it (json.Marshal's bytes, written without encoding/json, whose
// first use would cost the answer tens of microseconds).
func initializeResult(version, serverVersion string) json.RawMessage {
	b := make([]byte, 0, 128)
	b = append(b, `{"capabilities":{"logging":{},"tools":{"listChanged":true}},"protocolVersion":`...)
	b = appendString(b, handshakeVersion(version))
	b = append(b, `,"serverInfo":{"name":"agw-proxy","version":`...)
	b = appendString(b, serverVersion)
	return append(b, `}}`...)
}

// answerInitialize answers req, an initialize read from the client, if it
// is the first and its params decode; it reports whether it did. The
// request goes on to the SDK's server either way.
func (p *Proxy) answerInitialize(conn *stdioConn, req *jsonrpc.Request) bool {
	e := &p.early
	e.mu.Lock()
	first := !e.tried
	e.tried = true
	e.mu.Unlock()
	if !first || !req.IsCall() {
		return false
	}
	raw := bytes.TrimSpace(req.Params)
	var params mcp.InitializeParams
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &params) != nil {
		return false
	}
	if !conn.answerEarly(req.ID, initializeResult(params.ProtocolVersion, p.opts.Version)) {
		return false
	}
	e.mu.Lock()
	e.handled = make(chan struct{})
	e.mu.Unlock()
	return true
}

// initializeHandled records that the SDK's server has handled an
// initialize: the one answered early, if it was.
func (p *Proxy) initializeHandled() {
	e := &p.early
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.handled != nil {
		select {
		case <-e.handled:
		default:
			close(e.handled)
		}
	}
}

// awaitInitialize waits, before the next message from the client is
// handled, until the SDK's server has handled the initialize answered
// early, or the session ends.
func (p *Proxy) awaitInitialize(conn *stdioConn) {
	e := &p.early
	e.mu.Lock()
	ch := e.handled
	e.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-conn.closed:
	case <-p.runCtx.Done():
	}
}
