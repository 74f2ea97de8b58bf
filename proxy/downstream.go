package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MCP 2026-07-28 toward the desktop client.
//
// The revision is stateless: there is no initialize, and every request
// names its protocol version and the client's capabilities in
// params._meta. The proxy reads that _meta on each request, before the SDK's
// server sees it, and serves a request that carries it itself: the SDK's
// server session stays the session of a client that initialized (2025
// revisions), so that both kinds of client can use one process in turn,
// each answered in its own revision, and the hot path stays off the SDK as
// it is for a 2025 client.

// StatelessProtocolVersions are the MCP versions without initialize the
// proxy speaks with the desktop client: a request names one of them in
// params._meta. server/discover lists them first, then
// DownstreamProtocolVersions.
var StatelessProtocolVersions = []string{"2026-07-28"}

// firstStatelessVersion is the oldest revision read from _meta: a request
// naming an older one (or none) belongs to an initialized session, as the
// SDK reads it.
const firstStatelessVersion = "2026-07-28"

// The _meta keys of a 2026-07-28 request and result.
const (
	metaProtocolVersion    = "io.modelcontextprotocol/protocolVersion"
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaClientInfo         = "io.modelcontextprotocol/clientInfo"
	metaServerInfo         = "io.modelcontextprotocol/serverInfo"
	metaSubscriptionID     = "io.modelcontextprotocol/subscriptionId"
)

// Cache hints of a tools/list result for a stateless client. The list is
// stripped by this user's rules (private), and the proxy holds it in memory
// and serves it at once, refreshed when the Gateway announces a change: a
// client's cache would save nothing and could hide a change from a client
// that has not subscribed to tools/list_changed, so the list is stale at once
// (ttlMs 0). The Gateway's own hints, when it gives them, describe its list,
// not this one.
const toolsListCacheHints = `"ttlMs":0,"cacheScope":"private"`

// supportedVersions returns every version the proxy speaks downstream,
// newest first.
func supportedVersions() []string {
	return slices.Concat(StatelessProtocolVersions, DownstreamProtocolVersions)
}

// handshakeVersion returns the version an initialize asking for v is
// answered with: v when the handshake knows it, else the newest the
// handshake knows. It is never a stateless version, which has no
// initialize: a client that asks for one in an initialize gets 2025-11-25.
func handshakeVersion(v string) string {
	if slices.Contains(DownstreamProtocolVersions, v) {
		return v
	}
	return DownstreamProtocolVersions[0]
}

// A statelessRequest is what the proxy read of a 2026-07-28 request's _meta.
type statelessRequest struct {
	version string
	// capabilities are the client's, as sent (a JSON object): a call
	// relays the Gateway's requests for input by them (input.go).
	capabilities json.RawMessage
}

// readStateless reports whether the request with params follows a stateless
// revision, and checks its _meta as the SDK does: a request whose _meta has
// no protocol version, or an older one, is not stateless; a stateless one
// needs clientCapabilities (an object) and, if it has clientInfo, a valid
// one, else it gets invalid params; a version the proxy does not speak gets
// CodeUnsupportedProtocolVersion with the versions it does.
func readStateless(params json.RawMessage) (*statelessRequest, *jsonrpc.Error) {
	meta := member(params, "_meta")
	if meta == nil {
		return nil, nil
	}
	var version string
	if json.Unmarshal(member(meta, metaProtocolVersion), &version) != nil || version < firstStatelessVersion {
		return nil, nil
	}
	if info := member(meta, metaClientInfo); info != nil && !isNull(info) {
		var impl mcp.Implementation
		if bytes.TrimSpace(info)[0] != '{' || json.Unmarshal(info, &impl) != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("invalid _meta field %q", metaClientInfo)}
		}
	}
	caps := member(meta, metaClientCapabilities)
	var c mcp.ClientCapabilities
	if caps == nil || isNull(caps) || bytes.TrimSpace(caps)[0] != '{' || json.Unmarshal(caps, &c) != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("missing or invalid _meta field %q", metaClientCapabilities)}
	}
	if !slices.Contains(StatelessProtocolVersions, version) {
		data, _ := json.Marshal(mcp.UnsupportedProtocolVersionData{Supported: supportedVersions(), Requested: version})
		return nil, &jsonrpc.Error{Code: mcp.CodeUnsupportedProtocolVersion, Message: "unsupported protocol version", Data: data}
	}
	return &statelessRequest{version: version, capabilities: caps}, nil
}

