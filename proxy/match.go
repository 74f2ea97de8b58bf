package proxy

import (
	"cmp"
	"encoding/json"
	"path"
	"slices"
	"strings"

	"github.com/agw-proxy/agw-proxy/internal/textdist"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A RuleMatch says which of a Gateway's tools a Rule fills and, when it fills
// none, what the rule's author probably meant. `agw-proxy doctor` reports it.
type RuleMatch struct {
	// Filled are the tools the proxy fills the argument of: the name
	// matches one of the rule's globs and the input schema declares the
	// argument. For a header rule, the tools whose calls carry the header:
	// the name matches (the search tool aside). These are exactly the
	// tools whose schema the proxy strips (of a header rule's argument
	// when they declare it).
	Filled []string
	// Declaring are the tools of Filled whose input schema declares the
	// argument (for an argument rule, all of them). A header rule's
	// argument is stripped from these; the Gateway must fill it from the
	// propagated header.
	Declaring []string
	// Named are the tools whose name matches one of the globs, whether or
	// not they declare the argument (Filled is a subset).
	Named []string
	// NearNames, when Named is empty, are tool names that a glob nearly
	// matches: it matches them ignoring case, or its literal part (before
	// the first *, ? or [) is a few edits away from the start of the name.
	// Only the closest ones, by name, at most MaxNear.
	NearNames []string
	// NearArguments, when Named is not empty but Filled is, are arguments
	// that the named tools declare and that look like the rule's: equal
	// ignoring case, or a few edits away. Only the closest ones, by name,
	// at most MaxNear.
	NearArguments []string
	// Arguments, when Named is not empty but Filled is, are all the
	// arguments the named tools declare, sorted.
	Arguments []string
}

// MaxNear bounds RuleMatch.NearNames and RuleMatch.NearArguments.
const MaxNear = 5

// MatchRule reports how r applies to tools, a Gateway's tool list, with the
// proxy's own decision (path.Match globs over the tool name, and the
// argument in the schema's properties or required list).
func MatchRule(r Rule, tools []*mcp.Tool) RuleMatch {
	var m RuleMatch
	rules := []Rule{r}
	for _, t := range tools {
		if !r.matchesName(t.Name) {
			continue
		}
		m.Named = append(m.Named, t.Name)
		schema := schemaJSON(t)
		if len(rulesForTool(rules, t.Name, schema)) > 0 {
			m.Filled = append(m.Filled, t.Name)
			if declaresRaw(schema, r.Argument) {
				m.Declaring = append(m.Declaring, t.Name)
			}
		}
	}
	switch {
	case len(m.Named) == 0:
		m.NearNames = nearNames(r.Tools, tools)
	case len(m.Filled) == 0 && !r.header():
		m.NearArguments, m.Arguments = nearArguments(r, tools)
	}
	return m
}

// near is a candidate suggestion and how far it is from what was written.
type near struct {
	name string
	dist int
}

// closest returns the candidates at the smallest distance, by name, at most
// MaxNear: one likely fix, not a list of everything vaguely alike.
func closest(c []near) []string {
	slices.SortFunc(c, func(a, b near) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), strings.Compare(a.name, b.name))
	})
	var out []string
	for _, n := range c {
		if len(out) == MaxNear || n.dist > c[0].dist {
			break
		}
		out = append(out, n.name)
	}
	return out
}

// closeEnough is the largest edit distance still taken for a typo of a word
// of length n.
func closeEnough(n int) int { return max(2, n/4) }

// nearNames returns the tool names the globs nearly match.
func nearNames(globs []string, tools []*mcp.Tool) []string {
	var c []near
	for _, t := range tools {
		best := -1
		for _, g := range globs {
			if d, ok := globDistance(g, t.Name); ok && (best < 0 || d < best) {
				best = d
			}
		}
		if best >= 0 {
			c = append(c, near{t.Name, best})
		}
	}
	return closest(c)
}

// globDistance says how far glob is from matching name: 0 when it matches
// ignoring case; otherwise the edit distance between the glob's literal
// prefix and the start of name (the whole name when the glob has no
// wildcard). ok is false when the distance is too large to be a typo.
func globDistance(glob, name string) (dist int, ok bool) {
	g, n := strings.ToLower(glob), strings.ToLower(name)
	if m, _ := path.Match(g, n); m {
		return 0, true
	}
	i := strings.IndexAny(g, `*?[\`)
	if i < 0 {
		d := textdist.Levenshtein(g, n)
		return d, d <= closeEnough(len(g))
	}
	prefix := g[:i]
	if prefix == "" {
		return 0, false
	}
	// The start of the name may be a little longer or shorter than the
	// prefix when the typo inserted or dropped characters.
	best := -1
	for k := max(0, len(prefix)-2); k <= min(len(n), len(prefix)+2); k++ {
		if d := textdist.Levenshtein(prefix, n[:k]); best < 0 || d < best {
			best = d
		}
	}
	return best, best <= closeEnough(len(prefix))
}

// nearArguments returns the arguments declared by the tools the rule's
// globs match that look like the rule's argument, and all of them.
func nearArguments(r Rule, tools []*mcp.Tool) (nearest, all []string) {
	want := strings.ToLower(r.Argument)
	seen := map[string]bool{}
	var c []near
	for _, t := range tools {
		if !r.matchesName(t.Name) {
			continue
		}
		for _, arg := range declaredArguments(schemaJSON(t)) {
			if seen[arg] {
				continue
			}
			seen[arg] = true
			all = append(all, arg)
			if d := textdist.Levenshtein(want, strings.ToLower(arg)); d <= closeEnough(len(want)) {
				c = append(c, near{arg, d})
			}
		}
	}
	slices.Sort(all)
	return closest(c), all
}

// schemaJSON returns a tool's input schema as JSON, as the Gateway sent it
// (the SDK decodes it): the proxy reads schemas in that form only.
func schemaJSON(t *mcp.Tool) []byte {
	b, err := json.Marshal(t.InputSchema)
	if err != nil {
		return nil
	}
	return b
}
