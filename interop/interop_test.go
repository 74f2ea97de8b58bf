// Package interop tests agw-proxy with MCP clients it did not write: the
// official TypeScript SDK, v1 (sdk_client.mjs) and v2 (sdk2_client.mjs, in
// MCP 2026-07-28 and 2025-11-25), and MCP Inspector's CLI mode.
// Each test builds the agw-proxy binary, starts the Gateway emulator and
// lets the client launch the binary over stdio, as a desktop client would.
//
// The node packages are pinned in package.json and package-lock.json:
//
//	npm ci --prefix interop
//	go test ./interop/
//
// Without interop/node_modules (or node) the tests skip, except when $CI is
// set: there they fail, so CI cannot pass without running them.
package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testexe"
)

const (
	hiddenArg  = "X-Asana-Token"
	secretName = "asana"
	tool       = gatewaysim.DefaultTargetName + "___asanaInvoke"
)

// requireNode returns the node binary and the interop folder, or skips (fails
// under CI) when the client packages are not installed.
func requireNode(t *testing.T) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	missing := func(what string) {
		t.Helper()
		msg := what + `: run "npm ci --prefix interop" (node 20 or later) to run the MCP client interop tests`
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " ($CI is set: interop tests are required)")
		}
		t.Skip(msg)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing("node not found")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		missing("interop/node_modules is missing")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "inspector-cli", "build", "index.js")); err != nil {
		missing("interop/node_modules has no @modelcontextprotocol/inspector-cli")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "client", "package.json")); err != nil {
		missing("interop/node_modules has no @modelcontextprotocol/client (the v2 SDK)")
	}
	return node, dir
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// agwProxy builds cmd/agw-proxy once per test run.
func agwProxy(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agw-proxy-interop-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "agw-proxy")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		cmd := exec.Command("go", "build", "-o", binPath, "../cmd/agw-proxy")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ../cmd/agw-proxy: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv(fakeServerEnv); ok {
		os.Exit(runFakeServer(mode))
	}
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// setup is one emulated Gateway and the environment agw-proxy runs with.
type setup struct {
	sim    *gatewaysim.Sim
	secret string   // the user's Asana token, random per test
	args   []string // agw-proxy serve ...
	env    []string
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	return newSetupWith(t, gatewaysim.Options{})
}

// newSetupWith is newSetup with an emulator of its own options.
func newSetupWith(t *testing.T, opts gatewaysim.Options) *setup {
	t.Helper()
	sim, err := gatewaysim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	s := &setup{sim: sim, secret: "asana-" + randomHex(t)}
	s.args = []string{
		"serve",
		"--gateway-url", sim.GatewayURL,
		"--token-url", sim.TokenURL,
		"--client-id", sim.ClientID,
		"--scope", sim.Scope,
		"--inject", hiddenArg + "=" + secretName,
		"--inject-tools", gatewaysim.DefaultTargetName + "___*",
	}
	// Secrets come from the environment override: no keychain needed. A
	// private HOME keeps the user's own config file (and tool cache) out
	// of the test.
	home := t.TempDir()
	s.env = append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=",
		"AGW_PROXY_CLIENT_SECRET="+sim.ClientSecret,
		"AGW_PROXY_SECRET_ASANA="+s.secret,
	)
	return s
}

