package gatewaysim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The subset of OpenAPI 3 that a Gateway OpenAPI target uses, decoded with
// encoding/json (kin-openapi's init cost would break the CLI's start-up
// budget, and the Gateway accepts only this subset anyway).

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas       map[string]any `json:"schemas"`
		Parameters    map[string]any `json:"parameters"`
		RequestBodies map[string]any `json:"requestBodies"`
	} `json:"components"`
}

// operation is one OpenAPI operation turned into a Gateway tool.
type operation struct {
	target      string
	name        string // {target}___{operationId}
	description string
	method      string            // upper case
	path        string            // template, e.g. /tasks/{task_gid}
	in          map[string]string // argument -> "path" | "query" | "header"; others go to the body
	hasBody     bool
	schema      map[string]any
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// parseOpenAPI turns a spec into operations, rejecting what the Gateway
// rejects at target creation: not OpenAPI 3.0/3.1, a missing operationId,
// a request body without application/json, oneOf/anyOf/allOf.
func parseOpenAPI(target string, spec []byte) ([]*operation, error) {
	var doc openAPIDoc
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("gatewaysim: target %s: spec: %w", target, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") && !strings.HasPrefix(doc.OpenAPI, "3.1") {
		return nil, fmt.Errorf("gatewaysim: target %s: openapi %q: only 3.0 and 3.1 are supported", target, doc.OpenAPI)
	}
	root := map[string]any{"components": map[string]any{
		"schemas": doc.Components.Schemas, "parameters": doc.Components.Parameters, "requestBodies": doc.Components.RequestBodies,
	}}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var ops []*operation
	for _, p := range paths {
		item := doc.Paths[p]
		var common []any
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &common); err != nil {
				return nil, fmt.Errorf("gatewaysim: target %s: %s parameters: %w", target, p, err)
			}
		}
		for _, m := range httpMethods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			var o map[string]any
			if err := json.Unmarshal(raw, &o); err != nil {
				return nil, fmt.Errorf("gatewaysim: target %s: %s %s: %w", target, m, p, err)
			}
			resolved, err := resolveRefs(root, o, 0)
			if err != nil {
				return nil, fmt.Errorf("gatewaysim: target %s: %s %s: %w", target, m, p, err)
			}
			o = resolved.(map[string]any)
			op, err := newOperation(target, strings.ToUpper(m), p, o, root, common)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
	}
	return ops, nil
}

func newOperation(target, method, path string, o, root map[string]any, common []any) (*operation, error) {
	id, _ := o["operationId"].(string)
	if id == "" {
		return nil, fmt.Errorf("gatewaysim: target %s: %s %s: operationId is required", target, method, path)
	}
	op := &operation{
		target: target,
		name:   target + "___" + id,
		method: method,
		path:   path,
		in:     map[string]string{},
	}
	op.description, _ = o["description"].(string)
	if op.description == "" {
		op.description, _ = o["summary"].(string)
	}
	props := map[string]any{}
	var required []string
	addRequired := func(name string) {
		if !slices.Contains(required, name) {
			required = append(required, name)
		}
	}

	params, _ := o["parameters"].([]any)
	resolvedCommon, err := resolveRefs(root, common, 0)
	if err != nil {
		return nil, fmt.Errorf("gatewaysim: target %s: %s %s: %w", target, method, path, err)
	}
	// Operation parameters override path-item ones of the same name and location.
	all := append([]any{}, params...)
	for _, c := range resolvedCommon.([]any) {
		cm, _ := c.(map[string]any)
		if !slices.ContainsFunc(params, func(p any) bool {
			pm, _ := p.(map[string]any)
			return pm["name"] == cm["name"] && pm["in"] == cm["in"]
		}) {
			all = append(all, c)
		}
	}
	for _, p := range all {
		pm, _ := p.(map[string]any)
		name, _ := pm["name"].(string)
		in, _ := pm["in"].(string)
		switch in {
		case "path", "query", "header":
		case "cookie":
			continue // not supported by the Gateway; leave it out
		default:
			return nil, fmt.Errorf("gatewaysim: target %s: %s: parameter %q: bad location %q", target, op.name, name, in)
		}
		if name == "" {
			return nil, fmt.Errorf("gatewaysim: target %s: %s: parameter without a name", target, op.name)
		}
		schema, _ := pm["schema"].(map[string]any)
		prop := map[string]any{}
		for k, v := range schema {
			prop[k] = v
		}
		if d, ok := pm["description"].(string); ok && prop["description"] == nil {
			prop["description"] = d
		}
		props[name] = prop
		op.in[name] = in
		if req, _ := pm["required"].(bool); req || in == "path" {
			addRequired(name)
		}
	}

	if rb, ok := o["requestBody"].(map[string]any); ok {
		content, _ := rb["content"].(map[string]any)
		mt, ok := content["application/json"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("gatewaysim: target %s: %s: request body must be application/json", target, op.name)
		}
		op.hasBody = true
		schema, _ := mt["schema"].(map[string]any)
		bodyProps, _ := schema["properties"].(map[string]any)
		for name, v := range bodyProps {
			if _, taken := op.in[name]; taken {
				continue // a parameter of the same name wins
			}
			props[name] = v
		}
		reqs, _ := schema["required"].([]any)
		for _, r := range reqs {
			if name, ok := r.(string); ok {
				if _, taken := op.in[name]; !taken {
					addRequired(name)
				}
			}
		}
	}
	op.schema = map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		op.schema["required"] = required
	}
	return op, nil
}

// resolveRefs returns v with every local "$ref" ("#/components/...")
// replaced by a copy of its target, and fails on oneOf/anyOf/allOf, which
// the Gateway rejects.
func resolveRefs(root map[string]any, v any, depth int) (any, error) {
	if depth > 32 {
		return nil, fmt.Errorf("$ref nesting too deep (cycle?)")
	}
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			target, err := lookupRef(root, ref)
			if err != nil {
				return nil, err
			}
			return resolveRefs(root, target, depth+1)
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			if k == "oneOf" || k == "anyOf" || k == "allOf" {
				return nil, fmt.Errorf("%s is not supported", k)
			}
			r, err := resolveRefs(root, e, depth)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			r, err := resolveRefs(root, e, depth)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func lookupRef(root map[string]any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q: only local references are supported", ref)
	}
	var cur any = root
	for part := range strings.SplitSeq(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: not found", ref)
		}
		if cur, ok = m[part]; !ok || cur == nil {
			return nil, fmt.Errorf("$ref %q: not found", ref)
		}
	}
	return cur, nil
}
