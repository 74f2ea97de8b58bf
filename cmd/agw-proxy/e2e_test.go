package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

// The end-to-end tests run `agw-proxy serve` as a subprocess over stdio, as
// a desktop MCP client does, against the emulator. The subprocess is this
// test binary as agw-proxy (TestMain): the command as released, except that
// its keychain is the test keychain (secrets_test.go), so a test never reads
// or writes the developer's own keychain entries. Every child gets
// testChildEnv's variables.

// e2eBinary is the agw-proxy the end-to-end tests run: the test binary,
// installed on PATH by TestMain.
func e2eBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("agw-proxy")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// testChildEnv is the environment of an agw-proxy child: the caller's, with
// a test keychain file of its own in a temporary folder, and no D-Bus
// session bus to reach the OS keychain with (checkChildEnv). vars come last,
// so they win.
func testChildEnv(t *testing.T, vars ...string) []string {
	t.Helper()
	dir := t.TempDir()
	env := append(os.Environ(), envTestKeyringFile+"="+filepath.Join(dir, "keyring.json"),
		"DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR="+dir, envTestKeyring+"=")
	return append(env, vars...)
}

const e2eAsanaToken = "1/e2e-asana-token-<&>-9f8e7d6c5b4a"

// e2eSim starts an emulator with the Asana target and a second target whose
// tool declares X-Asana-Token too but is outside the rule's globs.
func e2eSim(t *testing.T, opts gatewaysim.Options) *gatewaysim.Sim {
	t.Helper()
	opts.Targets = []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
		{Name: "OtherTarget", Spec: configs.AsanaOpenAPI, APIKey: "other-api-key"},
	}
	return gatewaysim.StartForTest(t, opts)
}

// serveCmd returns the serve command for sim, with the secrets given in
// the environment override (asana may be empty: not stored). The profile
// name is unique, so a developer's own keychain entries are never read.
func e2eServeCmd(t *testing.T, sim *gatewaysim.Sim, asana string, extra ...string) *exec.Cmd {
	t.Helper()
	profile := "e2e-" + strings.ToLower(rand.Text()[:8])
	args := append([]string{"serve", "--profile", profile,
		"--gateway-url", sim.GatewayURL, "--token-url", sim.TokenURL,
		"--client-id", sim.ClientID, "--scope", sim.Scope,
		"--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*",
	}, extra...)
	cmd := exec.Command(e2eBinary(t), args...)
	// No config file: the flags make the whole profile.
	cfg := t.TempDir()
	cmd.Env = testChildEnv(t, "AGW_PROXY_CLIENT_SECRET="+sim.ClientSecret, "AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=", "XDG_CONFIG_HOME="+cfg, "APPDATA="+cfg)
	if asana != "" {
		cmd.Env = append(cmd.Env, "AGW_PROXY_SECRET_ASANA="+asana)
	}
	checkChildEnv(t, cmd)
	return cmd
}

// connect starts cmd through go-sdk's CommandTransport.
func e2eConnect(t *testing.T, cmd *exec.Cmd) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	checkChildEnv(t, cmd)
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func e2eCall(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String(), res.IsError
}

func e2eReceived(t *testing.T, sim *gatewaysim.Sim, target string) gatewaysim.Request {
	t.Helper()
	rs := sim.Received()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Target == target {
			return rs[i]
		}
	}
	t.Fatalf("the backend received nothing for %s", target)
	return gatewaysim.Request{}
}

