package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestWithMetaMergesTheRevisionsFields(t *testing.T) {
	meta := newStatelessUpstream(nil, "v1").meta
	for _, tt := range []struct {
		name, params string
		want         map[string]any // _meta after the merge, beside the revision's fields
	}{
		{"empty params", `{}`, map[string]any{}},
		{"no params", ``, map[string]any{}},
		{"params null", ` null `, map[string]any{}},
		{"no _meta", `{"name":"t","arguments":{"a":1}}`, map[string]any{}},
		{"a progress token", `{"name":"t","_meta":{"progressToken":"p-1"}}`, map[string]any{"progressToken": "p-1"}},
		{"an empty _meta", `{"name":"t","_meta":{}}`, map[string]any{}},
		{"_meta null", `{"name":"t","_meta":null}`, map[string]any{}},
		{"its own version kept", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2027-01-01"}}`,
			map[string]any{"io.modelcontextprotocol/protocolVersion": "2027-01-01"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := withMeta([]byte(tt.params), meta)
			if err != nil {
				t.Fatal(err)
			}
			var got, in map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("not JSON: %s", out)
			}
			_ = json.Unmarshal([]byte(tt.params), &in)
			m, _ := got["_meta"].(map[string]any)
			want := map[string]any{
				"io.modelcontextprotocol/protocolVersion": "2026-07-28",
				// Elicitation, relayed or named in an isError result (input.go).
				"io.modelcontextprotocol/clientCapabilities": map[string]any{"elicitation": map[string]any{"form": map[string]any{}, "url": map[string]any{}}},
				"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "agw-proxy", "version": "v1"},
			}
			for k, v := range tt.want {
				want[k] = v
			}
			if !reflect.DeepEqual(m, want) {
				t.Errorf("_meta = %v, want %v", m, want)
			}
			for k, v := range in {
				if k != "_meta" && !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %v, want %v as it was", k, got[k], v)
				}
			}
		})
	}
	if _, err := withMeta([]byte(`[]`), meta); err == nil {
		t.Error("params that are not an object were accepted")
	}
}

