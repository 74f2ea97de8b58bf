package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// DefaultFormat is the format of an injected value when a Rule sets none.
const DefaultFormat = "Bearer {secret}"

// A Rule fills one tool argument from a stored secret. The argument is
// removed from the schema of every tool whose name matches one of Tools and
// that declares the argument; on a call to such a tool the proxy sets it to
// Format with "{secret}" replaced by the secret, whatever the model sent.
type Rule struct {
	Argument string   // tool argument, e.g. "X-Asana-Token"
	Secret   string   // name of the stored secret, e.g. "asana"
	Format   string   // e.g. "Bearer {secret}"; DefaultFormat when empty
	Tools    []string // path.Match globs over Gateway tool names; at least one
}

func (r Rule) validate() error {
	switch {
	case r.Argument == "":
		return errors.New("proxy: rule has no argument")
	case r.Secret == "":
		return fmt.Errorf("proxy: rule for argument %q has no secret", r.Argument)
	case len(r.Tools) == 0:
		return fmt.Errorf("proxy: rule for argument %q names no tools", r.Argument)
	case r.Format != "" && !strings.Contains(r.Format, "{secret}"):
		return fmt.Errorf("proxy: rule for argument %q: format has no {secret}", r.Argument)
	}
	for _, g := range r.Tools {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("proxy: rule for argument %q: bad tool glob %q", r.Argument, g)
		}
	}
	return nil
}

// matchesName reports whether the rule's globs cover the tool name.
func (r *Rule) matchesName(tool string) bool {
	for _, g := range r.Tools {
		if ok, _ := path.Match(g, tool); ok {
			return true
		}
	}
	return false
}

// value returns the argument value for the secret.
func (r *Rule) value(s tokenstore.Secret) tokenstore.Secret {
	f := r.Format
	if f == "" {
		f = DefaultFormat
	}
	return tokenstore.Secret(strings.ReplaceAll(f, "{secret}", string(s)))
}

// declares reports whether a tool input schema has the argument in its
// properties or its required list.
func declares(schema map[string]any, arg string) bool {
	if props, ok := schema["properties"].(map[string]any); ok {
		if _, ok := props[arg]; ok {
			return true
		}
	}
	if req, ok := schema["required"].([]any); ok {
		for _, v := range req {
			if v == arg {
				return true
			}
		}
	}
	return false
}

// rulesFor returns the rules that apply to a tool: its name matches a rule's
// globs and its schema declares the rule's argument.
func rulesFor(rules []Rule, name string, schema map[string]any) []*Rule {
	var out []*Rule
	for i := range rules {
		r := &rules[i]
		if r.matchesName(name) && declares(schema, r.Argument) {
			out = append(out, r)
		}
	}
	return out
}

// stripArgs returns a copy of schema without the given arguments in
// properties and required. The input is not modified; nested values are
// shared, since nothing below the top level changes.
func stripArgs(schema map[string]any, args []string) map[string]any {
	out := make(map[string]any, len(schema))
	for k, v := range schema {
		out[k] = v
	}
	if props, ok := schema["properties"].(map[string]any); ok {
		np := make(map[string]any, len(props))
		for k, v := range props {
			if !containsString(args, k) {
				np[k] = v
			}
		}
		out["properties"] = np
	}
	if req, ok := schema["required"].([]any); ok {
		nr := make([]any, 0, len(req))
		for _, v := range req {
			if s, ok := v.(string); ok && containsString(args, s) {
				continue
			}
			nr = append(nr, v)
		}
		out["required"] = nr
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// errNotObject reports tool arguments that are not a JSON object.
var errNotObject = errors.New("tool arguments are not a JSON object")

// injectArgs returns args (a JSON object, or empty) with each key of values
// set to its value, replacing whatever the model sent for it.
func injectArgs(args json.RawMessage, values map[string]tokenstore.Secret) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if trimmed := strings.TrimSpace(string(args)); trimmed != "" && trimmed != "null" {
		if err := json.Unmarshal(args, &m); err != nil || m == nil {
			return nil, errNotObject
		}
	}
	for k, v := range values {
		b, err := json.Marshal(string(v))
		if err != nil {
			return nil, err
		}
		m[k] = b
	}
	return json.Marshal(m)
}