func TestEndToEndThroughTheBinary(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{EchoToken: true})
	cmd := e2eServeCmd(t, sim, e2eAsanaToken, "--log-level", "debug")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cs := e2eConnect(t, cmd)

	asana := gatewaysim.DefaultTargetName + "___asanaInvoke"
	other := "OtherTarget___asanaInvoke"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tools := map[string]*mcp.Tool{}
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		tools[tool.Name] = tool
	}

	t.Run("the tool is listed without X-Asana-Token", func(t *testing.T) {
		tool, ok := tools[asana]
		if !ok {
			t.Fatalf("%s not listed", asana)
		}
		s, _ := json.Marshal(tool.InputSchema)
		if strings.Contains(string(s), "X-Asana-Token") {
			t.Errorf("schema still mentions X-Asana-Token: %s", s)
		}
		if !strings.Contains(string(s), "tool_name") {
			t.Errorf("schema lost tool_name: %s", s)
		}
	})

	t.Run("a call reaches the target with the stored token in the header only", func(t *testing.T) {
		out, isErr := e2eCall(t, cs, asana, map[string]any{"tool_name": "list_workspaces"})
		if isErr {
			t.Fatalf("call failed: %s", out)
		}
		got := e2eReceived(t, sim, gatewaysim.DefaultTargetName)
		if got.Header.Get("X-Asana-Token") != "Bearer "+e2eAsanaToken {
			t.Error("target did not get X-Asana-Token: Bearer <stored token>")
		}
		if bytes.Contains(got.Body, []byte("X-Asana-Token")) || bytes.Contains(got.Body, []byte("e2e-asana-token")) {
			t.Error("the token travelled in the body")
		}
	})

	t.Run("the target's echo of the token reaches the client scrubbed", func(t *testing.T) {
		out, _ := e2eCall(t, cs, asana, map[string]any{"tool_name": "echo"})
		if strings.Contains(out, "e2e-asana-token") {
			t.Error("the echoed token reached the client")
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("no mask in the echo: %q", out)
		}
	})

	t.Run("a model-supplied X-Asana-Token is replaced", func(t *testing.T) {
		e2eCall(t, cs, asana, map[string]any{"tool_name": "x", "X-Asana-Token": "Bearer from-the-model"})
		if got := e2eReceived(t, sim, gatewaysim.DefaultTargetName); got.Header.Get("X-Asana-Token") != "Bearer "+e2eAsanaToken {
			t.Error("the model's value was not replaced")
		}
	})

	t.Run("a tool outside the globs gets no secret", func(t *testing.T) {
		s, _ := json.Marshal(tools[other].InputSchema)
		if !strings.Contains(string(s), "X-Asana-Token") {
			t.Errorf("%s lost its own X-Asana-Token argument", other)
		}
		e2eCall(t, cs, other, map[string]any{"tool_name": "x", "X-Asana-Token": "model-value"})
		got := e2eReceived(t, sim, "OtherTarget")
		if v := got.Header.Get("X-Asana-Token"); v != "model-value" {
			t.Errorf("%s got X-Asana-Token of length %d, want the model's own value", other, len(v))
		}
	})

	cs.Close()
	if log := stderr.String(); strings.Contains(log, "e2e-asana-token") || strings.Contains(log, sim.ClientSecret) {
		t.Error("a secret reached the debug log on stderr")
	}
	if !strings.Contains(stderr.String(), "level=DEBUG") {
		t.Error("no debug log lines: the log check above proves nothing")
	}
}

func TestEndToEndMissingSecret(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	cs := e2eConnect(t, e2eServeCmd(t, sim, ""))
	out, isErr := e2eCall(t, cs, gatewaysim.DefaultTargetName+"___asanaInvoke", map[string]any{"tool_name": "x"})
	if !isErr {
		t.Fatal("a call with no stored token succeeded")
	}
	if !strings.Contains(out, "agw-proxy login asana") {
		t.Errorf("message does not name `agw-proxy login asana`: %q", out)
	}
	if n := len(sim.Received()); n != 0 {
		t.Errorf("the call was forwarded without its token (%d backend requests)", n)
	}
}

