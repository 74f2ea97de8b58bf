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
// has answered it (earlyInit.handled), so that what comes next (notifications/
// initialized, tools/list) finds the session initialized, as before.
//
// Only a first initialize whose params are in the plain shape is answered
// early: anything else (no params, a repeated initialize, params the SDK
// might refuse or read otherwise) is the SDK's to answer, as it was. Should
// the SDK still refuse params answered early, its error is dropped like its
// result, and what comes next waits no longer (stdioConn.dropEarly).

// earlyInit is the state of the initialize answered early.
type earlyInit struct {
	mu      sync.Mutex
	tried   bool            // the first initialize has been seen
	handled <-chan struct{} // closed once the SDK has answered it; nil if it was not answered early
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
// is the first and its params are in the plain shape; it reports whether it
// did. The request goes on to the SDK's server either way.
func (p *Proxy) answerInitialize(conn *stdioConn, req *jsonrpc.Request) bool {
	e := &p.early
	e.mu.Lock()
	first := !e.tried
	e.tried = true
	e.mu.Unlock()
	if !first || !req.IsCall() {
		return false
	}
	version, ok := plainInitialize(req.Params)
	if !ok {
		return false
	}
	done, ok := conn.answerEarly(req.ID, initializeResult(version, p.opts.Version))
	if !ok {
		return false
	}
	e.mu.Lock()
	e.handled = done
	e.mu.Unlock()
	return true
}

// sdkMaxNesting is the go-sdk's bound on the nesting of what it decodes
// (its internal/json): deeper params it refuses.
const sdkMaxNesting = 1000

// plainInitialize returns the protocolVersion of initialize params that
// the SDK's server reads as this code does: an object, nested at most
// sdkMaxNesting deep, its protocolVersion key exactly so (the SDK matches
// keys by case, encoding/json without regard to it) and given once, a
// plain string or absent, and the whole of it of the types the SDK
// expects.
func plainInitialize(params json.RawMessage) (version string, ok bool) {
	raw := bytes.TrimSpace(params)
	vals := make([][]byte, 1)
	if len(raw) == 0 || raw[0] != '{' || !validWithin(raw, sdkMaxNesting) || !fields(raw, initializeFields, vals) {
		return "", false
	}
	if vals[0] != nil {
		if version, ok = plainString(vals[0]); !ok {
			return "", false
		}
	}
	var typed mcp.InitializeParams
	if json.Unmarshal(raw, &typed) != nil {
		return "", false
	}
	return version, true
}

var initializeFields = []string{"protocolVersion"}

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
