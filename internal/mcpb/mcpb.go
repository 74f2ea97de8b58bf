// Package mcpb makes agw-proxy's MCP Bundle (.mcpb), the one-click
// extension of Claude Desktop: a zip holding manifest.json and the binary
// (server/agw-proxy, or agw-proxy.exe on Windows). The manifest's
// user_config asks Claude Desktop for the secrets as sensitive fields, which
// it keeps in the OS keychain and hands to the server in its environment
// (AGW_PROXY_CLIENT_SECRET, AGW_PROXY_SECRET_<NAME>), never in args or files.
//
// There are two kinds of bundle:
//   - the release bundle (Spec.Args nil), one per OS/arch the release ships,
//     built by goreleaser (.ci/mcpb.sh): it asks for the profile options too
//     (gateway URL, auth settings, one inject rule, call timeout) and fills
//     them into args by ${user_config.KEY}; its one inject rule fills its
//     value from the secret "extension" (AGW_PROXY_SECRET_EXTENSION);
//   - a profile's bundle ("agw-proxy mcp-config --client claude-desktop
//     --mcpb FILE"): the profile's args as mcp-config writes them, and one
//     sensitive field per secret its inject rules name.
//
// Both run "agw-proxy mcpb-serve", which is serve with Claude Desktop's
// substitution undone where the user left a field empty: the mcpb hosts
// (@anthropic-ai/mcpb's getMcpConfigForManifest) then leave the
// "${user_config.KEY}" text in place, or put "", and mcpb-serve drops such
// an option rather than pass it on (see cmd/agw-proxy/mcpb.go).
//
// The manifest format is MCPB manifest_version 0.3 (github.com/
// modelcontextprotocol/mcpb, MANIFEST.md; the schema in the
// @anthropic-ai/mcpb npm package, which .ci/release.sh validates against).
package mcpb

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// ManifestVersion is the MCPB manifest spec the manifests follow: the one
// MANIFEST.md documents and Claude Desktop installs (0.4 only adds the "uv"
// server type).
const ManifestVersion = "0.3"

// ExtensionSecret is the secret the release bundle's inject rule fills
// from: AGW_PROXY_SECRET_EXTENSION.
const ExtensionSecret = "extension"

// Spec is what a bundle's manifest says.
type Spec struct {
	// Name is the extension's machine name ("agw-proxy", "agw-proxy-work").
	Name string
	// Version is the bundle's version, agw-proxy's.
	Version string
	// GOOS is the platform of the binary in the bundle.
	GOOS string
	// Args are the mcpb-serve options of a profile's bundle, after
	// "mcpb-serve"; nil for the release bundle, whose options come from
	// user_config.
	Args []string
	// Secrets are the secrets a profile's inject rules name, one sensitive
	// field each (a profile's bundle only).
	Secrets []string
	// ClientSecret asks for the Cognito client secret (a profile's bundle
	// with client_credentials; the release bundle always asks).
	ClientSecret bool
	// Profile describes a profile's bundle in its description ("profile
	// work"); "" for the release bundle.
	Profile string
}

// EntryPoint is the binary's path inside a bundle for goos.
func EntryPoint(goos string) string {
	if goos == "windows" {
		return "server/agw-proxy.exe"
	}
	return "server/agw-proxy"
}

// Platform is goos as MCPB's compatibility.platforms names it.
func Platform(goos string) string {
	if goos == "windows" {
		return "win32"
	}
	return goos
}

// field is one user_config entry.
type field struct {
	key          string
	typ          string
	title, desc  string
	required     bool
	sensitive    bool
	def          any
	minVal, maxV float64
}

func (f field) object() obj {
	o := obj{{"type", f.typ}, {"title", f.title}, {"description", f.desc}}
	if f.required {
		o = append(o, kv{"required", true})
	}
	if f.sensitive {
		o = append(o, kv{"sensitive", true})
	}
	if f.def != nil {
		o = append(o, kv{"default", f.def})
	}
	if f.maxV > 0 {
		o = append(o, kv{"min", f.minVal}, kv{"max", f.maxV})
	}
	return o
}

// ref is the substitution of a user_config key.
func ref(key string) string { return "${user_config." + key + "}" }

