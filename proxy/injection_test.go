package proxy_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// Tools a rawGateway lists in these tests: rawTool and rawOther match the
// rule's glob and declare the secret argument; outsideTool declares it but
// is outside the glob.
const (
	rawTool     = "AgentCoreGwyAPIGatewayTarget___invoke"
	rawOther    = "AgentCoreGwyAPIGatewayTarget___other"
	outsideTool = "OtherTarget___invoke"
)

// toolDef is a tool definition as the Gateway lists it, with the given
// arguments (all required).
func toolDef(name string, args ...string) string {
	props := map[string]any{}
	for _, a := range args {
		props[a] = map[string]any{"type": "string"}
	}
	if args == nil {
		args = []string{}
	}
	b, _ := json.Marshal(map[string]any{
		"name":        name,
		"description": "a tool",
		"inputSchema": map[string]any{"type": "object", "properties": props, "required": args},
	})
	return string(b)
}

func list(defs ...string) string { return "[" + strings.Join(defs, ",") + "]" }

// at points the harness at the raw Gateway.
func (g *rawGateway) at(*gatewaysim.Sim) string { return g.URL }

// lastCall returns the last call of the named tool the Gateway received.
func lastCall(t *testing.T, g *rawGateway, name string) rawCall {
	t.Helper()
	calls := g.received()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Name == name {
			return calls[i]
		}
	}
	t.Fatalf("the Gateway received no call of %s", name)
	return rawCall{}
}

func argsOf(t *testing.T, c rawCall) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Arguments, &m); err != nil {
		t.Fatalf("arguments of %s: %v", c.Name, err)
	}
	return m
}

// noSecretIn fails the test if the call carried the secret in any form.
func noSecretIn(t *testing.T, c rawCall) {
	t.Helper()
	if err := leakcheck.Message(c.Body, asanaToken); err != nil {
		t.Errorf("the call of %s carried the secret: %v", c.Name, err)
	}
}

func TestCaseVariantsOfTheSecretArgumentNeverReachTheTool(t *testing.T) {
	gw := newRawGateway(t, list(toolDef(rawTool, "X-Asana-Token", "q"), toolDef(outsideTool, "X-Asana-Token", "q")))
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	model := map[string]any{
		"q":             "x",
		"x-asana-token": "Bearer model-lower",
		"X-ASANA-TOKEN": "Bearer model-upper",
		"X-Asana-Token": "Bearer model-exact",
	}
	h.call(t, rawTool, model)
	args := argsOf(t, lastCall(t, gw, rawTool))
	for k := range args {
		if strings.EqualFold(k, "X-Asana-Token") && k != "X-Asana-Token" {
			t.Errorf("the model's %q reached the tool next to the injected value", k)
		}
	}
	if args["X-Asana-Token"] != "Bearer "+asanaToken {
		t.Error("the tool did not get X-Asana-Token: Bearer <stored token>")
	}
	if args["q"] != "x" {
		t.Errorf("the model's other arguments were lost: %v", args["q"])
	}

	// A tool outside the rule's globs gets the model's arguments as sent.
	h.call(t, outsideTool, model)
	c := lastCall(t, gw, outsideTool)
	noSecretIn(t, c)
	if got := argsOf(t, c); !reflect.DeepEqual(got, model) {
		t.Errorf("a tool outside the globs got other arguments than the model sent: %d of %d", len(got), len(model))
	}
}

func TestSearchResultsInEveryShapeHideTheSecretArgument(t *testing.T) {
	injected := toolDef(rawTool, "X-Asana-Token", "x-asana-token", "q")
	outside := toolDef(outsideTool, "X-Asana-Token", "q")
	doc := `{"tools":[` + injected + `,` + outside + `]}`
	const before, after = "Found 2 tools for your query:\n\n", "\n\nAsk again to see more."
	textJSON, _ := json.Marshal(before + doc + after)
	gw := newRawGateway(t, list(toolDef(proxy.SearchToolName, "query"), toolDef(rawTool, "X-Asana-Token", "q")))
	gw.result(proxy.SearchToolName, `{"content":[{"type":"text","text":`+string(textJSON)+`}],`+
		`"structuredContent":{"results":{"tools":[`+injected+`,`+outside+`]}}}`)
	h := start(t, setup{gatewayFor: gw.at, noAuth: true})
	res := h.call(t, proxy.SearchToolName, map[string]any{"query": "asana"})

	check := func(where string, doc []byte) {
		t.Helper()
		var d struct {
			Tools []struct {
				Name        string `json:"name"`
				InputSchema struct {
					Properties map[string]any `json:"properties"`
					Required   []string       `json:"required"`
				} `json:"inputSchema"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if len(d.Tools) != 2 {
			t.Fatalf("%s: %d tools, want 2", where, len(d.Tools))
		}
		for _, tool := range d.Tools {
			declared := strings.Join(tool.InputSchema.Required, " ")
			for k := range tool.InputSchema.Properties {
				declared += " " + k
			}
			hidden := !strings.Contains(strings.ToLower(declared), "x-asana-token")
			switch {
			case tool.Name == rawTool && !hidden:
				t.Errorf("%s: %s still shows the secret argument: %s", where, tool.Name, declared)
			case tool.Name == outsideTool && hidden:
				t.Errorf("%s: %s lost X-Asana-Token though no rule names it", where, tool.Name)
			case tool.Name == rawTool && !strings.Contains(declared, "q"):
				t.Errorf("%s: %s lost its other arguments", where, tool.Name)
			}
		}
	}
	sc, _ := json.Marshal(res.StructuredContent)
	var wrapped struct {
		Results json.RawMessage `json:"results"`
	}
	json.Unmarshal(sc, &wrapped)
	check("structuredContent.results", wrapped.Results)

	txt := text(res)
	if !strings.HasPrefix(txt, before) || !strings.HasSuffix(txt, after) {
		t.Fatalf("the prose around the JSON was not kept: %q", txt)
	}
	check("text", []byte(strings.TrimSuffix(strings.TrimPrefix(txt, before), after)))
}
