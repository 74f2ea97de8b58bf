package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/profile"
)

// resolveWith resolves a profile the way a subcommand does: the config file
// (when file is not empty) is written to a temp dir and found through the
// default location, environment vars come from envv, flags from args.
func resolveWith(t *testing.T, file string, envv map[string]string, args ...string) (*profile.Profile, *profile.Flags, error) {
	t.Helper()
	dir := t.TempDir()
	if file != "" {
		if err := os.MkdirAll(filepath.Join(dir, "agw-proxy"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "agw-proxy", "config.yaml"), []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{testKeychain: testStore,
		getenv:        func(k string) string { return envv[k] },
		userConfigDir: func() (string, error) { return dir, nil },
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	p, err := e.resolve(pf)
	return p, pf, err
}

// errorText renders err as fail would: each error, then its hints.
func errorText(err error) string {
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var b strings.Builder
	for _, one := range list {
		b.WriteString("error: " + one.Error() + "\n")
		var h hinter
		if errors.As(one, &h) {
			for _, s := range h.Hints() {
				b.WriteString("hint: " + s + "\n")
			}
		}
	}
	return b.String()
}

const goodFile = `profiles:
  default:
    gateway_url: https://gw.example.com/mcp
    auth:
      token_url: https://auth.example.com/oauth2/token
      client_id: abc123
      scopes: [gw/read]
    inject:
      - argument: X-Asana-Token
        secret: asana
        tools: ["Target___*"]
    timeouts:
      call: 60s
  work:
    gateway_url: https://work.example.com/mcp
`

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string
		want []string // substrings of the rendered errors and hints, in order
	}{
		{
			name: "unknown key in a profile, with file:line:col and the nearest key",
			file: "profiles:\n  default:\n    gateway_url: https://gw.example.com/mcp\n    gatway_url: x\n",
			want: []string{`config.yaml:4:5: unknown key "gatway_url" in profile "default"`, `hint: did you mean "gateway_url"?`},
		},
		{
			name: "unknown key far from any: list the valid keys",
			file: "profiles:\n  default:\n    colour: blue\n",
			want: []string{`config.yaml:3:5: unknown key "colour"`, "hint: valid keys here: gateway_url, auth, inject, timeouts, ca_file"},
		},
		{
			name: "key at the wrong level",
			file: "profiles:\n  default:\n    token_url: https://a.example.com/t\n",
			want: []string{`unknown key "token_url" in profile "default"`, `hint: did you mean "token_url" under auth:?`},
		},
		{
			name: "unknown key in auth",
			file: "profiles:\n  default:\n    auth:\n      client-id: x\n",
			want: []string{`config.yaml:4:7: unknown key "client-id" in auth of profile "default"`, `did you mean "client_id"?`},
		},
		{
			name: "a secret in the config file",
			file: "profiles:\n  default:\n    auth:\n      client_secret: hunter2\n",
			want: []string{`unknown key "client_secret"`, `hint: secrets never go in the config file`},
		},
		{
			name: "unknown key in an inject rule",
			file: "profiles:\n  default:\n    inject:\n      - argument: A\n        secret: s\n        tool: [x]\n",
			want: []string{`config.yaml:6:9: unknown key "tool" in inject rule 1 of profile "default"`, `did you mean "tools"?`},
		},
		{
			name: "unknown key in timeouts",
			file: "profiles:\n  default:\n    timeouts:\n      read: 5s\n",
			want: []string{`unknown key "read" in timeouts of profile "default"`},
		},
		{
			name: "settings at the top level",
			file: "gateway_url: https://gw.example.com/mcp\n",
			want: []string{`config.yaml:1:1: unknown key "gateway_url" at the top level`, "settings go under a profile"},
		},
		{
			name: "every unknown key at once",
			file: "profiles:\n  default:\n    gatway_url: x\n    auth:\n      tpye: none\n",
			want: []string{`config.yaml:3:5: unknown key "gatway_url"`, `config.yaml:5:7: unknown key "tpye"`},
		},
		{
			name: "invalid YAML",
			file: "profiles:\n  default:\n    gateway_url: [https://x\n",
			want: []string{"config.yaml:3:", "invalid YAML"},
		},
		{
			name: "duplicate key",
			file: "profiles:\n  default:\n    gateway_url: https://a.example.com/mcp\n    gateway_url: https://b.example.com/mcp\n",
			want: []string{"config.yaml:4:5: invalid YAML", "already defined"},
		},
		{
			name: "profiles is not a mapping",
			file: "profiles: [a, b]\n",
			want: []string{"config.yaml:1:11: profiles: must be a mapping"},
		},
		{
			name: "a list where one value is wanted",
			file: "profiles:\n  default:\n    gateway_url: [a, b]\n",
			want: []string{"config.yaml:3:18: gateway_url: must be a single value"},
		},
		{
			name: "bad duration",
			file: "profiles:\n  default:\n    gateway_url: https://gw.example.com/mcp\n    timeouts:\n      call: 5x\n",
			want: []string{`config.yaml:5:13: timeouts.call: invalid duration "5x"`, "hint: durations need a unit"},
		},
		{
			name: "duration without a unit",
			file: "profiles:\n  default:\n    timeouts:\n      connect: 30\n",
			want: []string{`config.yaml:4:16: timeouts.connect: invalid duration "30"`},
		},
		{
			name: "zero timeout",
			file: "profiles:\n  default:\n    timeouts:\n      call: 0s\n",
			want: []string{"config.yaml:4:13: timeouts.call: must be positive"},
		},
		{
			name: "negative timeout flag",
			args: []string{"--connect-timeout=-1s"},
			want: []string{"--connect-timeout: must be positive"},
		},
		{
			name: "http gateway on a non-loopback host",
			file: "profiles:\n  default:\n    gateway_url: http://gw.example.com/mcp\n",
			want: []string{"config.yaml:3:18: gateway_url: must use https://", "hint: http:// is allowed only for loopback hosts"},
		},
		{
			name: "http gateway flag on a non-loopback host",
			args: []string{"--gateway-url", "http://10.0.0.1/mcp"},
			want: []string{"--gateway-url: must use https://"},
		},
		{
			name: "gateway URL not absolute",
			args: []string{"--gateway-url", "gw.example.com/mcp"},
			want: []string{`--gateway-url: "gw.example.com/mcp" is not an absolute URL`},
		},
		{
			name: "unsupported scheme",
			args: []string{"--gateway-url", "ftp://gw.example.com/mcp"},
			want: []string{`--gateway-url: unsupported URL scheme "ftp"`},
		},
		{
			name: "http token URL on a non-loopback host",
			file: "profiles:\n  default:\n    auth:\n      token_url: http://auth.example.com/oauth2/token\n      client_id: c\n",
			want: []string{"config.yaml:4:18: auth.token_url: must use https://"},
		},
		{
			name: "unknown auth type",
			args: []string{"--auth-type", "basic"},
			want: []string{`--auth-type: unknown auth type "basic"`, "hint: valid types: client_credentials, authorization_code, aws_iam, none"},
		},
		{
			name: "client credentials without a client ID",
			file: "profiles:\n  default:\n    auth:\n      token_url: https://auth.example.com/t\n",
			want: []string{`config.yaml:2:3: auth.client_id: auth type client_credentials (implied by auth.token_url) needs a client ID`, "set auth.client_id in profile \"default\""},
		},
		{
			name: "client credentials without a token URL",
			args: []string{"--auth-type", "client_credentials", "--client-id", "c"},
			want: []string{"auth type client_credentials needs a token URL or a discovery URL", "hint: pass --token-url URL"},
		},
		{
			name: "authorization code needs authorize and redirect URLs",
			args: []string{"--auth-type", "authorization_code", "--client-id", "c", "--token-url", "https://a.example.com/t"},
			want: []string{"needs an authorize URL", "needs a redirect URL"},
		},
		{
			name: "redirect URL not on loopback",
			args: []string{"--auth-type", "authorization_code", "--client-id", "c", "--discovery-url", "https://a.example.com/d", "--redirect-url", "https://app.example.com/cb"},
			want: []string{"--redirect-url: redirect URL must be http:// on localhost or a loopback address"},
		},
		{
			name: "inject rule without tools",
			file: "profiles:\n  default:\n    inject:\n      - argument: X-Asana-Token\n        secret: asana\n",
			want: []string{"config.yaml:4:9: inject rule 1: needs tools: globs over Gateway tool names", "hint: tools is required so a secret only reaches the targets you name"},
		},
		{
			name: "inject flag without --inject-tools",
			args: []string{"--inject", "X-Asana-Token=asana"},
			want: []string{"--inject: inject rule 1: needs tools", "--inject-tools GLOB"},
		},
		{
			name: "inject rule without argument and secret",
			file: "profiles:\n  default:\n    inject:\n      - tools: [x]\n",
			want: []string{"config.yaml:4:9: inject rule 1: needs an argument", "config.yaml:4:9: inject rule 1: needs a secret name"},
		},
		{
			name: "secret name with capitals",
			file: "profiles:\n  default:\n    inject:\n      - {argument: A, secret: Asana, tools: [x]}\n",
			want: []string{"config.yaml:4:31: secret of inject rule 1: secret name must use only lowercase letters"},
		},
		{
			name: "reserved secret name",
			args: []string{"--inject", "A=client-secret", "--inject-tools", "x"},
			want: []string{`--inject: inject rule 1: secret name "client-secret" is reserved`},
		},
		{
			name: "format without {secret}",
			file: "profiles:\n  default:\n    inject:\n      - {argument: A, secret: s, format: \"Bearer\", tools: [x]}\n",
			want: []string{"config.yaml:4:42: format of inject rule 1: format must contain {secret}"},
		},
		{
			name: "bad tool glob",
			args: []string{"--inject", "A=s", "--inject-tools", "Target[___*"},
			want: []string{`--inject-tools: inject rule 1: invalid tool glob "Target[___*"`},
		},
		{
			name: "two rules filling the same argument of the same tools",
			args: []string{"--inject", "A=s", "--inject", "A=t", "--inject-tools", "x*"},
			want: []string{`--inject-tools: inject rule 2: argument A for tools "x*" is already filled by inject rule 1`},
		},
		{
			name: "inject is not a list",
			file: "profiles:\n  default:\n    inject: {argument: A}\n",
			want: []string{"inject: must be a list of rules"},
		},
		{
			name: "inject value without =",
			args: []string{"--inject", "X-Asana-Token"},
			want: []string{"--inject: value 1 is not ARG=SECRET"},
		},
		{
			name: "--inject-tools without --inject",
			args: []string{"--inject-tools", "x*"},
			want: []string{"--inject-tools: applies only to rules given with --inject"},
		},
		{
			name: "unknown profile",
			file: goodFile,
			args: []string{"--profile", "hom"},
			want: []string{`--profile: no profile "hom" in `, "hint: profiles in the file: default, work"},
		},
		{
			name: "unknown profile from the environment",
			file: goodFile,
			env:  map[string]string{profile.EnvProfile: "nope"},
			want: []string{`$AGW_PROXY_PROFILE: no profile "nope"`},
		},
		{
			name: "the default profile missing from a file that has others",
			file: "profiles:\n  work:\n    gateway_url: https://gw.example.com/mcp\n",
			want: []string{`no profile "default"`, "profiles in the file: work"},
		},
		{
			name: "profile name with a colon",
			args: []string{"--profile", "a:b"},
			want: []string{`--profile: profile name "a:b"`},
		},
		{
			name: "named config file missing",
			args: []string{"--config", "/nonexistent/agw.yaml"},
			want: []string{"config file /nonexistent/agw.yaml (from --config) does not exist"},
		},
		{
			name: "config file from the environment missing",
			env:  map[string]string{profile.EnvConfig: "/nonexistent/agw.yaml"},
			want: []string{"(from $AGW_PROXY_CONFIG) does not exist"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := resolveWith(t, tt.file, tt.env, tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			got := errorText(err)
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("want %q (in order) in:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// A value that might be a secret pasted in the wrong place is never echoed.
func TestConfigErrorsDoNotEchoSecrets(t *testing.T) {
	const token = "0/1a2b3c4d5e6f7a8b9c0d"
	for _, tc := range []struct {
		file string
		args []string
	}{
		{file: "profiles:\n  default:\n    inject:\n      - {argument: A, secret: \"" + token + "\", tools: [x]}\n"},
		{args: []string{"--inject", "X-Asana-Token=" + token, "--inject-tools", "x"}},
		{args: []string{"--inject", token}},
	} {
		_, _, err := resolveWith(t, tc.file, nil, tc.args...)
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(errorText(err), token) {
			t.Errorf("secret leaked into the error for %v %q", tc.args, tc.file)
		}
	}
}

func TestConfigFileProfile(t *testing.T) {
	p, _, err := resolveWith(t, goodFile, nil)
	if err != nil {
		t.Fatal(errorText(err))
	}
	if p.Name != "default" || !p.InFile || p.GatewayURL != "https://gw.example.com/mcp" {
		t.Errorf("profile %q inFile=%v gateway %q", p.Name, p.InFile, p.GatewayURL)
	}
	if p.Auth.Type != profile.AuthClientCredentials {
		t.Errorf("auth type %q, want client_credentials (token_url set)", p.Auth.Type)
	}
	if p.Auth.ClientID != "abc123" || !slices.Equal(p.Auth.Scopes, []string{"gw/read"}) {
		t.Errorf("auth %+v", p.Auth)
	}
	want := []profile.InjectRule{{Argument: "X-Asana-Token", Secret: "asana", Format: "Bearer {secret}", Tools: []string{"Target___*"}}}
	if len(p.Inject) != 1 || p.Inject[0].Argument != want[0].Argument || p.Inject[0].Secret != want[0].Secret ||
		p.Inject[0].Format != want[0].Format || !slices.Equal(p.Inject[0].Tools, want[0].Tools) {
		t.Errorf("inject %+v, want %+v", p.Inject, want)
	}
	if p.CallTimeout != 60*time.Second || p.ConnectTimeout != profile.DefaultConnectTimeout {
		t.Errorf("timeouts %v %v", p.CallTimeout, p.ConnectTimeout)
	}
	if !strings.HasSuffix(p.At("gateway_url"), "config.yaml:3:18") {
		t.Errorf("where gateway_url = %q", p.At("gateway_url"))
	}
}

func TestFlagsOverrideOnlyWhatTheySet(t *testing.T) {
	p, _, err := resolveWith(t, goodFile, nil,
		"--client-id", "other", "--scope", "a/read a/write", "--scope", "b",
		"--inject", "X-Api-Key=key", "--inject-tools", "Other___*", "--inject-format", "{secret}",
		"--call-timeout", "10s")
	if err != nil {
		t.Fatal(errorText(err))
	}
	if p.GatewayURL != "https://gw.example.com/mcp" || p.Auth.TokenURL != "https://auth.example.com/oauth2/token" {
		t.Errorf("file values lost: %q %q", p.GatewayURL, p.Auth.TokenURL)
	}
	if p.Auth.ClientID != "other" || p.At("auth.client_id") != "--client-id" {
		t.Errorf("client ID %q from %q", p.Auth.ClientID, p.At("auth.client_id"))
	}
	if !slices.Equal(p.Auth.Scopes, []string{"a/read", "a/write", "b"}) {
		t.Errorf("scopes %q", p.Auth.Scopes)
	}
	if len(p.Inject) != 1 || p.Inject[0].Argument != "X-Api-Key" || p.Inject[0].Secret != "key" ||
		p.Inject[0].Format != "{secret}" || !slices.Equal(p.Inject[0].Tools, []string{"Other___*"}) {
		t.Errorf("--inject must replace the file's rules: %+v", p.Inject)
	}
	if p.CallTimeout != 10*time.Second {
		t.Errorf("call timeout %v", p.CallTimeout)
	}
}

func TestFlagsAloneMakeAProfile(t *testing.T) {
	args := []string{
		"--gateway-url", "http://127.0.0.1:8080/mcp", "--token-url", "http://localhost:9/oauth2/token",
		"--client-id", "c", "--inject", "X-Asana-Token=asana", "--inject-tools", "A___*", "--inject-tools", "B___*",
	}
	p, _, err := resolveWith(t, "", nil, args...)
	if err != nil {
		t.Fatal(errorText(err))
	}
	if p.InFile || p.ConfigPath != "" || p.Auth.Type != profile.AuthClientCredentials || p.CallTimeout != profile.DefaultCallTimeout {
		t.Errorf("profile %+v", p)
	}
	if !slices.Equal(p.Inject[0].Tools, []string{"A___*", "B___*"}) || p.Inject[0].Format != profile.DefaultFormat {
		t.Errorf("rule %+v", p.Inject[0])
	}
	// A named profile that the file does not define is fine when the flags
	// give the gateway: the name then only namespaces keychain entries.
	p, _, err = resolveWith(t, goodFile, nil, append(args, "--profile", "ci")...)
	if err != nil {
		t.Fatal(errorText(err))
	}
	if p.Name != "ci" || p.InFile {
		t.Errorf("profile %q inFile=%v", p.Name, p.InFile)
	}
	// No auth settings: auth type none.
	p, _, err = resolveWith(t, "", nil, "--gateway-url", "http://[::1]:1/mcp")
	if err != nil || p.Auth.Type != profile.AuthNone {
		t.Errorf("auth type %v, err %v", p, err)
	}
}

func TestProfileFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "agw.yaml")
	if err := os.WriteFile(file, []byte(goodFile), 0o600); err != nil {
		t.Fatal(err)
	}
	p, _, err := resolveWith(t, "", map[string]string{profile.EnvConfig: file, profile.EnvProfile: "work"})
	if err != nil {
		t.Fatal(errorText(err))
	}
	if p.Name != "work" || p.GatewayURL != "https://work.example.com/mcp" || !p.NameSet || !p.ConfigSet {
		t.Errorf("profile %+v", p)
	}
	// --profile wins over the environment.
	p, _, err = resolveWith(t, "", map[string]string{profile.EnvConfig: file, profile.EnvProfile: "work"}, "--profile", "default")
	if err != nil || p.Name != "default" {
		t.Errorf("profile %v, err %v", p, err)
	}
}

func TestMissingDefaultConfigIsFine(t *testing.T) {
	p, _, err := resolveWith(t, "", nil)
	if err != nil {
		t.Fatal(errorText(err))
	}
	if p.Name != profile.DefaultName || p.ConfigPath != "" {
		t.Errorf("profile %+v", p)
	}
	// Nothing defines the profile: a first run, told where the file goes.
	err = p.RequireGateway()
	if err == nil || !strings.Contains(errorText(err), "error: no config file at "+p.SearchedPath+"\n") ||
		!strings.HasSuffix(p.SearchedPath, filepath.Join("agw-proxy", "config.yaml")) ||
		!strings.Contains(errorText(err), `hint: run "agw-proxy init"`) {
		t.Errorf("requireGateway: %v", errorText(err))
	}
	// Flags that define a profile, without a gateway URL.
	p, _, err = resolveWith(t, "", nil, "--inject", "X=asana", "--inject-tools", "T___*")
	if err != nil {
		t.Fatal(errorText(err))
	}
	err = p.RequireGateway()
	if err == nil || !strings.Contains(errorText(err), `no gateway URL for profile "default"`) ||
		!strings.Contains(errorText(err), "pass --gateway-url URL") || !strings.Contains(errorText(err), `"agw-proxy init"`) {
		t.Errorf("requireGateway: %v", errorText(err))
	}
}

func TestConfigYAMLFeatures(t *testing.T) {
	const file = `x-rules: &rules
  - argument: X-Asana-Token
    secret: asana
    tools: [Target___*]
x-auth: &auth
  token_url: https://auth.example.com/t
  client_id: 4711
profiles:
  default: &base
    gateway_url: https://gw.example.com/mcp
    auth: *auth
    inject: *rules
    ca_file: certs/ca.pem
  other:
    <<: *base
    gateway_url: https://other.example.com/mcp
    auth:
      <<: *auth
      scopes: single/read
`
	p, _, err := resolveWith(t, file, nil, "--profile", "other")
	if err != nil {
		t.Fatal(errorText(err))
	}
	if p.GatewayURL != "https://other.example.com/mcp" {
		t.Errorf("explicit key must win over a merged one: %q", p.GatewayURL)
	}
	if p.Auth.ClientID != "4711" || p.Auth.TokenURL != "https://auth.example.com/t" {
		t.Errorf("merged auth %+v", p.Auth)
	}
	if !slices.Equal(p.Auth.Scopes, []string{"single/read"}) {
		t.Errorf("a single scope is a list of one: %q", p.Auth.Scopes)
	}
	if len(p.Inject) != 1 || p.Inject[0].Secret != "asana" {
		t.Errorf("aliased rules %+v", p.Inject)
	}
	if want := filepath.Join(filepath.Dir(p.ConfigPath), "certs", "ca.pem"); p.CAFile != want {
		t.Errorf("ca_file %q, want %q (relative to the config file)", p.CAFile, want)
	}
}

func TestEmptyConfigFile(t *testing.T) {
	for _, file := range []string{"# nothing yet\n", "profiles:\n"} {
		p, _, err := resolveWith(t, file, nil, "--profile", "x")
		if err != nil || p.Name != "x" {
			t.Errorf("%q: %v", file, err)
		}
	}
}

func TestLoginCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "my config.yaml")
	if err := os.WriteFile(file, []byte(goodFile), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, nil, "agw-proxy login asana"},
		{nil, []string{"--gateway-url", "https://gw.example.com/mcp", "--profile", "ci"}, "agw-proxy login asana --profile ci --gateway-url https://gw.example.com/mcp"},
		{map[string]string{profile.EnvProfile: "default"}, []string{"--config", file}, "agw-proxy login asana --config '" + file + "' --profile default"},
	}
	for _, tt := range tests {
		cfg := ""
		if len(tt.args) == 0 {
			cfg = goodFile
		}
		p, _, err := resolveWith(t, cfg, tt.env, tt.args...)
		if err != nil {
			t.Fatal(errorText(err))
		}
		if got := p.Command("login", "asana"); got != tt.want {
			t.Errorf("%v: got %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestProfileFlagsArgs(t *testing.T) {
	args := []string{"--profile", "ci", "--gateway-url", "https://gw.example.com/mcp", "--token-url", "https://a.example.com/t",
		"--client-id", "c", "--scope", "a", "--scope", "b",
		"--inject", "X=s", "--inject-tools", "T___*", "--call-timeout", "1m0s"}
	_, pf, err := resolveWith(t, "", nil, args...)
	if err != nil {
		t.Fatal(errorText(err))
	}
	if got := pf.Args(); !slices.Equal(got, args) {
		t.Errorf("args() = %q, want %q", got, args)
	}
}

func TestSecretNames(t *testing.T) {
	p, _, err := resolveWith(t, "", nil, "--inject", "A=asana", "--inject", "B=jira", "--inject", "C=asana", "--inject-tools", "*")
	if err != nil {
		t.Fatal(errorText(err))
	}
	if got := p.SecretNames(); !slices.Equal(got, []string{"asana", "jira"}) {
		t.Errorf("secretNames = %q", got)
	}
}

// The example config shipped in configs/ must load and validate, profile by
// profile, so it never drifts from what the code accepts.
func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "config.yaml")
	cfg, err := profile.Load(path)
	if err != nil {
		t.Fatal(errorText(err))
	}
	if !slices.Equal(cfg.Names(), []string{"default", "work", "iam", "vaults"}) {
		t.Errorf("profiles %q", cfg.Names())
	}
	for _, name := range cfg.Names() {
		p, _, err := resolveWith(t, "", map[string]string{profile.EnvConfig: path}, "--profile", name)
		if err != nil {
			t.Errorf("profile %s: %s", name, errorText(err))
			continue
		}
		if err := p.RequireGateway(); err != nil {
			t.Errorf("profile %s: %v", name, err)
		}
	}
}
