package proxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/httpheader"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// StatelessProtocolVersion is MCP 2026-07-28, the stateless revision: no
// initialize and no session; every request carries the protocol version and
// the client's capabilities in its _meta.
const StatelessProtocolVersion = "2026-07-28"

// ProtocolAuto is the Options.Protocol that negotiates the revision with
// the Gateway on every connect (as "" does).
const ProtocolAuto = "auto"

// Protocols are the values of Options.Protocol, the profile's protocol key
// and --protocol: auto first, then the revisions it can pin.
var Protocols = []string{ProtocolAuto, StatelessProtocolVersion, UpstreamProtocolVersion}

// minRelist bounds how often a list's ttlMs makes the proxy list the
// Gateway's tools again: a Gateway that says 1 ms must not make it list
// without end.
var minRelist = 30 * time.Second

// defaultRelist is how often the tools of a stateless Gateway are listed
// again when its list gives no ttlMs: the revision has no session stream on
// which the Gateway could announce a change, so a target added to it would
// otherwise reach the client only when the proxy restarts.
var defaultRelist = 5 * time.Minute

// statelessUpstream is the Gateway over MCP 2026-07-28. open asks the
// Gateway which revisions it speaks (server/discover); a session is then
// only the proxy's own state: the headers the tools' schemas ask for, and
// the timer that lists the tools again when the list's ttlMs runs out.
// Requests go over gatewayHTTP, each with the _meta fields and the headers
// the revision requires.
type statelessUpstream struct {
	wire *gatewayHTTP
	// meta is the members every request's _meta carries, by key, each as
	// `"key":value`.
	meta []metaMember
}

type metaMember struct {
	key    string
	member []byte
}

func newStatelessUpstream(wire *gatewayHTTP, version string) *statelessUpstream {
	// Written without encoding/json, whose first use costs a start tens of
	// microseconds before stdin is read: the members are json.Marshal's of
	// the key and of the value (an mcp.Implementation of name and version).
	member := func(k string, v []byte) metaMember {
		return metaMember{key: k, member: append(append(appendString(nil, k), ':'), v...)}
	}
	return &statelessUpstream{wire: wire, meta: []metaMember{
		member(mcp.MetaKeyProtocolVersion, appendString(nil, StatelessProtocolVersion)),
		// Elicitation, which the proxy relays to its client or turns
		// into an isError result (input.go); no sampling, no roots.
		member(mcp.MetaKeyClientCapabilities, []byte(upstreamCapabilities)),
		member(mcp.MetaKeyClientInfo, implementationJSON("agw-proxy", version)),
	}}
}

// implementationJSON returns json.Marshal(&mcp.Implementation{Name: name,
// Version: version}).
func implementationJSON(name, version string) []byte {
	b := appendString([]byte(`{"name":`), name)
	return append(appendString(append(b, `,"version":`...), version), '}')
}

// A noStatelessError says the Gateway does not speak 2026-07-28: its
// server/discover lists other revisions, or it does not know the method.
type noStatelessError struct {
	offered []string // the revisions the Gateway listed, if it answered
	cause   error    // the Gateway's refusal, if it refused
}

func (e *noStatelessError) Error() string {
	if e.cause != nil {
		return "the Gateway does not answer server/discover (" + e.cause.Error() + ")"
	}
	if len(e.offered) == 0 {
		return "the Gateway's server/discover lists no protocol revision"
	}
	return "the Gateway offers MCP " + strings.Join(e.offered, ", ")
}

func (e *noStatelessError) Unwrap() error { return e.cause }

