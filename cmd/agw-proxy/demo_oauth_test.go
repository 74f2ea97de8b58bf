package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/leakcheck"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// demoConsentURL is the consent URL as the demo prints it (the proxy's
// notice).
var demoConsentURL = regexp.MustCompile(`(?m)^ +(http://127\.0\.0\.1:\d+/identities/oauth2/authorize\?request_uri=\S+)$`)

// testOpener makes login's opener a shell that writes the URL it gets to
// a file, and returns that file (which exists once the opener ran).
func testOpener(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh for the test opener")
	}
	out := filepath.Join(t.TempDir(), "opened")
	saved := browserOpener
	t.Cleanup(func() { browserOpener = saved })
	// sh -c SCRIPT opener FILE URL: $1 is the file, $2 the URL.
	browserOpener = []string{sh, "-c", `printf '%s\n' "$2" > "$1.tmp" && mv "$1.tmp" "$1"`, "opener", out}
	return out
}

// runDemoTest runs "agw-proxy demo ARGS" in this process and returns its
// stdout and stderr.
func runDemoTest(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" }, userConfigDir: func() (string, error) { return t.TempDir(), nil }}
	err := runDemo(testwait.Context(t), e, args)
	return stdout.String(), stderr.String(), err
}

// checkDemoOAuth checks what step 7 of the demo printed: the consent URL,
// the consent accepted on the user's behalf at the return-URL app, the API
// call with the vaulted token (masked). It returns the consent URL.
func checkDemoOAuth(t *testing.T, out string) string {
	t.Helper()
	step := out[strings.Index(out, "7. Gateway-held OAuth"):]
	m := demoConsentURL.FindStringSubmatch(step)
	if m == nil {
		t.Fatalf("step 7 shows no consent URL:\n%s", out)
	}
	for _, want := range []string{
		"   You (the demo's Cognito client) have not consented yet. The model calls:\n     AsanaOAuth___asanaInvoke {\"tool_name\":\"list_workspaces\"}\n",
		"   The emulator's consent page, accepted on your behalf:",
		"/callback?session_id=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A",
		" -> HTTP 200\n",
		"   The Asana API behind AsanaOAuth received:\n     POST /asana\n     Authorization: Bearer [redacted]   <- your token from Identity's vault, added by the Gateway\n",
	} {
		if !strings.Contains(step, want) {
			t.Errorf("step 7 lacks %q:\n%s", want, step)
		}
	}
	if i, j := strings.Index(step, m[1]), strings.Index(step, "accepted on your behalf"); i > j {
		t.Errorf("the demo accepted the consent before it showed the URL:\n%s", step)
	}
	return m[1]
}

