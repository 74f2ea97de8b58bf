package proxy

import (
	"encoding/json"
	"reflect"
	"strings"
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
		{
			name:   "the argument in any letter case, and nothing like it",
			schema: `{"type":"object","properties":{"X-Asana-Token":{},"x-asana-token":{},"X-ASANA-TOKEN":{},"X-Asana-Tokens":{},"X_Asana_Token":{}},"required":["x-Asana-Token","X-Asana-Tokens"]}`,
			args:   []string{"X-Asana-Token"},
			want:   `{"type":"object","properties":{"X-Asana-Tokens":{},"X_Asana_Token":{}},"required":["X-Asana-Tokens"]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := stripRaw([]byte(tt.schema), tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := schemaOf(t, string(raw)); !reflect.DeepEqual(got, schemaOf(t, tt.want)) {
				t.Errorf("stripRaw = %s, want %s", raw, tt.want)
			}
			// The model FuzzStripRaw checks the engine against agrees.
			in := schemaOf(t, tt.schema)
			before := schemaOf(t, tt.schema)
			got := stripArgs(in, tt.args)
			if !reflect.DeepEqual(got, schemaOf(t, tt.want)) {
				g, _ := json.Marshal(got)
				t.Errorf("stripArgs = %s, want %s", g, tt.want)
			}
			if !reflect.DeepEqual(in, before) {
				t.Error("stripArgs modified its input")
			}
		})
	}
}

func TestRulesForTool(t *testing.T) {
	rules := []Rule{
		{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"AgentCoreGwyAPIGatewayTarget___*"}},
		{Argument: "X-Other", Secret: "other", Tools: []string{"Other___get", "Third___*"}},
	}
	const withAsana = `{"type":"object","properties":{"X-Asana-Token":{}}}`
	const withBoth = `{"type":"object","properties":{"X-Asana-Token":{},"X-Other":{}}}`
	tests := []struct {
		tool   string
		schema string
		want   []string // secrets
	}{
		{"AgentCoreGwyAPIGatewayTarget___asanaInvoke", withAsana, []string{"asana"}},
		{"OtherTarget___asanaInvoke", withAsana, nil}, // declares it but outside the globs
		{"AgentCoreGwyAPIGatewayTarget___list", `{"type":"object","properties":{"q":{}}}`, nil},
		{"AgentCoreGwyAPIGatewayTarget___required", `{"type":"object","required":["X-Asana-Token"]}`, []string{"asana"}},
		{"AgentCoreGwyAPIGatewayTarget___lower", `{"type":"object","properties":{"x-asana-token":{}}}`, nil}, // doctor suggests the exact name
		{"Other___get", withBoth, []string{"other"}},
		{"Third___x", withBoth, []string{"other"}},
		{"AgentCoreGwyAPIGatewayTarget___both", withBoth, []string{"asana"}},
		{"AgentCoreGwyAPIGatewayTarget___nil", `null`, nil},
		{"AgentCoreGwyAPIGatewayTarget___none", ``, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range rulesForTool(rules, tt.tool, []byte(tt.schema)) {
			got = append(got, r.Secret)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("rulesForTool(%s) = %v, want %v", tt.tool, got, tt.want)
		}
	}
}

func TestStripToolDef(t *testing.T) {
	rules := []Rule{{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"T___*"}}}
	tests := []struct {
		name, def, want string
		rules           int
	}{
		{"stripped", `{"name":"T___a","inputSchema":{"properties":{"X-Asana-Token":{},"q":{}},"required":["X-Asana-Token"]}}`,
			`{"name":"T___a","inputSchema":{"properties":{"q":{}},"required":[]}}`, 1},
		{"outside the globs", `{"name":"U___a","inputSchema":{"properties":{"X-Asana-Token":{}}}}`,
			`{"name":"U___a","inputSchema":{"properties":{"X-Asana-Token":{}}}}`, 0},
		{"every copy of a repeated schema", `{"inputSchema":{"properties":{"X-Asana-Token":{}}},"name":"T___a","inputSchema":{"properties":{"X-Asana-Token":{},"q":{}}}}`,
			`{"inputSchema":{"properties":{}},"name":"T___a","inputSchema":{"properties":{"q":{}}}}`, 1},
		{"no schema", `{"name":"T___a"}`, `{"name":"T___a"}`, 0},
		{"not an object", `[1]`, `[1]`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, applied, out := stripToolDef(rules, []byte(tt.def))
			if string(out) != tt.want || len(applied) != tt.rules {
				t.Errorf("stripToolDef(%s) = %s with %d rules, want %s with %d", tt.def, out, len(applied), tt.want, tt.rules)
			}
		})
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
		{name: "drops the argument in any letter case", args: `{"x-asana-token":"a","X-ASANA-TOKEN":"b","X-Asana-Tok\u0065n":"c","x-Asana-Token":"d","tool_name":"x"}`,
			want: `{"X-Asana-Token":"Bearer s3cr<e>t","tool_name":"x"}`},
		{name: "keeps names that only look alike", args: `{"X-Asana-Tokens":"a","X_Asana_Token":"b","nested":{"x-asana-token":"c"}}`,
			want: `{"X-Asana-Token":"Bearer s3cr<e>t","X-Asana-Tokens":"a","X_Asana_Token":"b","nested":{"x-asana-token":"c"}}`},
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

// FuzzStripArgs checks what the byte-level stripping promises, whatever the
// schema: the argument is gone in every letter case, the result is JSON, and
// nothing else is lost.
func FuzzStripArgs(f *testing.F) {
	f.Add(`{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"a":{}},"required":["X-Asana-Token","a"]}`, "X-Asana-Token")
	f.Add(`{"type":"object","properties":[],"required":{"x":1}}`, "x")
	f.Add(`{"properties":{"a":{"properties":{"a":{}}}},"required":["a",1,null]}`, "a")
	f.Add(`{"properties":{"x-asana-token":{},"X-ASANA-TOKEN":{}},"required":["x-Asana-Token"]}`, "X-Asana-Token")
	f.Fuzz(func(t *testing.T, doc, arg string) {
		var schema map[string]any
		if json.Unmarshal([]byte(doc), &schema) != nil || schema == nil {
			return
		}
		raw, err := stripRaw([]byte(doc), []string{arg})
		if err != nil {
			t.Fatalf("stripRaw: %v", err)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("stripped schema is not JSON: %v", err)
		}
		for _, a := range declaredArguments(raw) {
			if strings.EqualFold(a, arg) {
				t.Fatalf("%q still declared after stripping, as %q", arg, a)
			}
		}
		// Nothing else is lost.
		for k := range schema {
			if _, ok := out[k]; !ok {
				t.Fatalf("key %q lost", k)
			}
		}
		if props, ok := schema["properties"].(map[string]any); ok {
			np, _ := out["properties"].(map[string]any)
			for k := range props {
				if _, ok := np[k]; !ok && !strings.EqualFold(k, arg) {
					t.Fatalf("property %q lost", k)
				}
			}
		}
		if req, ok := schema["required"].([]any); ok {
			nr, _ := out["required"].([]any)
			kept := 0
			for _, v := range req {
				if s, ok := v.(string); !ok || !strings.EqualFold(s, arg) {
					kept++
				}
			}
			if len(nr) != kept {
				t.Fatalf("required has %d entries, want %d", len(nr), kept)
			}
		}
	})
}
