package proxy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

var searchRules = []Rule{{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"Asana___*"}}}

// Tool definitions as a search returns them: one the rule applies to, one
// outside its globs that declares the argument all the same.
const (
	searchFilled = `{"name":"Asana___createTask","description":"Create a task","inputSchema":{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"name":{"type":"string"}},"required":["X-Asana-Token","name"]}}`
	searchOther  = `{"name":"Other___createTask","description":"Create a task elsewhere","inputSchema":{"type":"object","properties":{"X-Asana-Token":{"type":"string"},"name":{"type":"string"}},"required":["X-Asana-Token"]}}`
	searchDoc    = `{"tools":[` + searchFilled + `,` + searchOther + `]}`
)

// textResult is a search result whose only content is text.
func textResult(text string) string {
	b, _ := json.Marshal(text)
	return `{"content":[{"type":"text","text":` + string(b) + `}]}`
}

func TestSearchResultShapes(t *testing.T) {
	const prose, trailer = "I found these tools for \"create a task\" [best first]:\n", "\n\n{end of results}"
	pretty := strings.ReplaceAll(searchDoc, `,"`, ",\n  \"")
	tests := []struct {
		name   string
		result string
		// text is the prose the text item must keep around its JSON.
		before, after string
	}{
		{name: "structuredContent.tools and the same JSON as text",
			result: `{"content":[{"type":"text","text":` + quote(searchDoc) + `}],"structuredContent":` + searchDoc + `}`},
		{name: "structuredContent.results.tools",
			result: `{"content":[],"structuredContent":{"results":{"tools":[` + searchFilled + `,` + searchOther + `]}}}`},
		{name: "structuredContent.results as an array of definitions",
			result: `{"content":[],"structuredContent":{"results":[` + searchFilled + `,` + searchOther + `]}}`},
		{name: "each definition wrapped with its score",
			result: `{"content":[],"structuredContent":{"results":[{"score":0.9,"tool":` + searchFilled + `},{"score":0.5,"tool":` + searchOther + `}]}}`},
		{name: "JSON after prose, trailing text",
			result: textResult(prose + searchDoc + trailer), before: prose, after: trailer},
		{name: "pretty-printed JSON in a markdown fence",
			result: textResult("Results:\n```json\n" + pretty + "\n```\n"), before: "Results:\n```json\n", after: "\n```\n"},
		{name: "results wrapper inside the text",
			result: textResult(`{"results":{"tools":[` + searchFilled + `,` + searchOther + `]}}`)},
		{name: "two documents in one text",
			result: textResult("first " + `{"tools":[` + searchFilled + `]}` + " then " + `{"tools":[` + searchOther + `]}` + " done"), before: "first ", after: " done"},
		{name: "a broken document before the real one",
			result: textResult(`{"tools": [ oops ` + searchDoc), before: `{"tools": [ oops `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := stripSearchResult(searchRules, []byte(tt.result))
			if !json.Valid(out) {
				t.Fatalf("not JSON: %s", out)
			}
			var res struct {
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
				StructuredContent json.RawMessage `json:"structuredContent"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			defs := toolDefsIn(t, res.StructuredContent)
			for _, c := range res.Content {
				if !strings.HasPrefix(c.Text, tt.before) || !strings.HasSuffix(c.Text, tt.after) {
					t.Errorf("the prose around the JSON was not kept: %q", c.Text)
				}
				defs = append(defs, toolDefsInText(t, c.Text)...)
			}
			if len(defs) < 2 {
				t.Fatalf("%d tool definitions in the result, want both: %s", len(defs), out)
			}
			for _, d := range defs {
				shown := strings.Contains(string(d.InputSchema), "X-Asana-Token")
				switch d.Name {
				case "Asana___createTask":
					if shown {
						t.Errorf("%s still shows X-Asana-Token: %s", d.Name, d.InputSchema)
					}
					if !strings.Contains(string(d.InputSchema), `"name"`) {
						t.Errorf("%s lost its other arguments: %s", d.Name, d.InputSchema)
					}
				case "Other___createTask":
					if !shown {
						t.Errorf("%s lost X-Asana-Token though no rule names it", d.Name)
					}
				}
			}
		})
	}
}

func TestSearchResultWithNothingToStripIsUnchanged(t *testing.T) {
	for _, res := range []string{
		`{"content":[{"type":"text","text":"no tools matched {your query}"}]}`,
		`{"content":[{"type":"text","text":` + quote(`{"tools":[`+searchOther+`]}`) + `}],"structuredContent":{"tools":[` + searchOther + `]}}`,
		`{"content":[{"type":"image","data":"AAAA","text":` + quote(searchDoc) + `}]}`, // not a text item
		`{"isError":true,"content":[{"type":"text","text":"An internal error occurred. Please retry later."}]}`,
		`not json`,
	} {
		if out := stripSearchResult(searchRules, []byte(res)); string(out) != res {
			t.Errorf("stripSearchResult changed %s into %s", res, out)
		}
	}
}

// TestSearchTextStrippingIsBounded: a hostile text full of brackets that
// almost parse costs a bounded amount of work, not its length squared. It
// takes about a second under -race; its length squared would take hours, so
// the deadline catches a runaway on the slowest machine without timing how
// fast it is.
func TestSearchTextStrippingIsBounded(t *testing.T) {
	for name, text := range map[string]string{
		"open arrays":  strings.Repeat("[", 1<<20),
		"open objects": strings.Repeat(`{"a":`, 1<<18),
		"long arrays":  strings.Repeat("[1,", 1<<18),
	} {
		t.Run(name, func(t *testing.T) {
			testwait.Within(t, time.Minute, "stripping "+name, func() {
				stripSearchResult(searchRules, []byte(textResult(text+searchDoc)))
			})
		})
	}
}

type toolDefinition struct {
	Name        string          `json:"name"`
	InputSchema json.RawMessage `json:"inputSchema"`
}

// toolDefsIn returns every tool definition in a JSON value, at any depth.
func toolDefsIn(t *testing.T, raw json.RawMessage) []toolDefinition {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	var out []toolDefinition
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if name, ok := v["name"].(string); ok && v["inputSchema"] != nil {
				s, _ := json.Marshal(v["inputSchema"])
				out = append(out, toolDefinition{name, s})
				return
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// toolDefsInText returns the tool definitions in the JSON documents of a
// text, found independently of the proxy: each '{' is tried with a decoder.
func toolDefsInText(t *testing.T, text string) []toolDefinition {
	t.Helper()
	var out []toolDefinition
	for i := 0; i < len(text); i++ {
		if text[i] != '{' {
			continue
		}
		d := json.NewDecoder(strings.NewReader(text[i:]))
		var raw json.RawMessage
		if d.Decode(&raw) != nil {
			continue
		}
		out = append(out, toolDefsIn(t, raw)...)
		i += int(d.InputOffset()) - 1
	}
	return out
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzStripSearchResult: whatever a search returns, stripping it does not
// crash, keeps JSON JSON, is done once for all (stripping again changes
// nothing), and leaves a result no rule applies to as it came.
func FuzzStripSearchResult(f *testing.F) {
	f.Add(`{"content":[{"type":"text","text":` + quote(searchDoc) + `}],"structuredContent":` + searchDoc + `}`)
	f.Add(textResult("Found:\n" + searchDoc + "\nbye"))
	f.Add(`{"structuredContent":{"results":{"tools":[` + searchFilled + `]}}}`)
	f.Add(textResult(`[{"name":"Asana___x","inputSchema":{"required":["x-asana-token"]}}] {"tools":[`))
	none := []Rule{{Argument: "X-Asana-Token", Secret: "asana", Tools: []string{"Nothing___*"}}}
	f.Fuzz(func(t *testing.T, res string) {
		if !json.Valid([]byte(res)) {
			return
		}
		began := time.Now()
		defer func() {
			if d := time.Since(began); d > time.Second {
				t.Fatalf("took %s for %d bytes", d, len(res))
			}
		}()
		out := stripSearchResult(searchRules, []byte(res))
		if !json.Valid(out) {
			t.Fatalf("stripSearchResult(%s) = %s: not JSON", res, out)
		}
		if again := stripSearchResult(searchRules, out); string(again) != string(out) {
			t.Fatalf("stripping twice changed %s into %s", out, again)
		}
		if got := stripSearchResult(none, []byte(res)); string(got) != res {
			t.Fatalf("a result no rule applies to was changed: %s into %s", res, got)
		}
	})
}
