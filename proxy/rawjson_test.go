package proxy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

func TestStripRaw(t *testing.T) {
	tests := []struct{ schema, arg, want string }{
		{`{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"tool_name":{"type":"string"}},"required":["X-Asana-Token","tool_name"]}`, "X-Asana-Token",
			`{"type":"object","properties":{"tool_name":{"type":"string"}},"required":["tool_name"]}`},
		{`{ "properties" : { "a" : 1 , "tok" : {"x":"}"} } , "required" : [ "tok" ] }`, "tok", `{ "properties" : {"a" : 1} , "required" : [] }`},
		{`{"properties":{"t\u006fk":{}},"required":["t\u006fk",1]}`, "tok", `{"properties":{},"required":[1]}`},
		{`{"properties":{"a":{"properties":{"tok":{}}}}}`, "tok", `{"properties":{"a":{"properties":{"tok":{}}}}}`},
		{`{"properties":[],"required":{"tok":1}}`, "tok", `{"properties":[],"required":{"tok":1}}`},
		{`{"properties":{"X-ASANA-TOKEN":{},"x-asana-token":{},"X-Asana-Tokens":{}},"required":["X-Asana-Token","x-Asana-TOKEN","X_Asana_Token"]}`, "X-Asana-Token",
			`{"properties":{"X-Asana-Tokens":{}},"required":["X_Asana_Token"]}`},
	}
	for _, tt := range tests {
		got, err := stripRaw([]byte(tt.schema), []string{tt.arg})
		if err != nil {
			t.Fatalf("%s: %v", tt.schema, err)
		}
		if string(got) != tt.want {
			t.Errorf("stripRaw(%s) = %s, want %s", tt.schema, got, tt.want)
		}
		if declaresRaw(got, tt.arg) {
			t.Errorf("%s still declared in %s", tt.arg, got)
		}
	}
}

func TestDeclaredArguments(t *testing.T) {
	for _, tt := range []struct {
		schema string
		want   []string
	}{
		{`{"properties":{"b":{},"a":{}},"required":["c","a",1]}`, []string{"a", "b", "c"}},
		{`{"properties":{"t\u006fk":{}},"required":"tok"}`, []string{"tok"}},
		{`{"properties":{"old":{}},"properties":{"new":{}}}`, []string{"new"}}, // the last one counts, as when decoding
		{`{"type":"object"}`, nil},
		{`null`, nil},
	} {
		if got := declaredArguments([]byte(tt.schema)); !slices.Equal(got, tt.want) {
			t.Errorf("declaredArguments(%s) = %q, want %q", tt.schema, got, tt.want)
		}
	}
}

// declares and stripArgs are a model of the byte-level schema engine on
// decoded maps, simple enough to trust, which FuzzStripRaw checks the engine
// against. The proxy itself reads schemas as bytes only.

// declares reports whether a decoded tool input schema has arg, with that
// exact name, in its properties or its required list.
func declares(schema map[string]any, arg string) bool {
	if props, ok := schema["properties"].(map[string]any); ok {
		if _, ok := props[arg]; ok {
			return true
		}
	}
	if req, ok := schema["required"].([]any); ok {
		for _, v := range req {
			if v == arg {
				return true
			}
		}
	}
	return false
}

// stripArgs returns a copy of schema without the given arguments, in any
// letter case, in properties and required. The input is not modified.
func stripArgs(schema map[string]any, args []string) map[string]any {
	drop := func(k string) bool {
		for _, a := range args {
			if strings.EqualFold(k, a) {
				return true
			}
		}
		return false
	}
	out := make(map[string]any, len(schema))
	for k, v := range schema {
		out[k] = v
	}
	if props, ok := schema["properties"].(map[string]any); ok {
		np := make(map[string]any, len(props))
		for k, v := range props {
			if !drop(k) {
				np[k] = v
			}
		}
		out["properties"] = np
	}
	if req, ok := schema["required"].([]any); ok {
		nr := make([]any, 0, len(req))
		for _, v := range req {
			if s, ok := v.(string); ok && drop(s) {
				continue
			}
			nr = append(nr, v)
		}
		out["required"] = nr
	}
	return out
}

// FuzzStripRaw checks the byte-level stripping against the map-based model.
func FuzzStripRaw(f *testing.F) {
	f.Add(`{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"a":{}},"required":["X-Asana-Token","a"]}`, "X-Asana-Token")
	f.Add(`{"properties":{"a":1,"a":2},"required":["a","a"],"properties":{"b":{}}}`, "a")
	f.Add(`{"properties":{"x\"y":{}},"required":["x\"y"]}`, `x"y`)
	f.Add(`{"properties":{"x-asana-token":{},"X-ASANA-TOKEN":{},"X-Asana-Tok\u0065n":{}},"required":["x-Asana-token"]}`, "X-Asana-Token")
	f.Fuzz(func(t *testing.T, doc, arg string) {
		var schema map[string]any
		if json.Unmarshal([]byte(doc), &schema) != nil || schema == nil {
			return
		}
		if got, want := declaresRaw([]byte(doc), arg), declares(schema, arg); got != want {
			t.Fatalf("declaresRaw = %v, declares = %v for %q in %s", got, want, arg, doc)
		}
		raw, err := stripRaw([]byte(doc), []string{arg})
		if err != nil {
			t.Fatalf("stripRaw(%s): %v", doc, err)
		}
		var got any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("stripRaw(%s) = %s: not JSON: %v", doc, raw, err)
		}
		want, _ := json.Marshal(stripArgs(schema, []string{arg}))
		var w any
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("stripRaw(%s) = %s, stripArgs = %s", doc, raw, want)
		}
	})
}

// The scanners end on any input, also JSON no caller should give them (a
// caller validates first): a place where a value is missing is an error,
// not a loop that never moves on ("[}" looped forever).
func TestRawScannersEndOnInvalidJSON(t *testing.T) {
	for _, in := range []string{`[}`, `[1}`, `[1,}`, `{"a":]`, `{"a":1]`, `[\xd9`, `{"a"`, `[`, `{`, `{"a":`, `["`, `[{]`, `{"a":{}`} {
		testwait.Within(t, 5*time.Second, fmt.Sprintf("scanning %q", in), func() {
			b := []byte(in)
			members(b)
			elements(b)
			skipValue(b, 0)
		})
	}
	if _, err := elements([]byte(`[}`)); err == nil {
		t.Error(`elements("[}") is no error`)
	}
}
