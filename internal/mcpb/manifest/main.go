// Command manifest prints the manifest.json of agw-proxy's release MCP
// Bundle for one OS: .ci/mcpb.sh (goreleaser's post-build hook) runs it.
//
//	go run ./internal/mcpb/manifest -version 1.2.3 -goos darwin
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/agw-proxy/agw-proxy/internal/mcpb"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func main() {
	version := flag.String("version", "", "the bundle's version (agw-proxy's)")
	goos := flag.String("goos", "", "the OS of the binary in the bundle: darwin, linux or windows")
	flag.Parse()
	m, err := mcpb.Manifest(mcpb.Spec{Name: "agw-proxy", Version: *version, GOOS: *goos}, EnvVar)
	if err == nil {
		_, err = os.Stdout.Write(m)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "manifest:", err)
		os.Exit(1)
	}
}

// EnvVar is the variable serve reads a secret from; "" is the Cognito
// client secret.
func EnvVar(secret string) string {
	if secret == "" {
		secret = tokenstore.ClientSecretName
	}
	return tokenstore.EnvVar(secret)
}
