package gatewayinit

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// An Operation is one OpenAPI operation: the tool {target}___{ID}.
type Operation struct {
	ID      string
	Method  string   // lower case: get, post, …
	Headers []string // the header parameters it declares, in order
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Operations reads the operations of an OpenAPI document (3.x or Swagger
// 2, JSON or YAML) and the header parameters each declares, its path's
// included, with $ref to components/parameters (or parameters) resolved.
// Operations without an operationId are skipped: the Gateway names tools
// by it. The order is the paths', then the methods', sorted.
func Operations(spec []byte) ([]Operation, error) {
	var doc map[string]any
	var err error
	if t := bytes.TrimSpace(spec); len(t) > 0 && t[0] == '{' {
		err = json.Unmarshal(t, &doc)
	} else {
		err = yaml.Unmarshal(spec, &doc)
	}
	if err != nil {
		return nil, err
	}
	paths, _ := doc["paths"].(map[string]any)
	var ops []Operation
	for _, path := range sortedKeys(paths) {
		item, _ := paths[path].(map[string]any)
		shared := headerParams(doc, item["parameters"])
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			if id == "" {
				continue
			}
			hs := slices.Clone(shared)
			for _, h := range headerParams(doc, op["parameters"]) {
				if !containsFold(hs, h) {
					hs = append(hs, h)
				}
			}
			ops = append(ops, Operation{ID: id, Method: m, Headers: hs})
		}
	}
	return ops, nil
}

// headerParams returns the names of the header parameters of a
// parameters list.
func headerParams(doc map[string]any, list any) []string {
	params, _ := list.([]any)
	var out []string
	for _, p := range params {
		m, _ := p.(map[string]any)
		for range 5 { // a chain of $refs, bounded
			ref, ok := m["$ref"].(string)
			if !ok {
				break
			}
			m = resolve(doc, ref)
		}
		if in, _ := m["in"].(string); in == "header" {
			if name, _ := m["name"].(string); name != "" && !containsFold(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// resolve follows a local JSON pointer ("#/components/parameters/Token").
func resolve(doc map[string]any, ref string) map[string]any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = doc
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, _ := cur.(map[string]any)
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// LooksLikeCredential reports whether a header's name suggests it carries a
// credential: it contains Token, Authorization, Key or Secret, in any case.
func LooksLikeCredential(header string) bool {
	h := strings.ToLower(header)
	for _, w := range []string{"token", "authorization", "key", "secret"} {
		if strings.Contains(h, w) {
			return true
		}
	}
	return false
}
