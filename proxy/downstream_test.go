package proxy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// statelessMeta is the _meta of a 2026-07-28 request.
const statelessMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`

func statelessLine(id int, method, params string) string {
	if params != "" {
		params += ","
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":{%s%s}}`, id, method, params, statelessMeta)
}

func result(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	res, ok := m["result"].(map[string]any)
	if !ok {
		t.Fatalf("answered with %v, want a result", m)
	}
	return res
}

func TestDiscoverIsAnsweredWithoutTheGateway(t *testing.T) {
	s := startRaw(t) // its Gateway is unreachable
	s.send(t, statelessLine(1, "server/discover", ""))
	res := result(t, s.recv(t))
	if res["resultType"] != "complete" {
		t.Errorf("resultType = %v, want complete", res["resultType"])
	}
	var versions []string
	for _, v := range res["supportedVersions"].([]any) {
		versions = append(versions, v.(string))
	}
	want := []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}
	if !slices.Equal(versions, want) {
		t.Errorf("supportedVersions = %v, want %v", versions, want)
	}
	caps, _ := res["capabilities"].(map[string]any)
	if tools, _ := caps["tools"].(map[string]any); tools["listChanged"] != true {
		t.Errorf("capabilities = %v, want tools with listChanged", caps)
	}
	if _, ok := caps["logging"]; ok {
		t.Errorf("capabilities = %v: logging offered to a client that cannot set a level", caps)
	}
	info, _ := res["serverInfo"].(map[string]any)
	meta, _ := res["_meta"].(map[string]any)
	metaInfo, _ := meta["io.modelcontextprotocol/serverInfo"].(map[string]any)
	if info["name"] != "agw-proxy" || metaInfo["name"] != "agw-proxy" {
		t.Errorf("serverInfo = %v, _meta = %v: want agw-proxy in both", info, meta)
	}
}

