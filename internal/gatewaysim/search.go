package gatewaysim

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxSearchResults is how many tools one search returns at most.
const maxSearchResults = 10

func (s *Sim) addSearchTool() {
	tool := &mcp.Tool{
		Name:        SearchToolName,
		Description: "A special tool that returns a trimmed down list of tools given a context. Use this tool only when there are many tools available and you want to get a subset that matches the provided context.",
		InputSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"query": map[string]any{"type": "string", "description": "search query to use for finding tools"},
			},
			"required": []string{"query"},
		},
	}
	if err := s.addTool(tool, s.search); err != nil {
		panic(err) // a fixed, valid schema
	}
	s.mu.Lock()
	s.tools[SearchToolName] = &simTool{tool: tool}
	s.mu.Unlock()
}

// search stands in for the Gateway's semantic search with word overlap
// between the query and each tool's name (counted twice) and description:
// the best matches first, at most maxSearchResults, full definitions included.
func (s *Sim) search(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var in struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(req.Params.Arguments, &in); err != nil || strings.TrimSpace(in.Query) == "" {
		return failure(s.opts.Debug, "query is required"), nil
	}
	words := strings.FieldsFunc(strings.ToLower(in.Query), notAlnum)
	type hit struct {
		tool  *mcp.Tool
		score int
	}
	var hits []hit
	s.mu.Lock()
	for name, t := range s.tools {
		if name == SearchToolName {
			continue
		}
		name, desc := strings.ToLower(t.tool.Name), strings.ToLower(t.tool.Description)
		score := 0
		for _, w := range words {
			if len(w) < 3 {
				continue // "a", "to", "of" match everything
			}
			if strings.Contains(name, w) {
				score += 2
			}
			if strings.Contains(desc, w) {
				score++
			}
		}
		if score > 0 {
			hits = append(hits, hit{t.tool, score})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(hits, func(a, b hit) int {
		if a.score != b.score {
			return b.score - a.score
		}
		return strings.Compare(a.tool.Name, b.tool.Name)
	})
	tools := []*mcp.Tool{}
	for i, h := range hits {
		if i == maxSearchResults {
			break
		}
		tools = append(tools, h.tool)
	}
	structured := map[string]any{"tools": tools}
	text, err := json.Marshal(structured)
	if err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: string(text)}},
		StructuredContent: structured,
	}, nil
}

func notAlnum(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
}
