package proxy

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestStripRaw(t *testing.T) {
	tests := []struct{ schema, arg, want string }{
		{`{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"tool_name":{"type":"string"}},"required":["X-Asana-Token","tool_name"]}`, "X-Asana-Token",
			`{"type":"object","properties":{"tool_name":{"type":"string"}},"required":["tool_name"]}`},
		{`{ "properties" : { "a" : 1 , "tok" : {"x":"}"} } , "required" : [ "tok" ] }`, "tok", `{ "properties" : {"a" : 1} , "required" : [] }`},
		{`{"properties":{"t\u006fk":{}},"required":["t\u006fk",1]}`, "tok", `{"properties":{},"required":[1]}`},
		{`{"properties":{"a":{"properties":{"tok":{}}}}}`, "tok", `{"properties":{"a":{"properties":{"tok":{}}}}}`},
		{`{"properties":[],"required":{"tok":1}}`, "tok", `{"properties":[],"required":{"tok":1}}`},
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

// FuzzStripRaw checks the byte-level stripping against the map-based one.
func FuzzStripRaw(f *testing.F) {
	f.Add(`{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"a":{}},"required":["X-Asana-Token","a"]}`, "X-Asana-Token")
	f.Add(`{"properties":{"a":1,"a":2},"required":["a","a"],"properties":{"b":{}}}`, "a")
	f.Add(`{"properties":{"x\"y":{}},"required":["x\"y"]}`, `x"y`)
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