// releaseFields are the release bundle's options, in the order Claude
// Desktop shows them, each with the serve flag it fills.
var releaseFields = []struct {
	field
	flag string
}{
	{field{key: "profile", typ: "string", title: "Profile",
		desc: "A profile of agw-proxy's config file (config.yaml), if you have one: it gives every setting below that you leave empty. Also the keychain namespace of secrets stored with \"agw-proxy login\". Empty: \"default\"."}, "--profile"},
	{field{key: "gateway_url", typ: "string", title: "Gateway URL",
		desc: "The Gateway's MCP endpoint: https://GATEWAY_ID.gateway.bedrock-agentcore.REGION.amazonaws.com/mcp"}, "--gateway-url"},
	{field{key: "auth_type", typ: "string", title: "Auth type",
		desc: "client_credentials (a Cognito app client with a secret), authorization_code (you sign in in the browser) or none. Empty: none when no other auth setting is given, else client_credentials."}, "--auth-type"},
	{field{key: "discovery_url", typ: "string", title: "Cognito discovery URL",
		desc: "The user pool's OpenID discovery document: https://cognito-idp.REGION.amazonaws.com/POOL_ID/.well-known/openid-configuration (or give the token URL)."}, "--discovery-url"},
	{field{key: "token_url", typ: "string", title: "Cognito token URL",
		desc: "https://DOMAIN.auth.REGION.amazoncognito.com/oauth2/token (else from the discovery URL)."}, "--token-url"},
	{field{key: "client_id", typ: "string", title: "Cognito app client ID", desc: "The app client agw-proxy authenticates as."}, "--client-id"},
	{field{key: "client_secret", typ: "string", title: "Cognito app client secret", sensitive: true,
		desc: "Kept in your OS keychain by Claude Desktop. Empty: the secret stored with \"agw-proxy login\"."}, ""},
	{field{key: "scope", typ: "string", title: "OAuth scope", desc: "The scope to request, e.g. gateway/invoke (empty: the app client's default scopes)."}, "--scope"},
	{field{key: "inject_argument", typ: "string", title: "Injected argument",
		desc: "A tool argument agw-proxy hides from the model and fills with the secret below, e.g. X-Asana-Token (with Inject via header: the HTTP header of that name)."}, "--inject"},
	{field{key: "inject_secret", typ: "string", title: "Injected secret", sensitive: true,
		desc: "The value of the injected argument, e.g. an API token. Kept in your OS keychain by Claude Desktop. Empty: the secret stored with \"agw-proxy login extension\"."}, ""},
	{field{key: "inject_tools", typ: "string", title: "Injected tools",
		desc: "The tools the rule applies to, a glob such as AsanaTarget___* (required with an injected argument)."}, "--inject-tools"},
	{field{key: "inject_format", typ: "string", title: "Inject format",
		desc: "How the value is written, {secret} standing for the secret. Empty: \"Bearer {secret}\"."}, "--inject-format"},
	{field{key: "inject_via", typ: "string", title: "Inject via",
		desc: "argument (fill the tool argument) or header (send the HTTP header of that name, for the Gateway to propagate). Empty: argument."}, "--inject-via"},
	{field{key: "call_timeout", typ: "number", title: "Call timeout (seconds)",
		desc: "Time limit for one tool call.", def: 300, minVal: 1, maxV: 3600}, "--call-timeout"},
}

// envKey is the user_config key of secret name: lower case letters, digits
// and "_" (the hosts put the key into a regular expression unescaped).
func envKey(name string) string {
	return "secret_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(name))
}

