package proxy

import (
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// SearchToolName is the Gateway's semantic search tool. Its result carries
// tool definitions, whose secret arguments must be stripped as well.
const SearchToolName = "x_amz_bedrock_agentcore_search"

// stripSearchResult removes secret arguments from the tool definitions in a
// search result: structuredContent.tools[] and the same JSON as text.
func (p *Proxy) stripSearchResult(res *mcp.CallToolResult) {
	if sc, ok := res.StructuredContent.(map[string]any); ok {
		p.stripToolDefs(sc)
	}
	for _, c := range res.Content {
		tc, ok := c.(*mcp.TextContent)
		if !ok {
			continue
		}
		var doc map[string]any
		if json.Unmarshal([]byte(tc.Text), &doc) != nil || !p.stripToolDefs(doc) {
			continue
		}
		if b, err := json.Marshal(doc); err == nil {
			tc.Text = string(b)
		}
	}
}

// stripToolDefs strips doc["tools"][*].inputSchema in place and reports
// whether it changed anything.
func (p *Proxy) stripToolDefs(doc map[string]any) bool {
	tools, _ := doc["tools"].([]any)
	changed := false
	for _, t := range tools {
		def, ok := t.(map[string]any)
		if !ok {
			continue
		}
		name, _ := def["name"].(string)
		schema, _ := def["inputSchema"].(map[string]any)
		rules := rulesFor(p.opts.Rules, name, schema)
		if len(rules) == 0 {
			continue
		}
		args := make([]string, len(rules))
		for i, r := range rules {
			args[i] = r.Argument
		}
		def["inputSchema"] = stripArgs(schema, args)
		changed = true
	}
	return changed
}
