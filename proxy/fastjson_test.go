package proxy

import (
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// The fast readers must read every message they accept as encoding/json
// reads it: each case (and, fuzzed, any input) is read both ways.

var messageCases = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"q":"x"}}}`,
	`{"jsonrpc":"2.0","id":"a","method":"tools/list"}`,
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","id":null,"method":"m"}`,
	`{"jsonrpc":"2.0","id":1.5,"method":"m"}`,
	`{"jsonrpc":"2.0","id":-0,"method":"m"}`,
	`{"jsonrpc":"2.0","id":1e2,"method":"m"}`,
	`{"jsonrpc":"2.0","id":1e400,"method":"m"}`,
	`{"jsonrpc":"2.0","id":true,"method":"m"}`,
	`{"jsonrpc":"2.0","id":7,"result":{"content":[]}}`,
	`{"jsonrpc":"2.0","id":7,"error":{"code":-1,"message":"no"}}`,
	`{"jsonrpc":"2.0","id":null,"result":{}}`,
	`{"jsonrpc":"2.0","id":7}`,
	`{"jsonrpc":"1.0","id":7,"method":"m"}`,
	`{"id":7,"method":"m"}`,
	`{"jsonrpc":"2.0","ID":7,"method":"m"}`,
	`{"jsonrpc":"2.0","id":7,"Method":"m"}`,
	`{"jsonrpc":"2.0","id":7,"method":"m","method":"n"}`,
	`{"jsonrpc":"2.0","id":7,"meth\u006fd":"m"}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools\/call"}`,
	`{"jsonrpc":"2.0","id":7,"method":null}`,
	`{"jsonrpc":"2.0","id":7,"method":"m","params":null}`,
	`{"jsonrpc":"2.0","id":7,"method":"m","reſult":{}}`,
	`{"jsonrpc":"2.0","id":"\u0041","method":"m"}`,
	`{"jsonrpc":"2.0","id":7,"method":"m","extra":[1,2,{"a":"}"}]}`,
	` { "jsonrpc" : "2.0" , "id" : 7 , "method" : "m" , "params" : { "a" : 1 } } `,
	`[{"jsonrpc":"2.0","id":7,"method":"m"}]`,
	`"2.0"`,
}

func sameMessage(t *testing.T, line string) {
	t.Helper()
	if !json.Valid([]byte(line)) {
		return // decodeMessage never asks fastMessage
	}
	fast, ok := fastMessage([]byte(line))
	if !ok {
		return
	}
	slow, err := decodeMessageJSON([]byte(line))
	if err != nil {
		t.Fatalf("%s: fastMessage accepts what encoding/json refuses (%v)", line, err)
	}
	if !reflect.DeepEqual(normal(fast), normal(slow)) {
		t.Fatalf("%s: fastMessage reads %#v, encoding/json %#v", line, fast, slow)
	}
}

// normal makes raw members comparable: encoding/json copies them, with
// the same bytes.
func normal(m jsonrpc.Message) jsonrpc.Message {
	switch m := m.(type) {
	case *jsonrpc.Request:
		c := *m
		if c.Params != nil {
			c.Params = append(json.RawMessage{}, c.Params...)
		}
		return &c
	case *jsonrpc.Response:
		c := *m
		if c.Result != nil {
			c.Result = append(json.RawMessage{}, c.Result...)
		}
		return &c
	}
	return m
}

func TestFastMessageReadsAsEncodingJSON(t *testing.T) {
	accepted := 0
	for _, line := range messageCases {
		sameMessage(t, line)
		if _, ok := fastMessage([]byte(line)); ok {
			accepted++
		}
	}
	// The common shapes take the fast path (else it saves nothing).
	for _, line := range messageCases[:3] {
		if _, ok := fastMessage([]byte(line)); !ok {
			t.Errorf("%s: not read by fastMessage", line)
		}
	}
	for _, line := range []string{messageCases[15], messageCases[16], messageCases[17], messageCases[18], messageCases[22]} {
		if _, ok := fastMessage([]byte(line)); ok {
			t.Errorf("%s: read by fastMessage, which leaves keys in other forms to encoding/json", line)
		}
	}
}

func FuzzFastMessage(f *testing.F) {
	for _, c := range messageCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, line string) { sameMessage(t, line) })
}

var callCases = []string{
	`{"name":"t","arguments":{"q":"x"}}`,
	`{"name":"t"}`,
	`{"name":"t","arguments":null}`,
	`{"name":"t","_meta":{"progressToken":5}}`,
	`{"name":"t","_meta":{"progressToken":"p","aws.bedrock-agentcore.gateway/credentialProviderConfiguration":{"a":1},"other":1}}`,
	`{"name":"t","_meta":null}`,
	`{"name":"t","_meta":"x"}`,
	`{"name":"t","_meta":{"ProgressToken":1}}`,
	`{"name":"t","inputResponses":{"a":{}},"requestState":"s"}`,
	`{"name":"t","requestState":null}`,
	`{"name":null}`,
	`{"name":5}`,
	`{"Name":"t"}`,
	`{"name":"t","name":"u"}`,
	`{"n\u0061me":"t"}`,
	`{"name":"t\u00e9"}`,
	`{"name":"t","arguments":{"q":"x"},"Arguments":{"X-Asana-Token":"model"}}`,
	`{"name":"t","argumentſ":{}}`,
	`[]`,
	`null`,
}