// open asks the Gateway for its revisions. It returns a session when they
// include 2026-07-28, a *noStatelessError when the Gateway answered without
// it, and any other error (the network, a token refused after the refresh,
// HTTP 429 or 5xx) as the failure of this connect.
func (u *statelessUpstream) open(ctx context.Context) (upstreamSession, error) {
	s := &statelessSession{u: u, done: make(chan struct{})}
	res, err := s.call(ctx, "server/discover", []byte(`{}`))
	if err != nil {
		if !discoverRefused(err) {
			return nil, fmt.Errorf("server/discover: %w", err)
		}
		// -32022 lists the revisions the Gateway speaks.
		var jerr *jsonrpc.Error
		var data mcp.UnsupportedProtocolVersionData
		if errors.As(err, &jerr) && jerr.Code == mcp.CodeUnsupportedProtocolVersion &&
			json.Unmarshal(jerr.Data, &data) == nil && len(data.Supported) > 0 {
			return nil, &noStatelessError{offered: data.Supported}
		}
		return nil, &noStatelessError{cause: err}
	}
	var d struct {
		SupportedVersions []string `json:"supportedVersions"`
	}
	if err := json.Unmarshal(res, &d); err != nil {
		return nil, &noStatelessError{cause: errors.New("its answer is not a discover result")}
	}
	if !slices.Contains(d.SupportedVersions, StatelessProtocolVersion) {
		return nil, &noStatelessError{offered: d.SupportedVersions}
	}
	return s, nil
}

// discoverRefused reports whether a failed server/discover is the answer of
// a Gateway that speaks only the 2025 revisions: any JSON-RPC error but a
// rejected token (method not found, -32022 unsupported version, invalid
// request), or HTTP 400, 404, 405 or 501 without one. A 2025 Gateway that
// refused the method would refuse it again: the proxy falls back to a
// session rather than retry.
func discoverRefused(err error) bool {
	var jerr *jsonrpc.Error
	if errors.As(err, &jerr) {
		return jerr.Code != codeInvalidBearer
	}
	var serr *statusError
	if errors.As(err, &serr) {
		switch serr.code {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			return true
		}
	}
	return false
}

// A statelessSession is statelessUpstream after a discover: it ends only
// when closed.
type statelessSession struct {
	u    *statelessUpstream
	once sync.Once
	done chan struct{}

	mu sync.Mutex
	// bindings are the Mcp-Param headers of the tools that have any, by
	// tool name, from the last complete tools/list.
	bindings map[string][]paramBinding
	relist   *time.Timer // lists the tools again when the list's ttlMs ends
	closed   bool
}

// A paramBinding is an argument an input schema marks with x-mcp-header:
// its path in the arguments and the Mcp-Param header it is mirrored into.
type paramBinding struct {
	path   []string
	header string // "Mcp-Param-" + the schema's name
}

func (s *statelessSession) call(ctx context.Context, method string, params []byte) (json.RawMessage, error) {
	// post merges the revision's _meta members into the params as it
	// writes the request's body (appendWithMeta): one copy of the params.
	h := wireHeaders{protocolVersion: StatelessProtocolVersion, method: method, closeCancels: true, meta: s.u.meta}
	if method == "tools/call" {
		// The headers are taken from the params as sent, after injection:
		// an argument the proxy filled in is mirrored with its value.
		h.name, h.params = s.callHeaders(params)
	}
	res, err := s.u.wire.post(ctx, h, method, params)
	if err != nil {
		// No session to lose: only a connection never made is certainly
		// not sent.
		if dialFailed(err) {
			return nil, notSent(err)
		}
		return nil, err
	}
	return res, nil
}

func (s *statelessSession) lost() <-chan struct{} { return s.done }

func (s *statelessSession) close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		if s.relist != nil {
			s.relist.Stop()
		}
		s.mu.Unlock()
		close(s.done)
	})
}

func (s *statelessSession) protocol() string { return StatelessProtocolVersion }