// TestDemoOAuth: the demo's 3LO step, with each way the consent URL
// reaches the user: login's opener started once with the URL alone; no
// opener on the machine (a headless CI host), where the demo prints the
// URL and goes on; --no-browser, where nothing is started.
func TestDemoOAuth(t *testing.T) {
	t.Run("opener", func(t *testing.T) {
		opened := testOpener(t)
		out, stderr, err := runDemoTest(t)
		if err != nil {
			t.Fatalf("demo: %v\n%s\n%s", err, out, stderr)
		}
		u := checkDemoOAuth(t, out)
		if !strings.Contains(out, "opening it in your browser") || !strings.Contains(out, "   agw-proxy started your browser on it, as login does.\n") {
			t.Errorf("the demo does not say the browser was opened:\n%s", out)
		}
		var got []byte
		testwait.Within(t, 10*time.Second, "the test opener's file", func() {
			for got == nil {
				got, _ = os.ReadFile(opened)
				if got == nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
		if string(got) != u+"\n" {
			t.Errorf("the opener got %q, want the consent URL %q", got, u)
		}
		if err := leakcheck.Text(out, demoAsanaToken); err != nil {
			t.Error(err)
		}
	})
	t.Run("no browser on this machine", func(t *testing.T) {
		saved := browserOpener
		t.Cleanup(func() { browserOpener = saved })
		browserOpener = []string{filepath.Join(t.TempDir(), "no-such-opener")}
		out, stderr, err := runDemoTest(t)
		if err != nil {
			t.Fatalf("demo without a browser: %v\n%s\n%s", err, out, stderr)
		}
		checkDemoOAuth(t, out)
		if !strings.Contains(out, "   No browser could be opened here (") || !strings.Contains(out, "): the URL above is the one you would open.\n") {
			t.Errorf("the demo does not say that no browser opened:\n%s", out)
		}
	})
	t.Run("--no-browser", func(t *testing.T) {
		opened := testOpener(t)
		out, stderr, err := runDemoTest(t, "--no-browser")
		if err != nil {
			t.Fatalf("demo --no-browser: %v\n%s\n%s", err, out, stderr)
		}
		checkDemoOAuth(t, out)
		if !strings.Contains(out, "open this URL in a browser") || !strings.Contains(out, "   (--no-browser: agw-proxy only printed the URL") {
			t.Errorf("the demo does not say it only printed the URL:\n%s", out)
		}
		if _, err := os.Stat(opened); err == nil {
			t.Errorf("--no-browser, yet the opener ran")
		}
	})
}

// TestDemoServeOAuth: demo --serve offers the 3LO tool; its call by a
// client without URL elicitation waits while the consent URL is on stderr
// (--no-browser), and once a browser consents there, the call goes
// through and stderr shows the API got the vaulted token, masked.
func TestDemoServeOAuth(t *testing.T) {
	ctx := testwait.Context(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	e := &env{stdin: inR, stdout: outW, stderr: errW,
		getenv: func(string) string { return "" }, userConfigDir: func() (string, error) { return t.TempDir(), nil }}
	done := make(chan error, 1)
	go func() {
		err := runDemo(ctx, e, []string{"--serve", "--no-browser"})
		outW.Close()
		errW.Close()
		done <- err
	}()
	lines := make(chan string, 100)
	var stderr bytes.Buffer
	go func() {
		sc := bufio.NewScanner(errR)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			lines <- sc.Text()
		}
		close(lines)
	}()
	client := mcp.NewClient(&mcp.Implementation{Name: "serve-test", Version: "0"}, nil)
	cs, err := client.Connect(ctx, &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatal(err)
	}
	called := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: demoOAuthTool, Arguments: map[string]any{"tool_name": "list_workspaces"}})
		if err != nil {
			res = &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}
		}
		called <- res
	}()
	var consentURL string
	var sawNote, sawReceived bool
	for consentURL == "" {
		line, ok := <-lines
		if !ok {
			t.Fatalf("stderr ended before a consent URL")
		}
		sawNote = sawNote || strings.HasPrefix(line, "Tool AsanaOAuth___asanaInvoke is Gateway-held OAuth (3LO)")
		if m := demoConsentURL.FindStringSubmatch(line); m != nil {
			consentURL = m[1]
		}
	}
	if !sawNote {
		t.Errorf("serve's notes do not describe the 3LO tool")
	}
	if _, err := gatewaysim.ConsentInBrowser(ctx, nil, consentURL, "allow"); err != nil {
		t.Fatal(err)
	}
	res := testwait.Await(t, called, "the 3LO call after the consent")
	if res.IsError {
		t.Fatalf("the 3LO call failed: %s", resultText(res))
	}
	for !sawReceived {
		line, ok := <-lines
		if !ok {
			break
		}
		sawReceived = line == `API received: POST /asana (AsanaOAuth)  Authorization: Bearer [redacted]  body: {"tool_name":"list_workspaces"}`
	}
	cs.Close()
	inW.Close()
	if err := testwait.Await(t, done, "demo --serve to end"); err != nil {
		t.Errorf("demo --serve: %v", err)
	}
	for range lines {
	}
	if !sawReceived {
		t.Errorf("stderr does not show the API receiving the vaulted token (masked):\n%s", stderr.String())
	}
}
