package proxy

import (
	"encoding/json"
	"io"
	"strings"
)

// SearchToolName is the Gateway's semantic search tool. Its result carries
// tool definitions, whose secret arguments must be stripped as well.
const SearchToolName = "x_amz_bedrock_agentcore_search"

// stripSearchResult removes the rules' arguments from the tool definitions
// in a search result and returns it; bytes it does not change are kept as
// they came. The Gateway puts the definitions in structuredContent (tools[],
// or under a wrapper such as results.tools[]) and the same JSON in a text
// item; a text may also hold a JSON document amid prose, which is kept.
// Each definition is decided on its own name and schema (rulesForTool), as
// the tool list decides it: the model is not told of a secret argument in a
// search result either.
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
			if out, ok := stripToolDefs(rules, m.val, 0); ok {
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

// maxWrapperDepth bounds how deep below a document's top stripToolDefs looks
// for tool definitions. The Gateway's shapes are two levels deep at most
// (results.tools[]); the bound keeps a deeply nested document from costing
// its size again at every level.
const maxWrapperDepth = 8

// stripToolDefs strips every tool definition (an object with a string name
// and an inputSchema) in the JSON value v, at any place up to
// maxWrapperDepth, and reports whether it changed anything.
func stripToolDefs(rules []Rule, v []byte, depth int) ([]byte, bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || depth > maxWrapperDepth {
		return v, false
	}
	var parts []span
	switch v[i] {
	case '{':
		ms, err := members(v)
		if err != nil {
			return v, false
		}
		if isToolDef(ms) {
			_, applied, out := stripToolDef(rules, v)
			return out, len(applied) > 0
		}
		parts = ms
	case '[':
		es, err := elements(v)
		if err != nil {
			return v, false
		}
		parts = es
	default:
		return v, false
	}
	var edits []edit
	for _, p := range parts {
		if out, ok := stripToolDefs(rules, p.val, depth+1); ok {
			edits = append(edits, edit{p.end - len(p.val), p.end, out})
		}
	}
	return splice(v, edits), len(edits) > 0
}

// isToolDef reports whether an object's members make a tool definition.
func isToolDef(ms []span) bool {
	var named, schema bool
	for _, m := range ms {
		switch {
		case isString(m.key, "name"):
			named = len(m.val) > 0 && m.val[0] == '"'
		case isString(m.key, "inputSchema"):
			schema = true
		}
	}
	return named && schema
}

// stripTextItem strips the tool definitions in the JSON documents of a text
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
	if json.Unmarshal(text.val, &s) != nil {
		return item, false
	}
	out, ok := stripDocuments(rules, s)
	if !ok {
		return item, false
	}
	b, err := json.Marshal(out)
	if err != nil {
		return item, false
	}
	return splice(item, []edit{{text.end - len(text.val), text.end, b}}), true
}

// stripDocuments strips the tool definitions in every JSON object or array
// found in text, whole or amid prose, and keeps everything around them.
//
// Finding them means trying to parse a value at each '{' and '['. That is
// quick for prose, whose brackets fail at once, but a hostile text can make
// each attempt run long: the work is bounded by a budget proportional to
// the text, and once it is spent the rest of the text is left as it came
// (a call drops any value the model sends for a secret argument anyway).
func stripDocuments(rules []Rule, text string) (string, bool) {
	budget := 8*len(text) + 64<<10
	var b strings.Builder
	last, changed := 0, false
	for i := 0; i < len(text) && budget > 0; {
		j := strings.IndexAny(text[i:], "{[")
		if j < 0 {
			break
		}
		start := i + j
		end, cost := valueAt(text, start)
		budget -= cost
		if end < 0 {
			i = start + 1
			continue
		}
		if out, ok := stripToolDefs(rules, []byte(text[start:end]), 0); ok {
			b.WriteString(text[last:start])
			b.Write(out)
			last, changed = end, true
		}
		i = end
	}
	if !changed {
		return text, false
	}
	b.WriteString(text[last:])
	return b.String(), true
}

// valueAt returns the end of the JSON object or array that starts at
// text[start], or -1 if none does, and how many bytes it read to know.
func valueAt(text string, start int) (end, cost int) {
	if !mayStartValue(text, start) {
		return -1, 1
	}
	r := &countingReader{s: text[start:]}
	d := json.NewDecoder(r)
	var v json.RawMessage
	if d.Decode(&v) != nil {
		return -1, r.n
	}
	return start + int(d.InputOffset()), r.n
}

// mayStartValue is a quick look past text[start], '{' or '[', for what
// JSON allows there; most brackets in prose fail it.
func mayStartValue(text string, start int) bool {
	i := start + 1
	for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
		i++
	}
	if i == len(text) {
		return false
	}
	if text[start] == '{' {
		return text[i] == '"' || text[i] == '}'
	}
	return strings.IndexByte(`"{[]-0123456789tfn`, text[i]) >= 0
}

// countingReader reads a string in small pieces, so that a decoder that
// fails early has read little, and counts what was read.
type countingReader struct {
	s string
	n int
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n == len(r.s) {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), 256)], r.s[r.n:])
	r.n += k
	return k, nil
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