func TestHeaderValueEncodesAsTheRevisionSays(t *testing.T) {
	for _, tt := range []struct {
		arg, want string
		ok        bool
	}{
		{`"Bearer abc"`, "Bearer abc", true},
		{`"grüße"`, "=?base64?Z3LDvMOfZQ==?=", true},
		{`" padded"`, "=?base64?IHBhZGRlZA==?=", true},
		{`"line\nbreak"`, "=?base64?bGluZQpicmVhaw==?=", true},
		{`"=?base64?eA==?="`, "=?base64?PT9iYXNlNjQ/ZUE9PT89?=", true},
		{`42`, "42", true},
		{`-7`, "-7", true},
		{`true`, "true", true},
		{`1.5`, "", false},
		{`null`, "", false},
		{`{"a":1}`, "", false},
		{`9007199254740993`, "", false},
	} {
		got, ok := headerValue([]byte(tt.arg))
		if got != tt.want || ok != tt.ok {
			t.Errorf("headerValue(%s) = %q, %v; want %q, %v", tt.arg, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHeaderBindingsFollowTheSchema(t *testing.T) {
	schema := `{"type":"object","properties":{
		"X-Token":{"type":"string","x-mcp-header":"Token"},
		"region":{"type":"object","properties":{"code":{"type":"string","x-mcp-header":"Region"}}},
		"n":{"type":"integer","x-mcp-header":"Count"},
		"list":{"type":"array","x-mcp-header":"List"},
		"bad":{"type":"string","x-mcp-header":"Bad Name"},
		"again":{"type":"string","x-mcp-header":"token"},
		"plain":{"type":"string"}}}`
	got := map[string]string{}
	for _, b := range headerBindings([]byte(schema), nil, nil) {
		got[strings.Join(b.path, ".")] = b.header
	}
	want := map[string]string{"X-Token": "Mcp-Param-Token", "region.code": "Mcp-Param-Region", "n": "Mcp-Param-Count"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bindings %v, want %v", got, want)
	}

	s := &statelessSession{closed: true} // closed: no re-list timer to arm
	s.listed([][]byte{
		[]byte(`{"name":"t","inputSchema":` + schema + `}`),
		[]byte(`{"name":"t","inputSchema":{"properties":{"X-Token":{"type":"string","x-mcp-header":"Other"}}}}`),
		[]byte(`{"name":"u","inputSchema":{}}`),
	}, 0)
	name, headers := s.callHeaders([]byte(`{"name":"t","arguments":{"X-Token":"Bearer s3cret","region":{"code":"eu"},"n":3,"plain":"x"}}`))
	wantHeaders := map[string]string{"Mcp-Param-Token": "Bearer s3cret", "Mcp-Param-Region": "eu", "Mcp-Param-Count": "3"}
	if name != "t" || !reflect.DeepEqual(headers, wantHeaders) {
		t.Errorf("callHeaders = %q, %v; want t, %v (the first listing of a name counts)", name, headers, wantHeaders)
	}
	if name, headers := s.callHeaders([]byte(`{"name":"u","arguments":{"X-Token":"x"}}`)); name != "u" || len(headers) != 0 {
		t.Errorf("callHeaders of a tool without bindings = %q, %v; want u and none", name, headers)
	}
}

func TestDiscoverOverADeadNetworkFailsTheConnect(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/mcp"
	l.Close()
	u := newUpstream(Options{GatewayURL: url, HTTPClient: &http.Client{}, Protocol: ProtocolAuto}, nil)
	_, err = u.open(t.Context())
	var no *noStatelessError
	if err == nil || errors.As(err, &no) {
		t.Fatalf("open = %v, want a connect failure, not a fallback", err)
	}
	if !strings.Contains(err.Error(), "server/discover") {
		t.Errorf("the error %q does not say what failed", err)
	}
}

func TestListChangedOnARequestStreamResyncs(t *testing.T) {
	ev := &countEvents{}
	g := &gatewayHTTP{events: ev}
	body := strings.NewReader("data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n" +
		"data: {\"jsonrpc\":\"2.0\",\"id\":\"agw-1\",\"result\":{}}\n\n")
	if _, err := g.readEvents(context.Background(), body, wireHeaders{}, "agw-1"); err != nil {
		t.Fatal(err)
	}
	if ev.changed != 1 {
		t.Errorf("%d toolsChanged, want 1", ev.changed)
	}
}

type countEvents struct{ changed int }

func (e *countEvents) notify(context.Context, string, json.RawMessage) {}
func (e *countEvents) toolsChanged()                                   { e.changed++ }
func (e *countEvents) stale()                                          {}

// FuzzWithMeta: whatever object the params are, the merged params are
// JSON, with the params' other members as they were, the params' own _meta
// members (those the revision does not set) kept, and every member of the
// revision's _meta; appended after a request's head, the same bytes. The
// params are always the proxy's own JSON; other bytes must not panic.
func FuzzWithMeta(f *testing.F) {
	for _, s := range []string{`{}`, `{"name":"t","arguments":{"a":1}}`, `{"name":"t","_meta":{"progressToken":"p-1"}}`,
		`{"_meta":null}`, `{"_meta":"x","_meta":{"a":[]}}`, ` { "a" : 1 , "_meta" : { "b" : 2 } } `,
		`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2027-01-01"}}`, `[]`, `{"a":}`} {
		f.Add(s)
	}
	meta := newStatelessUpstream(nil, "v1").meta
	f.Fuzz(func(t *testing.T, params string) {
		out, err := withMeta([]byte(params), meta)
		head := `{"jsonrpc":"2.0","id":"agw-1","method":"tools/call","params":`
		app, aerr := appendWithMeta([]byte(head), []byte(params), meta)
		if (err == nil) != (aerr == nil) || err == nil && string(app) != head+string(out) {
			t.Fatalf("appendWithMeta = %q, %v; withMeta = %q, %v", app, aerr, out, err)
		}
		var in map[string]json.RawMessage
		if json.Unmarshal([]byte(params), &in) != nil {
			return
		}
		if err != nil {
			t.Fatalf("object %q refused: %v", params, err)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("merged params are not a JSON object: %q", out)
		}
		for k, v := range in {
			if k != "_meta" && !jsonEqual(got[k], v) {
				t.Errorf("%s = %s, want %s as it was", k, got[k], v)
			}
		}
		var gotMeta, ownMeta map[string]json.RawMessage
		if err := json.Unmarshal(got["_meta"], &gotMeta); err != nil {
			t.Fatalf("_meta is not an object: %s", got["_meta"])
		}
		_ = json.Unmarshal(in["_meta"], &ownMeta)
		for _, m := range meta {
			if _, ok := gotMeta[m.key]; !ok {
				t.Errorf("_meta lacks %s: %s", m.key, got["_meta"])
			}
		}
		for k, v := range ownMeta {
			if !slices.ContainsFunc(meta, func(m metaMember) bool { return m.key == k }) && !jsonEqual(gotMeta[k], v) {
				t.Errorf("_meta.%s = %s, want %s as it was", k, gotMeta[k], v)
			}
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
