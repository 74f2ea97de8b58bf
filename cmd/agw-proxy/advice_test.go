package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// simWorkConfig writes a config file, with a space in its name, whose
// profile "work" reaches sim with client_credentials.
func simWorkConfig(t *testing.T, sim *gatewaysim.Sim) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sim work.yaml")
	cfg := fmt.Sprintf(`profiles:
  work:
    gateway_url: %s
    auth:
      token_url: %s
      client_id: %s
      scopes: [%s]
    inject:
      - argument: X-Asana-Token
        secret: asana
        tools: ["%s___*"]
`, sim.GatewayURL, sim.TokenURL, sim.ClientID, sim.Scope, gatewaysim.DefaultTargetName)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAdviceNamesTheProfilesOwnCommands: what serve tells the client to run
// reaches the same profile: its config file and profile name.
func TestAdviceNamesTheProfilesOwnCommands(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	path := simWorkConfig(t, sim)
	p, _, err := resolveWith(t, "", nil, "--config", path, "--profile", "work")
	if err != nil {
		t.Fatal(errorText(err))
	}
	advise := advice(p)
	at := "--config '" + path + "' --profile work"
	for _, tc := range []struct {
		r    proxy.Remedy
		want string
	}{
		{proxy.Remedy{Kind: proxy.StoreSecret, Secret: "asana"}, "run `agw-proxy login asana " + at + "`"},
		{proxy.Remedy{Kind: proxy.GatewayLogin}, "run `agw-proxy login " + at + "`"},
		{proxy.Remedy{Kind: proxy.CheckSetup}, "run `agw-proxy doctor " + at + "`"},
	} {
		if got := advise(tc.r); got != tc.want {
			t.Errorf("advice for %+v = %q, want %q", tc.r, got, tc.want)
		}
	}
}

// TestServeLoginHintKeepsTheConfigFile: a running serve whose Gateway
// credential is rejected tells the model the login command of its own
// profile, --config included (it used to drop it, and the command read the
// wrong file).
func TestServeLoginHintKeepsTheConfigFile(t *testing.T) {
	sim := e2eSim(t, gatewaysim.Options{})
	path := simWorkConfig(t, sim)
	cmd := e2eServeCmd(t, sim, e2eAsanaToken)
	cmd.Args = []string{cmd.Args[0], "serve", "--config", path, "--profile", "work", "--connect-timeout", "5s"}
	cmd.Env = append(cmd.Env, "AGW_PROXY_CLIENT_SECRET=not-the-client-secret")
	cs := e2eConnect(t, cmd)
	out, isErr := e2eCall(t, cs, gatewaysim.DefaultTargetName+"___asanaInvoke", map[string]any{"tool_name": "x"})
	if !isErr {
		t.Fatalf("a call with a rejected client secret succeeded: %q", out)
	}
	want := "run `agw-proxy login --config '" + path + "' --profile work`"
	if !strings.Contains(out, "needs a login") || !strings.Contains(out, want) {
		t.Errorf("the login hint does not reach the profile:\n%s\nwant it to contain %q", out, want)
	}
}