func TestStatelessMetaIsCheckedOnEveryRequest(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		code       float64
		message    string
	}{
		{"no client capabilities", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			-32602, `missing or invalid _meta field "io.modelcontextprotocol/clientCapabilities"`},
		{"client capabilities not an object", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":"all"}}}`,
			-32602, `missing or invalid _meta field "io.modelcontextprotocol/clientCapabilities"`},
		{"client capabilities null", `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":null}}}`,
			-32602, `missing or invalid _meta field "io.modelcontextprotocol/clientCapabilities"`},
		{"bad client info", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":7}}}`,
			-32602, `invalid _meta field "io.modelcontextprotocol/clientInfo"`},
		{"initialize", statelessLine(1, "initialize", `"protocolVersion":"2025-11-25"`), -32601, `"initialize" is not supported in protocol version 2026-07-28`},
		{"ping", statelessLine(1, "ping", ""), -32601, `"ping" is not supported`},
		{"logging/setLevel", statelessLine(1, "logging/setLevel", `"level":"debug"`), -32601, `"logging/setLevel" is not supported`},
		{"a method the proxy does not serve", statelessLine(1, "prompts/list", ""), -32601, `method "prompts/list" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startRaw(t)
			s.send(t, tc.line)
			m := s.recv(t)
			e, _ := m["error"].(map[string]any)
			if errorCode(m) != tc.code || !strings.Contains(fmt.Sprint(e["message"]), tc.message) {
				t.Errorf("answer %v, want code %v with %q", m, tc.code, tc.message)
			}
		})
	}
}

func TestUnsupportedStatelessVersionListsTheSupportedOnes(t *testing.T) {
	s := startRaw(t)
	s.send(t, strings.Replace(statelessLine(1, "tools/list", ""), `"2026-07-28"`, `"2027-03-01"`, 1))
	m := s.recv(t)
	if errorCode(m) != -32022 {
		t.Fatalf("answer %v, want -32022", m)
	}
	data, _ := m["error"].(map[string]any)["data"].(map[string]any)
	b, _ := json.Marshal(data)
	want := `{"requested":"2027-03-01","supported":["2026-07-28","2025-11-25","2025-06-18","2025-03-26","2024-11-05"]}`
	if string(b) != want {
		t.Errorf("data = %s, want %s", b, want)
	}
}

// A request whose _meta names an initialize-era version belongs to a session:
// before initialize the SDK refuses it as it always did.
func TestOlderVersionInMetaIsNotStateless(t *testing.T) {
	s := startRaw(t)
	s.send(t, strings.Replace(statelessLine(1, "tools/list", ""), `"2026-07-28"`, `"2025-11-25"`, 1))
	m := s.recv(t)
	e, _ := m["error"].(map[string]any)
	if m["result"] != nil || !strings.Contains(fmt.Sprint(e["message"]), "invalid during session initialization") {
		t.Errorf("answer %v, want the SDK's error before initialize", m)
	}
}

// One process serves a 2026-07-28 client and a 2025 one in turn, in either
// order, each in its own revision.
func TestBothRevisionsInOneProcess(t *testing.T) {
	initialize := func(s *rawSession, id int, version string) map[string]any {
		s.send(t, strings.NewReplacer(`"id":1`, fmt.Sprintf(`"id":%d`, id), "2025-06-18", version).Replace(initLine))
		return result(t, s.recv(t))
	}
	discover := func(s *rawSession, id int) {
		s.send(t, statelessLine(id, "server/discover", ""))
		if res := result(t, s.recv(t)); res["resultType"] != "complete" {
			t.Errorf("discover answered %v", res)
		}
	}
	t.Run("stateless first", func(t *testing.T) {
		s := startRaw(t)
		discover(s, 1)
		if res := initialize(s, 2, "2025-06-18"); res["protocolVersion"] != "2025-06-18" || res["resultType"] != nil {
			t.Errorf("initialize after a stateless request answered %v, want 2025-06-18 and no resultType", res)
		}
		discover(s, 3)
		if res := initialize(s, 4, "2025-06-18"); res["protocolVersion"] != "2025-06-18" {
			t.Errorf("repeated initialize answered %v, want 2025-06-18", res)
		}
	})
	t.Run("initialize first", func(t *testing.T) {
		s := startRaw(t)
		if res := initialize(s, 1, "2025-03-26"); res["protocolVersion"] != "2025-03-26" {
			t.Errorf("initialize answered %v", res)
		}
		discover(s, 2)
		// The session is still the 2025 client's.
		if res := initialize(s, 3, "2025-03-26"); res["protocolVersion"] != "2025-03-26" {
			t.Errorf("repeated initialize after a stateless request answered %v, want 2025-03-26", res)
		}
		s.send(t, `{"jsonrpc":"2.0","id":4,"method":"ping"}`)
		if m := s.recv(t); m["result"] == nil {
			t.Errorf("2025 ping answered %v", m)
		}
	})
	t.Run("initialize asking for 2026-07-28", func(t *testing.T) {
		s := startRaw(t)
		for id := 1; id <= 2; id++ { // first and repeated
			if res := initialize(s, id, "2026-07-28"); res["protocolVersion"] != "2025-11-25" {
				t.Errorf("initialize %d asking for 2026-07-28 answered %v, want 2025-11-25 (the revision has no initialize)", id, res["protocolVersion"])
			}
		}
	})
}

// A stateless client's answer is put together with its first members
// spliced into the result, the result's bytes as they came.
func TestEncodeResultSplicesFirstMembers(t *testing.T) {
	id, _ := jsonrpc.MakeID(float64(7))
	const head = `{"jsonrpc":"2.0","id":7,"result":`
	for _, tc := range []struct{ first, in, want string }{
		{"", `{"content":[]}`, `{"content":[]}`},
		{`"resultType":"complete"`, `{}`, `{"resultType":"complete"}`},
		{`"resultType":"complete"`, `{"content":[]}`, `{"resultType":"complete","content":[]}`},
		{`"resultType":"complete"`, ` { "content" : [ ] } `, ` {"resultType":"complete", "content" : [ ] } `},
		{`"resultType":"complete"`, "{\n}", "{\"resultType\":\"complete\"\n}"},
		{`"resultType":"complete",` + toolsListCacheHints, `{"tools":[]}`, `{"resultType":"complete","ttlMs":0,"cacheScope":"private","tools":[]}`},
		// Not an object: nothing to splice into.
		{`"resultType":"complete"`, `[1]`, `[1]`},
	} {
		got, ok := encodeResult(id, tc.first, json.RawMessage(tc.in))
		if want := head + tc.want + "}"; !ok || string(got) != want {
			t.Errorf("encodeResult(%q, %q) = %q, want %q", tc.first, tc.in, got, want)
		}
	}
}

// A result of the initialize revisions' shape gets a resultType unless it
// has one of its own; one inside its content is not its own.
func TestHasResultType(t *testing.T) {
	for in, want := range map[string]bool{
		`{}`:                                       false,
		`{"content":[]}`:                           false,
		`{"content":[],"resultType":"complete"}`:   true,
		`{"resultType":"input_required"}`:          true,
		`{"structuredContent":{"resultType":"x"}}`: false,
		`{"content":[{"type":"text","text":"{\"resultType\":1}"}]}`: false,
		`{"content":[{"type":"text","text":"nodeType\""}]}`:         false,
		`[1]`: false,
		``:    false,
	} {
		if got := hasResultType(json.RawMessage(in)); got != want {
			t.Errorf("hasResultType(%q) = %v, want %v", in, got, want)
		}
	}
}
