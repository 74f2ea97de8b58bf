package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/atomicfile"
	"github.com/agw-proxy/agw-proxy/internal/mcpb"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// runMCPConfigBundle is mcp-config --client claude-desktop --mcpb FILE: a
// Claude Desktop extension holding this binary, which runs mcpb-serve with
// the args the profile's entry has, and asks Claude Desktop for the
// profile's secrets as sensitive fields mapped to the variables serve reads
// (internal/mcpb). No secret is read or written here.
func runMCPConfigBundle(e *env, o *mcpConfigOptions) error {
	server, name, err := mcpServer(e, o)
	if err != nil {
		return err
	}
	p := e.profile // resolved by mcpServer
	bin, err := os.ReadFile(server.Command)
	if err != nil {
		return fmt.Errorf("mcp-config: cannot read the agw-proxy binary to bundle: %w", err)
	}
	spec := mcpb.Spec{
		Name: name, Version: bundleVersion(currentBuild().Version), GOOS: runtime.GOOS,
		Args: server.Args[1:], Secrets: p.SecretNames(),
		ClientSecret: p.Auth.Type == profile.AuthClientCredentials,
		Profile:      "profile " + p.Name,
	}
	manifest, err := mcpb.Manifest(spec, secretEnvVar)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := mcpb.Write(&b, manifest, runtime.GOOS, bytes.NewReader(bin), nil, time.Now()); err != nil {
		return err
	}
	path := absPath(o.mcpb)
	if err := atomicfile.Write(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("mcp-config: %w", err)
	}
	writef(e.stdout, "%s: Claude Desktop extension %q for profile %q (%s/%s)\n", path, name, p.Name, runtime.GOOS, runtime.GOARCH)
	asks := len(spec.Secrets)
	if spec.ClientSecret {
		asks++
	}
	writef(e.stdout, "Open it in Claude Desktop (Settings > Extensions, or double-click) to install it; it asks for %d secret(s), kept in the OS keychain: leave one empty to use what \"agw-proxy login\" stored.\n", asks)
	return nil
}

// secretEnvVar is the variable serve reads a secret from; "" is the
// Cognito client secret.
func secretEnvVar(secret string) string {
	if secret == "" {
		secret = tokenstore.ClientSecretName
	}
	return tokenstore.EnvVar(secret)
}

// bundleVersion is v as a bundle's version: MCPB wants semver, and a build
// without a stamped version reports "devel".
func bundleVersion(v string) string {
	if v == "" || v[0] < '0' || v[0] > '9' {
		return "0.0.0-" + v
	}
	return v
}