// rawServe starts serve with raw pipes and answers initialize.
func e2eRawServe(t *testing.T, cmd *exec.Cmd) (stdin io.WriteCloser, stdout *bufio.Reader, stdoutPipe io.ReadCloser) {
	t.Helper()
	checkChildEnv(t, cmd)
	var err error
	if stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if stdoutPipe, err = cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	stdout = bufio.NewReader(stdoutPipe)
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`+"\n")
	line, err := stdout.ReadString('\n')
	if err != nil || !strings.Contains(line, `"protocolVersion"`) {
		t.Fatalf("initialize: %q, %v", line, err)
	}
	io.WriteString(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
	return stdin, stdout, stdoutPipe
}

// exitWithin waits for cmd to end and returns its exit code.
func e2eExitWithin(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("killed by %v", ws.Signal())
			}
			return ee.ExitCode()
		}
		t.Fatal(err)
	case <-time.After(d):
		t.Fatalf("still running after %s", d)
	}
	return -1
}

func TestSignalsEndServeGracefully(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			sim := e2eSim(t, gatewaysim.Options{Sessions: true})
			cmd := e2eServeCmd(t, sim, e2eAsanaToken)
			stdin, stdout, _ := e2eRawServe(t, cmd)
			defer stdin.Close()
			io.WriteString(stdin, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`+"\n")
			if line, _ := stdout.ReadString('\n'); !strings.Contains(line, "asanaInvoke") {
				t.Fatalf("tools/list: %q", line)
			}
			cmd.Process.Signal(sig)
			if code := e2eExitWithin(t, cmd, 10*time.Second); code != 0 {
				t.Errorf("exit code %d after %v, want 0", code, sig)
			}
		})
	}
}

// TestStdinEOFEndsServe: at EOF, serve ends its Gateway session (a 2025
// session: the stateless revision has none to end) and exits 0.
func TestStdinEOFEndsServe(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{Sessions: true})
	cmd := e2eServeCmd(t, sim, e2eAsanaToken, "--protocol", "2025-11-25")
	stdin, stdout, _ := e2eRawServe(t, cmd)
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`+"\n")
	if line, _ := stdout.ReadString('\n'); !strings.Contains(line, "asanaInvoke") {
		t.Fatalf("tools/list: %q", line)
	}
	before := sim.Counts().MCPRequests
	began := time.Now()
	stdin.Close()
	if code := e2eExitWithin(t, cmd, 10*time.Second); code != 0 {
		t.Errorf("exit code %d at EOF, want 0", code)
	}
	t.Logf("exited %v after EOF", time.Since(began).Round(time.Millisecond))
	// Closing the upstream session sends the Gateway a DELETE.
	if sim.Counts().MCPRequests == before {
		t.Error("the upstream session was not closed (no request after EOF)")
	}
}

func TestClosedStdoutEndsServe(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	cmd := e2eServeCmd(t, sim, e2eAsanaToken)
	stdin, _, stdoutPipe := e2eRawServe(t, cmd)
	defer stdin.Close()
	stdoutPipe.Close()
	// The next answer cannot be written: serve must notice and end, not
	// die of SIGPIPE and not hang.
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":2,"method":"ping"}`+"\n")
	code := e2eExitWithin(t, cmd, 10*time.Second)
	if !slices.Contains([]int{0, 1}, code) {
		t.Errorf("exit code %d with stdout closed", code)
	}
}

func TestClosedStderrDoesNotEndServe(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	cmd := e2eServeCmd(t, sim, e2eAsanaToken, "--log-level", "debug")
	// Nobody reads serve's stderr: every log line finds a closed pipe. The
	// write fails and serve goes on; it is not killed with SIGPIPE.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd.Stderr = w
	stdin, stdout, _ := e2eRawServe(t, cmd)
	w.Close()
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`+"\n")
	line, err := stdout.ReadString('\n')
	if err != nil || !strings.Contains(line, `"id":2`) || !strings.Contains(line, gatewaysim.DefaultTargetName+"___") {
		t.Fatalf("tools/list with stderr closed: %q, %v", line, err)
	}
	stdin.Close()
	if code := e2eExitWithin(t, cmd, 10*time.Second); code != 0 {
		t.Errorf("exit code %d with stderr closed, want 0", code)
	}
}
