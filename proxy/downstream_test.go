package proxy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
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

// resultFor puts the Gateway's result in the client's revision, whichever
// revision the Gateway spoke.
func TestResultForEachRevision(t *testing.T) {
	const info = `"io.modelcontextprotocol/serverInfo":{"name":"gw","version":"1"}`
	for _, tc := range []struct{ in, stateless, legacy string }{
		// A result of the initialize revisions gets a resultType for a
		// stateless client only.
		{`{}`, `{"resultType":"complete"}`, `{}`},
		{`{"content":[]}`, `{"resultType":"complete","content":[]}`, `{"content":[]}`},
		{` { "content" : [ ] } `, ` {"resultType":"complete", "content" : [ ] } `, ` { "content" : [ ] } `},
		{"{\n}", "{\"resultType\":\"complete\"\n}", "{\n}"},
		// A stateless Gateway's "complete" stays for a stateless client,
		// where it is, and goes for the others.
		{`{"content":[],"resultType":"complete"}`, `{"content":[],"resultType":"complete"}`, `{"content":[]}`},
		{`{"resultType":"complete","content":[1]}`, `{"resultType":"complete","content":[1]}`, `{"content":[1]}`},
		{`{"resultType":"comp\u006cete"}`, `{"resultType":"comp\u006cete"}`, `{}`},
		// Any other resultType passes through, whatever it is.
		{`{"resultType":"input_required","inputRequests":{}}`, `{"resultType":"input_required","inputRequests":{}}`, `{"resultType":"input_required","inputRequests":{}}`},
		// The Gateway's serverInfo goes; the rest of _meta stays.
		{`{"_meta":{` + info + `},"content":[],"resultType":"complete"}`, `{"content":[],"resultType":"complete"}`, `{"content":[]}`},
		{`{"_meta":{"debug":{"type":"text","text":"x"},` + info + `},"isError":true}`, `{"resultType":"complete","_meta":{"debug":{"type":"text","text":"x"}},"isError":true}`, `{"_meta":{"debug":{"type":"text","text":"x"}},"isError":true}`},
		{`{"_meta":{"progressToken":1}}`, `{"resultType":"complete","_meta":{"progressToken":1}}`, `{"_meta":{"progressToken":1}}`},
		// A resultType or serverInfo inside the content is not the result's.
		{`{"structuredContent":{"resultType":"complete",` + info + `}}`, `{"resultType":"complete","structuredContent":{"resultType":"complete",` + info + `}}`, `{"structuredContent":{"resultType":"complete",` + info + `}}`},
		{`[1]`, `[1]`, `[1]`},
		{``, ``, ``},
	} {
		if got := string(resultFor(json.RawMessage(tc.in), true)); got != tc.stateless {
			t.Errorf("resultFor(%q, stateless) = %q, want %q", tc.in, got, tc.stateless)
		}
		if got := string(resultFor(json.RawMessage(tc.in), false)); got != tc.legacy {
			t.Errorf("resultFor(%q, initialize revision) = %q, want %q", tc.in, got, tc.legacy)
		}
	}
}

func TestStatelessToolListCarriesCacheHints(t *testing.T) {
	got := string(statelessToolList(json.RawMessage(`{"tools":[]}`)))
	if want := `{"resultType":"complete","ttlMs":0,"cacheScope":"private","tools":[]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
