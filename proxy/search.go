package proxy

import (
	"encoding/json"
)

// SearchToolName is the Gateway's semantic search tool. Its result carries
// tool definitions, whose secret arguments must be stripped as well.
const SearchToolName = "x_amz_bedrock_agentcore_search"

// stripSearchResult removes the rules' arguments from the tool definitions
// in a search result (structuredContent.tools[] and the same JSON as text)
// and returns it; bytes it does not change are kept as they came. Each
// definition is decided on its own name and schema (rulesForTool), as the
// tool list decides it.
func stripSearchResult(rules []Rule, res []byte) []byte {
	if len(rules) == 0 {
		return res
	}
	ms, err := members(res)
	if err != nil {
		return res
	}
	var edits []edit
	for _, m := range ms {
		switch {
		case isString(m.key, "structuredContent"):
			if out, ok := stripToolDefs(rules, m.val); ok {
				edits = append(edits, edit{m.end - len(m.val), m.end, out})
			}
		case isString(m.key, "content"):
			items, err := elements(m.val)
			if err != nil {
				continue
			}
			base := m.end - len(m.val)
			for _, it := range items {
				if out, ok := stripTextItem(rules, it.val); ok {
					edits = append(edits, edit{base + it.start, base + it.end, out})
				}
			}
		}
	}
	return splice(res, edits)
}

// stripToolDefs strips the tool definitions in doc.tools[] and reports
// whether it changed anything.
func stripToolDefs(rules []Rule, doc []byte) ([]byte, bool) {
	ms, err := members(doc)
	if err != nil {
		return doc, false
	}
	var edits []edit
	for _, m := range ms {
		if !isString(m.key, "tools") {
			continue
		}
		defs, err := elements(m.val)
		if err != nil {
			continue
		}
		base := m.end - len(m.val)
		for _, d := range defs {
			if _, applied, out := stripToolDef(rules, d.val); len(applied) > 0 {
				edits = append(edits, edit{base + d.start, base + d.end, out})
			}
		}
	}
	return splice(doc, edits), len(edits) > 0
}

// stripTextItem strips the tool definitions in the JSON document of a text
// content item, and reports whether it changed anything.
func stripTextItem(rules []Rule, item []byte) ([]byte, bool) {
	ms, err := members(item)
	if err != nil {
		return item, false
	}
	var text *span
	isText := false
	for i, m := range ms {
		switch {
		case isString(m.key, "type"):
			isText = isString(m.val, "text")
		case isString(m.key, "text"):
			text = &ms[i]
		}
	}
	if !isText || text == nil {
		return item, false
	}
	var s string
	if json.Unmarshal(text.val, &s) != nil || !json.Valid([]byte(s)) {
		return item, false
	}
	out, ok := stripToolDefs(rules, []byte(s))
	if !ok {
		return item, false
	}
	b, err := json.Marshal(string(out))
	if err != nil {
		return item, false
	}
	return splice(item, []edit{{text.end - len(text.val), text.end, b}}), true
}

// edit replaces b[start:end] with with.
type edit struct {
	start, end int
	with       []byte
}

// splice applies edits, in order and not overlapping, to b.
func splice(b []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	last := 0
	for _, e := range edits {
		out = append(out, b[last:e.start]...)
		out = append(out, e.with...)
		last = e.end
	}
	return append(out, b[last:]...)
}
