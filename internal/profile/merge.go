package profile

// Adding a profile to a config file as text: the file's other profiles,
// its comments, order and layout stay as they were, byte for byte. The
// file is parsed only to find where its profiles are.

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
)

// An ExistsError refuses to replace a profile the file already has.
type ExistsError struct {
	Name string
	At   string // file:line:col of its key
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s: profile %q already exists", e.At, e.Name)
}

// AddProfile returns the config file data (at path, for messages; empty
// data is a new file) with profile name added at the end of profiles:,
// body being its settings with their keys at column 0. A profile of that
// name is an *ExistsError unless replace; then its lines (up to the
// comments heading the next key) give way to the new ones. The result
// is parsed again, and must hold the profile.
func AddProfile(path string, data []byte, name string, body []byte, replace bool) ([]byte, error) {
	if err := checkProfileName(name); err != nil {
		return nil, fmt.Errorf("profile name %q: %v", name, err)
	}
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return nil, &Error{at: path, msg: "the file is UTF-16: add the profile by hand (print it with --print)"}
	}
	if _, err := Parse(path, data); err != nil {
		return nil, err
	}
	text := string(data)
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	lines := strings.SplitAfter(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	block := func(indent int) []string {
		pad := strings.Repeat(" ", indent)
		out := []string{pad + name + ":\n"}
		for _, l := range strings.SplitAfter(strings.TrimRight(string(body), "\n")+"\n", "\n") {
			if l == "" {
				continue
			}
			if strings.TrimSpace(l) == "" {
				out = append(out, "\n")
				continue
			}
			out = append(out, pad+"  "+l)
		}
		return out
	}

	top, profiles, err := profileLines(text)
	if err != nil {
		return nil, &Error{at: path, msg: err.Error()}
	}
	var out []string
	switch {
	case profiles == nil:
		// No profiles: key: add it after the last top-level entry.
		out = append(slices.Clone(lines), "profiles:\n")
		out = append(out, block(2)...)
	default:
		indent := 2
		if len(profiles.keys) > 0 {
			indent = profiles.keys[0].col - 1
		}
		// The end of the profiles block: the next top-level key, less the
		// comments and blank lines heading it.
		end := len(lines)
		for _, k := range top {
			if k.line > profiles.line {
				end = k.line - 1
				break
			}
		}
		end = backOff(lines, profiles.line, end, 0)
		at := slices.IndexFunc(profiles.keys, func(k keyPos) bool { return k.name == name })
		if at >= 0 && !replace {
			k := profiles.keys[at]
			return nil, &ExistsError{Name: name, At: fmt.Sprintf("%s:%d:%d", path, k.line, k.col)}
		}
		if at >= 0 {
			start := profiles.keys[at].line - 1
			stop := end
			if at+1 < len(profiles.keys) {
				stop = backOff(lines, start+1, profiles.keys[at+1].line-1, indent)
			}
			out = append(slices.Clone(lines[:start]), block(indent)...)
			out = append(out, lines[stop:]...)
		} else {
			if profiles.inline {
				return nil, &Error{at: fmt.Sprintf("%s:%d", path, profiles.line), msg: "profiles: is written on one line (flow style): add the profile by hand (print it with --print)"}
			}
			out = append(slices.Clone(lines[:end]), block(indent)...)
			out = append(out, lines[end:]...)
		}
	}
	result := []byte(strings.Join(out, ""))
	f, err := Parse(path, result)
	if err != nil {
		return nil, fmt.Errorf("the file with profile %q added does not parse (%w): add it by hand (print it with --print)", name, err)
	}
	if !slices.Contains(f.Names(), name) {
		return nil, &Error{at: path, msg: fmt.Sprintf("profile %q could not be placed in the file: add it by hand (print it with --print)", name)}
	}
	return result, nil
}

// backOff moves end (a count of lines) back over the blank lines and the
// comments at column <= indent that end lines[from:end]: they head what
// comes next.
func backOff(lines []string, from, end, indent int) int {
	for end > from {
		l := lines[end-1]
		t := strings.TrimLeft(l, " ")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(t, "#") && len(l)-len(t) <= indent {
			end--
			continue
		}
		break
	}
	return end
}

type keyPos struct {
	name      string
	line, col int
}

type profilesPos struct {
	line   int // of the profiles: key
	keys   []keyPos
	inline bool // a flow mapping ({…}) or a value on the key's line
}

// profileLines finds the top-level keys and the profiles' keys of text.
func profileLines(text string) ([]keyPos, *profilesPos, error) {
	f, err := parser.Parse(lexer.Tokenize(text), 0)
	if err != nil {
		return nil, nil, err
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body != nil {
			body = doc.Body
		}
	}
	var top []keyPos
	var profiles *profilesPos
	for _, mv := range mappingValues(body) {
		tk := mv.Key.GetToken()
		k := keyPos{name: tk.Value, line: tk.Position.Line, col: tk.Position.Column}
		top = append(top, k)
		if k.name != "profiles" {
			continue
		}
		profiles = &profilesPos{line: k.line}
		if m, ok := mv.Value.(*ast.MappingNode); ok && m.IsFlowStyle {
			profiles.inline = true
		}
		for _, pv := range mappingValues(mv.Value) {
			ptk := pv.Key.GetToken()
			profiles.keys = append(profiles.keys, keyPos{name: ptk.Value, line: ptk.Position.Line, col: ptk.Position.Column})
			if ptk.Position.Line == k.line {
				profiles.inline = true
			}
		}
	}
	return top, profiles, nil
}

func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	case *ast.AnchorNode:
		return mappingValues(v.Value)
	}
	return nil
}
