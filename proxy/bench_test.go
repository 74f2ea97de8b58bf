package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Benchmarks of the proxy's hot pure functions. The end-to-end numbers
// (start-up, per-call overhead, throughput, 1,000-tool lists) come from
// `go run ./internal/bench`.

const (
	benchTool   = "AgentCoreGwyAPIGatewayTarget___op0001_resource000"
	benchSecret = tokenstore.Secret("1/1200000000000000:benchbenchbenchbenchbenchbench00")
)

var benchRules = []Rule{{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"AgentCoreGwyAPIGatewayTarget___*"}}}

// benchToolDef is a Gateway tool definition as sync sees it: a REST
// operation flattened into one input schema, about 2 KB of JSON, declaring
// the secret header.
func benchToolDef(b *testing.B) []byte {
	const s = `{"type":"object","required":["X-Asana-Token","gid","name"],"properties":{
	"X-Asana-Token":{"type":"string","description":"Asana personal access token of the end user, sent as \"Bearer <token>\""},
	"gid":{"type":"string","pattern":"^[0-9]+$","description":"Globally unique identifier for the task."},
	"opt_fields":{"type":"array","items":{"type":"string","enum":["name","notes","due_on","assignee","followers","projects","tags","custom_fields","created_at","modified_at"]},"description":"This endpoint returns a resource which excludes some properties by default. To include those optional properties, set this query parameter to a comma-separated list of the properties you wish to include."},
	"opt_pretty":{"type":"boolean","description":"Provides \"pretty\" output. In the case of JSON this means doing proper line breaking and indentation to make it readable."},
	"name":{"type":"string","description":"Name of the task. This is generally a short sentence fragment that fits on a line in the UI for maximum readability."},
	"notes":{"type":"string","description":"Free-form textual information associated with the task (i.e. its description)."},
	"due_on":{"type":"string","format":"date","description":"The localized date on which this task is due, or null if it has no due date."},
	"assignee":{"type":"string","description":"Gid of a user."},
	"followers":{"type":"array","items":{"type":"string"},"description":"An array of strings identifying users."},
	"resource_subtype":{"type":"string","enum":["default_task","milestone","section","approval"],"description":"The subtype of this resource."},
	"custom_fields":{"type":"object","additionalProperties":{"type":"string"},"description":"An object where each key is the GID of a custom field and its corresponding value is either an enum GID, string, number, or object."},
	"memberships":{"type":"array","items":{"type":"object","properties":{"project":{"type":"string"},"section":{"type":"string"}}}}}}`
	def := `{"name":"` + benchTool + `","description":"Update a task","inputSchema":` + s + `}`
	if !json.Valid([]byte(def)) {
		b.Fatal("benchToolDef is not JSON")
	}
	return []byte(def)
}

// benchResult1MB is a tools/call response as the proxy writes it to the
// client: a JSON-RPC envelope around a text content holding about 1 MB of
// the target's JSON (escaped once more as a JSON string), no secret in it.
func benchResult1MB(b *testing.B) []byte {
	var doc strings.Builder
	doc.WriteString(`{"data":[`)
	for i := 0; doc.Len() < 1<<20; i++ {
		if i > 0 {
			doc.WriteByte(',')
		}
		fmt.Fprintf(&doc, `{"gid":"12098765%08d","name":"Task %d: review the quarterly plan","notes":"Line one.\nLine two with \"quotes\" and a path /a/b.","completed":false,"assignee":{"gid":"1200000000000001","name":"Ada"},"due_on":"2026-12-%02d"}`, i, i, i%28+1)
	}
	doc.WriteString(`]}`)
	res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: doc.String()}}}
	raw, err := json.Marshal(res)
	if err != nil {
		b.Fatal(err)
	}
	id, _ := jsonrpc.MakeID(float64(42))
	msg, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Result: raw})
	if err != nil {
		b.Fatal(err)
	}
	return msg
}

// benchScrubber knows what a running proxy knows: the injected secret, the
// Gateway's client secret and an access token.
func benchScrubber() *Scrubber {
	sc := NewScrubber()
	sc.Add(benchSecret)
	sc.Add("k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8o9p0l1k2j3h4g5f6d7s")
	sc.Add(benchAccessToken)
	return sc
}

