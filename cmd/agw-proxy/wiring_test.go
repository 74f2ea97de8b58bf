package main

// The wiring of serve, through the command as a client starts it: the
// secrets it reads, the access tokens it gets and its log writer all feed
// one scrubber. The proxy's own tests wire a scrubber by hand, so only a
// test of the command sees a credential that serve forgets to add.
//
// The command runs as its own process: the test binary as "agw-proxy"
// (TestMain), whose keychain is a JSON file named by
// AGW_PROXY_TEST_KEYRING_FILE (secrets_test.go), so that a rotated refresh
// token is stored there and never in the OS keychain.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// wiringAsanaToken is the injected secret; '/' and '&' make its escaped
// forms differ from the raw one.
const wiringAsanaToken = "2/1205123456789012/wiring-asana-token&<3f9a0c1d2e3f4051>"

const wiringProfile = "wiring"

// TestServeScrubsTheCredentialsItUses runs serve against a Gateway that
// echoes, into every result, error and progress notification, the access
// token it was called with and every client secret and refresh token the
// token endpoint received or issued (gatewaysim.Options.EchoCredentials), in
// several encodings; and the client names a tool after each secret, which
// serve logs as it came. Nothing on stdout, stderr or in the log file may
// decode to a credential: the client secret and the refresh tokens (read
// from the keychain through serve's scrubbing wrapper, or stored by it
// after a rotation), every access token issued (seen through the token
// source's OnToken) and the injected secret.
func TestServeScrubsTheCredentialsItUses(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{profile.AuthClientCredentials, profile.AuthAuthorizationCode} {
		for _, logFile := range []bool{false, true} {
			name := auth + "/log_to_stderr"
			if logFile {
				name = auth + "/log_file"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testServeScrubs(t, auth, logFile)
			})
		}
	}
}

func testServeScrubs(t *testing.T, auth string, logToFile bool) {
	sim := gatewaysim.StartForTest(t, gatewaysim.Options{
		EchoCredentials: true, EchoToken: true, Streaming: true,
		RefreshTokenRotation: auth == profile.AuthAuthorizationCode,
	})
	dir := t.TempDir()
	stored := map[string]string{tokenstore.User(wiringProfile, "asana"): wiringAsanaToken}
	args := []string{"serve", "--profile", wiringProfile, "--log-level", "debug",
		"--gateway-url", sim.GatewayURL, "--scope", sim.Scope,
		"--inject", "X-Asana-Token=asana", "--inject-tools", gatewaysim.DefaultTargetName + "___*"}
	// The two ways to the token endpoint: a token URL, and discovery (the
	// token source is built at the first fetch).
	if auth == profile.AuthAuthorizationCode {
		stored[tokenstore.User(wiringProfile, tokenstore.RefreshTokenName)] = sim.IssueRefreshToken("")
		args = append(args, "--auth-type", auth, "--client-id", sim.WebClientID,
			"--discovery-url", sim.DiscoveryURL, "--redirect-url", sim.RedirectURL)
	} else {
		stored[tokenstore.User(wiringProfile, tokenstore.ClientSecretName)] = sim.ClientSecret
		args = append(args, "--client-id", sim.ClientID, "--token-url", sim.TokenURL)
	}
	logFile := filepath.Join(dir, "agw-proxy.log")
	if logToFile {
		args = append(args, "--log-file", logFile)
	}
	r := startWiring(t, dir, stored, args...)

	r.request(`"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"wiring","version":"1"}}`)
	r.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	r.request(`"logging/setLevel","params":{"level":"debug"}`)
	r.request(`"tools/list"`)
	asana := gatewaysim.DefaultTargetName + "___asanaInvoke"
	call := func(tool, args string) *wiringMsg {
		name, _ := json.Marshal(tool)
		return r.request(`"tools/call","params":{"name":` + string(name) + `,"arguments":` + args + `,"_meta":{"progressToken":"p"}}`)
	}
	first := call(asana, `{"tool_name":"echo"}`)
	call(gatewaysim.DefaultTargetName+"___noSuchTool", `{}`) // an error that serve logs
	sim.RevokeTokens()                                       // a 401, and a second access token
	call(asana, `{"tool_name":"echo"}`)
	// A model that has seen a secret may name it; serve logs tool names as
	// they come, so only its log writer can mask them.
	creds := sim.Credentials()
	for _, s := range append(creds.All(), wiringAsanaToken) {
		call("x_"+s, `{}`)
	}
	r.stop(t)

	secrets := append(sim.Credentials().All(), wiringAsanaToken, "Bearer "+wiringAsanaToken)
	logs := r.stderr.String()
	if logToFile {
		b, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatal(err)
		}
		logs = string(b)
		checkWiringText(t, "stderr", r.stderr.String(), secrets)
	}
	checkWiringText(t, "the log", logs, secrets)
	for i, line := range r.lines() {
		if err := leakcheck.Message([]byte(line), secrets...); err != nil {
			t.Errorf("stdout line %d: %v", i+1, err)
		}
	}

	// Without these the checks above prove nothing.
	c := sim.Credentials()
	if len(c.AccessTokens) < 2 {
		t.Errorf("%d access tokens issued, want a second one after the revocation", len(c.AccessTokens))
	}
	if auth == profile.AuthAuthorizationCode && len(c.RefreshTokens) < 3 {
		t.Errorf("%d refresh tokens seen, want the stored one and two rotations", len(c.RefreshTokens))
	}
	if auth == profile.AuthClientCredentials && len(c.ClientSecrets) == 0 {
		t.Error("the token endpoint never received the client secret")
	}
	if len(first.Result) == 0 || !strings.Contains(string(first.Result), "the Gateway echoes your credentials") ||
		!strings.Contains(string(first.Result), "[redacted]") {
		t.Error("the first call's result holds no masked echo")
	}
	if !slices.ContainsFunc(r.lines(), func(l string) bool { return strings.Contains(l, `"notifications/progress"`) }) {
		t.Error("no progress notification reached the client")
	}
	for _, want := range []string{"level=DEBUG", "tool call failed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log has no %q", want)
		}
	}
}