// member returns the value of the object obj's member key (the last, if
// given twice, as a decoder reads it), or nil.
func member(obj []byte, key string) []byte {
	var v []byte
	if eachMember(obj, func(m span) bool {
		if isString(m.key, key) {
			v = m.val
		}
		return true
	}) != nil {
		return nil
	}
	return v
}

func isNull(v []byte) bool { return string(bytes.TrimSpace(v)) == "null" }

// methodsRemovedInStateless are the methods a stateless request cannot
// call: the revision removed them. They get method not found, as from the
// SDK.
var methodsRemovedInStateless = []string{
	"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe",
}

// removedInStateless returns the error for a method the stateless revision
// removed, or nil for another.
func removedInStateless(method string, sr *statelessRequest) *jsonrpc.Error {
	if !slices.Contains(methodsRemovedInStateless, method) {
		return nil
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: fmt.Sprintf("%q is not supported in protocol version %s", method, sr.version)}
}

// serveStateless answers, or starts serving, a request of a stateless
// revision. It always takes the request: the SDK's server never sees one.
func (p *Proxy) serveStateless(conn *stdioConn, req *jsonrpc.Request, sr *statelessRequest) {
	switch req.Method {
	case "server/discover":
		p.answer(conn, req, discoverResult(p.opts.Version, `{"tools":{"listChanged":true}}`, ""))
	case "tools/list", "tools/call":
		p.startCall(conn, req, sr)
	case "subscriptions/listen":
		p.listen(conn, req)
	default:
		if jerr := removedInStateless(req.Method, sr); jerr != nil {
			p.answerError(conn, req, jerr)
			return
		}
		p.answerError(conn, req, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: fmt.Sprintf("agw-proxy: method %q not found (agw-proxy serves tools)", req.Method)})
	}
}

// discoverResult is the result of server/discover: the versions, the
// capabilities (a JSON object) and the server's identity, at the top level
// as the specification shows it and in _meta, where the go-sdk reads it.
func discoverResult(version string, capabilities, instructions string) json.RawMessage {
	info, _ := json.Marshal(mcp.Implementation{Name: "agw-proxy", Version: version})
	versions, _ := json.Marshal(supportedVersions())
	b := make([]byte, 0, 256+len(instructions))
	b = append(b, `{"resultType":"complete","supportedVersions":`...)
	b = append(b, versions...)
	b = append(b, `,"capabilities":`...)
	b = append(b, capabilities...)
	b = append(b, `,"serverInfo":`...)
	b = append(b, info...)
	if instructions != "" {
		s, _ := json.Marshal(instructions)
		b = append(b, `,"instructions":`...)
		b = append(b, s...)
	}
	// What the proxy is does not depend on the user, and changes only with
	// the binary, that is, with the process.
	b = append(b, `,"ttlMs":0,"cacheScope":"public","_meta":{"`+metaServerInfo+`":`...)
	b = append(b, info...)
	return append(b, "}}"...)
}

// answer writes the result of req.
func (p *Proxy) answer(conn *stdioConn, req *jsonrpc.Request, result json.RawMessage) {
	_ = conn.Write(context.Background(), &jsonrpc.Response{ID: req.ID, Result: result})
}