// listed implements upstreamSession: it keeps the x-mcp-header bindings of
// the tools, and arms the timer that lists the tools again when the list's
// ttlMs (or defaultRelist) runs out. Most tools have no binding and are not
// walked for one. Of a name listed twice (which the proxy reports, and
// serves as first listed), the first listing with bindings counts.
func (s *statelessSession) listed(defs [][]byte, ttl time.Duration) {
	bindings := map[string][]paramBinding{}
	for _, def := range defs {
		if !mayBindHeaders(def) {
			continue
		}
		name, schema := toolNameSchema(def)
		if _, dup := bindings[name]; name == "" || dup {
			continue
		}
		if b := headerBindings(schema, nil, nil); len(b) > 0 {
			bindings[name] = b
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bindings = bindings
	if s.closed {
		return
	}
	if s.relist != nil {
		s.relist.Stop()
	}
	// The list is fresh for ttlMs (or defaultRelist): then it is listed
	// again, without holding calls up as an announced change does.
	d := defaultRelist
	if ttl > 0 {
		d = max(ttl, minRelist)
	}
	s.relist = time.AfterFunc(d, s.u.wire.events.stale)
}

// toolNameSchema returns a tool definition's name and input schema (the
// last of each, as when decoding).
func toolNameSchema(tool []byte) (name string, schema []byte) {
	ms, err := members(tool)
	if err != nil {
		return "", nil
	}
	for _, m := range ms {
		switch {
		case isString(m.key, "name"):
			name, _ = stringValue(m.val)
		case isString(m.key, "inputSchema"):
			schema = m.val
		}
	}
	return name, schema
}

// mayBindHeaders reports whether schema can hold an x-mcp-header
// annotation. Most schemas have none, and are not walked. A key written with
// escapes ("x\u002dmcp-header") is not looked for: the mirror is a
// courtesy to the Gateway (the value is in the body all the same), and
// such a Gateway only misses its header.
func mayBindHeaders(schema []byte) bool {
	return bytes.Contains(schema, []byte("x-mcp-header"))
}

// headerBindings appends the x-mcp-header bindings of schema's properties,
// at any depth, to out. A binding the revision does not allow (a header
// name that is not an HTTP token, one given twice, a property not of a
// primitive type) is left out: its header cannot be sent.
func headerBindings(schema []byte, prefix []string, out []paramBinding) []paramBinding {
	ms, err := members(schema)
	if err != nil {
		return out
	}
	for _, m := range ms {
		if !isString(m.key, "properties") {
			continue
		}
		props, err := members(m.val)
		if err != nil {
			continue
		}
		for _, p := range props {
			var name string
			if json.Unmarshal(p.key, &name) != nil {
				continue
			}
			path := append(slices.Clip(prefix), name)
			fields, err := members(p.val)
			if err != nil {
				continue
			}
			var typ, header string
			for _, f := range fields {
				switch {
				case isString(f.key, "type"):
					typ, _ = stringValue(f.val)
				case isString(f.key, "x-mcp-header"):
					header, _ = stringValue(f.val)
				}
			}
			if httpheader.ValidName(header) && (typ == "string" || typ == "integer" || typ == "boolean") &&
				!slices.ContainsFunc(out, func(b paramBinding) bool { return strings.EqualFold(b.header, "Mcp-Param-"+header) }) {
				out = append(out, paramBinding{path: path, header: "Mcp-Param-" + header})
			}
			out = headerBindings(p.val, path, out)
		}
	}
	return out
}

// callHeaders returns the Mcp-Name and Mcp-Param headers of a tools/call
// with params.
func (s *statelessSession) callHeaders(params []byte) (name string, headers map[string]string) {
	var args []byte
	err := eachMember(params, func(m span) bool {
		switch {
		case isString(m.key, "name"):
			name, _ = stringValue(m.val)
		case isString(m.key, "arguments"):
			args = m.val
		}
		return true
	})
	if err != nil {
		return "", nil
	}
	s.mu.Lock()
	bindings := s.bindings[name]
	s.mu.Unlock()
	for _, b := range bindings {
		v, ok := lookupArgument(args, b.path)
		if !ok {
			continue
		}
		if hv, ok := headerValue(v); ok {
			if headers == nil {
				headers = make(map[string]string, len(bindings))
			}
			headers[b.header] = hv
		}
	}
	return name, headers
}

// lookupArgument returns the value at path in the arguments object.
func lookupArgument(args []byte, path []string) ([]byte, bool) {
	cur := args
	for _, key := range path {
		ms, err := members(cur)
		if err != nil {
			return nil, false
		}
		found := false
		for _, m := range ms {
			// The last of a key given twice counts, as when decoding.
			if isString(m.key, key) {
				cur, found = m.val, true
			}
		}
		if !found {
			return nil, false
		}
	}
	return cur, true
}

// headerValue is an argument's value as its Mcp-Param header carries it: a
// string as it is when it is plain printable ASCII without surrounding
// blanks, else "=?base64?…?="; an integer in decimal; true or false. Other
// values (null, a fraction, an object) have no header.
func headerValue(raw []byte) (string, bool) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	switch v := v.(type) {
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		const maxSafe = 1<<53 - 1
		if v != math.Trunc(v) || math.Abs(v) > maxSafe {
			return "", false
		}
		return strconv.FormatInt(int64(v), 10), true
	case string:
		if needsBase64(v) {
			return "=?base64?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?=", true
		}
		return v, true
	}
	return "", false
}

func needsBase64(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t' {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return true
		}
	}
	// A plain value that looks encoded is encoded, so it is read as itself.
	return strings.HasPrefix(s, "=?base64?") && strings.HasSuffix(s, "?=")
}