// checkWiringText looks for each secret in text as it is, and decoded.
func checkWiringText(t *testing.T, where, text string, secrets []string) {
	t.Helper()
	for i, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s holds secret %d (%d bytes) as it is", where, i, len(s))
		}
	}
	if err := leakcheck.Lines(text, secrets...); err != nil {
		t.Errorf("%s: %v", where, err)
	}
}

// wiringRun is one serve process spoken to in raw JSON-RPC lines.
type wiringRun struct {
	t       *testing.T
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *syncBuffer
	nextID  int
	pos     int           // the next stdout line request looks at
	grew    chan struct{} // signalled when out grows
	eof     chan struct{} // closed when stdout ends
	exited  chan struct{} // closed when the process has ended
	waitErr error

	mu  sync.Mutex
	out []string
}

// wiringMsg is what the test reads of an answer.
type wiringMsg struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// startWiring starts the test binary as agw-proxy with args, a file
// keychain holding stored (keys "profile:name") and no secret in the
// environment. The process is killed when the test ends, if still running.
func startWiring(t *testing.T, dir string, stored map[string]string, args ...string) *wiringRun {
	t.Helper()
	keyring := filepath.Join(dir, "keyring.json")
	b, err := json.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyring, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("agw-proxy", args...)
	home := filepath.Join(dir, "home")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=",
		"AGW_PROXY_CLIENT_SECRET=", "AGW_PROXY_SECRET_ASANA=", "AGW_PROXY_SECRET_REFRESH_TOKEN=",
		"AGW_PROXY_TEST_KEYRING_FILE="+keyring)
	r := &wiringRun{t: t, cmd: cmd, stderr: &syncBuffer{},
		grew: make(chan struct{}, 1), eof: make(chan struct{}), exited: make(chan struct{})}
	cmd.Stderr = r.stderr
	if r.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		r.waitErr = cmd.Wait()
		close(r.exited)
	}()
	go func() {
		defer close(r.eof)
		defer pr.Close()
		br := bufio.NewReader(pr)
		for {
			line, err := br.ReadString('\n')
			if line = strings.TrimSuffix(line, "\n"); line != "" {
				r.mu.Lock()
				r.out = append(r.out, line)
				r.mu.Unlock()
				select {
				case r.grew <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		r.stdin.Close()
		select {
		case <-r.exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-r.exited
		}
	})
	return r
}

func (r *wiringRun) send(line string) {
	r.t.Helper()
	if _, err := io.WriteString(r.stdin, line+"\n"); err != nil {
		r.t.Fatalf("writing to serve: %v", err)
	}
}

// request sends a request with the next id (method and params given as
// JSON members) and waits up to 15s for its answer.
func (r *wiringRun) request(methodAndParams string) *wiringMsg {
	r.t.Helper()
	r.nextID++
	id := fmt.Sprint(r.nextID)
	r.send(`{"jsonrpc":"2.0","id":` + id + `,"method":` + methodAndParams + `}`)
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	for {
		lines := r.lines()
		for ; r.pos < len(lines); r.pos++ {
			var m wiringMsg
			if json.Unmarshal([]byte(lines[r.pos]), &m) == nil && string(m.ID) == id {
				r.pos++
				return &m
			}
		}
		select {
		case <-r.grew:
		case <-r.eof:
			if len(r.lines()) == r.pos {
				r.t.Fatalf("serve's stdout ended before the answer to id %s\nstderr:\n%s", id, r.stderr.String())
			}
		case <-timer.C:
			r.t.Fatalf("no answer to id %s within 15s", id)
		}
	}
}

// stop closes serve's stdin and waits up to 10s for it to exit 0 and its
// stdout to end.
func (r *wiringRun) stop(t *testing.T) {
	t.Helper()
	r.stdin.Close()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for _, ch := range []chan struct{}{r.exited, r.eof} {
		select {
		case <-ch:
		case <-timer.C:
			t.Fatal("serve still running 10s after its stdin closed")
		}
	}
	if r.waitErr != nil {
		t.Errorf("serve: %v", r.waitErr)
	}
}

func (r *wiringRun) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.out)
}
