package proxy

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func schemaOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStripArgs(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		args   []string
		want   string
	}{
		{
			name:   "property and required",
			schema: `{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"tool_name":{"type":"string"}},"required":["X-Asana-Token","tool_name"]}`,
			args:   []string{"X-Asana-Token"},
			want:   `{"type":"object","properties":{"tool_name":{"type":"string"}},"required":["tool_name"]}`,
		},
		{
			name:   "only in required",
			schema: `{"type":"object","properties":{"a":{}},"required":["tok","a"]}`,
			args:   []string{"tok"},
			want:   `{"type":"object","properties":{"a":{}},"required":["a"]}`,
		},
		{
			name:   "two arguments",
			schema: `{"type":"object","properties":{"a":{},"b":{},"c":{}},"required":["a","b","c"]}`,
			args:   []string{"a", "c"},
			want:   `{"type":"object","properties":{"b":{}},"required":["b"]}`,
		},
		{
			name:   "nothing to strip keeps other keys",
			schema: `{"type":"object","properties":{"a":{}},"additionalProperties":false}`,
			args:   []string{"z"},
			want:   `{"type":"object","properties":{"a":{}},"additionalProperties":false}`,
		},
		{
			name:   "nested property of the same name stays",
			schema: `{"type":"object","properties":{"tok":{},"body":{"type":"object","properties":{"tok":{}}}}}`,
			args:   []string{"tok"},
			want:   `{"type":"object","properties":{"body":{"type":"object","properties":{"tok":{}}}}}`,
		},
		{
			name:   "no properties at all",
			schema: `{"type":"object"}`,
			args:   []string{"tok"},
			want:   `{"type":"object"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := schemaOf(t, tt.schema)
			before := schemaOf(t, tt.schema)
			got := stripArgs(in, tt.args)
			if !reflect.DeepEqual(got, schemaOf(t, tt.want)) {
				g, _ := json.Marshal(got)
				t.Errorf("stripArgs = %s, want %s", g, tt.want)
			}
			if !reflect.DeepEqual(in, before) {
				t.Error("stripArgs modified its input (the SDK caches upstream tools)")
			}
		})
	}
}

func TestRulesFor(t *testing.T) {
	rules := []Rule{
		{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"AgentCoreGwyAPIGatewayTarget___*"}},
		{Argument: "X-Other", Secret: "other", Tools: []string{"Other___get", "Third___*"}},
	}
	withAsana := schemaOf(t, `{"type":"object","properties":{"X-Asana-Token":{}}}`)
	withBoth := schemaOf(t, `{"type":"object","properties":{"X-Asana-Token":{},"X-Other":{}}}`)
	tests := []struct {
		tool   string
		schema map[string]any
		want   []string // secrets
	}{
		{"AgentCoreGwyAPIGatewayTarget___asanaInvoke", withAsana, []string{"asana"}},
		{"OtherTarget___asanaInvoke", withAsana, nil}, // declares it but outside the globs
		{"AgentCoreGwyAPIGatewayTarget___list", schemaOf(t, `{"type":"object","properties":{"q":{}}}`), nil},
		{"Other___get", withBoth, []string{"other"}},
		{"Third___x", withBoth, []string{"other"}},
		{"AgentCoreGwyAPIGatewayTarget___both", withBoth, []string{"asana"}},
		{"AgentCoreGwyAPIGatewayTarget___nil", nil, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range rulesFor(rules, tt.tool, tt.schema) {
			got = append(got, r.Secret)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("rulesFor(%s) = %v, want %v", tt.tool, got, tt.want)
		}
	}
}

func TestInjectArgs(t *testing.T) {
	const secret = tokenstore.Secret("Bearer s3cr<e>t")
	tests := []struct {
		name, args, want string
		wantErr          bool
	}{
		{name: "adds the argument", args: `{"tool_name":"list"}`, want: `{"X-Asana-Token":"Bearer s3cr<e>t","tool_name":"list"}`},
		{name: "replaces a model-supplied value", args: `{"X-Asana-Token":"Bearer stolen","tool_name":"x"}`, want: `{"X-Asana-Token":"Bearer s3cr<e>t","tool_name":"x"}`},
		{name: "empty arguments", args: ``, want: `{"X-Asana-Token":"Bearer s3cr<e>t"}`},
		{name: "null arguments", args: `null`, want: `{"X-Asana-Token":"Bearer s3cr<e>t"}`},
		{name: "keeps nested values", args: `{"a":{"b":[1,2,{"c":null}]}}`, want: `{"X-Asana-Token":"Bearer s3cr<e>t","a":{"b":[1,2,{"c":null}]}}`},
		{name: "array is refused", args: `[1,2]`, wantErr: true},
		{name: "string is refused", args: `"x"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := injectArgs(json.RawMessage(tt.args), map[string]tokenstore.Secret{"X-Asana-Token": secret})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("injectArgs(%s) succeeded, want an error", tt.args)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			json.Unmarshal(got, &g)
			json.Unmarshal([]byte(tt.want), &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("injectArgs gave a different object than %s", tt.want)
			}
		})
	}
}

func TestRuleValue(t *testing.T) {
	for _, tt := range []struct{ format, want string }{
		{"", "Bearer abc"},
		{"{secret}", "abc"},
		{"Token {secret}!", "Token abc!"},
	} {
		r := Rule{Format: tt.format}
		if got := r.value("abc"); string(got) != tt.want {
			t.Errorf("format %q gave a different value than %q", tt.format, tt.want)
		}
	}
}

func TestRuleValidate(t *testing.T) {
	good := Rule{Argument: "A", Secret: "s", Tools: []string{"T___*"}}
	if err := good.validate(); err != nil {
		t.Fatalf("valid rule refused: %v", err)
	}
	for name, r := range map[string]Rule{
		"no argument": {Secret: "s", Tools: []string{"*"}},
		"no secret":   {Argument: "A", Tools: []string{"*"}},
		"no tools":    {Argument: "A", Secret: "s"},
		"bad format":  {Argument: "A", Secret: "s", Tools: []string{"*"}, Format: "Bearer"},
		"bad glob":    {Argument: "A", Secret: "s", Tools: []string{"[a"}},
	} {
		if err := r.validate(); err == nil {
			t.Errorf("%s: rule accepted", name)
		}
	}
}

func FuzzStripArgs(f *testing.F) {
	f.Add(`{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"a":{}},"required":["X-Asana-Token","a"]}`, "X-Asana-Token")
	f.Add(`{"type":"object","properties":[],"required":{"x":1}}`, "x")
	f.Add(`{"properties":{"a":{"properties":{"a":{}}}},"required":["a",1,null]}`, "a")
	f.Fuzz(func(t *testing.T, doc, arg string) {
		var schema map[string]any
		if json.Unmarshal([]byte(doc), &schema) != nil || schema == nil {
			return
		}
		before, _ := json.Marshal(schema)
		out := stripArgs(schema, []string{arg})
		if after, _ := json.Marshal(schema); string(after) != string(before) {
			t.Fatal("input modified")
		}
		if declares(out, arg) {
			t.Fatalf("%q still declared after stripping", arg)
		}
		// Nothing else is lost.
		for k := range schema {
			if _, ok := out[k]; !ok {
				t.Fatalf("key %q lost", k)
			}
		}
		if props, ok := schema["properties"].(map[string]any); ok {
			np := out["properties"].(map[string]any)
			for k := range props {
				if _, ok := np[k]; !ok && k != arg {
					t.Fatalf("property %q lost", k)
				}
			}
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("stripped schema does not marshal: %v", err)
		}
	})
}
