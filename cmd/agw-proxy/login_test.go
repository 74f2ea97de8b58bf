package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/agw-proxy/agw-proxy/tokenstore/tokenstoretest"
)

// runInProcess runs agw-proxy with args in this process, with stdin and the
// given environment (nothing else of the real one), and returns its output.
func runInProcess(t *testing.T, vars map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	testwait.NoLeaks(t, idleConnections...)
	var out, errOut bytes.Buffer
	e := &env{testKeychain: testStore,
		stdin:         strings.NewReader(stdin),
		stdout:        &out,
		stderr:        &errOut,
		getenv:        func(k string) string { return vars[k] },
		userConfigDir: func() (string, error) { return t.TempDir(), nil },
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code = run(ctx, args, e)
	return out.String(), errOut.String(), code
}

// noLeak fails the test if any secret appears in any of the outputs.
func noLeak(t *testing.T, secrets []string, outputs ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for i, o := range outputs {
			if strings.Contains(o, s) {
				t.Errorf("secret leaked to output %d", i)
			}
		}
	}
}

// TestLoginClientCredentials: login stores the client secret only after a
// token fetch proved it, riding out token-endpoint 503s; discovery fills the
// token URL; status checks the stored credential with the token endpoint.
func TestLoginClientCredentials(t *testing.T) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	fake := tokenstoretest.NewFake()
	vars := map[string]string{envTestFake: registerFake(t, fake)}
	flags := []string{"--gateway-url", sim.GatewayURL, "--token-url", sim.TokenURL, "--client-id", sim.ClientID, "--scope", sim.Scope}
	secrets := []string{sim.ClientSecret, "wrong-" + sim.ClientSecret}
	ctx := context.Background()

	out, errOut, code := runInProcess(t, vars, "wrong-"+sim.ClientSecret+"\n", append([]string{"login"}, flags...)...)
	if code != exitError || !strings.Contains(errOut, "refused client ID "+sim.ClientID+" with this client secret; nothing stored") {
		t.Errorf("wrong secret: exit %d, stderr:\n%s", code, errOut)
	}
	if _, err := fake.Get(ctx, "default", tokenstore.ClientSecretName); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("a refused client secret was stored (err %v)", err)
	}
	noLeak(t, secrets, out, errOut)

	sim.FailTokenNext(2, http.StatusServiceUnavailable)
	out, errOut, code = runInProcess(t, vars, sim.ClientSecret+"\n", append([]string{"login"}, flags...)...)
	if code != exitOK || !strings.Contains(out, "Logged in: the Gateway access token is valid until ") || !strings.Contains(out, "(in 1h0m0s)") && !strings.Contains(out, "(in 59m") {
		t.Fatalf("login through two 503s: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if v, err := fake.Get(ctx, "default", tokenstore.ClientSecretName); err != nil || string(v) != sim.ClientSecret {
		t.Errorf("client secret not stored as given (err %v)", err)
	}
	noLeak(t, secrets, out, errOut)

	// Discovery instead of a token URL.
	dflags := []string{"--gateway-url", sim.GatewayURL, "--discovery-url", sim.DiscoveryURL, "--client-id", sim.ClientID, "--scope", sim.Scope}
	out, errOut, code = runInProcess(t, vars, sim.ClientSecret, append([]string{"login", "--profile", "disc"}, dflags...)...)
	if code != exitOK {
		t.Fatalf("login with discovery: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code = runInProcess(t, vars, "", append([]string{"status"}, flags...)...)
	if code != exitOK || !strings.Contains(out, "Gateway login: ok, access token valid until ") || !strings.Contains(out, "client-secret  stored in keychain, 51 bytes") {
		t.Errorf("status: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	noLeak(t, secrets, out, errOut)

	// A token endpoint that stays down: status exits 1, not 4 (no logout).
	sim.FailTokenNext(100, http.StatusServiceUnavailable)
	out, errOut, code = runInProcess(t, vars, "", append([]string{"status"}, flags...)...)
	if code != exitError || !strings.Contains(out, "Gateway login: could not check") || !strings.Contains(errOut, "token endpoint unavailable") {
		t.Errorf("status with the token endpoint down: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	sim.FailTokenNext(0, 0)
}

// TestKeychainHang: a keychain that hangs (until its timeout) makes login
// and status fail fast with a clear error, and serve stays up and answers
// the call as an isError result.
func TestKeychainHang(t *testing.T) {
	testwait.NoLeaks(t)
	fake := tokenstoretest.NewFake()
	fake.Hang(300 * time.Millisecond)
	vars := map[string]string{envTestFake: registerFake(t, fake)}

	start := time.Now()
	_, errOut, code := runInProcess(t, vars, "hang-tok-1\n", "login", "asana", "--gateway-url", "http://127.0.0.1:9/mcp")
	if code != exitError || !strings.Contains(errOut, "did not answer in time") && !strings.Contains(errOut, "did not answer within") {
		t.Errorf("login: exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "agw-proxy: hint: unlock the keychain") {
		t.Errorf("login: no hint to unlock the keychain:\n%s", errOut)
	}
	_, errOut, code = runInProcess(t, vars, "", "status", "--gateway-url", "http://127.0.0.1:9/mcp", "--inject", "X-Asana-Token=asana", "--inject-tools", "T___*")
	if code != exitError || !strings.Contains(errOut, "tokenstore: read \"asana\"") {
		t.Errorf("status: exit %d, stderr:\n%s", code, errOut)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("login and status took %v with a keychain timing out after 300ms", d)
	}

	sim := gatewaysim.StartForTest(t, gatewaysim.Options{})
	vars[tokenstore.EnvVar(tokenstore.ClientSecretName)] = sim.ClientSecret
	cs, stderr, done := serveInProcess(t, vars, "--gateway-url", sim.GatewayURL, "--token-url", sim.TokenURL,
		"--client-id", sim.ClientID, "--scope", sim.Scope, "--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName+"___*")
	ctx := context.Background()
	for i := range 2 { // twice: serve is still up after the first
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: demoTool, Arguments: map[string]any{"tool_name": "list_projects"}})
		if err != nil {
			t.Fatalf("call %d: %v\nstderr:\n%s", i, err, stderr.String())
		}
		if !res.IsError || !strings.Contains(resultText(res), "keychain did not answer in time") {
			t.Errorf("call %d: want an isError result about the keychain, got %v %q", i, res.IsError, resultText(res))
		}
	}
	if n := len(sim.Received()); n != 0 {
		t.Errorf("%d calls reached the target without their secret", n)
	}
	done()
}

// serveInProcess runs serve in this process and connects an MCP client.
// done closes the client and waits for serve to end.
func serveInProcess(t *testing.T, vars map[string]string, args ...string) (*mcp.ClientSession, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	toProxyR, toProxyW := io.Pipe()
	fromProxyR, fromProxyW := io.Pipe()
	var stderr syncBuffer
	e := &env{testKeychain: testStore,
		stdin:         toProxyR,
		stdout:        fromProxyW,
		stderr:        &stderr,
		getenv:        func(k string) string { return vars[k] },
		userConfigDir: func() (string, error) { return t.TempDir(), nil },
	}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"serve"}, args...), e)
		fromProxyW.Close()
	}()
	client := mcp.NewClient(&mcp.Implementation{Name: "login-test"}, nil)
	cs, err := client.Connect(ctx, &mcp.IOTransport{Reader: fromProxyR, Writer: toProxyW}, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return cs, &stderr, func() {
		defer cancel()
		cs.Close()
		toProxyW.Close()
		select {
		case c := <-code:
			if c != exitOK {
				t.Errorf("serve exit %d\nstderr:\n%s", c, stderr.String())
			}
		case <-ctx.Done():
			t.Error("serve did not end after stdin closed")
		}
	}
}

// freeRedirectURL returns a loopback callback URL on a port free right now.
func freeRedirectURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("http://localhost:%d/", l.Addr().(*net.TCPAddr).Port)
}

// procEnv is the environment of an agw-proxy child process: this one's,
// with no config file, a test keychain in a file, and vars.
func procEnv(t *testing.T, keyring string, vars ...string) []string {
	home := t.TempDir()
	env := append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=",
		"AGW_PROXY_CLIENT_SECRET=", "AGW_PROXY_SECRET_ASANA=", "AGW_PROXY_SECRET_REFRESH_TOKEN=",
		envTestKeyringFile+"="+keyring)
	return append(env, vars...)
}

// browserLogin runs "agw-proxy login --no-browser" as its own process and
// plays the browser: it reads the printed authorization URL from stderr and
// follows it (the emulator auto-approves and redirects to the callback).
func browserLogin(t *testing.T, env []string, flags ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "agw-proxy", append([]string{"login", "--no-browser"}, flags...)...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errText strings.Builder
	browsed := make(chan error, 1)
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		line := sc.Text()
		errText.WriteString(line + "\n")
		if u, ok := strings.CutPrefix(line, "  http"); ok {
			go func() {
				resp, err := http.Get("http" + u)
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("agw-proxy is logged in")) {
						err = fmt.Errorf("callback page: HTTP %d", resp.StatusCode)
					}
				}
				browsed <- err
			}()
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errText.String())
	}
	select {
	case err := <-browsed:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("login printed no URL to open:\n%s", errText.String())
	}
	return out.String(), errText.String()
}

