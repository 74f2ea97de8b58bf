// Package configs holds the example files that ship with agw-proxy.
package configs

import _ "embed"

// AsanaOpenAPI is the OpenAPI 3 spec of the example Asana target: one
// endpoint, POST /asana (operationId asanaInvoke), that takes the user's
// Asana token in the X-Asana-Token header and the operation in a JSON body.
// The emulator in internal/gatewaysim serves it as its default target.
//
//go:embed asana-openapi.json
var AsanaOpenAPI []byte

// ExampleConfig is config.yaml: an annotated example of the config file,
// every key explained. "agw-proxy init" writes it where agw-proxy looks for
// its config file, and "agw-proxy init --example" prints it.
//
//go:embed config.yaml
var ExampleConfig []byte
