package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

const asanaTool = gatewaysim.DefaultTargetName + "___asanaInvoke"

// oauthSourceSetup is an emulator whose Asana API wants the user's own
// token from the provider's OAuth app, a profile whose inject rule has
// source oauth, and the environment of an agw-proxy child for it.
type oauthSourceSetup struct {
	sim     *gatewaysim.Sim
	app     gatewaysim.ProviderApp
	env     []string
	keyring string
	logFile string
}

func newOAuthSourceSetup(t *testing.T, debug bool) *oauthSourceSetup {
	t.Helper()
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{Debug: debug, EchoToken: true, Targets: []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
	}})
	sim.RequireProviderToken(gatewaysim.DefaultTargetName, "X-Asana-Token")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redirect := fmt.Sprintf("http://%s/callback", l.Addr())
	l.Close()
	app := sim.RegisterProviderApp(redirect, true)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	yaml := fmt.Sprintf(`profiles:
  e2e:
    gateway_url: %s
    auth: {type: client_credentials, token_url: %s, client_id: %s, scopes: [%s]}
    inject:
      - argument: X-Asana-Token
        secret: asana
        tools: ["%s___*"]
        source: oauth
        oauth:
          authorize_url: %s%s
          token_url: %s%s
          client_id: "%s"
          redirect_url: %s
`, sim.GatewayURL, sim.TokenURL, sim.ClientID, sim.Scope, gatewaysim.DefaultTargetName,
		sim.ProviderURL, gatewaysim.ProviderAuthorizePath, sim.ProviderURL, gatewaysim.ProviderTokenPath, app.ClientID, redirect)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &oauthSourceSetup{sim: sim, app: app, logFile: filepath.Join(dir, "serve.log")}
	s.env = testChildEnv(t, "AGW_PROXY_CONFIG="+cfg, "AGW_PROXY_PROFILE=e2e", "AGW_PROXY_CLIENT_SECRET="+sim.ClientSecret)
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, envTestKeyringFile+"="); ok {
			s.keyring = v
		}
	}
	return s
}

