package proxy

import (
	"encoding/json"
)

// SearchToolName is the Gateway's semantic search tool. Its result carries
// tool definitions, whose secret arguments must be stripped as well.
const SearchToolName = "x_amz_bedrock_agentcore_search"

// stripSearchResult removes secret arguments from the tool definitions in a
// search result (structuredContent.tools[] and the same JSON as text) and
// returns the result, unchanged if it has nothing to strip.
func (p *Proxy) stripSearchResult(raw json.RawMessage) json.RawMessage {
	var res map[string]any
	if json.Unmarshal(raw, &res) != nil {
		return raw
	}
	changed := false
	if sc, ok := res["structuredContent"].(map[string]any); ok {
		changed = p.stripToolDefs(sc)
	}
	content, _ := res["content"].([]any)
	for _, c := range content {
		item, _ := c.(map[string]any)
		text, ok := item["text"].(string)
		if !ok || item["type"] != "text" {
			continue
		}
		var doc map[string]any
		if json.Unmarshal([]byte(text), &doc) != nil || !p.stripToolDefs(doc) {
			continue
		}
		if b, err := json.Marshal(doc); err == nil {
			item["text"] = string(b)
			changed = true
		}
	}
	if !changed {
		return raw
	}
	if b, err := json.Marshal(res); err == nil {
		return b
	}
	return raw
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