// answerError writes the error answering req.
func (p *Proxy) answerError(conn *stdioConn, req *jsonrpc.Request, err *jsonrpc.Error) {
	_ = conn.Write(context.Background(), &jsonrpc.Response{ID: req.ID, Error: err})
}

// hasResultType reports whether res, a tools/call result of the initialize
// revisions' shape (from such a Gateway, or made by the proxy), has a
// resultType of its own anyway, which a stateless client then gets as it
// is; any other gets resultType "complete" (serveCall). A result that does
// not name the key anywhere, as a large one rarely does, is not walked. A
// result of the stateless revision is passed on as it came, and so is one
// for a client of the initialize revisions (a resultType is a member their
// results may carry).
func hasResultType(res json.RawMessage) bool {
	// "Type\"" is found faster than the whole key: a quote is common.
	return bytes.Contains(res, []byte(`Type"`)) && member(res, "resultType") != nil
}

// listNews reports whether the list the client would get now (generation
// now) is news to a client that was last given generation served (0:
// none yet) and may have got an error instead of a list (missed): it holds
// another list (the Gateway's tools changed, or differ from the cached
// list it got), or an error where a list now is. A client that has been
// given no list waits for the first one, which is no news to it. What the
// client was given counts, not what the list was when it subscribed: the
// cached list may come after the subscription.
func listNews(now, served uint64, missed bool) bool {
	return served != 0 && served != now || missed
}

// listen serves subscriptions/listen, the stateless revision's way to hear
// of changes: the proxy honours toolsListChanged (it has nothing else to
// announce), acknowledges, and sends each tools/list_changed tagged with
// the subscription's id until the client cancels the request. A
// subscription to nothing the proxy offers is acknowledged and answered at
// once. The open request is not owed an answer when stdin ends.
func (p *Proxy) listen(conn *stdioConn, req *jsonrpc.Request) {
	var params struct {
		Notifications *struct {
			ToolsListChanged bool `json:"toolsListChanged"`
		} `json:"notifications"`
	}
	if json.Unmarshal(req.Params, &params) != nil || params.Notifications == nil {
		p.answerError(conn, req, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "agw-proxy: subscriptions/listen needs params.notifications"})
		return
	}
	id, err := json.Marshal(req.ID.Raw())
	if err != nil {
		return
	}
	tag := `"_meta":{"` + metaSubscriptionID + `":` + string(id) + `}`
	honoured := `{}`
	if params.Notifications.ToolsListChanged {
		honoured = `{"toolsListChanged":true}`
	}
	// The acknowledgement is the first message of the subscription.
	_ = conn.writeRaw([]byte(`{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"notifications":` + honoured + `,` + tag + `}}`))
	if !params.Notifications.ToolsListChanged {
		p.answer(conn, req, json.RawMessage(`{"resultType":"complete",`+tag+`}`))
		return
	}

	ctx, cancel := context.WithCancel(p.runCtx)
	call := &inflightCall{cancel: cancel}
	p.callsMu.Lock()
	p.inflight[req.ID.Raw()] = call
	p.callsMu.Unlock()
	conn.settle()

	p.mu.Lock()
	seen, changed := p.listGen, p.changed
	p.mu.Unlock()
	go func() {
		defer func() {
			p.callsMu.Lock()
			if p.inflight[req.ID.Raw()] == call {
				delete(p.inflight, req.ID.Raw())
			}
			p.callsMu.Unlock()
			conn.release(req.ID)
			cancel()
		}()
		notification := []byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{` + tag + `}}`)
		for {
			select {
			case <-ctx.Done():
				return // cancelled by the client (no answer is expected), or shutdown
			case <-changed:
			}
			p.mu.Lock()
			now, served, missed := p.listGen, p.servedGen, p.statelessMissed
			changed = p.changed
			p.mu.Unlock()
			if now != seen {
				seen = now
				if listNews(now, served, missed) {
					_ = conn.writeRaw(notification)
				}
			}
		}
	}()
}
