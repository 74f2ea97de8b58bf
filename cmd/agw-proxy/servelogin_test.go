package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

// TestServeMissingClientSecret runs the case through the binary: a
// profile in --config "sim work.yaml" with no client secret stored. The
// call's message names the login command of that very profile, --config
// included; the log says once that a login is needed (not "gateway not
// reachable", retried in a loop); and a login in another process heals the
// next call.
func TestServeMissingClientSecret(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	path := simWorkConfig(t, sim)
	keyring := filepath.Join(t.TempDir(), "keyring.json")
	penv := procEnv(t, keyring)
	if err := fileKeychain(keyring).Set(context.Background(), "work", "asana", e2eAsanaToken); err != nil {
		t.Fatal(err)
	}
	// "agw-proxy" is this test binary (TestMain), with the test keychain.
	cmd := exec.Command("agw-proxy", "serve", "--config", path, "--profile", "work", "--connect-timeout", "5s")
	cmd.Env = penv
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cs, closeAndWait := launchServe(t, cmd)

	tool := gatewaysim.DefaultTargetName + "___asanaInvoke"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"tool_name": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	login := "agw-proxy login --config '" + path + "' --profile work"
	if out := callText(res); !res.IsError || !strings.Contains(out, "no client secret stored") || !strings.Contains(out, "run `"+login+"`") {
		t.Errorf("a call with no client secret: isError %v\n%s\nwant the login command %q", res.IsError, out, login)
	}

	// A few seconds without requests: no retry loop.
	time.Sleep(2 * time.Second)
	logs := stderr.String()
	if n := strings.Count(logs, `msg="gateway login needed"`); n != 1 {
		t.Errorf("\"gateway login needed\" logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs, "not reachable") {
		t.Errorf("a missing client secret was logged as the Gateway not being reachable:\n%s", logs)
	}
	if !strings.Contains(logs, login) {
		t.Errorf("the log does not name %q:\n%s", login, logs)
	}

	// The login the message names, in another process, heals the next call.
	lcmd := exec.CommandContext(ctx, "agw-proxy", "login", "--config", path, "--profile", "work")
	lcmd.Env = penv
	lcmd.Stdin = strings.NewReader(sim.ClientSecret + "\n")
	if out, err := lcmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", login, err, out)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"tool_name": "after-login"}})
	if err != nil || res.IsError {
		t.Fatalf("the first call after the login: %v %s\nserve stderr:\n%s", err, callText(res), stderr.String())
	}
	if code := closeAndWait(); code != exitOK {
		t.Errorf("exit code %d, want 0\n%s", code, stderr.String())
	}
	noLeak(t, []string{sim.ClientSecret, e2eAsanaToken}, stderr.String())
}