// withMeta returns params with the members of meta added to its _meta,
// those the params' own _meta (a call's progress token) does not have.
// No params (empty, or null) count as {}.
func withMeta(params []byte, meta []metaMember) ([]byte, error) {
	return appendWithMeta(make([]byte, 0, len(params)+metaSize(meta)), params, meta)
}

// metaSize is about what appendWithMeta adds to params for meta.
func metaSize(meta []metaMember) int {
	n := len(`,"_meta":{}`)
	for _, m := range meta {
		n += len(m.member) + 1
	}
	return n
}

// appendWithMeta appends withMeta(params, meta) to out.
func appendWithMeta(out, params []byte, meta []metaMember) ([]byte, error) {
	if p := trimJSONSpace(params); len(p) == 0 || string(p) == "null" {
		// No params: the revision's _meta is all there is.
		params = []byte("{}")
	}
	var own span
	hasOwn := false
	n := 0 // members
	err := eachMember(params, func(m span) bool {
		if isString(m.key, "_meta") {
			own, hasOwn = m, true
		}
		n++
		return true
	})
	end := bytes.LastIndexByte(params, '}')
	if err != nil || end < 0 {
		// The params are the proxy's own, and JSON; the scan takes an
		// object cut short ("{") for one.
		return nil, errors.New("proxy: request params are not a JSON object")
	}
	if !hasOwn {
		out = append(out, params[:end]...)
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, `"_meta":{`...)
		for i, m := range meta {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, m.member...)
		}
		out = append(out, '}')
		return append(out, params[end:]...), nil
	}
	vs := own.end - len(own.val)
	out = append(out, params[:vs]...)
	out = append(out, '{')
	n = 0
	if inner, err := members(own.val); err == nil {
		for _, m := range inner {
			if n > 0 {
				out = append(out, ',')
			}
			out = append(out, own.val[m.start:m.end]...)
			n++
		}
		for _, m := range meta {
			if slices.ContainsFunc(inner, func(x span) bool { return isString(x.key, m.key) }) {
				continue
			}
			if n > 0 {
				out = append(out, ',')
			}
			out = append(out, m.member...)
			n++
		}
	} else {
		// Not an object (null): the revision's fields take its place.
		for _, m := range meta {
			if n > 0 {
				out = append(out, ',')
			}
			out = append(out, m.member...)
			n++
		}
	}
	out = append(out, '}')
	return append(out, params[own.end:]...), nil
}
