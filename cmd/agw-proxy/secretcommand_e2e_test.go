package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testexe"
)

const vaultSecret = "1/from-the-fake-vault-7c6b5a4d3e2f"

// fakeVaultCLI writes a vault CLI that counts its runs, records its
// environment, and prints the secret, or fails printing it (mode "fail").
func fakeVaultCLI(t *testing.T, mode string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "vault")
	script := "#!/bin/sh\necho run >> '" + dir + "/runs'\nenv > '" + dir + "/env'\n"
	if mode == "fail" {
		script += "echo '" + vaultSecret + "'\necho 'permission denied for " + vaultSecret + "' >&2\nexit 3\n"
	} else {
		script += "echo '" + vaultSecret + "'\n"
	}
	if err := testexe.WriteFile(path, []byte(script)); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// An inject rule with source command, through the binary: the value is
// the command's first line, it runs once for several calls within the TTL,
// without the AGW_PROXY_* environment; a failing command is an isError
// naming it and its exit code, never its output.
func TestCommandSourceEndToEnd(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{Debug: true, EchoToken: true})
	vault, dir := fakeVaultCLI(t, "ok")
	cmd := e2eServeCmd(t, sim, "", "--inject-source", "command", "--inject-command", vault+" kv get -field=token secret/asana", "--inject-cache-ttl", "1h")
	cs := e2eConnect(t, cmd)
	asana := gatewaysim.DefaultTargetName + "___asanaInvoke"
	for range 3 {
		if out, isErr := e2eCall(t, cs, asana, map[string]any{"tool_name": "x"}); isErr {
			t.Fatalf("call: %s", out)
		}
	}
	if got := e2eReceived(t, sim, gatewaysim.DefaultTargetName).Header.Get("X-Asana-Token"); got != "Bearer "+vaultSecret {
		t.Fatal("the target did not get the command's value")
	}
	runs, _ := os.ReadFile(filepath.Join(dir, "runs"))
	if n := strings.Count(string(runs), "run"); n != 1 {
		t.Fatalf("the command ran %d times for 3 calls within its TTL, want 1", n)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	if strings.Contains(strings.ToUpper(string(env)), "AGW_PROXY_") {
		t.Fatal("the command saw AGW_PROXY_ variables")
	}

	failing, _ := fakeVaultCLI(t, "fail")
	cmd = e2eServeCmd(t, sim, "", "--inject-source", "command", "--inject-command", failing+" kv get")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cs = e2eConnect(t, cmd)
	out, isErr := e2eCall(t, cs, asana, map[string]any{"tool_name": "x"})
	if !isErr || !strings.Contains(out, "exit code 3") || !strings.Contains(out, failing) {
		t.Fatalf("failing command: isError %v %q", isErr, out)
	}
	if err := leakcheck.Text(out, vaultSecret); err != nil || strings.Contains(out, "permission denied") {
		t.Fatalf("the failing command's output reached the client: %q", out)
	}
	cs.Close()
	if strings.Contains(stderr.String(), "from-the-fake-vault") || strings.Contains(stderr.String(), "permission denied") {
		t.Fatalf("the failing command's output reached the log:\n%s", stderr.String())
	}
}
