package main

import (
	"encoding/json"
	"fmt"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

// startBigSim starts an emulator whose one target has c.tools operations
// (bigSpec): the Gateway of the big-list and latency phases.
func startBigSim(c config) (*gatewaysim.Sim, error) {
	return gatewaysim.Start(gatewaysim.Options{Targets: []gatewaysim.Target{{
		Name: gatewaysim.DefaultTargetName, Spec: bigSpec(c.tools), APIKey: gatewaysim.DefaultAPIKey,
	}}})
}

// bigSpec returns an OpenAPI 3 document with n operations shaped like a
// real REST API's (Asana's, roughly): path and query parameters, a required
// X-Asana-Token header on every operation, and for writes a JSON body with
// nested objects, arrays, enums and formats. Each tool's flattened
// inputSchema is about 2 KB of JSON, as in the prototype's measurement.
func bigSpec(n int) []byte {
	verbs := []struct {
		method, suffix, summary string
		item, body              bool
	}{
		{"get", "", "List %s", false, false},
		{"post", "", "Create a %s", false, true},
		{"get", "/{gid}", "Get a %s", true, false},
		{"put", "/{gid}", "Update a %s", true, true},
		{"delete", "/{gid}", "Delete a %s", true, false},
		{"post", "/{gid}/duplicate", "Duplicate a %s", true, true},
		{"post", "/{gid}/addFollowers", "Add followers to a %s", true, true},
		{"post", "/{gid}/removeFollowers", "Remove followers from a %s", true, true},
		{"get", "/{gid}/stories", "List the stories of a %s", true, false},
		{"post", "/{gid}/setParent", "Set the parent of a %s", true, true},
	}
	paths := map[string]map[string]any{}
	for i := 0; i < n; i++ {
		v := verbs[i%len(verbs)]
		res := fmt.Sprintf("resource%03d", i/len(verbs))
		path := "/" + res + v.suffix
		params := []any{
			map[string]any{
				"name": "X-Asana-Token", "in": "header", "required": true,
				"description": "Asana personal access token of the end user, sent as \"Bearer <token>\"",
				"schema":      map[string]any{"type": "string"},
			},
			map[string]any{
				"name": "opt_fields", "in": "query", "style": "form", "explode": false,
				"description": "This endpoint returns a resource which excludes some properties by default. To include those optional properties, set this query parameter to a comma-separated list of the properties you wish to include.",
				"schema":      map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []any{"name", "notes", "due_on", "assignee", "followers", "projects", "tags", "custom_fields", "created_at", "modified_at"}}},
			},
			map[string]any{
				"name": "opt_pretty", "in": "query",
				"description": "Provides \"pretty\" output. Provides the response in a \"pretty\" format. In the case of JSON this means doing proper line breaking and indentation to make it readable. This will take extra time and increase the response size so it is advisable only to use this during debugging.",
				"schema":      map[string]any{"type": "boolean"},
			},
		}
		if v.item {
			params = append(params, map[string]any{
				"name": "gid", "in": "path", "required": true,
				"description": "Globally unique identifier for the " + res + ".",
				"schema":      map[string]any{"type": "string", "pattern": "^[0-9]+$"},
			})
		} else {
			params = append(params,
				map[string]any{"name": "limit", "in": "query", "description": "Results per page. The number of objects to return per page. The value must be between 1 and 100.", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 100}},
				map[string]any{"name": "offset", "in": "query", "description": "Offset token. An offset to the next page returned by the API. A pagination request will return an offset token, which can be used as an input parameter to the next request.", "schema": map[string]any{"type": "string"}},
			)
		}
		op := map[string]any{
			"operationId": fmt.Sprintf("op%04d_%s", i, res),
			"summary":     fmt.Sprintf(v.summary, res),
			"description": fmt.Sprintf(v.summary, res) + ". Returns the complete record for the " + res + " with the fields named in opt_fields. Requires the user's own Asana token.",
			"parameters":  params,
			"responses":   map[string]any{"200": map[string]any{"description": "Successfully retrieved the record."}},
		}
		if v.body {
			op["requestBody"] = map[string]any{
				"required": true,
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
					"type":     "object",
					"required": []any{"name"},
					"properties": map[string]any{
						"name":      map[string]any{"type": "string", "description": "Name of the " + res + ". This is generally a short sentence fragment that fits on a line in the UI for maximum readability."},
						"notes":     map[string]any{"type": "string", "description": "Free-form textual information associated with the " + res + " (i.e. its description)."},
						"due_on":    map[string]any{"type": "string", "format": "date", "description": "The localized date on which this " + res + " is due, or null if it has no due date."},
						"assignee":  map[string]any{"type": "string", "description": "Gid of a user."},
						"followers": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "An array of strings identifying users. These can either be the string \"me\", an email, or the gid of a user."},
						"resource_subtype": map[string]any{"type": "string", "enum": []any{"default_task", "milestone", "section", "approval"},
							"description": "The subtype of this resource. Different subtypes retain many of the same fields and behavior, but may render differently in Asana or represent resources with different semantic meaning."},
						"custom_fields": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"},
							"description": "An object where each key is the GID of a custom field and its corresponding value is either an enum GID, string, number, or object."},
						"memberships": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
							"project": map[string]any{"type": "string", "description": "Gid of a project."},
							"section": map[string]any{"type": "string", "description": "Gid of a section."},
						}}},
					},
				}}},
			}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][v.method] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "Generated benchmark API", "version": "1.0.0"},
		"servers": []any{map[string]any{"url": "https://example.execute-api.us-east-1.amazonaws.com/prod"}},
		"paths":   paths,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // only maps, strings and numbers
	}
	return b
}
