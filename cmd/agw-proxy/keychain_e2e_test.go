//go:build keychain

// The real-keychain end-to-end test of the commands: run it with
// `bash .ci/keychain.sh ./cmd/...`, which starts an unlocked Secret Service
// (gnome-keyring) on a private D-Bus session bus in a throwaway HOME.

package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

func init() { allowRealKeychain = true }

// agw runs the agw-proxy binary (the test binary, through testscript's
// PATH entry) on the OS keychain.
func agw(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command("agw-proxy", args...)
	cmd.Env = realKeychainEnv(t)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func realKeychainEnv(t *testing.T) []string {
	return append(procEnv(t, ""), envTestKeyring+"=os")
}

// secretToolLookup reads an entry the way a user would from the shell.
func secretToolLookup(t *testing.T, user string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("secret-tool"); err != nil {
		t.Skip("secret-tool not installed (apt-get install libsecret-tools)")
	}
	out, err := exec.Command("secret-tool", "lookup", "service", "agw-proxy", "username", user).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return "", false
	}
	if err != nil {
		t.Fatalf("secret-tool lookup: %v", err)
	}
	return string(out), true
}

// TestRealKeychainLoginServeLogout: login -> status -> serve -> tools/call
// with the stored token -> logout -> status reports missing, on the OS
// keychain, with secret-tool seeing what login stored.
func TestRealKeychainLoginServeLogout(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{EchoToken: true})
	const asanaToken = "1/real-keychain-asana-7531"
	secrets := []string{asanaToken, sim.ClientSecret}
	flags := []string{"--gateway-url", sim.GatewayURL, "--token-url", sim.TokenURL, "--client-id", sim.ClientID,
		"--scope", sim.Scope, "--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*"}
	t.Cleanup(func() { agw(t, "", append([]string{"logout", "--all"}, flags...)...) })

	out, errOut, code := agw(t, "Bearer "+asanaToken+"\n", append([]string{"login", "asana"}, flags...)...)
	if code != exitOK || !strings.Contains(out, "Removed the \"Bearer \" prefix") {
		t.Fatalf("login asana: exit %d\n%s%s", code, out, errOut)
	}
	noLeak(t, secrets, out, errOut)
	if v, ok := secretToolLookup(t, "default:asana"); !ok || v != asanaToken {
		t.Fatalf("secret-tool lookup service agw-proxy username default:asana: found %v, value matches %v", ok, v == asanaToken)
	}

	out, errOut, code = agw(t, sim.ClientSecret, append([]string{"login"}, flags...)...)
	if code != exitOK || !strings.Contains(out, "Logged in") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	noLeak(t, secrets, out, errOut)
	if _, ok := secretToolLookup(t, "default:client-secret"); !ok {
		t.Error("secret-tool does not see default:client-secret")
	}

	out, errOut, code = agw(t, "", append([]string{"status"}, flags...)...)
	if code != exitOK || !strings.Contains(out, "asana          stored in keychain") || !strings.Contains(out, "client-secret  stored in keychain") || !strings.Contains(out, "Gateway login: ok") {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	noLeak(t, secrets, out, errOut)

	// serve reads both secrets from the OS keychain.
	cmd := exec.Command("agw-proxy", append([]string{"serve"}, flags...)...)
	cmd.Env = realKeychainEnv(t)
	var serveErr syncBuffer
	cmd.Stderr = &serveErr
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "keychain-e2e"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: demoTool, Arguments: map[string]any{"tool_name": "list_projects"}})
	if err != nil || res.IsError {
		t.Fatalf("tools/call: %v %v\nserve stderr:\n%s", err, res, serveErr.String())
	}
	got := sim.Received()
	if len(got) != 1 || got[0].Header.Get("X-Asana-Token") != "Bearer "+asanaToken {
		t.Errorf("the target did not receive the stored token (%d requests)", len(got))
	}
	cs.Close()
	noLeak(t, secrets, serveErr.String(), resultText(res))

	out, errOut, code = agw(t, "", append([]string{"logout", "--all"}, flags...)...)
	if code != exitOK || !strings.Contains(out, `Removed "asana" from the keychain`) || !strings.Contains(out, "Removed the Gateway client secret") {
		t.Fatalf("logout --all: exit %d\n%s%s", code, out, errOut)
	}
	if _, ok := secretToolLookup(t, "default:asana"); ok {
		t.Error("secret-tool still sees default:asana after logout")
	}
	out, errOut, code = agw(t, "", append([]string{"status"}, flags...)...)
	if code != exitLoginNeeded || !strings.Contains(out, "asana          missing") || !strings.Contains(out, "client-secret  missing") {
		t.Fatalf("status after logout: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, `agw-proxy: hint: run "agw-proxy login asana`) {
		t.Errorf("status after logout names no login command:\n%s", errOut)
	}
}
