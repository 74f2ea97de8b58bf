package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testexe"
)

// Gateway-held OAuth (3LO) end to end: agw-proxy serve and login as built,
// against the emulator's 3LO target, with a test opener in place of
// xdg-open that records how it was started; the test plays the browser on
// the URL it got (gatewaysim.ConsentInBrowser), and the emulated Gateway
// owner's return-URL app binds the consent.

const (
	e2e3LOTarget = "Asana3LO"
	e2e3LOTool   = e2e3LOTarget + "___asanaInvoke"
)

var e2e3LOArgs = map[string]any{"tool_name": "list_projects", "X-Asana-Token": "unused"}

// consentE2E is one end-to-end setup: the emulator with the 3LO target,
// a config file for it, and the test opener.
type consentE2E struct {
	sim    *gatewaysim.Sim
	config string
	bin    string // the folder of the test opener, first on PATH
	log    string // what the opener recorded: one "argc|url" line per start
	env    string // the environment of its last start
}

func newConsentE2E(t *testing.T, extra string) *consentE2E {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the browser is opened with xdg-open on Linux only")
	}
	envBin, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env command")
	}
	c := &consentE2E{sim: gatewaysim.StartForTest(t, gatewaysim.Options{Targets: []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
		{Name: e2e3LOTarget, Spec: configs.AsanaOpenAPI, OAuth: &gatewaysim.OAuthCredentialProvider{}},
	}})}
	dir := t.TempDir()
	c.config, c.bin = filepath.Join(dir, "config.yaml"), filepath.Join(dir, "bin")
	c.log, c.env = filepath.Join(dir, "opened"), filepath.Join(dir, "env")
	cfg := fmt.Sprintf(`profiles:
  default:
    gateway_url: %s
    auth:
      token_url: %s
      client_id: %s
      scopes: [%s]
    inject:
      - argument: X-Asana-Token
        secret: asana
        tools: ["%s___*"]
%s`, c.sim.GatewayURL, c.sim.TokenURL, c.sim.ClientID, c.sim.Scope, gatewaysim.DefaultTargetName, extra)
	if err := os.WriteFile(c.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(c.bin, 0o700); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nprintf '%s|%s\\n' \"$#\" \"$1\" >> '" + c.log + "'\n" + envBin + " > '" + c.env + "'\n"
	if err := testexe.WriteFile(filepath.Join(c.bin, "xdg-open"), []byte(script)); err != nil {
		t.Fatal(err)
	}
	return c
}

// cmd is agw-proxy with args, on the setup's config file and opener.
func (c *consentE2E) cmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	return c.cmdContext(context.Background(), t, args...)
}

func (c *consentE2E) cmdContext(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, e2eBinary(t), args...)
	cmd.Env = testChildEnv(t, "AGW_PROXY_CLIENT_SECRET="+c.sim.ClientSecret, "AGW_PROXY_SECRET_ASANA="+e2eAsanaToken,
		"AGW_PROXY_CONFIG="+c.config, "AGW_PROXY_PROFILE=", "PATH="+c.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	checkChildEnv(t, cmd)
	return cmd
}

// opened returns the URLs the opener was started with, failing the test
// when a start had other than one argument.
func (c *consentE2E) opened(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(c.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		argc, u, _ := strings.Cut(line, "|")
		if argc != "1" {
			t.Errorf("the opener was started with %s arguments, want the URL alone", argc)
		}
		urls = append(urls, u)
	}
	return urls
}

// playBrowser waits (up to 20 s) for the opener's first start and consents
// on its URL, as the user in the browser.
func (c *consentE2E) playBrowser(t *testing.T) <-chan error {
	done := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(c.log); err == nil && len(b) > 0 {
				_, u, _ := strings.Cut(strings.SplitN(string(b), "\n", 2)[0], "|")
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := gatewaysim.ConsentInBrowser(ctx, nil, u, "allow")
				cancel()
				done <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		done <- fmt.Errorf("the opener was not started within 20s")
	}()
	return done
}

// wantVaultedCall checks the call's result and that the 3LO backend got
// the vaulted token.
func (c *consentE2E) wantVaultedCall(t *testing.T, text string, isError bool) {
	t.Helper()
	if isError {
		t.Fatalf("the call answered isError: %s", text)
	}
	tok := c.sim.VaultedTokens(c.sim.ClientID)[e2e3LOTarget]
	if tok == "" {
		t.Fatal("AgentCore Identity vaulted no token for the user")
	}
	if got := e2eReceived(t, c.sim, e2e3LOTarget).Header.Get("Authorization"); got != "Bearer "+tok {
		t.Fatalf("the 3LO backend got Authorization %q, want the vaulted token", got)
	}
}

