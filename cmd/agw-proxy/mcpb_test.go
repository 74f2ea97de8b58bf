package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/mcpb"
	"github.com/agw-proxy/agw-proxy/internal/testexe"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// The Claude Desktop extension (internal/mcpb): each test lays a bundle out
// as Claude Desktop installs it, validates its manifest with the official
// "mcpb validate", lets the official library (@anthropic-ai/mcpb's
// getMcpConfigForManifest, which fills ${__dirname} and ${user_config.KEY}
// for the hosts) turn the manifest's mcp_config and the user's entries into
// the command to run, runs it, and talks MCP to it against a loopback
// Gateway. The npm package is pinned in .ci/clients (skipped without it,
// except under $CI).

// mcpbHost is the resolved mcp_config: what Claude Desktop runs.
type mcpbHost struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
}

// mcpbResolve validates dir/manifest.json with "mcpb validate" and returns
// the mcp_config the mcpb library makes of it with userConfig, for an
// extension installed in dir.
func mcpbResolve(t *testing.T, dir string, userConfig map[string]any) mcpbHost {
	t.Helper()
	cli := clientCLI(t, "mcpb")
	ctx, cancel := context.WithTimeout(testwait.Context(t), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, "validate", filepath.Join(dir, "manifest.json")).CombinedOutput(); err != nil {
		t.Fatalf("mcpb validate: %v\n%s", err, out)
	}
	lib, err := filepath.Abs(filepath.Join("..", "..", ".ci", "clients", "node_modules", "@anthropic-ai", "mcpb", "dist", "index.js"))
	if err != nil {
		t.Fatal(err)
	}
	// The input (the secrets among it) goes on stdin, not in argv.
	const script = `
const { getMcpConfigForManifest } = await import(process.argv[1]);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { dir, userConfig } = JSON.parse(input);
const fs = await import("node:fs");
const manifest = JSON.parse(fs.readFileSync(dir + "/manifest.json", "utf8"));
const cfg = await getMcpConfigForManifest({ manifest, extensionPath: dir, systemDirs: { HOME: dir }, userConfig, pathSeparator: "/" });
if (!cfg) { console.error("no mcp_config (a required field is missing)"); process.exit(1); }
process.stdout.write(JSON.stringify(cfg));
`
	in, _ := json.Marshal(map[string]any{"dir": dir, "userConfig": userConfig})
	cmd := exec.CommandContext(ctx, "node", "--input-type=module", "-e", script, "file://"+lib)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("getMcpConfigForManifest: %v\n%s", err, stderr.String())
	}
	var h mcpbHost
	if err := json.Unmarshal(out, &h); err != nil {
		t.Fatalf("getMcpConfigForManifest: %v: %s", err, out)
	}
	return h
}

