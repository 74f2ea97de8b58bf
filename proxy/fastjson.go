package proxy

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Every message of a call is read and written on the hot path: decoding a
// line into a struct with encoding/json, and the call's params into
// another, then encoding the params for the Gateway again, was about 40% of
// the proxy's own CPU per call. The functions here read and write the plain
// shape of those messages as bytes (rawjson.go), and give up (ok false) on
// anything encoding/json would read in a way they do not copy: a key with
// an escape or in another letter case (encoding/json matches keys without
// regard to case), a key given twice, a value of an unexpected type. The
// caller then takes the encoding/json path, so a message is always read as
// encoding/json reads it (fastjson_test.go checks them against it).

// keyIs reports whether the key token k is field exactly (ok), and whether
// encoding/json could read it as field without it being exactly that
// (other: another letter case, an escape, bytes that are not UTF-8).
func keyIs(k []byte, field string) (exact, other bool) {
	if len(k) < 2 {
		return false, false
	}
	raw := k[1 : len(k)-1]
	if string(raw) == field {
		return true, false
	}
	if bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw) {
		return false, true // decoded, it could be anything
	}
	return false, strings.EqualFold(string(raw), field)
}

// plainString returns the value of the string token q when it has no
// escape and is UTF-8.
func plainString(q []byte) (string, bool) {
	if len(q) < 2 || q[0] != '"' {
		return "", false
	}
	raw := q[1 : len(q)-1]
	if bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw) {
		return "", false
	}
	return string(raw), true
}

// fields reads the members of obj whose keys are among names, exactly,
// into vals (by the index of the name). It reports false when obj is not
// an object, or has a key among names twice or in another form.
func fields(obj []byte, names []string, vals [][]byte) bool {
	ok := true
	err := eachMember(obj, func(m span) bool {
		for i, name := range names {
			exact, other := keyIs(m.key, name)
			if other || exact && vals[i] != nil {
				ok = false
				return false
			}
			if exact {
				vals[i] = m.val
				break
			}
		}
		return true
	})
	return err == nil && ok
}

var messageFields = []string{"jsonrpc", "id", "method", "params", "result", "error"}

// fastMessage is decodeMessage for a line that is valid JSON, in the plain
// shape: ok false sends it the encoding/json way.
func fastMessage(line []byte) (msg jsonrpc.Message, ok bool) {
	var v [6][]byte
	if !fields(line, messageFields, v[:]) || v[5] != nil {
		return nil, false // errors are the client's answers, rare: decoded in full
	}
	if version, ok := plainString(v[0]); !ok || version != "2.0" {
		return nil, false
	}
	var raw any
	switch id := v[1]; {
	case id == nil || isNull(id):
	case id[0] == '"':
		s, ok := plainString(id)
		if !ok {
			return nil, false
		}
		raw = s
	default:
		f, err := strconv.ParseFloat(string(id), 64)
		if err != nil {
			return nil, false
		}
		raw = f
	}
	id, err := jsonrpc.MakeID(raw)
	if err != nil {
		return nil, false
	}
	params, result := json.RawMessage(v[3]), json.RawMessage(v[4])
	switch {
	case v[2] != nil:
		method, ok := plainString(v[2])
		if !ok {
			return nil, false
		}
		return &jsonrpc.Request{ID: id, Method: method, Params: params}, true
	case result != nil && id.IsValid():
		return &jsonrpc.Response{ID: id, Result: result}, true
	}
	return nil, false
}

var (
	callFields = []string{"name", "arguments", "_meta", "inputResponses", "requestState"}
	metaFields = []string{"progressToken", "aws.bedrock-agentcore.gateway/credentialProviderConfiguration"}
)

// fastCallParams is json.Unmarshal of a tools/call's params (valid JSON)
// into callParams, for the plain shape.
func fastCallParams(raw []byte, p *callParams) bool {
	var v [5][]byte
	if !fields(raw, callFields, v[:]) {
		return false
	}
	var name, state string
	if v[0] != nil {
		var ok bool
		if name, ok = plainString(v[0]); !ok {
			return false
		}
	}
	if v[4] != nil {
		var ok bool
		if state, ok = plainString(v[4]); !ok {
			return false
		}
	}
	var meta [2][]byte
	if v[2] != nil && !fields(v[2], metaFields, meta[:]) {
		return false // not an object (null, say), or not plain
	}
	*p = callParams{Name: name, Arguments: v[1], InputResponses: v[3], RequestState: state}
	p.Meta.ProgressToken, p.Meta.Provider = meta[0], meta[1]
	return true
}