// Manifest returns the manifest.json of s. envVar maps a secret's name to
// the variable serve reads it from (tokenstore.EnvVar; "" for the client
// secret's own).
func Manifest(s Spec, envVar func(secret string) string) ([]byte, error) {
	if s.Name == "" || s.Version == "" || s.GOOS == "" {
		return nil, fmt.Errorf("mcpb: name, version and GOOS are required")
	}
	var fields []field
	args := []string{"mcpb-serve"}
	env := obj{}
	desc := "Connects Claude to an Amazon Bedrock AgentCore Gateway through agw-proxy: Cognito tokens fetched and refreshed, secret tool arguments hidden from the model and filled in, secrets scrubbed from what comes back."
	if s.Args == nil {
		for _, f := range releaseFields {
			fields = append(fields, f.field)
			switch f.key {
			case "client_secret":
				env = append(env, kv{envVar(""), ref(f.key)})
			case "inject_secret":
				env = append(env, kv{envVar(ExtensionSecret), ref(f.key)})
			case "inject_argument":
				args = append(args, f.flag, ref(f.key)+"="+ExtensionSecret)
			case "call_timeout":
				args = append(args, f.flag, ref(f.key)+"s")
			default:
				args = append(args, f.flag, ref(f.key))
			}
		}
	} else {
		args = append(args, s.Args...)
		if s.Profile != "" {
			desc += " Made for " + s.Profile + "."
		}
		if s.ClientSecret {
			fields = append(fields, field{key: "client_secret", typ: "string", title: "Cognito app client secret", sensitive: true,
				desc: "Kept in your OS keychain by Claude Desktop. Empty: the secret stored with \"agw-proxy login\"."})
			env = append(env, kv{envVar(""), ref("client_secret")})
		}
		for _, name := range s.Secrets {
			key := envKey(name)
			fields = append(fields, field{key: key, typ: "string", title: "Secret " + name, sensitive: true,
				desc: fmt.Sprintf("The value agw-proxy injects for the secret %q. Kept in your OS keychain by Claude Desktop. Empty: the one stored with \"agw-proxy login %s\".", name, name)})
			env = append(env, kv{envVar(name), ref(key)})
		}
	}
	userConfig := obj{}
	for _, f := range fields {
		userConfig = append(userConfig, kv{f.key, f.object()})
	}
	entry := EntryPoint(s.GOOS)
	mcpConfig := obj{{"command", "${__dirname}/" + entry}, {"args", args}}
	if len(env) > 0 {
		mcpConfig = append(mcpConfig, kv{"env", env})
	}
	m := obj{
		{"manifest_version", ManifestVersion},
		{"name", s.Name},
		{"display_name", displayName(s)},
		{"version", s.Version},
		{"description", desc},
		{"long_description", "agw-proxy runs on your machine as a local MCP server and forwards to your Gateway. Secrets you enter here are kept in your OS keychain by Claude Desktop and given to agw-proxy in its environment; agw-proxy never writes them anywhere. Documentation: https://github.com/agw-proxy/agw-proxy"},
		{"author", obj{{"name", "agw-proxy maintainers"}, {"url", "https://github.com/agw-proxy/agw-proxy"}}},
		{"repository", obj{{"type", "git"}, {"url", "https://github.com/agw-proxy/agw-proxy"}}},
		{"homepage", "https://github.com/agw-proxy/agw-proxy"},
		{"license", "Apache-2.0"},
		{"keywords", []string{"aws", "bedrock", "agentcore", "gateway", "mcp", "proxy"}},
		{"server", obj{{"type", "binary"}, {"entry_point", entry}, {"mcp_config", mcpConfig}}},
		{"tools_generated", true},
		{"compatibility", obj{{"platforms", []string{Platform(s.GOOS)}}}},
		{"user_config", userConfig},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func displayName(s Spec) string {
	if s.Profile != "" {
		return "AgentCore Gateway (agw-proxy, " + s.Profile + ")"
	}
	return "AgentCore Gateway (agw-proxy)"
}

// Write writes a bundle to w: manifest.json, then the binary at
// EntryPoint(goos), executable, then the extra files (name to content,
// e.g. LICENSE). modified is every entry's time.
func Write(w io.Writer, manifest []byte, goos string, binary io.Reader, extra map[string][]byte, modified time.Time) error {
	zw := zip.NewWriter(w)
	add := func(name string, mode uint32, r io.Reader) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified}
		h.SetMode(fileMode(mode))
		f, err := zw.CreateHeader(h)
		if err == nil {
			_, err = io.Copy(f, r)
		}
		return err
	}
	if err := add("manifest.json", 0o644, bytes.NewReader(manifest)); err != nil {
		return err
	}
	if err := add(EntryPoint(goos), 0o755, binary); err != nil {
		return err
	}
	for _, name := range sortedKeys(extra) {
		if err := add(name, 0o644, bytes.NewReader(extra[name])); err != nil {
			return err
		}
	}
	return zw.Close()
}
