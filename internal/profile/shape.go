package profile

// Bounds on the config file's shape, checked on its tokens before it is
// parsed. goccy/go-yaml's lexer takes time linear in the file, but its
// parser takes time quadratic in the number of keys of one block mapping
// and in the nesting depth (goccy/go-yaml#889, #902, open upstream): a
// 1 MiB file of 100,000 profiles would parse for a minute. No config file
// comes near these bounds; what the parser builds within them, decoding
// walks within maxSteps.

import (
	"fmt"

	"github.com/goccy/go-yaml/token"
)

const (
	// maxDepth is how deep collections may nest; a config file needs 6.
	maxDepth = 64
	// maxKeys is how many keys one block mapping may hold (profiles:).
	maxKeys = 10_000
	// maxKeysWork bounds the parser's work on all block mappings: the sum
	// over them of 1+2+...+n for n keys, about n²/2. Two mappings of
	// maxKeys, or more smaller ones, parse in well under a second.
	maxKeysWork = maxKeys * maxKeys
)

// checkShape refuses a file nested deeper than maxDepth, or with block
// mappings over maxKeys or maxKeysWork, at the token where the bound is
// passed.
func checkShape(path string, tokens token.Tokens) error {
	// The open block collections, by the column of their keys or "-".
	type block struct {
		col  int
		seq  bool
		keys int
	}
	var open []block
	flow, work := 0, 0
	fail := func(tk *token.Token, format string, a ...any) error {
		return &Error{at: position(path, tk), msg: fmt.Sprintf(format, a...)}
	}
	for i, tk := range tokens {
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
			if flow+len(open) > maxDepth {
				return fail(tk, "collections nested more than %d deep", maxDepth)
			}
			continue
		case token.SequenceEndType, token.MappingEndType:
			flow = max(flow-1, 0)
			continue
		}
		if flow > 0 || tk.Position == nil {
			continue // flow collections parse in linear time
		}
		var seq bool
		switch {
		case tk.Type == token.SequenceEntryType:
			seq = true
		case tk.Type == token.MappingKeyType:
		case i+1 < len(tokens) && tokens[i+1].Type == token.MappingValueType:
		default:
			continue
		}
		col := tk.Position.Column
		// Close what this line is outside of. A block sequence may stand at
		// its parent key's column ("key:\n- item"): a key there closes it.
		for len(open) > 0 {
			top := open[len(open)-1]
			if top.col < col || top.col == col && (top.seq == seq || !top.seq) {
				break
			}
			open = open[:len(open)-1]
		}
		if n := len(open); n > 0 && open[n-1].col == col && open[n-1].seq == seq {
			open[n-1].keys++
		} else {
			open = append(open, block{col: col, seq: seq, keys: 1})
			if flow+len(open) > maxDepth {
				return fail(tk, "collections nested more than %d deep", maxDepth)
			}
		}
		if top := open[len(open)-1]; !top.seq {
			work += top.keys
			switch {
			case top.keys > maxKeys:
				return fail(tk, "more than %d keys in one mapping", maxKeys)
			case work > maxKeysWork:
				return fail(tk, "too many keys in large mappings: at most %d in one, fewer when several are large", maxKeys)
			}
		}
	}
	return nil
}