// checkSecrets: neither the opener's command line and environment nor
// stderr holds an injected secret or the client secret.
func (c *consentE2E) checkSecrets(t *testing.T, stderr string) {
	t.Helper()
	env, _ := os.ReadFile(c.env)
	argv, _ := os.ReadFile(c.log)
	for name, s := range map[string]string{"stderr": stderr, "the opener's environment": string(env), "the opener's arguments": string(argv)} {
		if err := leakcheck.Lines(s, e2eAsanaToken, c.sim.ClientSecret); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, line := range strings.Split(string(env), "\n") {
		if strings.HasPrefix(line, "AGW_PROXY_") {
			t.Errorf("the opener's environment holds %s", line[:strings.IndexByte(line+"=", '=')])
		}
	}
}

// A client without URL elicitation (go-sdk's default client declares
// none): agw-proxy opens the consent URL through the opener, waits, and
// answers the call once the user consented in the browser.
func TestEndToEndConsentOpensTheBrowser(t *testing.T) {
	c := newConsentE2E(t, "")
	cmd := c.cmd(t, "serve")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cs := e2eConnect(t, cmd)
	browser := c.playBrowser(t)
	text, isError := e2eCall(t, cs, e2e3LOTool, e2e3LOArgs)
	if err := <-browser; err != nil {
		t.Fatalf("the played browser: %v", err)
	}
	c.wantVaultedCall(t, text, isError)
	if opened := c.opened(t); len(opened) != 1 || !strings.HasPrefix(opened[0], c.sim.IdentityURL+"/identities/oauth2/authorize?request_uri=") {
		t.Errorf("the opener got %q, want the consent URL once", opened)
	}
	if !strings.Contains(stderr.String(), "target Asana3LO needs your consent") {
		t.Errorf("stderr does not tell of the consent:\n%s", stderr.String())
	}
	cs.Close()
	c.checkSecrets(t, stderr.String())
}

// Five calls at once, from a client without URL elicitation: one browser
// tab, five answers from the backend.
func TestEndToEndConcurrentCallsOpenOneConsent(t *testing.T) {
	c := newConsentE2E(t, "")
	cs := e2eConnect(t, c.cmd(t, "serve"))
	browser := c.playBrowser(t)
	var wg sync.WaitGroup
	errs := make(chan string, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: e2e3LOTool, Arguments: e2e3LOArgs})
			switch {
			case err != nil:
				errs <- err.Error()
			case res.IsError:
				errs <- resultText(res)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a call failed: %s", e)
	}
	if err := <-browser; err != nil {
		t.Fatalf("the played browser: %v", err)
	}
	if opened := c.opened(t); len(opened) != 1 {
		t.Errorf("the opener was started %d times, want once: %q", len(opened), opened)
	}
	if n := c.sim.Counts().ConsentURLsOpened; n != 1 {
		t.Errorf("%d consent URLs were opened, want 1", n)
	}
}

// A client that declared URL elicitation is asked itself: it shows the
// URL (the test consents), agw-proxy opens nothing, and the call goes
// through once the client said the user accepted.
func TestEndToEndConsentIsRelayedToTheClient(t *testing.T) {
	for _, rev := range []string{"2025-11-25", "2026-07-28"} {
		t.Run(rev, func(t *testing.T) {
			c := newConsentE2E(t, "")
			cmd := c.cmd(t, "serve")
			var asked []string
			var mu sync.Mutex
			client := mcp.NewClient(&mcp.Implementation{Name: "e2e-url", Version: "1"}, &mcp.ClientOptions{
				Capabilities: &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{URL: &mcp.URLElicitationCapabilities{}}},
				ElicitationHandler: func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					mu.Lock()
					asked = append(asked, req.Params.Mode+" "+req.Params.URL)
					mu.Unlock()
					if _, err := gatewaysim.ConsentInBrowser(ctx, nil, req.Params.URL, "allow"); err != nil {
						return nil, err
					}
					return &mcp.ElicitResult{Action: "accept"}, nil
				},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: rev})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			text, isError := e2eCall(t, cs, e2e3LOTool, e2e3LOArgs)
			c.wantVaultedCall(t, text, isError)
			mu.Lock()
			defer mu.Unlock()
			if len(asked) != 1 || !strings.HasPrefix(asked[0], "url "+c.sim.IdentityURL+"/identities/oauth2/authorize?") {
				t.Errorf("the client was asked %q, want the consent URL once", asked)
			}
			if opened := c.opened(t); len(opened) != 0 {
				t.Errorf("agw-proxy opened %q for a client that shows URLs itself", opened)
			}
		})
	}
}