// login runs "agw-proxy login asana --no-browser --client-secret" and plays
// the user's browser on the URL it prints.
func (s *oauthSourceSetup) login(t *testing.T) {
	t.Helper()
	cmd := exec.Command(e2eBinary(t), "login", "asana", "--no-browser", "--client-secret")
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(s.app.ClientSecret)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	var errText strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		loginURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+/agw-proxy-login/\S+`)
		for sc.Scan() {
			errText.WriteString(sc.Text() + "\n")
			if u := loginURL.FindString(sc.Text()); u != "" {
				urls <- u
			}
		}
	}()
	u := testwait.Await(t, urls, "the login URL")
	ctx := testwait.Context(t)
	if _, err := gatewaysim.ConsentInBrowser(ctx, nil, u, "allow"); err != nil {
		t.Fatal(err)
	}
	testwait.Within(t, 20*time.Second, "the login to end", func() { err = cmd.Wait() })
	if err != nil || !strings.Contains(stdout.String(), "Logged in to \"asana\"") {
		t.Fatalf("login: %v\n%s%s", err, stdout.String(), errText.String())
	}
}

// serve starts "agw-proxy serve" with a debug log file; out collects its
// stdout.
func (s *oauthSourceSetup) serve(t *testing.T) (cs *mcp.ClientSession, out *syncBuffer) {
	t.Helper()
	cmd := exec.Command(e2eBinary(t), "serve", "--log-level", "debug", "--log-file", s.logFile)
	cmd.Env = s.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	out = &syncBuffer{}
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	cs, err = client.Connect(testwait.Context(t), &mcp.IOTransport{Reader: io.NopCloser(io.TeeReader(stdout, out)), Writer: stdin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, out
}

func (s *oauthSourceSetup) backendCalls() int {
	n := 0
	for _, r := range s.sim.Received() {
		if r.Target == gatewaysim.DefaultTargetName {
			n++
		}
	}
	return n
}

// An inject rule with source oauth, end to end through the binary: the
// login stores only the refresh token; serve's calls carry access tokens it
// mints; a target's 401 refreshes the token and retries the call once; an
// expired token is refreshed once for concurrent calls; rotated refresh
// tokens are stored and the old ones never used again; a revoked login is
// an actionable isError; no token reaches stdout or the log, and the
// keychain holds nothing but the current refresh token (and the client
// secret).
func TestOAuthSourceEndToEnd(t *testing.T) {
	s := newOAuthSourceSetup(t, true)
	s.login(t)
	if c := s.sim.ProviderCounts(); c.Logins != 1 {
		t.Fatalf("after login: %+v", c)
	}
	cs, stdout := s.serve(t)
	call := func() (string, bool) {
		return e2eCall(t, cs, asanaTool, map[string]any{"tool_name": "get_me"})
	}

	text, isErr := call()
	if isErr || !strings.Contains(text, "handled by the emulator") {
		t.Fatalf("first call: %v %s", isErr, text)
	}
	if got := e2eReceived(t, s.sim, gatewaysim.DefaultTargetName).Header.Get("X-Asana-Token"); !strings.HasPrefix(got, "Bearer asapp_") {
		t.Fatalf("the target got X-Asana-Token %q, want a provider access token", got[:min(len(got), 13)])
	}

	// The target rejects the token (401): refreshed, and the call sent
	// once more.
	before, calls := s.sim.ProviderCounts(), s.backendCalls()
	s.sim.ExpireProviderTokens()
	text, isErr = call()
	after := s.sim.ProviderCounts()
	if isErr || after.ExpiredRejected != before.ExpiredRejected+1 || after.Refreshes != before.Refreshes+1 || s.backendCalls() != calls+2 {
		t.Fatalf("after a 401: isError %v %s; counts %+v -> %+v; backend calls %d -> %d", isErr, text, before, after, calls, s.backendCalls())
	}

	// Expiry mid-session: short-lived tokens from now on; once one has
	// expired, concurrent calls share one refresh and none is rejected.
	s.sim.SetProviderTokenLifetime(2 * time.Second)
	s.sim.ExpireProviderTokens()
	if _, isErr := call(); isErr {
		t.Fatal("call after the second 401 failed")
	}
	time.Sleep(2500 * time.Millisecond) // the 2 s token expires (no timing is asserted)
	before = s.sim.ProviderCounts()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if text, isErr := call(); isErr {
				t.Errorf("concurrent call after expiry: %s", text)
			}
		})
	}
	wg.Wait()
	after = s.sim.ProviderCounts()
	if after.Refreshes != before.Refreshes+1 || after.ExpiredRejected != before.ExpiredRejected {
		t.Fatalf("6 concurrent calls after expiry: counts %+v -> %+v, want one refresh and no rejection", before, after)
	}

	// Rotation: every refresh returned a new refresh token, the keychain
	// holds the latest, and no replaced one was ever sent again.
	access, refresh := s.sim.ProviderAppTokens()
	if after.StaleRefreshes != 0 || len(refresh) < 4 {
		t.Fatalf("stale refreshes %d, %d refresh tokens issued", after.StaleRefreshes, len(refresh))
	}
	keyring, err := os.ReadFile(s.keyring)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(keyring, []byte(refresh[len(refresh)-1])) {
		t.Fatal("the keychain does not hold the current refresh token")
	}
	for _, tok := range append(access, refresh[:len(refresh)-1]...) {
		if bytes.Contains(keyring, []byte(tok)) {
			t.Fatal("the keychain holds an access token or a replaced refresh token")
		}
	}

	// Revoked: the login is needed again, and the model is told how.
	s.sim.RevokeProviderLogins(s.app.ClientID)
	text, isErr = call()
	if !isErr || !strings.Contains(text, `OAuth login for "asana" is needed again`) || !strings.Contains(text, "agw-proxy login asana") {
		t.Fatalf("after revocation: isError %v %q", isErr, text)
	}

	// No token anywhere but where it belongs.
	access, refresh = s.sim.ProviderAppTokens()
	all := append(append(access, refresh...), s.app.ClientSecret)
	if err := leakcheck.Lines(stdout.String(), all...); err != nil {
		t.Errorf("stdout: %v", err)
	}
	if !strings.Contains(stdout.String(), `Bearer [redacted]`) {
		t.Error("the echoed token was not scrubbed as [redacted]: the check saw no token at all")
	}
	cs.Close()
	logText, _ := os.ReadFile(s.logFile)
	if err := leakcheck.Lines(string(logText), all...); err != nil {
		t.Errorf("log: %v", err)
	}
	if !strings.Contains(string(logText), "retrying the call once") {
		t.Errorf("the log does not tell of the retry:\n%s", logText)
	}
}

// Without the Gateway's debug messages a target's 401 is the generic
// error, which may follow a call that ran: not retried, but the token is
// refreshed so that the next call works.
func TestOAuthSourceGenericErrorRefreshesWithoutRetry(t *testing.T) {
	s := newOAuthSourceSetup(t, false)
	s.login(t)
	cs, _ := s.serve(t)
	call := func() (string, bool) {
		return e2eCall(t, cs, asanaTool, map[string]any{"tool_name": "get_me"})
	}
	if _, isErr := call(); isErr {
		t.Fatal("first call failed")
	}
	calls := s.backendCalls()
	s.sim.ExpireProviderTokens()
	if text, isErr := call(); !isErr || !strings.Contains(text, "An internal error occurred") || s.backendCalls() != calls+1 {
		t.Fatalf("call with a rejected token: isError %v %q, backend calls %d -> %d (want the error, not retried)", isErr, text, calls, s.backendCalls())
	}
	if text, isErr := call(); isErr {
		t.Fatalf("the next call: %s", text)
	}
}

var _ = context.Background