func TestFastCallParamsReadAsEncodingJSON(t *testing.T) {
	for _, c := range callCases {
		sameCallParams(t, c)
	}
	for _, c := range callCases[:5] {
		var p callParams
		if !fastCallParams([]byte(c), &p) {
			t.Errorf("%s: not read by fastCallParams", c)
		}
	}
	// The model's second arguments, under another case, must not slip past.
	var p callParams
	if fastCallParams([]byte(callCases[16]), &p) {
		t.Errorf("%s: read by fastCallParams, which leaves keys in other forms to encoding/json", callCases[16])
	}
}

func sameCallParams(t *testing.T, raw string) {
	t.Helper()
	if !json.Valid([]byte(raw)) {
		return
	}
	var fast, slow callParams
	if !fastCallParams([]byte(raw), &fast) {
		return
	}
	if err := json.Unmarshal([]byte(raw), &slow); err != nil {
		t.Fatalf("%s: fastCallParams accepts what encoding/json refuses (%v)", raw, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%s: fastCallParams reads %+v, encoding/json %+v", raw, fast, slow)
	}
}

func FuzzFastCallParams(f *testing.F) {
	for _, c := range callCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, raw string) { sameCallParams(t, raw) })
}

var argsCases = []string{
	``, `null`, `{}`, ` { } `,
	`{"q":"x"}`,
	`{"q":"x","X-Asana-Token":"model"}`,
	`{"x-asana-token":"model","X-ASANA-TOKEN":"m2","q":[1,{"a":"b"}]}`,
	`{"X-Asana\u002dToken":"escaped"}`,
	`{"q":1,"q":2}`,
	`{"X-Drop":"d","x-drop":"e","keep":true}`,
	`{"a<b":"c&d"}`,
	`[1]`, `"s"`, `{"q":tru}`,
}

// rewriteModel is what rewriteArgs does, on decoded values: the oracle.
func rewriteModel(args string, values map[string]tokenstore.Secret, drop []string) (map[string]any, bool) {
	m := map[string]any{}
	if s := strings.TrimSpace(args); s != "" && s != "null" {
		if json.Unmarshal([]byte(args), &m) != nil || m == nil {
			return nil, false
		}
	}
	for k := range m {
		for a := range values {
			if sameArgument(k, a) {
				delete(m, k)
			}
		}
		for _, a := range drop {
			if sameArgument(k, a) {
				delete(m, k)
			}
		}
	}
	for k, v := range values {
		m[k] = string(v)
	}
	return m, true
}

func sameRewrite(t *testing.T, args string) {
	t.Helper()
	values := map[string]tokenstore.Secret{"X-Asana-Token": "Bearer s3cret", "Other": "o\"v"}
	drop := []string{"X-Drop"}
	want, ok := rewriteModel(args, values, drop)
	out, err := rewriteArgs(json.RawMessage(args), values, drop)
	if !ok {
		if err == nil {
			t.Fatalf("%q: rewritten (%s), want an error", args, out)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%q: the rewritten arguments are not JSON: %s", args, out)
	}
	if !maps.EqualFunc(got, want, func(a, b any) bool { return reflect.DeepEqual(a, b) }) {
		t.Fatalf("%q: rewritten to %s, want %v", args, out, want)
	}
	// Decoders that take the first of a key given twice must read the
	// same: the output has none.
	ms, _ := members(out)
	seen := map[string]bool{}
	for _, m := range ms {
		k, _ := stringValue(m.key)
		if seen[k] {
			t.Fatalf("%q: rewritten to %s, with %q twice", args, out, k)
		}
		seen[k] = true
	}
}

func TestRewriteArgsAsDecoded(t *testing.T) {
	for _, c := range argsCases {
		sameRewrite(t, c)
	}
	values := map[string]tokenstore.Secret{"X-Asana-Token": "v"}
	for _, c := range argsCases[:8] {
		if _, ok := fastRewriteArgs(json.RawMessage(c), values, nil); !ok {
			t.Errorf("%q: not rewritten by fastRewriteArgs", c)
		}
	}
}

func FuzzRewriteArgs(f *testing.F) {
	for _, c := range argsCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, args string) { sameRewrite(t, args) })
}

func TestAppendUpstreamParamsAsMarshal(t *testing.T) {
	for _, up := range []upstreamParams{
		{Name: "t"},
		{Name: "t<é\u2028", Arguments: json.RawMessage(`{"q":"x"}`)},
		{Name: "t", Meta: &upstreamMeta{ProgressToken: json.RawMessage(`5`)}},
		{Name: "t", Meta: &upstreamMeta{Provider: json.RawMessage(`{"a":1}`)}},
		{Name: "t", Meta: &upstreamMeta{ProgressToken: json.RawMessage(`"p"`), Provider: json.RawMessage(`{}`)}},
		{Name: "t", Meta: &upstreamMeta{}},
		{Name: "t", InputResponses: json.RawMessage(`{"r":{}}`), RequestState: "st\"ate"},
	} {
		want, err := json.Marshal(up)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendUpstreamParams(nil, &up)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("appendUpstreamParams = %s, json.Marshal = %s", got, want)
		}
	}
}

func FuzzAppendStringAsMarshal(f *testing.F) {
	for _, s := range []string{"", "Bearer abc-123", `q"uote`, `back\slash`, "<b>&", "tab\t", "é", "\u2028", "\xff", "\x7f", "~ !"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, json.Marshal %s", s, got, want)
		}
	})
}