// A consent that does not come within timeouts.consent: an isError result
// that says what to do, with the URL and the return-URL app.
func TestEndToEndConsentTimeoutIsActionable(t *testing.T) {
	c := newConsentE2E(t, "    timeouts: {consent: 2s}\n    open_browser: false\n")
	cmd := c.cmd(t, "serve")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cs := e2eConnect(t, cmd)
	text, isError := e2eCall(t, cs, e2e3LOTool, e2e3LOArgs)
	for _, want := range []string{
		`target "Asana3LO" needs your consent`, "after 2s (timeouts.consent): open " + c.sim.IdentityURL + "/identities/oauth2/authorize?request_uri=",
		"run `agw-proxy login Asana3LO --config " + c.config + " --consent --tool READ_ONLY_TOOL` first", "the Gateway's return-URL app", "CompleteResourceTokenAuth",
	} {
		if !isError || !strings.Contains(text, want) {
			t.Errorf("the call answered %q (isError %v), want it to hold %q", text, isError, want)
		}
	}
	if opened := c.opened(t); len(opened) != 0 {
		t.Errorf("open_browser: false, yet the opener got %q", opened)
	}
	if !strings.Contains(stderr.String(), "open this URL in a browser") || !strings.Contains(stderr.String(), c.sim.IdentityURL+"/identities/oauth2/authorize?") {
		t.Errorf("stderr does not print the URL to open:\n%s", stderr.String())
	}
}

// login TARGET --consent consents ahead of time through the read-only
// tool; doctor then says so; --reconsent (forceAuthentication) consents
// again, to a new vaulted token.
func TestEndToEndLoginConsentAndReconsent(t *testing.T) {
	c := newConsentE2E(t, "    consent_tools: ["+e2e3LOTool+"]\n")
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := c.cmdContext(ctx, t, args...).CombinedOutput()
		return string(out), err
	}
	out, err := run("doctor")
	if err == nil || !strings.Contains(out, "consent Asana3LO: not consented") || !strings.Contains(out, "agw-proxy login Asana3LO --config "+c.config+" --consent") {
		t.Errorf("doctor before the consent (%v):\n%s", err, out)
	}
	if n := c.sim.Counts().ConsentURLsOpened; n != 0 || len(c.opened(t)) != 0 {
		t.Errorf("doctor opened a consent URL")
	}

	out, _ = run("status", "--offline")
	if !strings.Contains(out, "Asana3LO  consent not checked") {
		t.Errorf("status does not list the 3LO target:\n%s", out)
	}

	arguments := `{"tool_name":"list_projects","X-Asana-Token":"unused"}`
	browser := c.playBrowser(t)
	out, err = run("login", e2e3LOTarget, "--consent", "--arguments", arguments)
	if err != nil || !strings.Contains(out, `Consent to target "Asana3LO" given`) {
		t.Fatalf("login --consent (%v):\n%s", err, out)
	}
	if err := <-browser; err != nil {
		t.Fatalf("the played browser: %v", err)
	}
	first := c.sim.VaultedTokens(c.sim.ClientID)[e2e3LOTarget]
	if first == "" {
		t.Fatal("nothing vaulted after login --consent")
	}
	c.checkSecrets(t, out)

	out, err = run("doctor")
	if !strings.Contains(out, "consent Asana3LO: consented") {
		t.Errorf("doctor after the consent (%v):\n%s", err, out)
	}
	out, err = run("login", e2e3LOTarget, "--consent", "--arguments", arguments)
	if err != nil || !strings.Contains(out, "you have consented already") {
		t.Errorf("login --consent once consented (%v):\n%s", err, out)
	}

	if err := os.Remove(c.log); err != nil {
		t.Fatal(err)
	}
	browser = c.playBrowser(t)
	out, err = run("login", e2e3LOTarget, "--reconsent", "--arguments", arguments)
	if err != nil || !strings.Contains(out, `Consent to target "Asana3LO" given`) {
		t.Fatalf("login --reconsent (%v):\n%s", err, out)
	}
	if err := <-browser; err != nil {
		t.Fatalf("the played browser: %v", err)
	}
	if second := c.sim.VaultedTokens(c.sim.ClientID)[e2e3LOTarget]; second == "" || second == first {
		t.Errorf("after --reconsent the vault holds %q, want a new token", second)
	}
	if n := c.sim.Counts().Consents; n != 2 {
		t.Errorf("the provider saw %d consents, want 2", n)
	}
}