func randomHex(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// runNode runs node with args in dir and returns its combined output. It
// fails the test if a secret shows up in that output, and never prints one.
func (s *setup) runNode(t *testing.T, dir string, extraEnv []string, args ...string) (string, error) {
	t.Helper()
	node, _ := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(s.env, extraEnv...)
	out, err := cmd.CombinedOutput()
	text := string(out)
	for _, v := range []string{s.secret, s.sim.ClientSecret} {
		if strings.Contains(text, v) {
			t.Errorf("secret leaked in the output of node %s", args[0])
			text = strings.ReplaceAll(text, v, "[secret]")
		}
	}
	return text, err
}

// checkInjected checks what the emulated Asana API received: the stored
// secret in X-Asana-Token (not the model's value), and nothing else of it.
func (s *setup) checkInjected(t *testing.T, wantCalls int) {
	t.Helper()
	got := s.sim.Received()
	if len(got) != wantCalls {
		t.Fatalf("the API received %d requests, want %d", len(got), wantCalls)
	}
	for i, r := range got {
		if r.Header.Get(hiddenArg) != "Bearer "+s.secret {
			t.Errorf("request %d: %s is not \"Bearer <stored secret>\"", i+1, hiddenArg)
		}
		if bytes.Contains(r.Body, []byte(s.secret)) || bytes.Contains(r.Body, []byte(hiddenArg)) {
			t.Errorf("request %d: the secret argument leaked into the body", i+1)
		}
		if r.Method != "POST" || r.Path != "/asana" {
			t.Errorf("request %d: %s %s, want POST /asana", i+1, r.Method, r.Path)
		}
	}
}

// TestTypeScriptSDK: the official TypeScript SDK client launches agw-proxy,
// lists tools without the secret argument, calls one successfully, and sees
// only JSON-RPC on stdout (checked through the SDK and byte by byte).
func TestTypeScriptSDK(t *testing.T) {
	_, dir := requireNode(t)
	bin := agwProxy(t)
	s := newSetup(t)
	argsJSON, _ := json.Marshal(s.args)
	out, err := s.runNode(t, dir, []string{
		"AGW_BIN=" + bin, "AGW_ARGS=" + string(argsJSON), "AGW_TOOL=" + tool, "AGW_HIDDEN=" + hiddenArg,
	}, "sdk_client.mjs")
	if err != nil {
		t.Fatalf("sdk_client.mjs: %v\n%s", err, out)
	}
	for _, want := range []string{"ok: sdk tools/list", "ok: sdk tools/call", "ok: sdk saw only JSON-RPC", "ok: raw stdout"} {
		if !strings.Contains(out, want) {
			t.Errorf("sdk_client.mjs output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("sdk_client.mjs:\n%s", out)
	// One call through the SDK, one through the raw pass.
	s.checkInjected(t, 2)
}

// TestTypeScriptSDKSeesStrayOutput proves the stdout check is real: the same
// script fails against a binary that writes one stray line before MCP.
func TestTypeScriptSDKSeesStrayOutput(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script wrapper")
	}
	_, dir := requireNode(t)
	bin := agwProxy(t)
	s := newSetup(t)
	wrapper := filepath.Join(t.TempDir(), "noisy-agw-proxy")
	script := "#!/bin/sh\necho 'starting agw-proxy'\nexec \"$AGW_REAL_BIN\" \"$@\"\n"
	if err := testexe.WriteFile(wrapper, []byte(script)); err != nil {
		t.Fatal(err)
	}
	argsJSON, _ := json.Marshal(s.args)
	out, err := s.runNode(t, dir, []string{
		"AGW_BIN=" + wrapper, "AGW_REAL_BIN=" + bin, "AGW_ARGS=" + string(argsJSON), "AGW_TOOL=" + tool,
	}, "sdk_client.mjs")
	if err == nil || !strings.Contains(out, "FAIL: stray output on stdout") {
		t.Fatalf("sdk_client.mjs passed a binary with stray stdout (err %v):\n%s", err, out)
	}
}

// TestInspectorCLI: MCP Inspector's CLI mode lists the tools through
// agw-proxy (without the secret argument) and calls one.
func TestInspectorCLI(t *testing.T) {
	_, dir := requireNode(t)
	bin := agwProxy(t)
	s := newSetup(t)
	// The Inspector finds its own package.json relative to the working
	// directory: run it from its build folder.
	build := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "inspector-cli", "build")
	inspect := func(method ...string) map[string]any {
		t.Helper()
		args := append([]string{"index.js", bin}, method...)
		args = append(append(args, "--"), s.args...)
		out, err := s.runNode(t, build, nil, args...)
		if err != nil {
			t.Fatalf("inspector %s: %v\n%s", method[1], err, out)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("inspector %s: output is not one JSON result: %v\n%s", method[1], err, out)
		}
		return res
	}

	res := inspect("--method", "tools/list")
	tools, _ := res["tools"].([]any)
	var found bool
	for _, raw := range tools {
		tl, _ := raw.(map[string]any)
		if tl["name"] == tool {
			found = true
		}
		def, _ := json.Marshal(tl)
		if bytes.Contains(def, []byte(hiddenArg)) {
			t.Errorf("inspector tools/list: %v still shows %s", tl["name"], hiddenArg)
		}
	}
	if !found {
		t.Fatalf("inspector tools/list: no %s among %d tools", tool, len(tools))
	}
	if len(s.sim.Received()) != 0 {
		t.Errorf("tools/list reached the API")
	}

	res = inspect("--method", "tools/call", "--tool-name", tool,
		"--tool-arg", "tool_name=list_projects", "--tool-arg", "workspace=1200000000000000")
	if isErr, _ := res["isError"].(bool); isErr {
		t.Fatalf("inspector tools/call: isError")
	}
	if content, _ := res["content"].([]any); len(content) == 0 {
		t.Fatalf("inspector tools/call: no content")
	}
	s.checkInjected(t, 1)
}
