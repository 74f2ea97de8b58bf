package mcpb

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func envVar(name string) string {
	if name == "" {
		return "AGW_PROXY_CLIENT_SECRET"
	}
	return "AGW_PROXY_SECRET_" + strings.ToUpper(name)
}

type manifest struct {
	Server struct {
		EntryPoint string `json:"entry_point"`
		MCPConfig  struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"mcp_config"`
	} `json:"server"`
	UserConfig map[string]struct {
		Type      string `json:"type"`
		Sensitive bool   `json:"sensitive"`
		Default   any    `json:"default"`
	} `json:"user_config"`
	Compatibility struct {
		Platforms []string `json:"platforms"`
	} `json:"compatibility"`
}

var refRE = regexp.MustCompile(`\$\{user_config\.([^}]+)\}`)

// checkSecretsStayInEnv: every sensitive field goes to the environment and
// nowhere else, every env value is a sensitive field, every field is used,
// and a sensitive field has no default the manifest would carry.
func checkSecretsStayInEnv(t *testing.T, data []byte, wantEnv map[string]string) manifest {
	t.Helper()
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, a := range m.Server.MCPConfig.Args {
		for _, r := range refRE.FindAllStringSubmatch(a, -1) {
			if m.UserConfig[r[1]].Sensitive {
				t.Errorf("the sensitive field %q goes into argv (%q)", r[1], a)
			}
			used[r[1]] = true
		}
	}
	for k, v := range m.Server.MCPConfig.Env {
		r := refRE.FindStringSubmatch(v)
		if r == nil || r[0] != v || !m.UserConfig[r[1]].Sensitive {
			t.Errorf("env %s=%q is not a sensitive field", k, v)
			continue
		}
		used[r[1]] = true
		if wantEnv[k] != r[1] {
			t.Errorf("env %s is field %q, want %q", k, r[1], wantEnv[k])
		}
	}
	if len(m.Server.MCPConfig.Env) != len(wantEnv) {
		t.Errorf("env %v, want %v", m.Server.MCPConfig.Env, wantEnv)
	}
	for k, f := range m.UserConfig {
		if !used[k] {
			t.Errorf("field %q is used nowhere", k)
		}
		if f.Sensitive && f.Default != nil {
			t.Errorf("sensitive field %q has a default", k)
		}
	}
	return m
}

func TestReleaseManifest(t *testing.T) {
	for _, goos := range []string{"darwin", "linux", "windows"} {
		data, err := Manifest(Spec{Name: "agw-proxy", Version: "1.2.3", GOOS: goos}, envVar)
		if err != nil {
			t.Fatal(err)
		}
		m := checkSecretsStayInEnv(t, data, map[string]string{
			"AGW_PROXY_CLIENT_SECRET": "client_secret", "AGW_PROXY_SECRET_EXTENSION": "inject_secret"})
		if m.Server.MCPConfig.Command != "${__dirname}/"+m.Server.EntryPoint || m.Server.EntryPoint != EntryPoint(goos) {
			t.Errorf("%s: command %q, entry point %q", goos, m.Server.MCPConfig.Command, m.Server.EntryPoint)
		}
		if len(m.Compatibility.Platforms) != 1 || m.Compatibility.Platforms[0] != Platform(goos) {
			t.Errorf("%s: platforms %q", goos, m.Compatibility.Platforms)
		}
		args := strings.Join(m.Server.MCPConfig.Args, " ")
		for _, want := range []string{"mcpb-serve --profile ${user_config.profile} --gateway-url ${user_config.gateway_url}",
			"--inject ${user_config.inject_argument}=extension", "--call-timeout ${user_config.call_timeout}s"} {
			if !strings.Contains(args, want) {
				t.Errorf("args %q lack %q", args, want)
			}
		}
	}
}

func TestProfileManifest(t *testing.T) {
	data, err := Manifest(Spec{Name: "agw-proxy-work", Version: "1.2.3", GOOS: "darwin",
		Args: []string{"--profile", "work"}, Secrets: []string{"asana", "git-hub"}, ClientSecret: true, Profile: "profile work"}, envVar)
	if err != nil {
		t.Fatal(err)
	}
	m := checkSecretsStayInEnv(t, data, map[string]string{"AGW_PROXY_CLIENT_SECRET": "client_secret",
		"AGW_PROXY_SECRET_ASANA": "secret_asana", "AGW_PROXY_SECRET_GIT-HUB": "secret_git_hub"})
	if got := strings.Join(m.Server.MCPConfig.Args, " "); got != "mcpb-serve --profile work" {
		t.Errorf("args %q", got)
	}
}