// unpackBundle extracts a .mcpb into dir with the modes its entries carry,
// as a host unpacks it.
func unpackBundle(t *testing.T, bundle, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.Mode()&0o111 != 0 {
			err = testexe.WriteFile(path, data)
		} else {
			err = os.WriteFile(path, data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// runBundle starts what the host resolved, with its env over a scratch
// environment, and connects go-sdk's client to it. It checks that no
// secret is in argv.
func runBundle(t *testing.T, h mcpbHost, secrets ...string) *mcp.ClientSession {
	t.Helper()
	if err := leakcheck.Text(strings.Join(append([]string{h.Command}, h.Args...), "\n"), secrets...); err != nil {
		t.Fatalf("a secret is in the command line: %v", err)
	}
	cfg := t.TempDir()
	vars := []string{"AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=", "XDG_CONFIG_HOME=" + cfg, "APPDATA=" + cfg,
		"AGW_PROXY_CLIENT_SECRET=", "AGW_PROXY_SECRET_ASANA=", "AGW_PROXY_SECRET_EXTENSION="}
	for k, v := range h.Env {
		vars = append(vars, k+"="+v)
	}
	cmd := exec.Command(h.Command, h.Args...)
	cmd.Env = testChildEnv(t, vars...)
	return e2eConnect(t, cmd)
}

// listTools returns the tools by name.
func listTools(t *testing.T, cs *mcp.ClientSession) map[string]*mcp.Tool {
	t.Helper()
	ctx, cancel := context.WithTimeout(testwait.Context(t), 30*time.Second)
	defer cancel()
	tools := map[string]*mcp.Tool{}
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		tools[tool.Name] = tool
	}
	return tools
}

// checkInjected calls the Asana tool and checks that the target got
// token, and that the model was never asked for it.
func checkInjected(t *testing.T, cs *mcp.ClientSession, sim *gatewaysim.Sim, token string) {
	t.Helper()
	asana := gatewaysim.DefaultTargetName + "___asanaInvoke"
	tool, ok := listTools(t, cs)[asana]
	if !ok {
		t.Fatalf("%s not listed", asana)
	}
	if s, _ := json.Marshal(tool.InputSchema); strings.Contains(string(s), "X-Asana-Token") {
		t.Errorf("the model is asked for X-Asana-Token: %s", s)
	}
	if out, isErr := e2eCall(t, cs, asana, map[string]any{"tool_name": "list_workspaces"}); isErr {
		t.Fatalf("call failed: %s", out)
	}
	if got := e2eReceived(t, sim, gatewaysim.DefaultTargetName).Header.Get("X-Asana-Token"); got != "Bearer "+token {
		t.Errorf("the target got X-Asana-Token %q, want Bearer and the secret entered in Claude Desktop", got)
	}
}

// noSecretInFiles fails if a file under dir holds one of secrets.
func noSecretInFiles(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds a secret", path)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMCPBundleOfAProfile: "mcp-config --client claude-desktop --mcpb"
// bundles the binary with the profile's args; the manifest asks for the
// client secret and the inject rule's secret as sensitive fields, and the
// command it names, run as Claude Desktop runs it, serves the Gateway's
// tools with the secret filled in.
func TestMCPBundleOfAProfile(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	token := "1/mcpb-" + rand.Text()
	root := t.TempDir()
	bundle := filepath.Join(root, "work.mcpb")
	cmd := exec.Command(e2eBinary(t), "mcp-config", "--client", "claude-desktop", "--mcpb", bundle,
		"--gateway-url", sim.GatewayURL, "--token-url", sim.TokenURL, "--client-id", sim.ClientID, "--scope", sim.Scope,
		"--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName+"___*")
	cmd.Env = testChildEnv(t, "AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=", "XDG_CONFIG_HOME="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mcp-config --mcpb: %v\n%s", err, out)
	}
	dir := filepath.Join(root, "Claude Extensions", "agw-proxy")
	unpackBundle(t, bundle, dir)

	var m struct {
		UserConfig map[string]struct {
			Sensitive bool `json:"sensitive"`
		} `json:"user_config"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"client_secret", "secret_asana"} {
		if !m.UserConfig[key].Sensitive {
			t.Errorf("user_config %q is not a sensitive field: %s", key, data)
		}
	}

	h := mcpbResolve(t, dir, map[string]any{"client_secret": sim.ClientSecret, "secret_asana": token})
	if want := filepath.Join(dir, filepath.FromSlash(mcpb.EntryPoint(runtime.GOOS))); h.Command != want {
		t.Fatalf("the manifest runs %s, want the bundle's binary %s", h.Command, want)
	}
	cs := runBundle(t, h, sim.ClientSecret, token)
	checkInjected(t, cs, sim, token)
	noSecretInFiles(t, root, sim.ClientSecret, token)
}

// releaseBundle lays out the release bundle for this OS in a folder of its
// own, with the test binary in the binary's place.
func releaseBundle(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "agw-proxy")
	manifest, err := mcpb.Manifest(mcpb.Spec{Name: "agw-proxy", Version: "1.2.3", GOOS: runtime.GOOS}, secretEnvVar)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.FromSlash(mcpb.EntryPoint(runtime.GOOS)))
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := testexe.CopyFile(e2eBinary(t), bin); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMCPBundleOfTheRelease: the release bundle asks for the profile
// options and one inject rule; filled in as a user would, the command its
// manifest names reaches the Gateway through Cognito and fills the rule's
// argument from the sensitive field.
func TestMCPBundleOfTheRelease(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	token := "1/mcpb-" + rand.Text()
	dir := releaseBundle(t)
	h := mcpbResolve(t, dir, map[string]any{
		"gateway_url": sim.GatewayURL, "token_url": sim.TokenURL, "client_id": sim.ClientID, "scope": sim.Scope,
		"client_secret":   sim.ClientSecret,
		"inject_argument": "X-Asana-Token", "inject_secret": token, "inject_tools": gatewaysim.DefaultTargetName + "___*",
	})
	cs := runBundle(t, h, sim.ClientSecret, token)
	checkInjected(t, cs, sim, token)
	noSecretInFiles(t, dir, sim.ClientSecret, token)
}

// TestMCPBundleFieldsLeftEmpty: with only the Gateway URL entered, the
// library leaves "${user_config.KEY}" in the args and env of every other
// field (or "" where the user cleared one); mcpb-serve takes them as not
// set, so the extension serves the Gateway with auth none, and an inject
// rule without its secret sends nothing rather than the placeholder.
func TestMCPBundleFieldsLeftEmpty(t *testing.T) {
	t.Run("only the gateway", func(t *testing.T) {
		url := sdkGatewayURL(t, []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}, false)
		h := mcpbResolve(t, releaseBundle(t), map[string]any{"gateway_url": url, "scope": "", "client_secret": ""})
		if !strings.Contains(strings.Join(h.Args, " "), "${user_config.") {
			t.Fatalf("the library filled every field (%q): this test no longer sees an empty one", h.Args)
		}
		if _, ok := listTools(t, runBundle(t, h))["T___op"]; !ok {
			t.Fatal("T___op not listed")
		}
	})
	t.Run("a rule without its secret", func(t *testing.T) {
		sim := e2eSim(t, gatewaysim.Options{})
		h := mcpbResolve(t, releaseBundle(t), map[string]any{
			"gateway_url": sim.GatewayURL, "token_url": sim.TokenURL, "client_id": sim.ClientID, "scope": sim.Scope,
			"client_secret":   sim.ClientSecret,
			"inject_argument": "X-Asana-Token", "inject_tools": gatewaysim.DefaultTargetName + "___*",
		})
		if v := h.Env[secretEnvVar(mcpb.ExtensionSecret)]; !strings.Contains(v, "${user_config.") {
			t.Fatalf("the library set %s to %q: this test no longer sees an empty secret", secretEnvVar(mcpb.ExtensionSecret), v)
		}
		cs := runBundle(t, h)
		out, isErr := e2eCall(t, cs, gatewaysim.DefaultTargetName+"___asanaInvoke", map[string]any{"tool_name": "list_workspaces"})
		if !isErr {
			t.Fatalf("the call went through without the secret: %s", out)
		}
		for _, r := range sim.Received() {
			if strings.Contains(r.Header.Get("X-Asana-Token"), "user_config") {
				t.Fatalf("the target got the placeholder as the secret: %q", r.Header.Get("X-Asana-Token"))
			}
		}
	})
}

func TestBundleArgs(t *testing.T) {
	got := bundleArgs([]string{"--gateway-url", "https://g/mcp", "--scope", "${user_config.scope}", "--client-id", "",
		"--inject", "=extension", "--inject-tools", "${user_config.inject_tools}", "--call-timeout", "300s",
		"--no-browser", "--token-url=${user_config.token_url}", "--profile=work"})
	want := []string{"--gateway-url", "https://g/mcp", "--call-timeout", "300s", "--no-browser", "--profile", "work"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("bundleArgs = %q, want %q", got, want)
	}
}