// benchAccessToken is shaped like a Cognito access token: an RS256 JWT of
// about 900 characters (base64url and dots).
var benchAccessToken = tokenstore.Secret("eyJraWQiOiJhZ3dzaW0iLCJhbGciOiJSUzI1NiJ9." +
	strings.Repeat("eyJzdWIiOiJiZW5jaCIsInRva2VuX3VzZSI6ImFjY2VzcyJ9", 8) + "." + strings.Repeat("c2lnbmF0dXJl", 43))

// BenchmarkStripSchema: deciding which rules apply to one tool and
// stripping its schema, as sync does per tool.
func BenchmarkStripSchema(b *testing.B) {
	def := benchToolDef(b)
	for b.Loop() {
		if _, rules, _ := stripToolDef(benchRules, def); len(rules) != 1 {
			b.Fatal("no rule applied")
		}
	}
}

// BenchmarkInjectArgs: filling the secret into a call's arguments.
func BenchmarkInjectArgs(b *testing.B) {
	args := json.RawMessage(`{"gid":"1209876543210","opt_fields":["name","notes","due_on"],"name":"Review the plan","notes":"Bring the numbers."}`)
	values := map[string]tokenstore.Secret{"X-Asana-Token": benchRules[0].value(benchSecret)}
	b.SetBytes(int64(len(args)))
	for b.Loop() {
		if _, err := injectArgs(args, values); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrub1MB: scrubbing a 1 MB response that holds no secret (the
// common case).
func BenchmarkScrub1MB(b *testing.B) {
	msg := benchResult1MB(b)
	sc := benchScrubber()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		_ = sc.ScrubJSON(msg)
	}
}

// BenchmarkScrub1MBWithSecrets: the target echoed the secret a few times.
func BenchmarkScrub1MBWithSecrets(b *testing.B) {
	msg := benchResult1MB(b)
	for _, at := range []int{len(msg) / 4, len(msg) / 2, 3 * len(msg) / 4} {
		msg = append(msg[:at:at], append([]byte("Bearer "+benchSecret), msg[at:]...)...)
	}
	sc := benchScrubber()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		out := sc.ScrubJSON(msg)
		if bytes.Contains(out, []byte(benchSecret)) {
			b.Fatal("secret survived scrubbing")
		}
	}
}

// BenchmarkCallPath1MB is the combined target: stripping a tool's
// schema, injecting the secret into a call and scrubbing the call's 1 MB
// result (< 5 ms).
func BenchmarkCallPath1MB(b *testing.B) {
	def := benchToolDef(b)
	args := json.RawMessage(`{"gid":"1209876543210","opt_fields":["name","notes","due_on"]}`)
	msg := benchResult1MB(b)
	sc := benchScrubber()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		_, rules, _ := stripToolDef(benchRules, def)
		values := map[string]tokenstore.Secret{rules[0].Argument: rules[0].value(benchSecret)}
		if _, err := injectArgs(args, values); err != nil {
			b.Fatal(err)
		}
		_ = sc.ScrubJSON(msg)
	}
}

// BenchmarkStrip1000Tools: the stripping part of a 1,000-tool sync.
func BenchmarkStrip1000Tools(b *testing.B) {
	defs := make([][]byte, 1000)
	for i := range defs {
		defs[i] = benchToolDef(b)
	}
	for b.Loop() {
		for _, d := range defs {
			_, _, _ = stripToolDef(benchRules, d)
		}
	}
}

// BenchmarkListed1000Tools: what a stateless session reads of a 1,000-tool
// list (the x-mcp-header bindings) after the proxy has split it.
func BenchmarkListed1000Tools(b *testing.B) {
	defs := make([][]byte, 1000)
	for i := range defs {
		defs[i] = benchToolDef(b)
	}
	s := &statelessSession{closed: true}
	for b.Loop() {
		s.listed(defs, 0)
	}
}

// BenchmarkStatelessAnswer1MB: a 1 MB result of a 2025 Gateway answered to
// a 2026-07-28 client, which needs a resultType: the check for one of its
// own and the message put together with it (BenchmarkCallPath1MB's result
// is answered as it came, by encodeMessage).
func BenchmarkStatelessAnswer1MB(b *testing.B) {
	var r struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(benchResult1MB(b), &r); err != nil {
		b.Fatal(err)
	}
	id, _ := jsonrpc.MakeID(float64(42))
	b.SetBytes(int64(len(r.Result)))
	for b.Loop() {
		first := ""
		if !hasResultType(r.Result) {
			first = `"resultType":"complete"`
		}
		if _, ok := encodeResult(id, first, r.Result); !ok {
			b.Fatal("not encoded")
		}
	}
}