// trimJSONSpace is b without JSON's whitespace (space, tab, line feed,
// carriage return) at either end. bytes.TrimSpace would take more (a
// vertical tab, U+0085, U+00A0), which encoding/json refuses.
func trimJSONSpace(b []byte) []byte {
	b = b[skipSpace(b, 0):]
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// fastRewriteArgs is rewriteArgs for arguments in which no key is given
// twice: the model's members are kept as they came, but those named by a
// key of values or by drop (in any letter case), and the values follow, by
// key. It reports false for arguments it leaves to rewriteArgs, invalid
// JSON among them (the caller's bytes are checked here, not trusted).
func fastRewriteArgs(args json.RawMessage, values map[string]tokenstore.Secret, drop []string) (json.RawMessage, bool) {
	var ms []span
	if trimmed := trimJSONSpace(args); len(trimmed) > 0 && !isNull(trimmed) {
		var err error
		if !validJSON(trimmed) {
			return nil, false
		}
		if ms, err = members(trimmed); err != nil {
			return nil, false
		}
	}
	keys := make([]string, len(ms))
	var seen map[string]bool // for many keys; a few are compared in place
	if len(ms) > 16 {
		seen = make(map[string]bool, len(ms))
	}
	for i, m := range ms {
		k, ok := stringValue(m.key)
		if !ok || seen[k] || seen == nil && slices.Contains(keys[:i], k) {
			return nil, false
		}
		if seen != nil {
			seen[k] = true
		}
		keys[i] = k
	}
	out := make([]byte, 0, len(args)+64*len(values))
	out = append(out, '{')
	n := 0
	for i, m := range ms {
		if slices.ContainsFunc(drop, func(a string) bool { return sameArgument(keys[i], a) }) {
			continue
		}
		injected := false
		for a := range values {
			if sameArgument(keys[i], a) {
				injected = true
				break
			}
		}
		if injected {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, m.key...)
		out = append(out, ':')
		out = append(out, m.val...)
		n++
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if n > 0 {
			out = append(out, ',')
		}
		out = appendString(out, k)
		out = append(out, ':')
		out = appendString(out, string(values[k]))
		n++
	}
	return append(out, '}'), true
}

// appendUpstreamParams appends json.Marshal(up) to out, but with the raw
// members as they are (not compacted): each is valid JSON already.
func appendUpstreamParams(out []byte, up *upstreamParams) ([]byte, error) {
	out = appendString(append(out, `{"name":`...), up.Name)
	if len(up.Arguments) > 0 {
		out = append(append(out, `,"arguments":`...), up.Arguments...)
	}
	if m := up.Meta; m != nil {
		out = append(out, `,"_meta":{`...)
		if len(m.ProgressToken) > 0 {
			out = append(append(out, `"progressToken":`...), m.ProgressToken...)
		}
		if len(m.Provider) > 0 {
			if len(m.ProgressToken) > 0 {
				out = append(out, ',')
			}
			out = append(append(out, `"aws.bedrock-agentcore.gateway/credentialProviderConfiguration":`...), m.Provider...)
		}
		out = append(out, '}')
	}
	if len(up.InputResponses) > 0 {
		out = append(append(out, `,"inputResponses":`...), up.InputResponses...)
	}
	if up.RequestState != "" {
		out = appendString(append(out, `,"requestState":`...), up.RequestState)
	}
	return append(out, '}'), nil
}

// appendString appends s encoded as json.Marshal encodes it: as it is
// between quotes when every byte is printable ASCII that needs no escape
// (json.Marshal escapes the quote, the backslash, and <, > and & for HTML),
// else by json.Marshal.
func appendString(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(out, b...)
		}
	}
	return append(append(append(out, '"'), s...), '"')
}
