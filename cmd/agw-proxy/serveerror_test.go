package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// launchServe starts cmd through go-sdk's CommandTransport, as a
// desktop client does, and returns the session and a function that closes
// it (stdin first) and returns the exit code, failing if serve needed a
// signal to end.
func launchServe(t *testing.T, cmd *exec.Cmd) (*mcp.ClientSession, func() int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "serve-error-test", Version: "1"}, nil)
	const patience = 10 * time.Second // before the transport sends SIGTERM
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: patience}, nil)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			cs.Close()
		}
	})
	return cs, func() int {
		t.Helper()
		closed = true
		began := time.Now()
		err := cs.Close()
		if d := time.Since(began); d >= patience {
			t.Errorf("serve did not end when its stdin closed (%s)", d)
		}
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitCode()
		}
		t.Fatalf("close: %v", err)
		return -1
	}
}

func callText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestServeConfigErrorReachesTheClient: serve with a broken config file
// still answers initialize, and tells the client why it cannot serve: a
// JSON-RPC error for tools/list and an isError result for tools/call, with
// the text the CLI prints (file:line:col and the hint). It prints that on
// stderr too, and exits 1 when stdin closes.
func TestServeConfigErrorReachesTheClient(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.yaml")
	cfg := "profiles:\n  work:\n    gatway_url: https://gw.example.com/mcp\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(e2eBinary(t), "serve", "--config", path, "--profile", "work")
	cmd.Env = append(os.Environ(), "AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=", "XDG_CONFIG_HOME="+dir, "APPDATA="+dir)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cs, closeAndWait := launchServe(t, cmd)

	where := path + `:3:5: unknown key "gatway_url" in profile "work"`
	want := "agw-proxy: error: " + where + "\nagw-proxy: hint: did you mean \"gateway_url\"?"
	if got := cs.InitializeResult().ServerInfo.Name; got != "agw-proxy" {
		t.Errorf("serverInfo.name = %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := cs.ListTools(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("tools/list: %v\nwant an error with\n%s", err, want)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "AnyTarget___anyTool", Arguments: map[string]any{}})
	if err != nil {
		t.Fatalf("tools/call: %v; want an isError result", err)
	}
	if !res.IsError || callText(res) != want {
		t.Errorf("tools/call: isError %v, text\n%s\nwant isError with\n%s", res.IsError, callText(res), want)
	}
	if err := cs.Ping(ctx, nil); err != nil {
		t.Errorf("ping: %v", err)
	}

	if code := closeAndWait(); code != exitError {
		t.Errorf("exit code %d after stdin closed, want %d", code, exitError)
	}
	if got := stderr.String(); got != want+"\n" {
		t.Errorf("stderr:\n%s\nwant\n%s", got, want)
	}
}

// TestServeUsageErrorReachesTheClient: a mistyped flag in the client's args
// is shown in the client too, and serve exits 2 (usage) when stdin closes.
func TestServeUsageErrorReachesTheClient(t *testing.T) {
	cmd := exec.Command(e2eBinary(t), "serve", "--gateway-ur", "https://gw.example.com/mcp")
	cmd.Env = append(os.Environ(), "AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=")
	cs, closeAndWait := launchServe(t, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "AnyTarget___anyTool", Arguments: map[string]any{}})
	want := "agw-proxy: error: serve: unknown flag: --gateway-ur\nagw-proxy: hint: run \"agw-proxy serve --help\" for usage"
	if err != nil || !res.IsError || callText(res) != want {
		t.Errorf("tools/call: %v %v\n%s\nwant isError with\n%s", err, res != nil && res.IsError, callText(res), want)
	}
	if code := closeAndWait(); code != exitUsage {
		t.Errorf("exit code %d after stdin closed, want %d", code, exitUsage)
	}
}