// TestBrowserLoginHealsServe runs the authorization-code setup end to end
// through separate processes against the emulator: a browser login (PKCE)
// stores only the refresh token; a running serve mints access tokens from
// it, refreshes them on expiry, rides out token-endpoint 503s, turns a
// revoked refresh token (invalid_grant) into an isError result naming
// "agw-proxy login", and recovers after a login in another process, without
// a restart.
func TestBrowserLoginHealsServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and waits for token expiry")
	}
	redirect := freeRedirectURL(t)
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{RedirectURL: redirect, TokenLifetime: 2 * time.Second, EchoToken: true})
	keyring := filepath.Join(t.TempDir(), "keyring.json")
	penv := procEnv(t, keyring)
	ctx := context.Background()
	kc := fileKeychain(keyring)
	const asanaToken = "1/browser-e2e-asana-4711"
	if err := kc.Set(ctx, "default", "asana", asanaToken); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--gateway-url", sim.GatewayURL, "--auth-type", "authorization_code",
		"--discovery-url", sim.DiscoveryURL, "--client-id", sim.WebClientID, "--redirect-url", redirect,
		"--scope", "openid", "--scope", sim.Scope,
		"--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*"}

	out, errOut := browserLogin(t, penv, flags...)
	if !strings.Contains(out, `Stored the refresh token for profile "default" in the keychain (service agw-proxy, account default:refresh-token).`) ||
		!strings.Contains(out, "Logged in: the Gateway access token is valid until ") {
		t.Fatalf("login output:\n%s", out)
	}
	if !strings.Contains(errOut, "Open this URL in your browser to log in:") || !strings.Contains(errOut, "/agw-proxy-login/") ||
		strings.Contains(errOut, "state=") || strings.Contains(errOut, "code_challenge") {
		t.Errorf("login instructions (want the one-time URL, without the state or the PKCE challenge):\n%s", errOut)
	}
	refresh, err := kc.Get(ctx, "default", tokenstore.RefreshTokenName)
	if err != nil || len(refresh) == 0 || len(refresh) > tokenstore.MaxSecretSize {
		t.Fatalf("refresh token: %d bytes, err %v", len(refresh), err)
	}
	m, _ := kc.load()
	if len(m) != 2 {
		t.Errorf("keychain holds %d entries, want the asana token and the refresh token only", len(m))
	}
	secrets := []string{string(refresh), asanaToken}
	noLeak(t, secrets, out, errOut)

	// status in another process: ready.
	st := exec.Command("agw-proxy", append([]string{"status"}, flags...)...)
	st.Env = penv
	stOut, err := st.CombinedOutput()
	if err != nil || !bytes.Contains(stOut, []byte("refresh-token  stored in keychain")) || !bytes.Contains(stOut, []byte("Gateway login: ok")) {
		t.Errorf("status: %v\n%s", err, stOut)
	}
	noLeak(t, secrets, string(stOut))

	// serve, as its own process.
	cmd := exec.Command("agw-proxy", append([]string{"serve", "--log-level", "debug"}, flags...)...)
	cmd.Env = penv
	var serveErr syncBuffer
	cmd.Stderr = &serveErr
	client := mcp.NewClient(&mcp.Implementation{Name: "login-e2e"}, nil)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cs, err := client.Connect(cctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var transcript strings.Builder
	call := func(step string) *mcp.CallToolResult {
		t.Helper()
		res, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: demoTool, Arguments: map[string]any{"tool_name": "list_projects"}})
		if err != nil {
			t.Fatalf("%s: %v\nserve stderr:\n%s", step, err, serveErr.String())
		}
		transcript.WriteString(resultText(res))
		return res
	}
	ok := func(step string) {
		t.Helper()
		sim.ClearReceived()
		if res := call(step); res.IsError {
			t.Fatalf("%s: isError %q\nserve stderr:\n%s", step, resultText(res), serveErr.String())
		}
		got := sim.Received()
		if len(got) != 1 || got[0].Header.Get("X-Asana-Token") != "Bearer "+asanaToken {
			t.Fatalf("%s: the target did not receive the stored token (%d requests)", step, len(got))
		}
	}

	ok("first call")
	before := sim.Counts().TokenRequests
	time.Sleep(2200 * time.Millisecond) // the access token expires
	ok("call after expiry")
	if sim.Counts().TokenRequests == before {
		t.Error("no token refresh after the access token expired")
	}

	before = sim.Counts().TokenRequests
	sim.FailTokenNext(2, http.StatusServiceUnavailable)
	time.Sleep(2200 * time.Millisecond)
	ok("call after expiry with two 503s from the token endpoint")
	if n := sim.Counts().TokenRequests - before; n < 3 {
		t.Errorf("%d token requests, want the two 503s retried and a success", n)
	}

	// The refresh token is revoked (invalid_grant): an actionable result, and
	// nothing reaches the target.
	sim.RevokeRefreshTokens()
	sim.RevokeTokens()
	sim.ClearReceived()
	res := call("call after revocation")
	if !res.IsError || !strings.Contains(resultText(res), "agw-proxy login") {
		t.Fatalf("after revocation: isError %v %q, want a result naming agw-proxy login", res.IsError, resultText(res))
	}
	if n := len(sim.Received()); n != 0 {
		t.Errorf("%d requests reached the target while logged out", n)
	}

	// A login in another process heals the running serve.
	out, errOut = browserLogin(t, penv, flags...)
	newRefresh, err := kc.Get(ctx, "default", tokenstore.RefreshTokenName)
	if err != nil || newRefresh == refresh {
		t.Fatalf("the second login did not store a new refresh token (err %v)", err)
	}
	secrets = append(secrets, string(newRefresh))
	ok("call after the second login")

	cs.Close()
	noLeak(t, secrets, out, errOut, serveErr.String(), transcript.String())
}
